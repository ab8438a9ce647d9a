"""The app on the real torch-free runtime (a tiny exported bundle): overlays from
``Analyzer``, reports from ``Reporter`` into SQLite, never on the GUI thread."""

from __future__ import annotations

import threading

import pytest

from purrsight_app.settings import Settings
from purrsight_app.storage import filter_reports

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def tiny_bundle(tmp_path_factory):
    """Export random tiny Phase 1 + Phase 2 runs (torch, ~15 s) into a runtime bundle."""
    pytest.importorskip("torch")
    from purrsight_model.export import export_bundle, tiny

    root = tmp_path_factory.mktemp("bundle")
    sources = tiny.tiny_sources(root / "src")
    align = tiny.tiny_align_run(root / "align")
    llm = tiny.tiny_llm_folder(root / "llm")
    instruct = tiny.tiny_instruct_run(root / "instruct", align, llm)
    return export_bundle(align, instruct, root / "bundle", sources=sources)


def test_real_runtime_drives_overlay_and_reports(make_app, qtbot, cat_clip, tiny_bundle,
                                                 monkeypatch) -> None:
    from purrsight_model.runtime import Analyzer, Reporter

    threads: dict[str, list[threading.Thread]] = {"analyze": [], "report": []}
    for cls, method, key in ((Analyzer, "analyze", "analyze"), (Reporter, "report", "report")):
        real = getattr(cls, method)

        def spy(self, *a, _real=real, _key=key, **kw):
            threads[_key].append(threading.current_thread())
            return _real(self, *a, **kw)
        monkeypatch.setattr(cls, method, spy)
    # Thresholds of 0: the random tiny model's cat score cannot keep the event from opening.
    settings = Settings(event_on_threshold=0.0, event_off_threshold=0.0,
                        event_min_duration_s=0.0, report_interval_s=5.0)
    app = make_app(source=str(cat_clip), load_model=True, bundle=str(tiny_bundle),
                   settings=settings)
    qtbot.waitUntil(lambda: app.session.runtime is not None, timeout=90000)
    assert app.session.runtime.analyzer is not None, app.session.runtime.status_line
    assert app.session.runtime.reporter is not None, app.session.runtime.status_line
    qtbot.waitUntil(lambda: app.live.video.view is not None, timeout=30000)
    assert not any("model not available" in line for line in app.live.video.lines)
    qtbot.waitUntil(lambda: len(threads["analyze"]) >= 10, timeout=30000)
    app.shutdown()  # closes the open event -> final report, flushes the store
    conn = app.session.store.reader()
    reports = filter_reports(conn)
    assert reports, "the real Reporter wrote no report"
    assert reports[0].report().affective_state is not None
    main = threading.main_thread()
    assert threads["report"] and main not in threads["report"]
    assert main not in threads["analyze"]


def test_default_model_on_the_demo_clip(make_app, qtbot, monkeypatch) -> None:
    """The shipped default model (assembled by set-up) sees the demo cat and writes reports."""
    from pathlib import Path

    from purrsight_model.runtime import default_bundle, load_bundle

    monkeypatch.delenv("PURRSIGHT_DEFAULT_BUNDLE", raising=False)
    bundle = default_bundle()
    if bundle is None:
        pytest.fail("no assembled default bundle: run `make test` or "
                    "`.venv/bin/purrsight-model assemble-default` first")
    load_bundle(bundle)  # hashes verified
    demo = Path(__file__).resolve().parents[2] / "resources" / "demo" / "demo_cat.mp4"
    app = make_app(source=str(demo), load_model=True, bundle=str(bundle), speed=1.0,
                   settings=Settings(report_interval_s=5.0, event_min_duration_s=0.5))
    qtbot.waitUntil(lambda: app.session.runtime is not None, timeout=120000)
    assert app.session.runtime.reporter is not None, app.session.runtime.status_line
    # Chelsea (a real cat photo) is on screen the whole clip: MobileNetV2's cat classes see it.
    qtbot.waitUntil(lambda: app.live.video.view is not None and app.live.video.view.seen,
                    timeout=60000)
    view = app.live.video.view
    assert view.cat_visible is not None and view.cat_visible >= 0.5
    assert view.headline and view.headline != "No cat detected"
    pipe = app.session.pipeline
    qtbot.waitUntil(lambda: pipe.stats.events_opened >= 1, timeout=60000)
    app.shutdown()  # closes the open event -> its report by the real Reporter, store flushed
    reports = filter_reports(app.session.store.reader())
    assert reports, "the default model's Reporter wrote no report"
    report = reports[0].report()
    assert "image" in report.modalities_used
    assert report.affective_state != "" and report.summary
