"""Live view and timeline driven offscreen: a file source plays, the overlay follows a fake
model, reports land in SQLite and show up on the timeline; nothing heavy runs on the GUI
thread."""

from __future__ import annotations

import threading
import time

import pytest
from fakes import FakeAnalyzer, FakeReporter, make_observation
from PySide6.QtCore import QPoint, Qt

from purrsight_app.capture import SourceStatus
from purrsight_app.pipeline.analysis_loop import Analysed
from purrsight_app.pipeline.runtime_loader import LoadedRuntime
from purrsight_app.storage import reports_of_event
from purrsight_app.storage import writer as writer_module


@pytest.fixture
def write_threads(monkeypatch):
    """Threads on which the store writer opened its connection (all writes use it)."""
    seen: list[threading.Thread] = []
    real = writer_module.connect

    def spy(*a, **kw):
        seen.append(threading.current_thread())
        return real(*a, **kw)
    monkeypatch.setattr(writer_module, "connect", spy)
    return seen


def test_file_source_overlay_reports_and_timeline(make_app, qtbot, cat_clip, tmp_path,
                                                  write_threads) -> None:
    analyzer, reporter = FakeAnalyzer(), FakeReporter()
    app = make_app(source=str(cat_clip))
    app.session.set_models(LoadedRuntime(analyzer, reporter))
    live = app.live
    qtbot.waitUntil(lambda: live.frames_shown > 10, timeout=15000)
    qtbot.waitUntil(lambda: live.video.view is not None and live.video.view.cat_present,
                    timeout=15000)
    assert live.video.view.headline.startswith("Content")
    assert live.video.image is not None and live.video.level_db is not None
    source = app.session.sources[0]
    qtbot.waitUntil(lambda: source.status is SourceStatus.ENDED, timeout=30000)
    qtbot.waitUntil(lambda: "source ended" in live.video.lines, timeout=6000)
    pipe = app.session.pipeline
    qtbot.waitUntil(lambda: pipe.stats.reports.written >= 1, timeout=15000)
    assert app.session.writer.flush(5)
    conn = app.session.store.reader()
    (event_id,) = [r[0] for r in conn.execute("SELECT id FROM events")]
    assert reports_of_event(conn, event_id)
    # Timeline: shows the event after a refresh, its report on click, searches work.
    app.window.show_panel("timeline")
    tl = app.timeline
    tl.refresh()
    qtbot.waitUntil(lambda: tl.list.count() == 1 and "content" in tl.list.item(0).text(),
                    timeout=15000)
    qtbot.waitUntil(lambda: tl.chart.chart is not None and bool(tl.chart.chart.hits),
                    timeout=15000)
    _, x0, y0, x1, y1 = tl.chart.chart.hits[0]  # click the event's bar in the strip
    h, w, _ = tl.chart.chart.rgba.shape
    pos = QPoint(int((x0 + x1) / 2 * tl.chart.width() / w),
                 int((y0 + y1) / 2 * tl.chart.height() / h))
    qtbot.mouseClick(tl.chart, Qt.MouseButton.LeftButton, pos=pos)
    assert tl.selected == event_id
    qtbot.waitUntil(lambda: "looked content" in tl.details.toPlainText(), timeout=15000)
    tl.filter_bar.search.setText("looked")
    tl.search_text()
    qtbot.waitUntil(lambda: tl.hits is not None and len(tl.hits) >= 1, timeout=15000)
    tl.filter_bar.search.setText("a content cat")
    tl.search_meaning()
    qtbot.waitUntil(lambda: tl.hits and "match 1.00" in tl.hits[0].text, timeout=15000)
    for kind, name in (("events", "ev.csv"), ("reports", "rep.json"), ("chart", "c.png")):
        tl.export(kind, tmp_path / name)
        qtbot.waitUntil(lambda n=name: (tmp_path / n).exists(), timeout=15000)
    assert "content" in (tmp_path / "ev.csv").read_text()
    # The GUI thread never ran inference, reports, text embedding or SQL writes.
    assert len(analyzer.calls) > 10 and not analyzer.calls.ran_on_main()
    assert len(reporter.calls) >= 1 and not reporter.calls.ran_on_main()
    assert len(analyzer.text_calls) == 1 and not analyzer.text_calls.ran_on_main()
    assert write_threads and threading.main_thread() not in write_threads


def test_stale_overlay_fades(make_app, qtbot) -> None:
    app = make_app(source="mic")
    qtbot.waitUntil(app.session.ready.is_set, timeout=15000)
    pipe = app.session.pipeline
    now = time.time()
    pipe._latest = Analysed(make_observation(now), now, now, None, now, now, 0)
    app.live.tick()
    fresh = app.live.video.view
    assert fresh.alpha == 1.0 and fresh.cat_present
    old = now - 30
    pipe._latest = Analysed(make_observation(old), old, old, None, old, old, 0)
    app.live.tick()
    stale = app.live.video.view
    assert stale.stale and stale.alpha < 0.5
    assert any("updated" in d for d in stale.details)
    app.live.video.grab()  # paints the faded overlay without errors


def test_missing_devices_and_model_are_shown(make_app, qtbot, monkeypatch) -> None:
    import cv2

    from purrsight_app.capture import mic

    class NoCamera:
        def __init__(self, *a, **kw):
            pass

        def isOpened(self):  # noqa: N802 - OpenCV API
            return False

        def release(self):
            pass

    def no_backend():
        raise mic._Unavailable("no audio backend: test")

    monkeypatch.setattr(cv2, "VideoCapture", NoCamera)
    monkeypatch.setattr(mic, "load_backend", no_backend)
    app = make_app(source="camera+mic", load_model=True)
    live = app.live
    want = ["no camera", "no microphone", "model not available: no model bundle found"]
    qtbot.waitUntil(lambda: all(any(w in line for line in live.video.lines) for w in want),
                    timeout=15000)
    assert live.video.image is None and live.video.placeholder == "No video"
    assert live.video.view is None
    live.video.grab()


def test_auto_falls_back_to_demo(make_app, qtbot, monkeypatch, tmp_path, cat_clip) -> None:
    import cv2

    from purrsight_app.capture import mic

    monkeypatch.setattr(cv2, "VideoCapture", lambda *a: type("C", (), {
        "isOpened": lambda self: False, "release": lambda self: None})())
    monkeypatch.setattr(mic, "load_backend",
                        lambda: (_ for _ in ()).throw(mic._Unavailable("no audio backend")))
    demo = tmp_path / "demo"
    demo.mkdir()
    (demo / "cat.mp4").write_bytes(cat_clip.read_bytes())
    monkeypatch.setenv("PURRSIGHT_DEMO_DIR", str(demo))
    app = make_app(source="auto")
    qtbot.waitUntil(lambda: app.session.spec is not None and app.session.spec.kind == "demo",
                    timeout=24000)
    qtbot.waitUntil(lambda: app.live.frames_shown > 3, timeout=15000)
    assert any("showing the demo" in line for line in app.live.video.lines)
