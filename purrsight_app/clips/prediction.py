"""What the model said about a clip, and how unsure it was (active learning).

A clip is labelled once but analysed in many windows. Its prediction is the mean head
distribution over the windows that showed a cat, and its uncertainty is the mean
top-1 minus top-2 margin (``Observation.margin()``) of those windows: a clip the model kept
hesitating on is the most useful one for the owner to label, so the queue shows the
smallest margins first.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from purrsight_model.schema import UNKNOWN

PREDICTED_HEADS = ("affective_state", "vocalization", "arousal")
MARGIN_HEAD = "affective_state"


def window_margin(obs: Any, head: str = MARGIN_HEAD) -> float | None:
    """``obs.margin(head)`` when the runtime has it, else computed from ``obs.heads``;
    None when the window has no such head."""
    heads: Mapping[str, Mapping[str, float]] = getattr(obs, "heads", {}) or {}
    if not heads.get(head):
        return None
    fn = getattr(obs, "margin", None)
    if callable(fn):
        return float(fn(head))
    probs = sorted(heads[head].values(), reverse=True)
    return float(probs[0] - probs[1]) if len(probs) > 1 else 1.0


@dataclass
class PredictionTally:
    """Accumulates windows; ``prediction()`` / ``uncertainty()`` summarise them."""

    sums: dict[str, dict[str, float]] = field(default_factory=dict)
    counts: dict[str, int] = field(default_factory=dict)
    margins: list[float] = field(default_factory=list)

    def add(self, obs: Any) -> None:
        """Count one analysed window (any object shaped like ``Observation``)."""
        heads: Mapping[str, Mapping[str, float]] = getattr(obs, "heads", {}) or {}
        for head in PREDICTED_HEADS:
            probs = heads.get(head)
            if not probs:
                continue
            acc = self.sums.setdefault(head, {})
            for cls, p in probs.items():
                acc[cls] = acc.get(cls, 0.0) + float(p)
            self.counts[head] = self.counts.get(head, 0) + 1
        margin = window_margin(obs)
        if margin is not None:
            self.margins.append(margin)

    @property
    def windows(self) -> int:
        return len(self.margins)

    def uncertainty(self) -> float | None:
        """Mean margin of the windows (small = unsure), None without any window."""
        return sum(self.margins) / len(self.margins) if self.margins else None

    def prediction(self) -> dict[str, Any] | None:
        """JSON-able summary for the clip row, None without any window."""
        if not self.counts:
            return None
        out: dict[str, Any] = {"windows": self.windows, "probs": {}}
        for head, acc in self.sums.items():
            n = self.counts[head]
            mean = {cls: round(v / n, 4) for cls, v in acc.items()}
            top = max(mean, key=mean.__getitem__) if mean else UNKNOWN
            out[head] = top
            out[f"{head}_conf"] = mean.get(top, 0.0)
            out["probs"][head] = mean
        if self.margins:
            out["margin"] = round(self.uncertainty() or 0.0, 4)
        return out
