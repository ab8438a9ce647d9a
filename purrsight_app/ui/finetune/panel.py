"""FinetunePanel: teach the model the owner's cat, watch it learn, keep or discard the result.

All work is off the GUI thread: exports, the estimate and accepting a model run on Qt's
thread pool; training is a child process (``finetune.FinetuneController``) whose progress
events, exit and log lines reach this panel through queued signals. The live view keeps
running throughout; an accepted model is hot-swapped (``finetune.ModelSwitcher``).
Without PyTorch installed the panel shows how to enable training instead of the controls.
"""

from __future__ import annotations

import logging
import sqlite3
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from PySide6.QtCore import QObject, Signal
from PySide6.QtGui import QShowEvent
from PySide6.QtWidgets import QFileDialog, QTabWidget, QVBoxLayout, QWidget

from purrsight_app.finetune import (
    PHASE_ORDER,
    Estimate,
    EtaTracker,
    FinetuneController,
    FinetunePlan,
    JobCallbacks,
    ModelSwitcher,
    RunResult,
    format_duration,
    read_progress,
    training_available,
)
from purrsight_app.finetune.controller import MIN_ROWS
from purrsight_app.finetune.switcher import SessionLike
from purrsight_app.jobs import JobState
from purrsight_app.labels import dataset_summary
from purrsight_app.storage import labeled_clips
from purrsight_app.ui.finetune.curve import LossPoint, add_point, render_curve
from purrsight_app.ui.finetune.models import ModelsPage
from purrsight_app.ui.finetune.pages import ResultPage, TrainPage
from purrsight_app.ui.finetune.views import fill_comparison, log_line
from purrsight_app.ui.jobs import JobRunner
from purrsight_app.ui.theme import ACCENT, PANEL, TOUCH_PX
from purrsight_model import Progress

log = logging.getLogger(__name__)
CURVE_INTERVAL_S = 0.5
PHASE_HELP = {"1": "Phase 1 tunes how the model sees and hears your cat (the live overlay). "
                   "Fastest.",
              "12": "Phase 1, then Phase 2 also tunes the written reports. Takes longer."}


def model_name(bundle: Path) -> str:
    """How the owner knows a bundle: "the default model" or its folder name."""
    parts = bundle.resolve().parts
    return "the default model" if parts[-3:-1] == ("models", "default") else bundle.name


@dataclass
class FinetuneContext:
    """What the panel needs from the app (callables: the store opens after the window)."""

    paths: object
    reader: Callable[[], sqlite3.Connection | None]
    writer: Callable[[], object | None]
    session: SessionLike
    mix_dir: Callable[[], str | None] = lambda: None
    save_mix_dir: Callable[[str | None], None] = lambda _p: None


class _Bridge(QObject):
    event = Signal(object)
    exited = Signal(object, object)
    log = Signal(object)


