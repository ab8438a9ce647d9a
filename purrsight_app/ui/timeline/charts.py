"""Timeline charts drawn with matplotlib onto a given Figure (no Qt here).

Day: an event strip colored by dominant state (risk alerts as red ticks), an hour x state
heatmap and vocalization counts. Week/month: observations per day stacked by state, with
event counts. Artists of events carry the event id as ``gid`` so clicks can select them.
"""

from __future__ import annotations

from datetime import datetime

import numpy as np
from matplotlib.figure import Figure
from matplotlib.patches import Patch

from purrsight_app.storage import DayView, EventRow, PeriodSummary
from purrsight_app.ui.theme import BACKGROUND, MUTED, STATE_COLORS, TEXT
from purrsight_model.schema import UNKNOWN, allowed_values

ALERT_COLOR = "#ff5252"


def style_figure(fig: Figure, small: bool) -> None:
    fig.set_facecolor(BACKGROUND)
    fig.clear()
    fig._purrsight_small = small  # type: ignore[attr-defined]


def _style_axes(ax, small: bool) -> None:
    ax.set_facecolor("#1f252b")
    size = 7 if small else 9
    ax.tick_params(colors=MUTED, labelsize=size)
    for spine in ax.spines.values():
        spine.set_color("#37474f")
    ax.title.set_color(TEXT)
    ax.title.set_fontsize(size + 1)


def _hours(ts: float, day_start: float) -> float:
    return (ts - day_start) / 3600.0


def draw_event_strip(ax, events: list[EventRow], start: float, end: float,
                     alerts: list[float], selected: str | None, small: bool) -> None:
    """Horizontal bars of events over the day's hours (minimum visible width 3 min)."""
    _style_axes(ax, small)
    hours = (end - start) / 3600.0
    for e in events:
        e_end = e.end if e.end is not None else min(end, datetime.now().timestamp())
        x0 = max(0.0, _hours(e.start, start))
        width = max(_hours(e_end, start) - x0, 0.05)
        color = STATE_COLORS.get(e.dominant_state or UNKNOWN, STATE_COLORS[UNKNOWN])
        edge = TEXT if e.id == selected else color
        bars = ax.barh(0.5, width, left=x0, height=0.8, color=color, edgecolor=edge,
                       linewidth=2 if e.id == selected else 0.5, picker=True)
        bars.patches[0].set_gid(e.id)
    for ts in alerts:
        ax.plot([_hours(ts, start)] * 2, [0.02, 0.98], color=ALERT_COLOR, linewidth=1.5)
    ax.set_xlim(0, hours)
    ax.set_ylim(0, 1)
    ax.set_yticks([])
    ax.set_xticks(range(0, int(hours) + 1, 3))
    ax.set_title(f"Events ({len(events)})" + (f" · {len(alerts)} risk alerts" if alerts else ""),
                 loc="left")


def draw_heatmap(ax, view: DayView, small: bool) -> None:
    """Hours (x) x affective states (y): stored observations per cell."""
    _style_axes(ax, small)
    grid = np.asarray(view.hour_state_counts, dtype=float).T  # [S, 24]
    ax.imshow(grid, aspect="auto", cmap="magma", interpolation="nearest",
              vmin=0, vmax=max(1.0, grid.max()))
    ax.set_yticks(range(len(view.states)))
    ax.set_yticklabels([s.replace("_", " ") for s in view.states])
    ax.set_xticks(range(0, 24, 3))
    ax.set_title("Hour × state", loc="left")


def draw_counts(ax, counts: dict[str, int], title: str, small: bool) -> None:
    """Horizontal bars of counts in the schema's order (vocalizations)."""
    _style_axes(ax, small)
    labels = [v for v in allowed_values("vocalization") if counts.get(v)]
    values = [counts[v] for v in labels]
    ax.barh(range(len(labels)), values, color="#4fc3f7")
    ax.set_yticks(range(len(labels)))
    ax.set_yticklabels(labels)
    ax.invert_yaxis()
    ax.set_title(title, loc="left")
    if not labels:
        ax.text(0.5, 0.5, "none", color=MUTED, ha="center", va="center",
                transform=ax.transAxes)


def draw_day(fig: Figure, view: DayView, events: list[EventRow],
             selected: str | None = None, small: bool = False) -> None:
    """The day page: strip on top, heatmap and vocalization counts below."""
    style_figure(fig, small)
    gs = fig.add_gridspec(2, 3, height_ratios=[1, 3], hspace=0.55, wspace=0.45,
                          left=0.12, right=0.97, top=0.9, bottom=0.1)
    draw_event_strip(fig.add_subplot(gs[0, :]), events, view.start, view.end,
                     [a.ts for a in view.alerts], selected, small)
    draw_heatmap(fig.add_subplot(gs[1, :2]), view, small)
    draw_counts(fig.add_subplot(gs[1, 2]), view.vocalization_counts, "Vocalizations", small)
    fig.suptitle(f"{view.day:%A %d %B %Y} · {view.observation_count} observations",
                 color=TEXT, fontsize=8 if small else 10, x=0.02, ha="left")


def draw_period(fig: Figure, summary: PeriodSummary, title: str, small: bool = False) -> None:
    """Week/month: observations per day stacked by state; events and alerts as labels."""
    style_figure(fig, small)
    ax = fig.add_subplot(1, 1, 1)
    fig.subplots_adjust(left=0.08, right=0.98, top=0.82, bottom=0.16)
    _style_axes(ax, small)
    x = np.arange(len(summary.days))
    bottom = np.zeros(len(summary.days))
    states = allowed_values("affective_state")
    for state in states:
        vals = np.array([d.state_counts.get(state, 0) for d in summary.days], dtype=float)
        if vals.any():
            ax.bar(x, vals, bottom=bottom, color=STATE_COLORS[state], width=0.8)
            bottom += vals
    for i, d in enumerate(summary.days):
        mark = f"{d.event_count}" + ("!" if d.alert_count else "")
        if d.event_count:
            ax.text(i, bottom[i], mark, ha="center", va="bottom", fontsize=7,
                    color=ALERT_COLOR if d.alert_count else TEXT)
    step = 1 if len(x) <= 7 else 3
    ax.set_xticks(x[::step])
    ax.set_xticklabels([f"{d.day:%a %d}" if len(x) <= 7 else f"{d.day:%d}"
                        for d in summary.days][::step])
    ax.set_title(title, loc="left")
    handles = [Patch(color=STATE_COLORS[s], label=s) for s in states]
    leg = ax.legend(handles=handles, fontsize=6 if small else 8, ncol=len(states),
                    loc="lower left", bbox_to_anchor=(0, 1.02), frameon=False)
    for text in leg.get_texts():
        text.set_color(MUTED)
