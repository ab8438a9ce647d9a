"""Timeline queries, search, export and the clip/label/run/model catalog on known data."""

from __future__ import annotations

import csv
import json
from datetime import UTC, date, datetime
from pathlib import Path
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import numpy as np
import pytest

from purrsight_app.storage import (
    ClipRecord,
    DeleteClip,
    EventRecord,
    ExportError,
    LabelRecord,
    ModelRecord,
    ObservationRecord,
    ReportRecord,
    RunRecord,
    SetActiveModel,
    Store,
    StoreWriter,
    WriterConfig,
    active_model,
    clips_to_label,
    day_view,
    export_selection,
    filter_events,
    filter_reports,
    get_clip,
    get_label,
    get_run,
    label_history,
    labeled_clips,
    month_summary,
    observations_between,
    search_events,
    search_reports,
    week_summary,
)
from purrsight_model.schema import Report

KEEP_ALL = WriterConfig(min_observation_interval_s=0, retry_interval_s=0.05)


def at(day: date, hour: int, minute: int = 0, tz=UTC) -> float:
    return datetime(day.year, day.month, day.day, hour, minute, tzinfo=tz).timestamp()


def write(store: Store, items: list) -> None:
    with StoreWriter(store.path, KEEP_ALL) as w:
        for item in items:
            w.put(item)
        assert w.flush(10)
    assert w.status.rejected == 0


@pytest.fixture
def store(tmp_path: Path) -> Store:
    return Store.open(tmp_path / "p.db")


DAY = date(2024, 3, 5)


def _day_fixture(store: Store) -> None:
    items: list = []
    for i in range(5):
        items.append(ObservationRecord(at(DAY, 3, i), affective_state="content",
                                       vocalization="purr"))
    for i in range(2):
        items.append(ObservationRecord(at(DAY, 3, 30 + i), affective_state="anxious",
                                       vocalization="hiss"))
    for i in range(7):
        items.append(ObservationRecord(at(DAY, 14, i), affective_state="playful",
                                       vocalization="chirp"))
    prev, nxt = date(2024, 3, 4), date(2024, 3, 6)
    items += [ObservationRecord(at(prev, 23, 59) + s, affective_state="content") for s in range(4)]
    items += [ObservationRecord(at(nxt, 0, 0) + s, affective_state="content") for s in range(3)]
    items += [
        EventRecord("span", at(prev, 23, 30), at(DAY, 0, 30), dominant_state="content"),
        EventRecord("inday", at(DAY, 14, 0), at(DAY, 14, 7), dominant_state="playful",
                    dominant_vocalization="chirp", max_risk=2),
        EventRecord("open", at(DAY, 20, 0), None, dominant_state="anxious", max_risk=5),
        EventRecord("tomorrow", at(nxt, 1, 0), at(nxt, 1, 5)),
        EventRecord("yesterday", at(prev, 10, 0), at(prev, 10, 5)),
    ]
    items += [
        ReportRecord(Report(risk="5", affective_state="anxious", summary="Hissing at a dog"),
                     ts=at(DAY, 20, 1), event_id="open"),
        ReportRecord(Report(risk="2", summary="Calm play"), ts=at(DAY, 14, 3), event_id="inday"),
        ReportRecord(Report(risk="4", summary="Yesterday alert"), ts=at(prev, 10, 1)),
    ]
    write(store, items)


def test_day_view_counts_events_and_alerts(store: Store):
    _day_fixture(store)
    view = day_view(store.reader(), DAY, tz=UTC)
    states = list(view.states)
    assert view.end - view.start == 86_400
    assert view.observation_count == 14
    assert view.hour_state_counts[3][states.index("content")] == 5
    assert view.hour_state_counts[3][states.index("anxious")] == 2
    assert view.hour_state_counts[14][states.index("playful")] == 7
    assert sum(map(sum, view.hour_state_counts)) == 14
    assert view.vocalization_counts == {"purr": 5, "hiss": 2, "chirp": 7}
    assert [e.id for e in view.events] == ["span", "inday", "open"]
    assert [a.risk for a in view.alerts] == [5]
    assert view.alerts[0].report().summary == "Hissing at a dog"


def _zone(name: str):
    try:
        return ZoneInfo(name)
    except ZoneInfoNotFoundError:
        pytest.skip(f"no tz database entry for {name}")


