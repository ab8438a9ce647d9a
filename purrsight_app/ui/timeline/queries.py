"""What the timeline asks the store, as plain functions run on a worker thread (no Qt).

Each function takes its own read connection (opened by the caller on the worker thread) and
returns plain dataclasses the panel can draw without touching SQLite again.
"""

from __future__ import annotations

import calendar
import sqlite3
import time
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Literal

import numpy as np

from purrsight_app.storage import (
    ClipRow,
    DayView,
    EventRow,
    PeriodSummary,
    ReportRow,
    day_bounds,
    day_view,
    filter_events,
    list_clips,
    month_summary,
    reports_of_event,
    search_events,
    search_reports,
    week_summary,
)
from purrsight_app.storage.rows import event_row

Mode = Literal["day", "week", "month"]


@dataclass(frozen=True)
class TimelineQuery:
    mode: Mode = "day"
    day: date = field(default_factory=date.today)
    states: tuple[str, ...] = ()
    vocalizations: tuple[str, ...] = ()
    min_risk: int | None = None

    def bounds(self) -> tuple[float, float]:
        """[start, end) epoch seconds of the shown period (local time)."""
        first, n = self.first_day_and_length()
        return day_bounds(first)[0], day_bounds(first + timedelta(days=n - 1))[1]

    def first_day_and_length(self) -> tuple[date, int]:
        if self.mode == "day":
            return self.day, 1
        if self.mode == "week":
            return self.day - timedelta(days=self.day.weekday()), 7
        return self.day.replace(day=1), calendar.monthrange(self.day.year, self.day.month)[1]

    def title(self) -> str:
        first, n = self.first_day_and_length()
        if self.mode == "day":
            return f"{self.day:%a %d %b %Y}"
        if self.mode == "week":
            return f"Week of {first:%d %b}"
        return f"{self.day:%B %Y}"

    def shifted(self, steps: int) -> TimelineQuery:
        """The previous/next period (±1 day, week or month)."""
        if self.mode == "day":
            day = self.day + timedelta(days=steps)
        elif self.mode == "week":
            day = self.day + timedelta(days=7 * steps)
        else:
            month = self.day.month - 1 + steps
            year = self.day.year + month // 12
            day = date(year, month % 12 + 1, 1)
        return TimelineQuery(self.mode, day, self.states, self.vocalizations, self.min_risk)


@dataclass(frozen=True)
class TimelineResult:
    query: TimelineQuery
    events: list[EventRow]
    day: DayView | None = None
    period: PeriodSummary | None = None
    elapsed_ms: float = 0.0


def run_query(conn: sqlite3.Connection, q: TimelineQuery) -> TimelineResult:
    """Everything one timeline page draws: aggregates plus the filtered events."""
    t0 = time.perf_counter()
    start, end = q.bounds()
    events = filter_events(conn, start=start, end=end, states=q.states or None,
                           vocalizations=q.vocalizations or None, min_risk=q.min_risk,
                           limit=2000)
    events.reverse()  # oldest first, like the strip
    dv = period = None
    if q.mode == "day":
        dv = day_view(conn, q.day)
    elif q.mode == "week":
        period = week_summary(conn, q.day)
    else:
        period = month_summary(conn, q.day.year, q.day.month)
    return TimelineResult(q, events, dv, period, (time.perf_counter() - t0) * 1e3)


@dataclass(frozen=True)
class EventDetail:
    event: EventRow | None
    reports: list[ReportRow]
    clips: list[ClipRow]


def get_event(conn: sqlite3.Connection, event_id: str) -> EventRow | None:
    row = conn.execute("SELECT * FROM events WHERE id = ?", (event_id,)).fetchone()
    return None if row is None else event_row(row)


def event_detail(conn: sqlite3.Connection, event_id: str) -> EventDetail:
    """An event with its reports and any recorded clips."""
    event = get_event(conn, event_id)
    clips: list[ClipRow] = []
    if event is not None:
        end = (event.end or time.time()) + 600
        clips = [c for c in list_clips(conn, start=event.start - 600, end=end)
                 if c.event_id == event_id]
    return EventDetail(event, reports_of_event(conn, event_id), clips)


@dataclass(frozen=True)
class Hit:
    """One search result line."""

    event_id: str | None
    ts: float
    text: str


def _clock(ts: float) -> str:
    return datetime.fromtimestamp(ts).strftime("%d %b %H:%M")


def text_search(conn: sqlite3.Connection, text: str, limit: int = 50) -> list[Hit]:
    """Reports whose summary/advice match the words (FTS5)."""
    return [Hit(r.event_id, r.ts, f"{_clock(r.ts)} · {r.affective_state} · {r.summary or ''}")
            for r in search_reports(conn, text, limit=limit)]


def semantic_search(conn: sqlite3.Connection, query: np.ndarray, k: int = 20) -> list[Hit]:
    """Events nearest to a text embedding [D] (from ``Analyzer.embed_text``)."""
    return [Hit(e.id, e.start, f"{_clock(e.start)} · {e.dominant_state} · match {score:.2f}")
            for e, score in search_events(conn, query, k=k)]


def event_line(e: EventRow) -> str:
    """List text of an event: time span, state, vocalization, risk."""
    end = datetime.fromtimestamp(e.end).strftime("%H:%M") if e.end else "now"
    risk = f" · risk {e.max_risk}" if e.max_risk is not None else ""
    alert = " ⚠" if e.max_risk is not None and e.max_risk >= 4 else ""
    return (f"{datetime.fromtimestamp(e.start):%H:%M}–{end} · {e.dominant_state} · "
            f"{e.dominant_vocalization}{risk}{alert}")

