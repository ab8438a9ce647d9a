"""Assemble the app: session (Qt-free) + main window with its panels; run or self-test.

``build_app`` is what tests and the screenshot script use; ``run`` is the command line's
event loop, with an optional timed self-test that writes a JSON summary and exits 0 only when
nothing went wrong.
"""

from __future__ import annotations

import json
import logging
import logging.handlers
import sys
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from PySide6.QtCore import QObject, QThreadPool, QTimer, Signal
from PySide6.QtWidgets import QApplication

from purrsight_app.capture import FileSourceConfig
from purrsight_app.paths import AppPaths, resolve_paths
from purrsight_app.pipeline.protocols import AnalyzerLike
from purrsight_app.pipeline.session import LiveSession, SessionCallbacks, SessionOptions
from purrsight_app.settings import Settings, load_settings, save_settings
from purrsight_app.ui.finetune import FinetuneContext, FinetunePanel
from purrsight_app.ui.labeling import LabelingContext, LabelingPanel
from purrsight_app.ui.live_view import LiveView
from purrsight_app.ui.main_window import MainWindow
from purrsight_app.ui.qt_check import broken_binding_message
from purrsight_app.ui.source_picker import SourcePicker
from purrsight_app.ui.timeline import TimelinePanel

log = logging.getLogger(__name__)

BROKEN_QT_EXIT = 3


@dataclass(frozen=True)
class AppOptions:
    """Command-line choices (None = from settings / defaults)."""

    data_dir: str | None = None
    source: str | None = None
    bundle: str | None = None
    kiosk: bool = False
    size: tuple[int, int] | None = None
    """Window size (width, height); None = 1280x720, or full screen in kiosk mode."""
    run_seconds: float | None = None
    """Quit after this many seconds and write a self-test summary."""
    settings_file: str | None = None
    load_model: bool = True
    file_config: FileSourceConfig | None = None


class _Bridge(QObject):
    """Carries 'store ready' from the start-up thread to the GUI thread."""

    ready = Signal()
    clip = Signal()


class ErrorCounter(logging.Handler):
    """Counts ERROR records (the self-test fails if any were logged)."""

    def __init__(self) -> None:
        super().__init__(logging.ERROR)
        self.messages: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.messages.append(record.getMessage())


class PurrSightApp:
    """The assembled app: ``session`` (live side), ``window`` and its panels."""

    def __init__(self, options: AppOptions, settings: Settings, paths: AppPaths,
                 settings_path: Path | None = None) -> None:
        self.options, self.settings, self.paths = options, settings, paths
        self._settings_path = settings_path
        self.bridge = _Bridge()
        self.session = LiveSession(
            SessionOptions(paths=paths, settings=settings, source=options.source,
                           bundle=options.bundle, load_model=options.load_model,
                           file_config=options.file_config),
            SessionCallbacks(on_ready=self.bridge.ready.emit,
                             on_clip=lambda _record: self.bridge.clip.emit()),
        )
        self.window = MainWindow()
        self.live = LiveView(self.session, self.window)
        self.timeline = TimelinePanel(self._reader, self._analyzer, paths.data_dir, self.window)
        self.labeling = LabelingPanel(LabelingContext(
            paths, self._reader, lambda: self.session.writer, self._analyzer), self.window)
        self.finetune = FinetunePanel(FinetuneContext(
            paths, self._reader, lambda: self.session.writer, self.session,
            mix_dir=lambda: self.settings.mix_data_dir, save_mix_dir=self._save_mix_dir),
            self.window)
        self.window.add_panel("live", "Live", self.live)
        self.window.add_panel("timeline", "Timeline", self.timeline)
        self.window.add_panel("labeling", "Label", self.labeling)
        self.window.add_panel("finetune", "Teach", self.finetune)
        self.live.pick_source.connect(self.choose_source)
        self.bridge.ready.connect(self._on_ready)
        self.bridge.clip.connect(self.labeling.clip_recorded)
        self.window.on_close = self.shutdown
        self._stopped = False

    def _reader(self) -> Any:
        store = self.session.store
        return store.reader() if store is not None and self.session.ready.is_set() else None

    def _analyzer(self) -> AnalyzerLike | None:
        rt = self.session.runtime
        return rt.analyzer if rt is not None else None

    def _on_ready(self) -> None:
        if self.timeline.isVisible():
            self.timeline.refresh()
        if self.labeling.isVisible():
            self.labeling.refresh()
        if self.finetune.isVisible():
            self.finetune.refresh()

    def _save_mix_dir(self, folder: str | None) -> None:
        self.settings = replace(self.settings, mix_data_dir=folder)
        try:
            save_settings(self.settings, self._settings_path)
        except OSError as exc:
            log.warning("cannot save settings: %s", exc)

    def start(self) -> None:
        """Start the session and show the window (size, or full screen in kiosk mode)."""
        self.session.start()
        width, height = self.options.size or (1280, 720)
        self.window.resize(width, height)
        if self.options.kiosk:
            self.window.set_kiosk(True)
        else:
            self.window.show()

    def choose_source(self) -> None:
        picker = SourcePicker(self.window)
        if picker.exec() and picker.spec:
            self.switch_source(picker.spec)

    def switch_source(self, spec: str) -> None:
        """Switch off the GUI thread (stopping a camera can block) and remember the choice."""
        threading.Thread(target=self.session.set_source, args=(spec,), daemon=True).start()
        if self.options.source is None:
            self.settings = replace(self.settings, source=spec)
            try:
                save_settings(self.settings, self._settings_path)
            except OSError as exc:
                log.warning("cannot save settings: %s", exc)

    def shutdown(self) -> None:
        """Stop capture, analysis and reports; flush the store. Idempotent."""
        if self._stopped:
            return
        self._stopped = True
        self.live.timer.stop()
        self.finetune.shutdown()
        self.session.stop()
        QThreadPool.globalInstance().waitForDone(5000)  # queries/exports hold connections

    def summary(self) -> dict[str, Any]:
        """Numbers for the self-test and the screenshot script."""
        pipe = self.session.pipeline
        stats = pipe.stats if pipe else None
        writer = self.session.writer.status if self.session.writer else None
        runtime = self.session.runtime
        return {
            "frames_painted": self.live.frames_shown,
            "first_frame_s": self.live.video.first_frame_s,
            "model_bundle": str(runtime.bundle) if runtime and runtime.bundle else None,
            "paints": self.live.video.paints,
            "windows_analysed": stats.loop.analysed if stats else 0,
            "windows_dropped": stats.loop.dropped if stats else 0,
            "analysis_errors": stats.loop.errors if stats else 0,
            "events_opened": stats.events_opened if stats else 0,
            "reports_written": stats.reports.written if stats else 0,
            "rows_written": writer.written if writer else 0,
            "clips_recorded": self.session.clips.stats.saved if self.session.clips else 0,
            "store_ok": writer.ok if writer else False,
            "status_lines": self.session.status_lines(),
            "source": self.session.spec.label() if self.session.spec else None,
        }