def test_day_view_on_a_dst_day_folds_hours_by_local_clock(store: Store):
    berlin = _zone("Europe/Berlin")
    day = date(2024, 3, 31)  # clocks jump 02:00 -> 03:00: a 23-hour day
    write(store, [
        ObservationRecord(at(day, 1, 30, berlin), affective_state="content"),
        ObservationRecord(at(day, 3, 30, berlin), affective_state="content"),
        ObservationRecord(at(day, 23, 59, berlin), affective_state="content"),
        ObservationRecord(at(date(2024, 4, 1), 0, 0, berlin), affective_state="content"),
    ])
    view = day_view(store.reader(), day, tz=berlin)
    col = view.states.index("content")
    assert view.end - view.start == 23 * 3600
    assert [h for h in range(24) if view.hour_state_counts[h][col]] == [1, 3, 23]


def test_day_view_half_hour_timezone(store: Store):
    kolkata = _zone("Asia/Kolkata")  # UTC+05:30: local days do not start on a UTC hour
    write(store, [
        ObservationRecord(at(DAY, 0, 10, kolkata), affective_state="neutral"),
        ObservationRecord(at(DAY, 0, 0, kolkata) - 60, affective_state="neutral"),  # day before
    ])
    view = day_view(store.reader(), DAY, tz=kolkata)
    assert view.observation_count == 1
    assert view.hour_state_counts[0][view.states.index("neutral")] == 1


def test_week_and_month_summaries(store: Store):
    _day_fixture(store)
    conn = store.reader()
    week = week_summary(conn, DAY, tz=UTC)  # 2024-03-04 (Mon) .. 03-10
    assert [d.day.isoformat() for d in week.days][:3] == ["2024-03-04", "2024-03-05",
                                                          "2024-03-06"]
    mon, tue, wed = week.days[:3]
    assert (mon.observation_count, tue.observation_count, wed.observation_count) == (4, 14, 3)
    assert tue.state_counts == {"content": 5, "anxious": 2, "playful": 7}
    assert (tue.event_count, tue.max_risk, tue.alert_count) == (2, 5, 1)
    assert (mon.event_count, mon.alert_count) == (2, 1)
    assert week.totals()["content"] == 12
    month = month_summary(conn, 2024, 2, tz=UTC)
    assert len(month.days) == 29 and sum(d.observation_count for d in month.days) == 0
    assert len(month_summary(conn, 2024, 12, tz=UTC).days) == 31


def test_filters(store: Store):
    _day_fixture(store)
    conn = store.reader()
    assert [e.id for e in filter_events(conn, states=["playful", "anxious"])] == ["open", "inday"]
    assert [e.id for e in filter_events(conn, min_risk=3)] == ["open"]
    assert [e.id for e in filter_events(conn, vocalizations=["chirp"])] == ["inday"]
    assert [e.id for e in filter_events(conn, start=at(DAY, 0), end=at(DAY, 23))] == [
        "open", "inday"]
    assert [r.risk for r in filter_reports(conn, min_risk=4)] == [5, 4]
    assert [r.summary for r in filter_reports(conn, states=["anxious"])] == ["Hissing at a dog"]
    rows = observations_between(conn, at(DAY, 3), at(DAY, 4))
    assert [r.affective_state for r in rows] == ["content"] * 5 + ["anxious"] * 2


def test_full_text_search_over_summary_and_advice(store: Store):
    write(store, [
        ReportRecord(Report(summary="The cat hissed at the vacuum cleaner", risk="4"), ts=1.0),
        ReportRecord(Report(summary="Purring contentedly on the sofa", advice="Let her rest"),
                     ts=2.0),
        ReportRecord(Report(summary="Chasing a toy mouse", advice="Offer puzzle feeders"),
                     ts=3.0),
    ])
    conn = store.reader()
    assert [r.ts for r in search_reports(conn, "hissing")] == [1.0]  # light stem: hiss*
    assert [r.ts for r in search_reports(conn, "purr")] == [2.0]  # finds "Purring"
    assert [r.ts for r in search_reports(conn, "mice chased")] == []  # every word must match
    assert [r.ts for r in search_reports(conn, "CHASED mouse")] == [3.0]
    assert [r.ts for r in search_reports(conn, "sofa purr")] == [2.0]  # all words, prefix last
    assert [r.ts for r in search_reports(conn, "puzzle")] == [3.0]  # advice is indexed too
    assert [r.ts for r in search_reports(conn, 'vacuum" * ( cat^:')] == [1.0]  # no FTS syntax
    assert search_reports(conn, "  ?! ") == []
    assert search_reports(conn, "dog") == []
    assert [r.ts for r in search_reports(conn, "the", start=1.5)] == [2.0]


