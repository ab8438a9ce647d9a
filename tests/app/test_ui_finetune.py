"""The fine-tuning panel offscreen with a stand-in training child: run to completion, hot
swap without restart, roll back, cancel mid-run (DB consistent), a finished run offered
after a restart, no-torch installs, and the layout at both target sizes."""

from __future__ import annotations

from pathlib import Path

import pytest
from fakes import FakeAnalyzer
from labelled_data import CHILD_ENV, add_clips
from PySide6.QtCore import Qt
from test_ui_layout import assert_fits_and_no_overlap

from purrsight_app.pipeline.runtime_loader import LoadedRuntime
from purrsight_app.storage import active_model, list_models, list_runs
from purrsight_app.ui.theme import TOUCH_PX

LEFT = Qt.MouseButton.LeftButton


def setup(make_app, qtbot, tmp_path, steps: int = 4, size=(1280, 720)):
    """App with 10 labelled clips, a 'base' model in use and the stand-in trainer."""
    app = make_app(source="mic", size=size)
    qtbot.waitUntil(app.session.ready.is_set, timeout=15000)
    base = tmp_path / "base_bundle"
    base.mkdir(exist_ok=True)
    app.session.set_models(LoadedRuntime(FakeAnalyzer(), None, base))
    if not list_runs(app.session.store.reader()):
        add_clips(app.session.writer, app.paths.data_dir, 10)
    panel = app.finetune
    panel.controller.module = "finetune_child"
    panel.controller.env = {**CHILD_ENV, "FT_STEPS": str(steps), "FT_DELAY": "0.02"}
    panel.available = True
    loaded: list[Path] = []

    def loader(path: Path) -> LoadedRuntime:
        loaded.append(path)
        return LoadedRuntime(FakeAnalyzer(state="playful"), None, path)
    panel.switcher.loader = loader
    app.window.show_panel("finetune")
    qtbot.waitUntil(lambda: "10 of 10 clips labelled" in panel.train.summary.text(),
                    timeout=15000)
    return app, panel, loaded


def test_run_to_completion_then_hot_swap_and_roll_back(make_app, qtbot, tmp_path) -> None:
    app, panel, loaded = setup(make_app, qtbot, tmp_path)
    t = panel.train
    qtbot.waitUntil(lambda: t.estimate.text().startswith("Estimated time: about 2 min"),
                    timeout=30000)
    assert "base_bundle" in t.base.text()
    qtbot.mouseClick(t.start, LEFT)
    qtbot.waitUntil(lambda: panel.tabs.currentWidget() is panel.result_page, timeout=60000)
    page = panel.result_page
    assert page.use.isEnabled() and "40% → 80% (better)" in page.verdict.text()
    assert page.table.rowCount() == 1 and page.table.item(0, 2).text() == "80%"
    assert t.progress.value() == 1000 and "[align]" in t.log.toPlainText()
    qtbot.waitUntil(lambda: t.curve.chart is not None, timeout=15000)
    assert len(panel.points) == 8  # 4 align + 4 instruct losses
    generation = app.session.pipeline.loop.stats.model_generation
    qtbot.mouseClick(page.use, LEFT)
    qtbot.waitUntil(lambda: "Now using the new model" in page.status.text(), timeout=30000)
    runtime = app.session.runtime
    assert runtime.analyzer.state == "playful" and runtime.bundle == loaded[-1]
    assert runtime.bundle.parent == app.paths.models_dir  # installed, not in the run folder
    qtbot.waitUntil(lambda: app.session.pipeline.loop.stats.model_generation > generation,
                    timeout=9000)  # applied between windows, no restart
    conn = app.session.store.reader()
    new_id = active_model(conn).id
    assert new_id.startswith("ft-") and list_runs(conn)[0].status == "accepted"
    qtbot.waitUntil(lambda: panel.models.list.count() == 2, timeout=15000)
    assert panel.models.list.item(0).text().startswith("● in use · ft-")
    base_row = next(i for i, r in enumerate(panel.models.rows) if r.id.startswith("base-"))
    panel.models.list.setCurrentRow(base_row)
    qtbot.mouseClick(panel.models.use, LEFT)  # roll back to the model used before
    qtbot.waitUntil(lambda: "Now using base-" in panel.models.status.text(), timeout=30000)
    assert active_model(app.session.store.reader()).id.startswith("base-")
    assert loaded[-1] == (tmp_path / "base_bundle").resolve()


