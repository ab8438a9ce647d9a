"""Timeline charts drawn with matplotlib onto a given Figure (no Qt here).

Day: an event strip colored by dominant state (risk alerts as red ticks), an hour x state
heatmap (each row in its state's color, opacity = how much of that hour) and vocalization
counts. Week/month: observations per day stacked by state, with event counts on top.
Margins are set in pixels so labels fit at 800x480 as well as 1280x720.
"""

from __future__ import annotations

from datetime import datetime

import numpy as np
from matplotlib.colors import to_rgb
from matplotlib.figure import Figure
from matplotlib.patches import Patch

from purrsight_app.storage import DayView, EventRow, PeriodSummary
from purrsight_app.ui.theme import BACKGROUND, MUTED, PANEL, STATE_COLORS, TEXT
from purrsight_model.schema import UNKNOWN, allowed_values

ALERT_COLOR = "#ff5252"


def _font(small: bool) -> int:
    return 7 if small else 9


def _px(fig: Figure) -> tuple[float, float]:
    w, h = fig.get_size_inches()
    return w * fig.dpi, h * fig.dpi


def _style_axes(ax, title: str, small: bool) -> None:
    ax.set_facecolor(PANEL)
    ax.tick_params(colors=MUTED, labelsize=_font(small))
    for spine in ax.spines.values():
        spine.set_color("#37474f")
    ax.set_title(title, loc="left", color=TEXT, fontsize=_font(small) + 1)


def _hours(ts: float, day_start: float) -> float:
    return (ts - day_start) / 3600.0


def event_spans(events: list[EventRow], start: float, end: float) -> list[tuple[str, float, float, str]]:
    """(id, x0 hours, width hours, color) per event; tiny events get a visible width."""
    now = datetime.now().timestamp()
    out = []
    for e in events:
        e_end = e.end if e.end is not None else min(end, now)
        x0 = max(0.0, _hours(e.start, start))
        width = max(_hours(e_end, start) - x0, 0.05)
        out.append((e.id, x0, width, STATE_COLORS.get(e.dominant_state or UNKNOWN,
                                                      STATE_COLORS[UNKNOWN])))
    return out


def draw_event_strip(ax, events: list[EventRow], start: float, end: float,
                     alerts: list[float], selected: str | None, small: bool) -> None:
    """Bars of events over the day's hours, one collection per color (fast with many)."""
    title = f"Events ({len(events)})" + (f" · {len(alerts)} risk alerts" if alerts else "")
    _style_axes(ax, title, small)
    hours = (end - start) / 3600.0
    spans = event_spans(events, start, end)
    by_color: dict[str, list[tuple[float, float]]] = {}
    for _, x0, width, color in spans:
        by_color.setdefault(color, []).append((x0, width))
    for color, ranges in by_color.items():
        ax.broken_barh(ranges, (0.1, 0.8), facecolors=color)
    for eid, x0, width, _ in spans:
        if eid == selected:
            ax.broken_barh([(x0, width)], (0.02, 0.96), facecolors="none", edgecolors=TEXT,
                           linewidth=2)
    for ts in alerts:
        ax.plot([_hours(ts, start)] * 2, [0.0, 0.1], color=ALERT_COLOR, linewidth=3)
    ax.set_xlim(0, hours)
    ax.set_ylim(0, 1)
    ax.set_yticks([])
    ax.set_xticks(range(0, int(hours) + 1, 3))


def state_image(view: DayView) -> np.ndarray:
    """[S, 24, 3] RGB: each state's color blended over the panel by sqrt(count / max)."""
    grid = np.asarray(view.hour_state_counts, dtype=float).T  # [S, 24]
    alpha = np.sqrt(grid / max(1.0, grid.max()))[..., None]  # [S, 24, 1]
    colors = np.array([to_rgb(STATE_COLORS.get(s, STATE_COLORS[UNKNOWN]))
                       for s in view.states])[:, None, :]  # [S, 1, 3]
    return alpha * colors + (1 - alpha) * np.array(to_rgb(PANEL))  # [S, 24, 3]


def draw_heatmap(ax, view: DayView, small: bool) -> None:
    """Hours (x) x affective states (y)."""
    _style_axes(ax, "Hour × state", small)
    ax.imshow(state_image(view), aspect="auto", interpolation="nearest",
              extent=(0, 24, len(view.states) - 0.5, -0.5))
    ax.set_yticks(range(len(view.states)))
    ax.set_yticklabels([s.replace("_", " ") for s in view.states])
    ax.set_xticks(range(0, 25, 3))


