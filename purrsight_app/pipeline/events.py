"""EventTracker: hysteresis on the cat score turns a stream of windows into events.

A single noisy window must neither open nor close an event, or the timeline fills with
one-second slivers and the reporter runs for nothing. So an event opens only after the score
stayed at or above ``on_threshold`` (never dipping under ``off_threshold``) for
``min_duration_s``, and closes only after it stayed below ``off_threshold`` for ``gap_s``;
its end is the last window that still showed a cat. Very long events are split at
``max_duration_s`` so reports and clips stay bounded. Pure logic: no threads, no clock.
"""

from __future__ import annotations

from dataclasses import dataclass

from purrsight_app.storage import new_id


@dataclass(frozen=True)
class TrackerConfig:
    """Thresholds and durations of the hysteresis."""

    on_threshold: float = 0.6
    """Score that (held for ``min_duration_s``) opens an event."""
    off_threshold: float = 0.4
    """Score under which the cat counts as gone (must be <= ``on_threshold``)."""
    min_duration_s: float = 1.0
    """How long the score must hold before an event opens (0 = open on the first window)."""
    gap_s: float = 5.0
    """How long the cat must be gone before the event closes."""
    max_duration_s: float = 1800.0
    """Longer events are closed and a new one opened at once."""

    def __post_init__(self) -> None:
        if not 0.0 <= self.off_threshold <= self.on_threshold <= 1.0:
            raise ValueError("need 0 <= off_threshold <= on_threshold <= 1")


@dataclass(frozen=True)
class EventStarted:
    event_id: str
    start: float
    """Time of the first window of the run that opened the event."""


@dataclass(frozen=True)
class EventUpdated:
    event_id: str
    ts: float
    active: bool
    """The window still showed a cat (score >= off_threshold)."""


@dataclass(frozen=True)
class EventEnded:
    event_id: str
    start: float
    end: float
    """Time of the last window that still showed a cat."""


TrackerEvent = EventStarted | EventUpdated | EventEnded


class EventTracker:
    """Feed ``update(ts, score)`` in time order; act on the returned events."""

    def __init__(self, config: TrackerConfig | None = None) -> None:
        self.config = config or TrackerConfig()
        self._candidate: float | None = None  # start of a run that may open an event
        self._event_id: str | None = None
        self._start = 0.0
        self._last_active = 0.0

    @property
    def open_event(self) -> str | None:
        """Id of the open event, or None."""
        return self._event_id

    @property
    def pending_since(self) -> float | None:
        """Start of a run that may still open an event (for pre-roll buffering)."""
        return self._candidate

    def update(self, ts: float, score: float) -> list[TrackerEvent]:
        """Advance with one window's score; return what happened (often nothing)."""
        if self._event_id is None:
            return self._idle(ts, score)
        return self._open(ts, score)

    def flush(self, ts: float) -> list[TrackerEvent]:
        """Close the open event now (shutdown, source switch)."""
        self._candidate = None
        if self._event_id is None:
            return []
        return [self._close()]

    def _idle(self, ts: float, score: float) -> list[TrackerEvent]:
        cfg = self.config
        if score < cfg.off_threshold or (self._candidate is None and score < cfg.on_threshold):
            self._candidate = None
            return []
        if self._candidate is None:
            self._candidate = ts
        if ts - self._candidate < cfg.min_duration_s:
            return []
        return self._begin(self._candidate, ts)

    def _begin(self, start: float, ts: float) -> list[TrackerEvent]:
        self._event_id = new_id()
        self._start = start
        self._last_active = ts
        self._candidate = None
        return [EventStarted(self._event_id, start), EventUpdated(self._event_id, ts, True)]

    def _open(self, ts: float, score: float) -> list[TrackerEvent]:
        cfg = self.config
        assert self._event_id is not None
        active = score >= cfg.off_threshold
        if active:
            self._last_active = ts
        if not active and ts - self._last_active >= cfg.gap_s:
            return [self._close()]
        out: list[TrackerEvent] = [EventUpdated(self._event_id, ts, active)]
        if active and ts - self._start >= cfg.max_duration_s:
            out.append(self._close())
            out.extend(self._begin(ts, ts))
        return out

    def _close(self) -> EventEnded:
        assert self._event_id is not None
        ended = EventEnded(self._event_id, self._start, self._last_active)
        self._event_id = None
        return ended
