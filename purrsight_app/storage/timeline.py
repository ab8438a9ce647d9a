"""Timeline queries: day view, week/month summaries, filters. Plain data in, plain data out.

Counts come from the quarter-hour aggregate ``obs_agg`` (maintained by the writer in the same
transaction as the observations), so a day view reads ~96 x labels small rows regardless of
how many observations exist, and pruned observations still show up in old days' counts.
Days and hours are local time (``tz=None``) or the given ``tzinfo``; DST days have 23 or 25
hours, which are folded into the 24 hour-of-day slots by their local hour.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta, tzinfo
from datetime import time as dtime

from purrsight_app.storage.migrations import AGGREGATE_BUCKET_S
from purrsight_app.storage.rows import EventRow, ReportRow, event_row, report_row
from purrsight_model.schema import allowed_values

DEFAULT_ALERT_RISK = 4
MAX_EVENT_SPAN_S = 86_400.0
"""Events are looked up by start time; longer events than this may be missed by a day view."""


def day_start(day: date, tz: tzinfo | None = None) -> float:
    """Epoch seconds of local (or ``tz``) midnight starting ``day``."""
    if tz is None:
        return datetime.combine(day, dtime.min).timestamp()
    return datetime.combine(day, dtime.min, tzinfo=tz).timestamp()


def day_bounds(day: date, tz: tzinfo | None = None) -> tuple[float, float]:
    """[start, end) of a local day in epoch seconds (23/24/25 hours long)."""
    return day_start(day, tz), day_start(day + timedelta(days=1), tz)


def _local_hour(ts: float, tz: tzinfo | None) -> int:
    return datetime.fromtimestamp(ts, tz).hour


def _counts_by_span(
    conn: sqlite3.Connection, spans: Sequence[tuple[float, float]], fields: Sequence[str]
) -> list[dict[str, dict[str, int]]]:
    """For each [lo, hi) span (seconds, bucket-aligned): {field: {value: count}} in one query."""
    out: list[dict[str, dict[str, int]]] = [{f: {} for f in fields} for _ in spans]
    if not spans:
        return out
    values = ",".join("(?,?,?)" for _ in spans)
    params: list[float | int] = []
    for i, (lo, hi) in enumerate(spans):
        params += [i, int(lo // AGGREGATE_BUCKET_S), int(hi // AGGREGATE_BUCKET_S)]
    marks = ",".join("?" for _ in fields)
    sql = (
        f"WITH spans(i, lo, hi) AS (VALUES {values}) "
        "SELECT s.i, o.field, o.value, SUM(o.n) FROM spans s JOIN obs_agg o "
        "ON o.bucket >= s.lo AND o.bucket < s.hi "
        f"WHERE o.field IN ({marks}) GROUP BY s.i, o.field, o.value"
    )
    for i, name, value, n in conn.execute(sql, [*params, *fields]):
        out[i][name][value] = int(n)
    return out


def events_between(
    conn: sqlite3.Connection, start: float, end: float, *, limit: int = 10_000
) -> list[EventRow]:
    """Events overlapping [start, end), oldest first."""
    rows = conn.execute(
        'SELECT * FROM events WHERE start >= ? AND start < ? AND COALESCE("end", start) >= ? '
        "ORDER BY start LIMIT ?",
        (start - MAX_EVENT_SPAN_S, end, start, limit),
    )
    return [event_row(r) for r in rows]


def alerts_between(
    conn: sqlite3.Connection, start: float, end: float, min_risk: int = DEFAULT_ALERT_RISK
) -> list[ReportRow]:
    """Reports in [start, end) whose risk is at least ``min_risk``, oldest first."""
    rows = conn.execute(
        "SELECT * FROM reports WHERE ts >= ? AND ts < ? AND risk >= ? ORDER BY ts",
        (start, end, min_risk),
    )
    return [report_row(r) for r in rows]


@dataclass(frozen=True)
class DayView:
    """Everything the timeline's day page draws."""

    day: date
    start: float
    end: float
    states: tuple[str, ...]
    """Column order of ``hour_state_counts`` (the schema's affective states + unknown)."""
    hour_state_counts: list[list[int]]
    """[24][len(states)] stored observations per local hour and affective state."""
    vocalization_counts: dict[str, int]
    arousal_counts: dict[str, int]
    observation_count: int
    events: list[EventRow]
    alerts: list[ReportRow]


def _hour_spans(start: float, end: float, tz: tzinfo | None) -> list[tuple[float, float, int]]:
    """Absolute hour steps from local midnight, each tagged with its local hour label."""
    spans = []
    t = start
    while t < end:
        spans.append((t, min(t + 3600.0, end), _local_hour(t, tz)))
        t += 3600.0
    return spans


def day_view(
    conn: sqlite3.Connection,
    day: date,
    *,
    tz: tzinfo | None = None,
    min_alert_risk: int = DEFAULT_ALERT_RISK,
) -> DayView:
    """Events, hour x affective-state counts, vocalization counts and risk alerts of one day."""
    start, end = day_bounds(day, tz)
    states = allowed_values("affective_state")
    grid = [[0] * len(states) for _ in range(24)]
    hours = _hour_spans(start, end, tz)
    per_hour = _counts_by_span(conn, [(lo, hi) for lo, hi, _ in hours], ["affective_state"])
    for (_, _, label), counts in zip(hours, per_hour, strict=True):
        for value, n in counts["affective_state"].items():
            if value in states:
                grid[label][states.index(value)] += n
    (whole,) = _counts_by_span(conn, [(start, end)], ["vocalization", "arousal"])
    return DayView(
        day=day, start=start, end=end, states=states, hour_state_counts=grid,
        vocalization_counts=whole["vocalization"], arousal_counts=whole["arousal"],
        observation_count=sum(map(sum, grid)),
        events=events_between(conn, start, end),
        alerts=alerts_between(conn, start, end, min_alert_risk),
    )


