"""ReportScheduler: reports every N s of an event and at its end, off the caller's thread."""

from __future__ import annotations

import threading

from fakes import FakeReporter, ListSink, make_observation

from purrsight_app.pipeline.reports import ReportConfig, ReportScheduler, thin
from purrsight_app.storage import ReportRecord


def feed(sched: ReportScheduler, event: str, t0: float, seconds: float, rate: float = 4.0):
    n = int(seconds * rate)
    for i in range(n):
        sched.add(event, t0 + i / rate, make_observation(t0 + i / rate))
    return t0 + (n - 1) / rate


def test_reports_every_interval_and_at_end_on_worker_thread() -> None:
    sink, reporter = ListSink(), FakeReporter()
    sched = ReportScheduler(sink, reporter, config=ReportConfig(interval_s=5.0))
    sched.event_started("e1", 0.0)
    last = 0.0
    for t0 in (0.0, 5.25, 10.5):  # crosses 5 s and 10 s; let each request finish (no merging)
        last = feed(sched, "e1", t0, 1.5 if t0 == 10.5 else 5.25)
        assert sched.wait_idle(5)
    sched.event_ended("e1", last)
    assert sched.wait_idle(5)
    records = sink.of(ReportRecord)
    assert len(records) == 3
    assert all(r.event_id == "e1" for r in records)
    assert [round(r.ts) for r in records] == [5, 10, 12]
    assert sum(reporter.sizes) == 48  # every window went into exactly one report
    assert not reporter.calls.ran_on_main()
    assert threading.main_thread() not in sink.calls.threads
    sched.close()


def test_busy_reporter_merges_requests_instead_of_queuing() -> None:
    sink, reporter = ListSink(), FakeReporter(delay_s=0.3)
    sched = ReportScheduler(sink, reporter, config=ReportConfig(interval_s=1.0))
    sched.event_started("e", 0.0)
    last = feed(sched, "e", 0.0, 6.0)  # 5 requests while the first one takes 0.3 s
    sched.event_ended("e", last)
    assert sched.wait_idle(5)
    stats = sched.stats
    assert stats.merged >= 3
    assert stats.requested == stats.written <= 3
    assert sum(reporter.sizes) == 24
    sched.close()


def test_short_event_and_no_reporter_write_nothing() -> None:
    sink = ListSink()
    done = []
    sched = ReportScheduler(sink, None, config=ReportConfig(interval_s=1.0),
                            on_event_done=done.append)
    sched.event_started("e", 0.0)
    feed(sched, "e", 0.0, 3.0)
    sched.event_ended("e", 3.0)
    sched.wait_idle(5)
    assert sink.items == [] and done == ["e"]
    sched.set_reporter(FakeReporter())
    sched.event_started("f", 10.0)
    sched.add("f", 10.0, make_observation())
    sched.event_ended("f", 10.0)  # 1 window < min_observations
    sched.wait_idle(5)
    assert sink.items == []
    sched.close()


def test_failing_reporter_is_counted() -> None:
    class Broken(FakeReporter):
        def report(self, observations):
            raise ValueError("decoder produced invalid JSON")

    sched = ReportScheduler(ListSink(), Broken(), config=ReportConfig(interval_s=1.0))
    sched.event_started("e", 0.0)
    feed(sched, "e", 0.0, 2.0)
    sched.wait_idle(5)
    assert sched.stats.failed >= 1 and "invalid JSON" in sched.stats.last_error
    sched.close()


def test_thin_keeps_count_order_and_last() -> None:
    items = list(range(1000))
    out = thin(items, 120)
    assert len(out) == 120 and out == sorted(out) and out[-1] == 999
    assert thin(items[:5], 120) == items[:5]