def test_embedding_search_ranks_by_cosine(store: Store):
    write(store, [
        EventRecord("a", 1.0, embedding=np.array([1.0, 0, 0, 0])),
        EventRecord("b", 2.0, embedding=np.array([0, 1.0, 0, 0])),
        EventRecord("c", 3.0, embedding=np.array([0.9, 0.1, 0, 0])),
        EventRecord("none", 4.0),
        EventRecord("other-dim", 5.0, embedding=np.ones(8)),
    ])
    conn = store.reader()
    hits = search_events(conn, np.array([2.0, 0, 0, 0]), k=5)
    assert [e.id for e, _ in hits] == ["a", "c", "b"]
    assert hits[0][1] == pytest.approx(1.0, abs=1e-3)
    assert hits[1][1] == pytest.approx(0.9 / np.hypot(0.9, 0.1), abs=1e-3)
    assert hits[2][1] == pytest.approx(0.0, abs=1e-3)
    assert [e.id for e, _ in search_events(conn, np.array([1.0, 0, 0, 0]), k=1)] == ["a"]
    assert [e.id for e, _ in search_events(conn, np.array([1.0, 0, 0, 0]), min_score=0.5)] == [
        "a", "c"]
    assert [e.id for e, _ in search_events(conn, np.array([1.0, 0, 0, 0]), start=1.5)] == [
        "c", "b"]


def test_export_csv_and_json(store: Store, tmp_path: Path):
    _day_fixture(store)
    conn = store.reader()
    n = export_selection(conn, tmp_path / "ev.csv", kind="events", ids=["inday", "open"])
    assert n == 2
    with (tmp_path / "ev.csv").open() as fh:
        rows = list(csv.DictReader(fh))
    assert [r["id"] for r in rows] == ["inday", "open"]
    assert rows[0]["dominant_state"] == "playful" and rows[0]["max_risk"] == "2"

    n = export_selection(conn, tmp_path / "rep.json", kind="reports", start=at(DAY, 0),
                         end=at(DAY, 23, 59))
    data = json.loads((tmp_path / "rep.json").read_text())
    assert n == 2 and [d["report"]["risk"] for d in data] == ["2", "5"]
    assert "json" not in data[0]

    n = export_selection(conn, tmp_path / "obs.csv", kind="observations", start=at(DAY, 14),
                         end=at(DAY, 15))
    assert n == 7
    assert (tmp_path / "obs.csv").read_text().count("playful") == 7
    with pytest.raises(ExportError, match="xlsx"):
        export_selection(conn, tmp_path / "x.xlsx", kind="events")
    with pytest.raises(ExportError):
        export_selection(conn, tmp_path / "x.csv", kind="observations", ids=["a"])


def test_clips_labels_history_and_models(store: Store, tmp_path: Path):
    clip_file = tmp_path / "clips" / "a.mp4"
    clip_file.parent.mkdir()
    clip_file.write_bytes(b"x" * 100)
    write(store, [
        ClipRecord("clips/a.mp4", ts=10.0, id="a", uncertainty=0.4, prediction={"risk": "2"}),
        ClipRecord("clips/b.mp4", ts=11.0, id="b", uncertainty=0.1),
        ClipRecord("clips/c.mp4", ts=12.0, id="c"),
        LabelRecord("a", {"ears": "flattened"}, updated_at=100.0),
        LabelRecord("a", {"ears": "forward", "tail": "upright", "description": "happy"},
                    updated_at=200.0),
        ClipRecord("clips/a.mp4", ts=10.0, id="a", uncertainty=0.3),  # re-save keeps the label
        ModelRecord("m1", "models/m1", created=1.0, active=True),
        ModelRecord("m2", "models/m2", created=2.0),
        RunRecord("r1", "phase1", "finished", {"lr": 0.001}, {"f1": 0.7}, 5.0, 9.0, "runs/r1"),
    ])
    conn = store.reader()
    label = get_label(conn, "a")
    assert label is not None and label.values["ears"] == "forward"
    assert label.values["posture"] == "unknown" and label.description == "happy"
    assert [h.values["ears"] for h in label_history(conn, "a")] == ["flattened", "forward"]
    clip = get_clip(conn, "a")
    assert clip is not None and clip.labeled and clip.uncertainty == 0.3
    assert [c.id for c in clips_to_label(conn)] == ["b", "c"]
    assert [(c.id, lab.values["tail"]) for c, lab in labeled_clips(conn)] == [("a", "upright")]
    assert active_model(conn).id == "m1"
    assert get_run(conn, "r1").metrics == {"f1": 0.7}

    with StoreWriter(store.path, KEEP_ALL) as w:
        assert w.submit(SetActiveModel("m2")).result(5)
        with pytest.raises(KeyError):
            w.submit(SetActiveModel("nope")).result(5)
        assert w.submit(DeleteClip("a", data_dir=str(tmp_path))).result(5)
    assert active_model(conn).id == "m2"
    assert get_clip(conn, "a") is None and get_label(conn, "a") is None
    assert not clip_file.exists()
    assert len(label_history(conn, "a")) == 2  # the audit trail stays
