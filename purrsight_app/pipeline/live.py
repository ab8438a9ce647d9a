"""LivePipeline: rings -> AnalysisLoop -> (UI, EventTracker, reports, downsampled storage).

Everything downstream of the model runs on the analysis thread right after each window (the
tracker and tallies are microseconds) except reports, which have their own worker. The UI does
not get a callback per window: it reads ``latest`` when it paints (an atomic reference swap),
so a slow GUI can never back up the analysis thread.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field

from purrsight_app.pipeline.analysis_loop import Analysed, AnalysisLoop, LoopConfig, LoopStats
from purrsight_app.pipeline.downsample import ObservationDownsampler
from purrsight_app.pipeline.event_book import EventBook
from purrsight_app.pipeline.events import (
    EventEnded,
    EventStarted,
    EventTracker,
    EventUpdated,
    TrackerConfig,
    TrackerEvent,
)
from purrsight_app.pipeline.protocols import (
    AnalyzerLike,
    AudioRingLike,
    ClipListener,
    FrameRingLike,
    RecordSink,
    ReporterLike,
)
from purrsight_app.pipeline.reports import ReportConfig, ReportScheduler, ReportStats
from purrsight_model.schema import Report

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class PipelineConfig:
    """Everything tunable about the live pipeline (from the owner's settings)."""

    loop: LoopConfig = field(default_factory=LoopConfig)
    tracker: TrackerConfig = field(default_factory=TrackerConfig)
    reports: ReportConfig = field(default_factory=ReportConfig)
    store_interval_s: float = 1.0
    """Stored observations per second at most (bucket length)."""
    snapshot_interval_s: float = 10.0
    """How often an open event's row is refreshed in the store."""
    first_snapshot_s: float = 2.0
    """First refresh of a new event's row (so the timeline soon shows its state)."""


@dataclass(frozen=True)
class PipelineStats:
    loop: LoopStats
    reports: ReportStats
    events_opened: int
    open_event: str | None


class LivePipeline:
    """Owns the analysis loop and everything it feeds (see module docstring)."""

    def __init__(
        self,
        frames: FrameRingLike | None,
        audio: AudioRingLike | None,
        sink: RecordSink,
        *,
        config: PipelineConfig | None = None,
        source_name: str = "",
        analyzer: AnalyzerLike | None = None,
        reporter: ReporterLike | None = None,
        on_error: Callable[[str], None] | None = None,
        on_report: Callable[[str, Report, float], None] | None = None,
        clips: ClipListener | None = None,
    ) -> None:
        self.config = cfg = config or PipelineConfig()
        self.sink = sink
        self.clips = clips
        """Told about events and windows (clip recording); set before ``start``."""
        self.book = EventBook(source_name)
        self.tracker = EventTracker(cfg.tracker)
        self.downsampler = ObservationDownsampler(cfg.store_interval_s)
        self._on_report = on_report
        self.reports = ReportScheduler(sink, reporter, config=cfg.reports,
                                       on_report=self._report_done,
                                       on_event_done=self.book.forget)
        self.loop = AnalysisLoop(frames, audio, self._on_window, analyzer=analyzer,
                                 reporter=reporter, config=cfg.loop, on_error=on_error,
                                 on_models=lambda _a, r: self.reports.set_reporter(r))
        self._latest: Analysed | None = None
        self._pending: list[Analysed] = []  # windows of a run that may open an event
        self._events_opened = 0
        self._last_snapshot = 0.0
        self._lock = threading.Lock()

    # --- lifecycle ----------------------------------------------------------------------
    def start(self) -> None:
        self.loop.start()

    def stop(self, report_timeout: float = 10.0) -> None:
        """Stop analysing, close the open event, finish queued reports, flush the last row."""
        self.loop.stop()
        with self._lock:
            self._handle(self.tracker.flush(time.time()), None)
            tail = self.downsampler.flush()
        if tail is not None:
            self.sink.put(tail)
        self.reports.close(report_timeout)

    def source_changed(self, name: str) -> None:
        """A new source starts: close the open event (it belonged to the old one)."""
        with self._lock:
            self._handle(self.tracker.flush(time.time()), None)
            self._pending.clear()
            tail = self.downsampler.flush()
        if tail is not None:
            self.sink.put(tail)
        self.book.source = name
        self._latest = None

    def swap_models(self, analyzer: AnalyzerLike | None, reporter: ReporterLike | None) -> None:
        """Hot-swap: applied between two windows."""
        self.loop.swap_models(analyzer, reporter)

    @property
    def latest(self) -> Analysed | None:
        """The newest analysed window (read by the UI when it paints)."""
        return self._latest

    @property
    def stats(self) -> PipelineStats:
        return PipelineStats(self.loop.stats, self.reports.stats, self._events_opened,
                             self.tracker.open_event)

    # --- analysis thread ----------------------------------------------------------------
    def _on_window(self, result: Analysed) -> None:
        self._latest = result
        obs = result.observation
        if self.clips is not None:
            self.clips.window(result.ts, obs)
        with self._lock:
            before = self.tracker.open_event
            changes = self.tracker.update(result.ts, obs.cat_score)
            if self.tracker.pending_since is not None and before is None:
                self._pending.append(result)
            elif self.tracker.open_event is None:
                self._pending.clear()
            self._handle(changes, result)
            record = self.downsampler.add(result.ts, obs, self.tracker.open_event)
        if record is not None:
            self.sink.put(record)

    def _handle(self, changes: list[TrackerEvent], result: Analysed | None) -> None:
        for change in changes:
            if isinstance(change, EventStarted):
                self._started(change)
            elif isinstance(change, EventUpdated) and result is not None:
                self._updated(change, result)
            elif isinstance(change, EventEnded):
                self._ended(change)

    def _started(self, change: EventStarted) -> None:
        self._events_opened += 1
        self.sink.put(self.book.open(change.event_id, change.start))
        self.reports.event_started(change.event_id, change.start)
        if self.clips is not None:
            self.clips.event_started(change.event_id, change.start)
        for earlier in self._pending:  # the run that opened the event belongs to it
            self.book.add(change.event_id, earlier.observation)
            self.reports.add(change.event_id, earlier.ts, earlier.observation)
        self._pending.clear()
        cfg = self.config
        self._last_snapshot = change.start - cfg.snapshot_interval_s + cfg.first_snapshot_s

    def _updated(self, change: EventUpdated, result: Analysed) -> None:
        if self.clips is not None:
            self.clips.event_updated(change.event_id, result.ts, change.active)
        if change.active:
            self.book.add(change.event_id, result.observation)
            self.reports.add(change.event_id, result.ts, result.observation)
        if result.ts - self._last_snapshot >= self.config.snapshot_interval_s:
            self._last_snapshot = result.ts
            snap = self.book.snapshot(change.event_id)
            if snap is not None:
                self.sink.put(snap)

    def _ended(self, change: EventEnded) -> None:
        record = self.book.close(change.event_id, change.end)
        if record is not None:
            self.sink.put(record)
        self.reports.event_ended(change.event_id, change.end)
        if self.clips is not None:
            self.clips.event_ended(change.event_id, change.end)

    # --- report thread ------------------------------------------------------------------
    def _report_done(self, event_id: str, report: Report, ts: float) -> None:
        updated = self.book.note_risk(event_id, report.risk_level)
        if updated is not None:
            self.sink.put(updated)
        if self._on_report is not None:
            self._on_report(event_id, report, ts)
