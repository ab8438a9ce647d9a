"""LivePipeline end to end without Qt: file source -> fake model -> events, reports, SQLite."""

from __future__ import annotations

import time
from datetime import date

import pytest
from fakes import FakeAnalyzer, FakeReporter, ListSink

from purrsight_app.capture import AudioRing, FileSource, FileSourceConfig, FrameRing, SourceStatus
from purrsight_app.pipeline.events import TrackerConfig
from purrsight_app.pipeline.live import LivePipeline, PipelineConfig
from purrsight_app.pipeline.reports import ReportConfig
from purrsight_app.storage import (
    EventRecord,
    ReportRecord,
    day_view,
    observations_between,
    reports_of_event,
    search_reports,
)

FAST = PipelineConfig(
    tracker=TrackerConfig(min_duration_s=0.3, gap_s=0.8),
    reports=ReportConfig(interval_s=0.5, min_observations=2),
)


def play(clip, sink, analyzer, reporter, speed: float = 2.0) -> LivePipeline:
    frames, audio = FrameRing(), AudioRing(seconds=10)
    source = FileSource(clip, frames, audio, config=FileSourceConfig(speed=speed, max_fps=30))
    pipe = LivePipeline(frames, audio, sink, config=FAST, source_name="cat.mp4",
                        analyzer=analyzer, reporter=reporter)
    pipe.start()
    source.start()
    assert source.wait(15)
    assert source.status is SourceStatus.ENDED, source.message
    time.sleep(0.8)  # the gap after the cat left, so the event closes on its own
    pipe.stop()
    return pipe


def test_clip_produces_one_event_reports_and_downsampled_rows(cat_clip, app_store,
                                                              app_writer) -> None:
    analyzer, reporter = FakeAnalyzer(), FakeReporter()
    pipe = play(cat_clip, app_writer, analyzer, reporter)
    assert app_writer.flush(5)
    stats = pipe.stats
    assert stats.events_opened == 1
    assert stats.loop.analysed >= 20  # ~10 windows/s over 3 s
    assert stats.reports.written >= 2
    conn = app_store.reader()
    view = day_view(conn, date.today())
    assert len(view.events) == 1
    event = view.events[0]
    assert event.end is not None and 0.8 <= event.end - event.start <= 2.2  # 1..4 s at 2x
    assert event.dominant_state == "content" and event.max_risk == 2
    reports = reports_of_event(conn, event.id)
    assert len(reports) == stats.reports.written
    assert search_reports(conn, "looked content")
    rows = observations_between(conn, 0, time.time() + 1)
    seconds = {int(r.ts) for r in rows}
    assert len(rows) <= len(seconds) + stats.events_opened * 2  # <= 1 row/s (+ event edges)
    assert any(r.event_id == event.id for r in rows)
    # Nothing ran on the main thread: inference, reports, store writes.
    assert not analyzer.calls.ran_on_main() and not reporter.calls.ran_on_main()


def test_pipeline_without_model_stores_nothing_and_swaps_in_later(cat_clip) -> None:
    sink = ListSink()
    frames, audio = FrameRing(), AudioRing(seconds=10)
    source = FileSource(cat_clip, frames, audio, config=FileSourceConfig(speed=2.0))
    pipe = LivePipeline(frames, audio, sink, config=FAST)
    pipe.start()
    source.start()
    time.sleep(0.5)
    assert pipe.latest is None and sink.items == []
    analyzer = FakeAnalyzer()
    pipe.swap_models(analyzer, FakeReporter())
    source.wait(15)
    time.sleep(0.8)
    pipe.stop()
    assert pipe.latest is not None
    assert sink.of(EventRecord) and sink.of(ReportRecord)
    names = {t.name for t in sink.calls.threads}
    assert {"purrsight-analysis", "purrsight-reports"} <= names


def test_source_change_closes_the_open_event() -> None:
    from fakes import make_observation

    from purrsight_app.pipeline.analysis_loop import Analysed

    sink = ListSink()
    pipe = LivePipeline(None, None, sink, config=FAST)
    for i in range(10):
        ts = 100 + i * 0.1
        pipe._on_window(Analysed(make_observation(ts), ts, ts, None, ts, ts, i))
    assert pipe.tracker.open_event is not None
    pipe.source_changed("other")
    ends = [e for e in sink.of(EventRecord) if e.end is not None]
    assert len(ends) == 1 and ends[0].end == pytest.approx(100.9)
    assert pipe.book.source == "other" and pipe.latest is None
    pipe.stop()