def setup_logging(paths: AppPaths) -> ErrorCounter:
    """Log to stderr and a rotating file in the data dir; return the error counter."""
    root = logging.getLogger()
    root.setLevel(logging.INFO)
    if not any(isinstance(h, logging.StreamHandler) for h in root.handlers):
        handler = logging.StreamHandler(sys.stderr)
        handler.setLevel(logging.WARNING)
        root.addHandler(handler)
    try:
        fh = logging.handlers.RotatingFileHandler(paths.logs_dir / "purrsight.log",
                                                  maxBytes=2_000_000, backupCount=3)
        fh.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
        root.addHandler(fh)
    except OSError as exc:
        log.warning("no log file: %s", exc)
    counter = ErrorCounter()
    root.addHandler(counter)
    return counter


def build_app(options: AppOptions) -> PurrSightApp:
    """Create (not start) the app; a QApplication must exist."""
    paths = resolve_paths(options.data_dir)
    settings_path = Path(options.settings_file) if options.settings_file else None
    settings, warnings = load_settings(settings_path)
    for w in warnings:
        log.warning(w)
    return PurrSightApp(options, settings, paths, settings_path)


def _self_test(app: PurrSightApp, qt: QApplication, seconds: float,
               errors: ErrorCounter, exceptions: list[str]) -> Callable[[], None]:
    """Show Live, switch to Timeline at 60 % of the time, then write the summary and quit."""
    QTimer.singleShot(int(seconds * 600), lambda: app.window.show_panel("timeline"))

    def finish() -> None:
        app.shutdown()
        summary = app.summary()
        summary.update(seconds=seconds, errors=errors.messages, exceptions=exceptions,
                       timeline_status=app.timeline.status.text())
        out = app.paths.logs_dir / "selftest.json"
        out.write_text(json.dumps(summary, indent=2), encoding="utf-8")
        print(json.dumps(summary, indent=2))
        qt.exit(1 if errors.messages or exceptions or summary["analysis_errors"] else 0)
    return finish


def run(options: AppOptions, argv: list[str] | None = None) -> int:
    """Create the QApplication, start the app, run the event loop; return the exit code."""
    broken = broken_binding_message()
    if broken is not None:
        print(f"purrsight: {broken}", file=sys.stderr)
        return BROKEN_QT_EXIT
    qt = QApplication.instance() or QApplication(argv or sys.argv[:1])
    qt.setApplicationName("PurrSight")
    app = build_app(options)
    errors = setup_logging(app.paths)
    exceptions: list[str] = []

    def hook(exc_type, exc, tb) -> None:  # a slot that raised: count it, keep running
        exceptions.append(f"{exc_type.__name__}: {exc}")
        log.error("uncaught exception", exc_info=(exc_type, exc, tb))
    sys.excepthook = hook
    qt.aboutToQuit.connect(app.shutdown)
    app.start()
    if options.run_seconds is not None:
        finish = _self_test(app, qt, options.run_seconds, errors, exceptions)
        QTimer.singleShot(int(options.run_seconds * 1000), finish)
    started = time.monotonic()
    code = qt.exec()
    log.info("exited after %.1f s with %d", time.monotonic() - started, code)
    return code