def test_cancel_mid_run_keeps_app_and_db_consistent(make_app, qtbot, tmp_path) -> None:
    app, panel, loaded = setup(make_app, qtbot, tmp_path, steps=500)
    t = panel.train
    qtbot.mouseClick(t.start, LEFT)
    qtbot.waitUntil(lambda: len(panel.points) >= 3, timeout=45000)
    assert t.cancel.isEnabled() and not t.start.isEnabled()
    assert "left" in t.eta.text()
    frames_before = app.live.timer.isActive()
    qtbot.mouseClick(t.cancel, LEFT)
    qtbot.waitUntil(lambda: t.eta.text().startswith("Stopped"), timeout=45000)
    assert t.start.isEnabled() and not t.cancel.isEnabled() and frames_before
    assert app.session.writer.flush(5)
    conn = app.session.store.reader()
    (run,) = list_runs(conn)
    assert run.status == "cancelled" and Path(run.path, "partial.json").is_file()
    assert active_model(conn) is None and list_models(conn) == []
    assert app.session.runtime.bundle == tmp_path / "base_bundle" and loaded == []
    assert panel.result_page.use.isEnabled() is False


def test_finished_run_is_offered_after_restart(make_app, qtbot, tmp_path) -> None:
    app, panel, _ = setup(make_app, qtbot, tmp_path)
    qtbot.mouseClick(panel.train.start, LEFT)
    qtbot.waitUntil(lambda: panel.result_page.use.isEnabled(), timeout=60000)
    app.shutdown()  # closed without deciding
    app2, panel2, _ = setup(make_app, qtbot, tmp_path)
    page = panel2.result_page
    qtbot.waitUntil(lambda: page.use.isEnabled(), timeout=15000)
    assert "waiting for your decision" in page.status.text()
    assert "40% → 80%" in page.verdict.text()
    qtbot.waitUntil(lambda: panel2.train.curve.chart is not None, timeout=15000)
    bundle = panel2.result.bundle
    qtbot.mouseClick(page.discard, LEFT)
    qtbot.waitUntil(lambda: "Discarded" in page.status.text(), timeout=15000)
    assert not bundle.exists() and (bundle.parent / "job.log").exists()
    assert app2.session.writer.flush(5)
    assert list_runs(app2.session.store.reader())[0].status == "discarded"
    assert panel2.controller.pending() == []


def test_without_torch_training_is_not_offered(make_app, qtbot, monkeypatch) -> None:
    from purrsight_app.ui.finetune import panel as panel_module

    monkeypatch.setattr(panel_module, "training_available",
                        lambda: (False, 'pip install "purrsight[train]"'))
    app = make_app(source="mic")
    app.window.show_panel("finetune")
    t = app.finetune.train
    assert not t.start.isEnabled() and "purrsight[train]" in t.estimate.text()


@pytest.mark.parametrize("size", [(800, 480), (1280, 720)])
def test_finetune_layout_fits_and_is_tappable(make_app, qtbot, tmp_path, size) -> None:
    app, panel, _ = setup(make_app, qtbot, tmp_path, size=size)
    qtbot.waitExposed(app.window)
    qtbot.wait(100)
    t = panel.train
    buttons = [t.phase1, t.phase12, t.start, t.cancel]  # the choice column may scroll below
    assert_fits_and_no_overlap([*buttons, t.curve, t.log], app.window)
    for b in [*buttons, t.mix_choose]:
        assert b.height() >= TOUCH_PX - 4, f"{b.text()} is too small to tap"
    assert panel.tabs.tabBar().height() >= TOUCH_PX - 4
    assert t.curve.width() >= 200 and t.curve.height() >= 120
    panel.tabs.setCurrentWidget(panel.result_page)
    qtbot.wait(50)
    r = panel.result_page
    assert_fits_and_no_overlap([r.use, r.discard, r.table], app.window)
    panel.tabs.setCurrentWidget(panel.models)
    qtbot.wait(50)
    m = panel.models
    assert_fits_and_no_overlap([m.use, m.refresh_button, m.list], app.window)