def draw_counts(ax, counts: dict[str, int], title: str, small: bool) -> None:
    """Horizontal bars of counts in the schema's order (vocalizations)."""
    _style_axes(ax, title, small)
    labels = [v for v in allowed_values("vocalization") if counts.get(v)]
    ax.barh(range(len(labels)), [counts[v] for v in labels], color="#4fc3f7")
    ax.set_yticks(range(len(labels)))
    ax.set_yticklabels(labels)
    ax.invert_yaxis()
    if not labels:
        ax.set_xticks([])
        ax.text(0.5, 0.5, "none yet", color=MUTED, ha="center", va="center",
                fontsize=_font(small), transform=ax.transAxes)


def draw_day(fig: Figure, view: DayView, events: list[EventRow],
             selected: str | None = None, small: bool = False):
    """The day page: strip on top, heatmap and vocalization counts below; returns the
    strip's axes (for click hit-testing)."""
    fig.clear()
    fig.set_facecolor(BACKGROUND)
    w, h = _px(fig)
    label_px = 62 if small else 78  # room for the longest state / vocalization name
    gs = fig.add_gridspec(2, 2, height_ratios=[1, 3], width_ratios=[2.2, 1],
                          hspace=(55 if small else 70) / h * 3, wspace=label_px / w * 3,
                          left=label_px / w, right=1 - 12 / w, top=1 - 46 / h,
                          bottom=(22 if small else 28) / h)
    strip = fig.add_subplot(gs[0, :])
    draw_event_strip(strip, events, view.start, view.end, [a.ts for a in view.alerts],
                     selected, small)
    draw_heatmap(fig.add_subplot(gs[1, 0]), view, small)
    draw_counts(fig.add_subplot(gs[1, 1]), view.vocalization_counts, "Sounds", small)
    fig.text(8 / w, 1 - 8 / h, f"{view.day:%A %d %B %Y} · {view.observation_count} "
             "observations", color=TEXT, fontsize=_font(small) + 1, ha="left", va="top")
    return strip


def draw_period(fig: Figure, summary: PeriodSummary, title: str, small: bool = False) -> None:
    """Week/month: observations per day stacked by state; event counts ("!" = alerts)."""
    fig.clear()
    fig.set_facecolor(BACKGROUND)
    w, h = _px(fig)
    ax = fig.add_subplot(1, 1, 1)
    fig.subplots_adjust(left=48 / w, right=1 - 12 / w, top=1 - 84 / h, bottom=30 / h)
    _style_axes(ax, "", small)
    x = np.arange(len(summary.days))
    bottom = np.zeros(len(summary.days))
    states = allowed_values("affective_state")
    for state in states:
        vals = np.array([d.state_counts.get(state, 0) for d in summary.days], dtype=float)
        if vals.any():
            ax.bar(x, vals, bottom=bottom, color=STATE_COLORS[state], width=0.8)
            bottom += vals
    for i, d in enumerate(summary.days):
        if d.event_count:
            ax.text(i, bottom[i], f"{d.event_count}" + ("!" if d.alert_count else ""),
                    ha="center", va="bottom", fontsize=_font(small) - 1,
                    color=ALERT_COLOR if d.alert_count else TEXT)
    step = 1 if len(x) <= 7 else 3
    ax.set_xticks(x[::step])
    ax.set_xticklabels([f"{d.day:%a %d}" if len(x) <= 7 else f"{d.day:%d}"
                        for d in summary.days][::step])
    ax.set_ylim(0, max(1.0, bottom.max() * 1.15))
    fig.text(8 / w, 1 - 8 / h, f"{title} · by state · number = events",
             color=TEXT, fontsize=_font(small) + 1, ha="left", va="top")
    handles = [Patch(color=STATE_COLORS[s], label=s) for s in states]
    leg = ax.legend(handles=handles, fontsize=_font(small) - 1, ncol=max(2, int(w // 88)),
                    loc="lower left", bbox_to_anchor=(0, 1.0), frameon=False,
                    handlelength=1.0, columnspacing=0.8)
    for text in leg.get_texts():
        text.set_color(MUTED)
