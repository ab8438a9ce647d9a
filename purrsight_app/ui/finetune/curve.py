"""The live loss curve, drawn with matplotlib Agg into pixels on a worker thread.

The panel throttles renders (at most one in flight, a few per second), so a fast job never
floods the GUI thread; ``ChartView`` then only paints the finished image.
"""

from __future__ import annotations

import threading
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure

from purrsight_app.ui.theme import ACCENT, BACKGROUND, MUTED, TEXT, WARN
from purrsight_app.ui.timeline.render import ChartImage
from purrsight_model import Progress

DPI = 100
PHASE_COLORS = {"align": ACCENT, "instruct": WARN}
_LOCK = threading.Lock()


@dataclass(frozen=True)
class LossPoint:
    phase: str
    step: int
    """Global point number (x axis: training progress across phases)."""
    loss: float
    source_step: int = -1
    """The job's own step counter (to skip an epoch's repeated event)."""


def add_point(points: list[LossPoint], event: Progress) -> bool:
    """Append the event's loss; False when it has none or repeats the last step (epoch-end
    events carry the same loss again with their metrics)."""
    if event.loss is None:
        return False
    last = points[-1] if points else None
    if last is not None and (last.phase, last.source_step) == (event.phase, event.step):
        return False
    points.append(LossPoint(event.phase, len(points), float(event.loss), event.step))
    return True


def render_curve(points: Sequence[LossPoint], width: int, height: int,
                 small: bool = False) -> ChartImage:
    """RGBA pixels of the loss per phase (log scale when it spans a decade)."""
    import time

    t0 = time.perf_counter()
    with _LOCK:
        fig = Figure(figsize=(max(width, 80) / DPI, max(height, 60) / DPI), dpi=DPI,
                     facecolor=BACKGROUND)
        FigureCanvasAgg(fig)
        ax = fig.add_subplot(1, 1, 1, facecolor=BACKGROUND)
        size = 7 if small else 9
        for phase in dict.fromkeys(p.phase for p in points):
            xs = [p.step for p in points if p.phase == phase]
            ys = [p.loss for p in points if p.phase == phase]
            ax.plot(xs, ys, color=PHASE_COLORS.get(phase, TEXT), lw=1.5, label=phase)
        losses = [p.loss for p in points if p.loss > 0]
        if losses and max(losses) / min(losses) > 10:
            ax.set_yscale("log")
        ax.set_title("Training loss" if points else "Training loss (waiting for the first step)",
                     color=TEXT, fontsize=size + 1)
        ax.tick_params(colors=MUTED, labelsize=size)
        for spine in ax.spines.values():
            spine.set_color(MUTED)
        if points:
            ax.legend(fontsize=size, facecolor=BACKGROUND, labelcolor=TEXT, edgecolor=MUTED)
        fig.tight_layout(pad=0.4)
        fig.canvas.draw()
        rgba = np.asarray(fig.canvas.buffer_rgba()).copy()  # [H, W, 4]
    return ChartImage(rgba, [], (time.perf_counter() - t0) * 1e3)