class FinetunePanel(QWidget):
    """See module docstring."""

    def __init__(self, ctx: FinetuneContext, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.ctx = ctx
        self.controller = FinetuneController(ctx.paths, ctx.writer, ctx.reader)  # type: ignore[arg-type]
        self.switcher = ModelSwitcher(ctx.session, ctx.writer)  # type: ignore[arg-type]
        self.available, self.hint = training_available()
        self.estimate: Estimate | None = None
        self.eta: EtaTracker | None = None
        self.result: RunResult | None = None
        self.points: list[LossPoint] = []
        self.state: JobState | None = None
        self.last_log = ""
        self.labelled = -1  # unknown until the summary is loaded
        self._last_render = 0.0
        self.jobs = {k: JobRunner(self) for k in ("summary", "estimate", "action", "curve",
                                                   "pending")}
        self.bridge = _Bridge(self)
        self.bridge.event.connect(self._on_event)
        self.bridge.exited.connect(self._on_exit)
        self.bridge.log.connect(self._on_log)
        self.train, self.result_page = TrainPage(self), ResultPage(self)
        self.models = ModelsPage(ctx.reader, ctx.writer, lambda: self.switcher, self)
        self.tabs = QTabWidget(self)
        self.tabs.setStyleSheet(  # touch-sized tabs (the app style sheet has none)
            f"QTabBar::tab {{ min-height: {TOUCH_PX - 8}px; min-width: 96px; "
            f"padding: 4px 16px; background: {PANEL}; border: 1px solid #37474f; }}"
            f"QTabBar::tab:selected {{ background: #0d47a1; border-color: {ACCENT}; }}")
        self.tabs.addTab(self.train, "Train")
        self.tabs.addTab(self.result_page, "Result")
        self.tabs.addTab(self.models, "Models")
        layout = QVBoxLayout(self)
        layout.setContentsMargins(6, 6, 6, 4)
        layout.addWidget(self.tabs)
        self._connect()
        self._show_choices()

    def _connect(self) -> None:
        t = self.train
        t.start.clicked.connect(self.start)
        t.cancel.clicked.connect(self.cancel)
        t.phases.buttonClicked.connect(lambda _b: (self._show_choices(),
                                                   self.request_estimate()))
        t.mix.toggled.connect(lambda _on: self._show_choices())
        t.mix_choose.clicked.connect(self._ask_mix_dir)
        t.curve.size_settled.connect(self._render_curve)
        self.result_page.use.clicked.connect(self.use_model)
        self.result_page.discard.clicked.connect(self.discard)
        self.models.switched.connect(lambda _id: self._show_choices())

    # --- state shown ------------------------------------------------------------------
    def showEvent(self, event: QShowEvent) -> None:  # noqa: N802 - Qt API
        super().showEvent(event)
        self.refresh()

    def refresh(self) -> None:
        """Summary, pending finished runs and the model list (all in the background)."""
        self._show_choices()
        self._run("summary", self._load_summary, self._summary_loaded)
        if self.result is None and not self.controller.running:
            self._run("pending", self.controller.pending, self._pending_loaded)
        self.models.refresh()

    def _show_choices(self) -> None:
        t = self.train
        t.phase_help.setText(PHASE_HELP[self.phases()])
        base = self.current_bundle()
        t.base.setText(f"Starts from the model in use: {model_name(base)}" if base else
                       "Starts from the packaged encoders (no model in use).")
        mix = self.ctx.mix_dir()
        t.mix.setEnabled(bool(mix))
        t.mix_path.setText(mix or "No shipped data folder chosen.")
        running = self.controller.running
        enough = self.labelled >= MIN_ROWS
        t.start.setEnabled(self.available and not running and enough)
        if self.available and not enough and not running:
            t.estimate.setText(f"Label at least {MIN_ROWS} clips (Label panel) to start.")
        t.cancel.setEnabled(running)
        for b in (t.phase1, t.phase12, t.mix, t.mix_choose):
            b.setEnabled(self.available and not running and (b is not t.mix or bool(mix)))
        if not self.available:
            t.estimate.setText(self.hint)

    def phases(self) -> str:
        return "1" if self.train.phase1.isChecked() else "12"

    def current_bundle(self) -> Path | None:
        rt = self.ctx.session.runtime
        return Path(rt.bundle) if rt is not None and rt.bundle is not None else None

    def plan(self) -> FinetunePlan:
        mix = self.ctx.mix_dir() if self.train.mix.isChecked() else None
        return FinetunePlan(phases=self.phases(), base_bundle=self.current_bundle(),  # type: ignore[arg-type]
                            mix_data=Path(mix) if mix else None)

    def _run(self, key: str, fn: Callable[[], object], done: Callable[[object], None],
             status: Callable[[str], None] | None = None) -> None:
        self.jobs[key].submit(fn, done, status or self._say)

    def _say(self, text: str) -> None:
        self.train.eta.setText(text)

    # --- summary and estimate ---------------------------------------------------------
    def _pairs(self) -> list:
        conn = self.ctx.reader()
        if conn is None:
            raise RuntimeError("the history database is not open yet")
        try:
            return labeled_clips(conn)
        finally:
            conn.close()

    def _load_summary(self):
        conn = self.ctx.reader()
        if conn is None:
            return None
        try:
            return dataset_summary(conn)
        finally:
            conn.close()

    def _summary_loaded(self, summary) -> None:
        t = self.train
        if summary is None:
            t.summary.setText("Opening the history database…")
            return
        t.summary.setText("\n".join(summary.lines()))
        t.warnings.setText("\n".join(f"⚠ {w}" for w in summary.warnings))
        changed = summary.labelled != self.labelled
        self.labelled = summary.labelled
        self._show_choices()
        if self.labelled >= MIN_ROWS and self.available and (changed or self.estimate is None):
            self.request_estimate()

    def request_estimate(self) -> None:
        if not self.available or self.controller.running:
            return
        plan = self.plan()
        self.train.estimate.setText("Estimating how long this takes…")

        def work() -> Estimate:
            export = self.controller.prepare_estimate(self._pairs())
            return self.controller.estimate(plan, export.align)
        self._run("estimate", work, self._estimated,
                  lambda m: self.train.estimate.setText(f"No estimate: {m}"))

    def _estimated(self, estimate: Estimate) -> None:
        self.estimate = estimate
        self.train.estimate.setText(f"Estimated time: {estimate.describe()}")

    def _ask_mix_dir(self) -> None:
        folder = QFileDialog.getExistingDirectory(self, "Folder of shipped cat data")
        if folder:
            self.ctx.save_mix_dir(folder)
            self.train.mix.setChecked(True)
            self._show_choices()

    # --- the run ------------------------------------------------------------------------
    def start(self) -> None:
        if not self.available or self.controller.running:
            return
        plan = self.plan()
        self.train.start.setEnabled(False)
        self._say("Exporting your labelled clips…")
        self._run("action", lambda: self.controller.prepare(self._pairs()),
                  lambda prepared: self._launch(plan, prepared),
                  lambda m: (self._say(f"Cannot start: {m}"), self._show_choices()))

    def _launch(self, plan: FinetunePlan, prepared) -> None:
        self.points, self.result, self.last_log = [], None, ""
        self.eta = EtaTracker(PHASE_ORDER[plan.phases], self.estimate)
        self.train.log.clear()
        self.train.progress.setValue(0)
        b = self.bridge
        try:
            self.controller.start(plan, prepared, JobCallbacks(
                on_event=b.event.emit, on_exit=b.exited.emit, on_log=b.log.emit))
        except Exception as exc:  # noqa: BLE001 - shown to the owner
            self._say(f"Cannot start: {exc}")
            self._show_choices()
            return
        self._say(f"Training started ({prepared.export.rows} clips).")
        self._show_choices()
        self._render_curve()

    def cancel(self) -> None:
        if self.controller.running:
            self.controller.cancel()
            self.train.cancel.setEnabled(False)
            self._say("Stopping… (the partial run is kept)")

    def _on_event(self, event: Progress) -> None:
        t = self.train
        if self.eta is not None:
            self.eta.update(event)
            t.progress.setValue(int(self.eta.fraction * 1000))
            left = self.eta.remaining_s
            step = f"{event.step}/{event.total}" if event.total else f"{event.step}"
            if not event.done:
                t.eta.setText(f"{event.phase} · step {step} · {format_duration(left)} left")
        due = time.monotonic() - self._last_render >= CURVE_INTERVAL_S
        if add_point(self.points, event) and due:
            self._render_curve()
        t.log.appendPlainText(log_line(event))

    def _on_log(self, lines: list[str]) -> None:
        for line in lines:
            if line.strip():
                self.last_log = line.strip()
                self.train.log.appendPlainText(line)

    def _on_exit(self, state: JobState, result: RunResult | None) -> None:
        self.state = state
        self._show_choices()
        self._render_curve()
        if state.status == "finished" and result is not None and result.usable:
            self.train.progress.setValue(1000)
            self._say(f"Finished in {format_duration((state.finished or 0) - state.started)}.")
            self.show_result(result)
            self.tabs.setCurrentWidget(self.result_page)
        elif state.status == "cancelled":
            self._say(f"Stopped. The partial run is kept in {Path(self.controller.run.path).name}"
                      if self.controller.run and self.controller.run.path else "Stopped.")
        else:
            why = self.last_log or (result.message if result else "") or f"exit {state.returncode}"
            self._say(f"Training failed: {why}")

    def _render_curve(self) -> None:
        view = self.train.curve
        if not self.points and self.eta is None:
            return
        self._last_render = time.monotonic()
        w, h = view.wanted_size()
        points = list(self.points)
        self._run("curve", lambda: render_curve(points, w, h, small=h < 260), view.set_chart,
                  lambda m: log.warning("loss curve: %s", m))

    # --- after the run ------------------------------------------------------------------
    def _pending_loaded(self, results: list[RunResult]) -> None:
        if not results or self.result is not None or self.controller.running:
            return
        result = results[0]
        self.points = []
        self.train.log.clear()
        for event in read_progress(result.run_dir):
            add_point(self.points, event)
            self.train.log.appendPlainText(log_line(event))
        self.show_result(result)
        self.result_page.status.setText("This training finished earlier and is waiting for "
                                        "your decision.")
        self._render_curve()

    def show_result(self, result: RunResult) -> None:
        self.result = result
        page = self.result_page
        page.title.setText(f"Training {result.run_dir.name}: your model vs the new one")
        fill_comparison(page, result)
        page.use.setEnabled(result.usable)
        page.discard.setEnabled(result.usable)

    def use_model(self) -> None:
        result = self.result
        if result is None:
            return
        current = self.current_bundle()

        def work() -> str:
            model_id, path = self.controller.accept(result, current)
            self.switcher.switch(model_id, path)
            return model_id
        self._decided("Switching to the new model…")
        self._run("action", work, lambda mid: self._after("Now using the new model "
                                                          f"({mid}); no restart needed."),
                  lambda m: self._after(f"Not switched: {m}"))

    def discard(self) -> None:
        result = self.result
        if result is None:
            return
        self._decided("Discarding…")
        self._run("action", lambda: self.controller.discard(result),
                  lambda _r: self._after("Discarded; the model in use is unchanged."),
                  lambda m: self._after(f"Discard failed: {m}"))

    def _decided(self, text: str) -> None:
        self.result_page.use.setEnabled(False)
        self.result_page.discard.setEnabled(False)
        self.result_page.status.setText(text)

    def _after(self, text: str) -> None:
        self.result_page.status.setText(text)
        self.result = None
        self._show_choices()
        self.models.refresh()

    def shutdown(self) -> None:
        """App closing: stop a running fine-tune cleanly (its partial run is kept)."""
        if self.controller.running:
            self.controller.cancel()
            if self.controller.job is not None:
                self.controller.job.wait(15)
