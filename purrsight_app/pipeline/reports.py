"""ReportScheduler: ask the Reporter (the slow LLM) for a report every N s of an event and at
its end, on its own worker thread, and hand the results to the store.

A report takes seconds on a Pi, so it must never run on the GUI or the analysis thread, and
requests must not pile up: while a request for an event waits in the queue, newer windows of
the same event are merged into it instead of queuing another one. Windows are thinned evenly
to ``max_observations`` so the prompt stays short however long the interval is.
"""

from __future__ import annotations

import logging
import queue
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

from purrsight_app.pipeline.protocols import ObservationLike, RecordSink, ReporterLike
from purrsight_app.storage import ReportRecord
from purrsight_model.schema import Report

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class ReportConfig:
    """When and how much to report."""

    interval_s: float = 30.0
    """Seconds of an open event between reports (the owner's "every N seconds" setting)."""
    min_observations: int = 3
    """Fewer windows than this are not worth a report (a final report is skipped too)."""
    max_observations: int = 120
    """Windows passed to the reporter at most (evenly thinned)."""


@dataclass
class _Job:
    event_id: str
    observations: list[ObservationLike] = field(default_factory=list)
    ts: float = 0.0
    final: bool = False


@dataclass(frozen=True)
class ReportStats:
    requested: int = 0
    written: int = 0
    failed: int = 0
    merged: int = 0
    """Requests folded into a waiting one because the reporter was busy."""
    last_error: str = ""


ReportCallback = Callable[[str, Report, float], None]


def thin(items: Sequence[ObservationLike], limit: int) -> list[ObservationLike]:
    """At most ``limit`` items, evenly spaced, always keeping the last one."""
    n = len(items)
    if n <= limit:
        return list(items)
    step = n / limit
    return [items[min(n - 1, int(round((i + 1) * step)) - 1)] for i in range(limit)]


class ReportScheduler:
    """Collect an event's windows; request reports on a worker thread (module docstring)."""

    def __init__(
        self,
        sink: RecordSink,
        reporter: ReporterLike | None = None,
        *,
        config: ReportConfig | None = None,
        on_report: ReportCallback | None = None,
        on_event_done: Callable[[str], None] | None = None,
    ) -> None:
        self.sink = sink
        self.config = config or ReportConfig()
        self._reporter = reporter
        self._on_report = on_report
        self._on_event_done = on_event_done
        self._lock = threading.Lock()
        self._buffers: dict[str, list[ObservationLike]] = {}
        self._last_report: dict[str, float] = {}
        self._waiting: dict[str, _Job] = {}  # queued, not yet started, per event
        self._queue: queue.SimpleQueue[_Job | None] = queue.SimpleQueue()
        self._idle = threading.Condition(self._lock)
        self._busy = 0
        self._stats = ReportStats()
        self._thread = threading.Thread(target=self._run, name="purrsight-reports", daemon=True)
        self._thread.start()

    # --- analysis-thread side -----------------------------------------------------------
    def set_reporter(self, reporter: ReporterLike | None) -> None:
        """Use another reporter for the next request (hot-swap)."""
        self._reporter = reporter

    def event_started(self, event_id: str, start: float) -> None:
        with self._lock:
            self._buffers[event_id] = []
            self._last_report[event_id] = start

    def add(self, event_id: str, ts: float, obs: ObservationLike) -> None:
        """One window of an open event; requests a report when the interval is over."""
        with self._lock:
            buf = self._buffers.get(event_id)
            if buf is None:
                return
            buf.append(obs)
            if ts - self._last_report[event_id] < self.config.interval_s:
                return
            self._last_report[event_id] = ts
            self._buffers[event_id] = []
        self._request(_Job(event_id, buf, ts))

    def event_ended(self, event_id: str, end: float) -> None:
        """Final report over the windows since the last one (if there are enough)."""
        with self._lock:
            buf = self._buffers.pop(event_id, [])
            self._last_report.pop(event_id, None)
        self._request(_Job(event_id, buf, end, final=True))

    # --- queue --------------------------------------------------------------------------
    def _request(self, job: _Job) -> None:
        with self._lock:
            waiting = self._waiting.get(job.event_id)
            if waiting is not None:  # reporter busy: fold into the waiting request
                waiting.observations.extend(job.observations)
                waiting.ts = job.ts
                waiting.final = waiting.final or job.final
                self._stats = _bump(self._stats, merged=1)
                return
            self._waiting[job.event_id] = job
            self._busy += 1
        self._queue.put(job)

    def _run(self) -> None:
        while True:
            job = self._queue.get()
            if job is None:
                return
            with self._lock:
                self._waiting.pop(job.event_id, None)
            try:
                self._handle(job)
            finally:
                with self._lock:
                    self._busy -= 1
                    self._idle.notify_all()

    def _handle(self, job: _Job) -> None:
        reporter = self._reporter
        enough = len(job.observations) >= self.config.min_observations
        if reporter is not None and enough:
            self._report(reporter, job)
        if job.final and self._on_event_done is not None:
            self._on_event_done(job.event_id)

    def _report(self, reporter: ReporterLike, job: _Job) -> None:
        with self._lock:
            self._stats = _bump(self._stats, requested=1)
        try:
            report = reporter.report(thin(job.observations, self.config.max_observations))
        except Exception as exc:  # noqa: BLE001 - one bad report must not stop the next
            message = f"report failed: {type(exc).__name__}: {exc}"
            log.warning(message)
            with self._lock:
                self._stats = _bump(self._stats, failed=1, last_error=message)
            return
        self.sink.put(ReportRecord(report=report, ts=job.ts, event_id=job.event_id))
        with self._lock:
            self._stats = _bump(self._stats, written=1)
        if self._on_report is not None:
            self._on_report(job.event_id, report, job.ts)

    # --- lifecycle ----------------------------------------------------------------------
    @property
    def stats(self) -> ReportStats:
        with self._lock:
            return self._stats

    def wait_idle(self, timeout: float | None = None) -> bool:
        """Block until every queued request has been handled; False on timeout."""
        with self._lock:
            return self._idle.wait_for(lambda: self._busy == 0, timeout)

    def close(self, timeout: float = 10.0) -> bool:
        """Finish queued requests (up to ``timeout``) and stop the worker."""
        done = self.wait_idle(timeout)
        self._queue.put(None)
        self._thread.join(1.0 if not done else timeout)
        return done


def _bump(stats: ReportStats, **changes: object) -> ReportStats:
    values = {k: (getattr(stats, k) + v) if isinstance(v, int) else v for k, v in changes.items()}
    return ReportStats(**{**stats.__dict__, **values})
