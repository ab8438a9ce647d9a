"""EventTracker hysteresis: noisy single windows neither open nor close events."""

from __future__ import annotations

import pytest

from purrsight_app.pipeline.events import (
    EventEnded,
    EventStarted,
    EventTracker,
    EventUpdated,
    TrackerConfig,
)

CFG = TrackerConfig(on_threshold=0.6, off_threshold=0.4, min_duration_s=1.0, gap_s=3.0,
                    max_duration_s=1000.0)


def feed(tracker: EventTracker, scores: list[float], dt: float = 0.5, t0: float = 100.0):
    out = []
    for i, s in enumerate(scores):
        out += tracker.update(t0 + i * dt, s)
    return out


def kinds(events) -> list[str]:
    return [type(e).__name__ for e in events if not isinstance(e, EventUpdated)]


def test_single_spike_does_not_open_an_event() -> None:
    tr = EventTracker(CFG)
    events = feed(tr, [0.1, 0.9, 0.1, 0.1, 0.95, 0.2])
    assert kinds(events) == []
    assert tr.open_event is None


def test_event_opens_after_min_duration_and_starts_at_first_window() -> None:
    tr = EventTracker(CFG)
    events = feed(tr, [0.1, 0.7, 0.5, 0.8])  # t = 100, 100.5, 101, 101.5
    starts = [e for e in events if isinstance(e, EventStarted)]
    assert len(starts) == 1
    assert starts[0].start == pytest.approx(100.5)
    assert tr.open_event == starts[0].event_id


def test_dip_below_off_threshold_resets_the_candidate() -> None:
    tr = EventTracker(CFG)
    events = feed(tr, [0.7, 0.3, 0.7, 0.7])  # never 1 s above 0.4 in one run
    assert kinds(events) == []


def test_short_gap_keeps_event_open_long_gap_closes_it() -> None:
    tr = EventTracker(CFG)
    events = feed(tr, [0.9] * 4 + [0.1] * 4 + [0.9] * 2)  # 2 s gap < 3 s
    assert kinds(events) == ["EventStarted"]
    more = feed(tr, [0.1] * 7, t0=105.0)  # 105..108 s: 3 s after last active (104.5)
    ends = [e for e in more if isinstance(e, EventEnded)]
    assert len(ends) == 1
    assert ends[0].end == pytest.approx(104.5)  # the last window that still showed a cat
    assert ends[0].start == pytest.approx(100.0)
    assert tr.open_event is None


def test_updates_mark_inactive_windows() -> None:
    tr = EventTracker(CFG)
    events = feed(tr, [0.9, 0.9, 0.9, 0.2])
    updates = [e for e in events if isinstance(e, EventUpdated)]
    assert [u.active for u in updates] == [True, False]


def test_max_duration_splits_long_events() -> None:
    tr = EventTracker(TrackerConfig(min_duration_s=0.0, gap_s=1.0, max_duration_s=10.0))
    events = feed(tr, [0.9] * 50, dt=0.5)  # 25 s of cat
    assert kinds(events).count("EventStarted") == 3
    assert kinds(events).count("EventEnded") == 2


def test_flush_closes_open_event() -> None:
    tr = EventTracker(CFG)
    feed(tr, [0.9] * 4)
    (ended,) = tr.flush(200.0)
    assert isinstance(ended, EventEnded)
    assert tr.flush(201.0) == []


def test_bad_thresholds_are_rejected() -> None:
    with pytest.raises(ValueError):
        TrackerConfig(on_threshold=0.3, off_threshold=0.5)
