"""HTML for the event details pane: the event, its reports, its clip(s)."""

from __future__ import annotations

import html
from datetime import datetime
from pathlib import Path

from purrsight_app.ui.theme import MUTED, STATE_COLORS, WARN
from purrsight_app.ui.timeline.queries import EventDetail
from purrsight_model.schema import CATEGORICAL_FIELDS, UNKNOWN, ReportError


def _t(ts: float | None) -> str:
    return datetime.fromtimestamp(ts).strftime("%H:%M:%S") if ts else "now"


def detail_html(detail: EventDetail, data_dir: Path | None = None) -> str:
    """Readable summary of an event; reports newest last, clip paths as file links."""
    e = detail.event
    if e is None:
        return f"<p style='color:{MUTED}'>This event is no longer stored.</p>"
    color = STATE_COLORS.get(e.dominant_state or UNKNOWN, STATE_COLORS[UNKNOWN])
    parts = [
        f"<h3 style='color:{color}'>{html.escape(e.dominant_state or UNKNOWN)}"
        f" · {html.escape(e.dominant_vocalization or UNKNOWN)}</h3>",
        f"<p>{datetime.fromtimestamp(e.start):%d %b %Y} {_t(e.start)} – {_t(e.end)}"
        + (f" · max risk {e.max_risk}" if e.max_risk is not None else "") + "</p>",
    ]
    for clip in detail.clips:
        path = Path(clip.path)
        if not path.is_absolute() and data_dir is not None:
            path = data_dir / path
        parts.append(f"<p>Clip: <a href='{path.as_uri()}'>{html.escape(path.name)}</a>"
                     f" ({clip.duration or 0:.0f} s)</p>")
    if not detail.reports:
        parts.append(f"<p style='color:{MUTED}'>No reports for this event yet.</p>")
    for r in detail.reports:
        parts.append(_report_html(r))
    return "\n".join(parts)


def _report_html(r) -> str:
    try:
        rep = r.report()
    except ReportError as exc:
        return f"<p style='color:{WARN}'>Unreadable report: {html.escape(str(exc))}</p>"
    fields = ", ".join(f"{k.replace('_', ' ')}: {getattr(rep, k)}" for k in CATEGORICAL_FIELDS
                       if getattr(rep, k) != UNKNOWN)
    risk_style = f" style='color:{WARN}'" if (rep.risk_level or 0) >= 4 else ""
    return (
        f"<hr><p><b>{_t(r.ts)}</b> <span{risk_style}>{html.escape(fields)}</span></p>"
        f"<p>{html.escape(rep.summary)}</p>"
        + (f"<p><i>{html.escape(rep.advice)}</i></p>" if rep.advice else "")
    )