@dataclass(frozen=True)
class DaySummary:
    """One bar of a week or month chart."""

    day: date
    observation_count: int
    state_counts: dict[str, int]
    vocalization_counts: dict[str, int]
    event_count: int
    max_risk: int | None
    alert_count: int


@dataclass(frozen=True)
class PeriodSummary:
    start: date
    days: list[DaySummary] = field(default_factory=list)

    def totals(self, name: str = "state_counts") -> dict[str, int]:
        """Sum a per-day counter over the period."""
        out: dict[str, int] = {}
        for d in self.days:
            for k, v in getattr(d, name).items():
                out[k] = out.get(k, 0) + v
        return out


def period_summary(
    conn: sqlite3.Connection,
    first_day: date,
    n_days: int,
    *,
    tz: tzinfo | None = None,
    min_alert_risk: int = DEFAULT_ALERT_RISK,
) -> PeriodSummary:
    """Per-day counts, events, max risk and alerts for ``n_days`` days from ``first_day``."""
    days = [first_day + timedelta(days=i) for i in range(n_days)]
    spans = [day_bounds(d, tz) for d in days]
    counts = _counts_by_span(conn, spans, ["affective_state", "vocalization"])
    out = PeriodSummary(start=first_day)
    for d, (lo, hi), c in zip(days, spans, counts, strict=True):
        n_events, = conn.execute(
            "SELECT COUNT(*) FROM events WHERE start >= ? AND start < ?", (lo, hi)
        ).fetchone()
        max_risk, n_alerts = conn.execute(
            "SELECT MAX(risk), SUM(risk >= ?) FROM reports WHERE ts >= ? AND ts < ?",
            (min_alert_risk, lo, hi),
        ).fetchone()
        out.days.append(DaySummary(
            day=d, observation_count=sum(c["affective_state"].values()),
            state_counts=c["affective_state"], vocalization_counts=c["vocalization"],
            event_count=int(n_events), max_risk=max_risk, alert_count=int(n_alerts or 0),
        ))
    return out


def week_summary(conn: sqlite3.Connection, any_day: date, **kw: object) -> PeriodSummary:
    """The Monday-to-Sunday week containing ``any_day``."""
    monday = any_day - timedelta(days=any_day.weekday())
    return period_summary(conn, monday, 7, **kw)  # type: ignore[arg-type]


def month_summary(conn: sqlite3.Connection, year: int, month: int, **kw: object) -> PeriodSummary:
    """Every day of a calendar month."""
    first = date(year, month, 1)
    nxt = date(year + month // 12, month % 12 + 1, 1)
    return period_summary(conn, first, (nxt - first).days, **kw)  # type: ignore[arg-type]


def _where(
    start: float | None, end: float | None, ts_col: str,
    filters: Sequence[tuple[str, Sequence[str] | None]],
    risk_col: str, min_risk: int | None,
) -> tuple[str, list[object]]:
    clauses: list[str] = []
    params: list[object] = []
    if start is not None:
        clauses.append(f"{ts_col} >= ?")
        params.append(start)
    if end is not None:
        clauses.append(f"{ts_col} < ?")
        params.append(end)
    for col, wanted in filters:
        if wanted:
            clauses.append(f"{col} IN ({','.join('?' for _ in wanted)})")
            params.extend(wanted)
    if min_risk is not None:
        clauses.append(f"{risk_col} >= ?")
        params.append(min_risk)
    return (" WHERE " + " AND ".join(clauses)) if clauses else "", params


def filter_events(
    conn: sqlite3.Connection,
    *,
    start: float | None = None,
    end: float | None = None,
    states: Sequence[str] | None = None,
    vocalizations: Sequence[str] | None = None,
    min_risk: int | None = None,
    limit: int = 500,
    offset: int = 0,
) -> list[EventRow]:
    """Events by start time, dominant state/vocalization and max risk; newest first."""
    where, params = _where(start, end, "start", [("dominant_state", states),
                           ("dominant_vocalization", vocalizations)], "max_risk", min_risk)
    rows = conn.execute(
        f"SELECT * FROM events{where} ORDER BY start DESC LIMIT ? OFFSET ?",
        [*params, limit, offset],
    )
    return [event_row(r) for r in rows]


def filter_reports(
    conn: sqlite3.Connection,
    *,
    start: float | None = None,
    end: float | None = None,
    states: Sequence[str] | None = None,
    vocalizations: Sequence[str] | None = None,
    min_risk: int | None = None,
    limit: int = 500,
    offset: int = 0,
) -> list[ReportRow]:
    """Reports by time, affective state, vocalization and risk; newest first."""
    where, params = _where(start, end, "ts", [("affective_state", states),
                           ("vocalization", vocalizations)], "risk", min_risk)
    rows = conn.execute(
        f"SELECT * FROM reports{where} ORDER BY ts DESC LIMIT ? OFFSET ?",
        [*params, limit, offset],
    )
    return [report_row(r) for r in rows]
