"""Render timeline charts to pixels on a worker thread (matplotlib Agg, no Qt).

Building and drawing a day page costs ~0.1–0.3 s of CPU here (more on a Pi); done on the GUI
thread that would freeze the live view's painting. So the worker renders into an RGBA buffer
and also returns pixel boxes of the event bars, which the chart widget uses for click
hit-testing. One render at a time (matplotlib's text and font caches are shared).
"""

from __future__ import annotations

import threading
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure

from purrsight_app.ui.timeline.charts import draw_day, draw_period, event_spans
from purrsight_app.ui.timeline.queries import TimelineResult

DPI = 100
MIN_HIT_PX = 8.0
_LOCK = threading.Lock()


@dataclass(frozen=True)
class ChartImage:
    rgba: np.ndarray  # [H, W, 4] uint8
    hits: list[tuple[str, float, float, float, float]] = field(default_factory=list)
    """(event id, x0, y0, x1, y1) in image pixels, origin top-left."""
    elapsed_ms: float = 0.0

    def hit(self, x: float, y: float) -> str | None:
        """The event under pixel (x, y), or None."""
        for eid, x0, y0, x1, y1 in self.hits:
            if x0 <= x <= x1 and y0 <= y <= y1:
                return eid
        return None


def build_figure(result: TimelineResult, selected: str | None, width: int, height: int,
                 small: bool) -> tuple[Figure, object | None]:
    """A Figure of the page at ``width`` x ``height`` px, and the day strip axes if any."""
    fig = Figure(figsize=(max(width, 50) / DPI, max(height, 50) / DPI), dpi=DPI)
    FigureCanvasAgg(fig)
    strip = None
    if result.day is not None:
        strip = draw_day(fig, result.day, result.events, selected, small)
    elif result.period is not None:
        draw_period(fig, result.period, result.query.title(), small)
    return fig, strip


def _hits(result: TimelineResult, strip, height: int) -> list[tuple[str, float, float, float, float]]:
    if strip is None or result.day is None:
        return []
    out = []
    for eid, x0, width, _ in event_spans(result.events, result.day.start, result.day.end):
        (px0, py0), (px1, py1) = strip.transData.transform([(x0, 0.1), (x0 + width, 0.9)])
        if px1 - px0 < MIN_HIT_PX:
            mid = (px0 + px1) / 2
            px0, px1 = mid - MIN_HIT_PX / 2, mid + MIN_HIT_PX / 2
        out.append((eid, px0, height - py1, px1, height - py0))
    return out


def render_chart(result: TimelineResult, selected: str | None, width: int, height: int,
                 small: bool = False) -> ChartImage:
    """Draw the page and return its pixels plus event hit boxes (call off the GUI thread)."""
    import time

    t0 = time.perf_counter()
    with _LOCK:
        fig, strip = build_figure(result, selected, width, height, small)
        fig.canvas.draw()
        rgba = np.asarray(fig.canvas.buffer_rgba()).copy()  # [H, W, 4]
        hits = _hits(result, strip, rgba.shape[0])
    return ChartImage(rgba, hits, (time.perf_counter() - t0) * 1e3)


def save_chart(result: TimelineResult, selected: str | None, path: Path,
               width: int = 1280, height: int = 720) -> Path:
    """Write the page as a PNG (export)."""
    with _LOCK:
        fig, _ = build_figure(result, selected, width, height, small=False)
        fig.savefig(path, facecolor=fig.get_facecolor())
    return path
