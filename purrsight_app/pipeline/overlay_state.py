"""What the live overlay should say, computed without Qt (so it is unit-testable).

The overlay shows the latest result only. A result that stops being refreshed (model slow,
source ended) fades towards ``min_alpha`` instead of pretending to be current; without a cat
the overlay is a calm "No cat detected" line rather than a confident guess about nothing.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from purrsight_app.pipeline.analysis_loop import Analysed
from purrsight_app.pipeline.protocols import ObservationLike, top_or_unknown


@dataclass(frozen=True)
class OverlayConfig:
    fresh_s: float = 1.5
    """Results younger than this are drawn fully opaque."""
    stale_s: float = 6.0
    """At this age the overlay has faded to ``min_alpha``."""
    min_alpha: float = 0.25
    present_threshold: float = 0.5
    """Cat score from which the state readout is shown."""
    signal_threshold: float = 0.5
    """Visible/heard indicators light up from this score."""
    call_threshold: float = 0.2
    """The call type is shown only when YAMNet's cat classes score at least this (the
    runtime's ``CALL_HEARD_MIN``: reports follow the same rule; not imported here, so the
    overlay does not load onnxruntime)."""


@dataclass(frozen=True)
class OverlayView:
    """One frame's overlay content (all text already worded)."""

    alpha: float
    """1 = fresh, ``min_alpha`` = stale."""
    age_s: float
    cat_present: bool
    headline: str
    """E.g. "Content 82%" or "No cat detected"."""
    details: tuple[str, ...]
    """E.g. ("Vocalization: purr 71%", "Arousal: low 64%")."""
    state: str
    cat_visible: float | None
    cat_heard: float | None
    seen: bool
    heard: bool
    stale: bool


def _score(value: float) -> float | None:
    return None if value is None or math.isnan(value) else float(value)


def _pretty(label: str) -> str:
    return label.replace("_", " ")


def fade_alpha(age_s: float, cfg: OverlayConfig) -> float:
    """Opaque while fresh, then a linear fade to ``min_alpha`` at ``stale_s``."""
    if age_s <= cfg.fresh_s:
        return 1.0
    if age_s >= cfg.stale_s:
        return cfg.min_alpha
    frac = (age_s - cfg.fresh_s) / (cfg.stale_s - cfg.fresh_s)
    return 1.0 - frac * (1.0 - cfg.min_alpha)


def _call_line(obs: ObservationLike, heard: float | None, cfg: OverlayConfig) -> str:
    """The call type only when a cat is heard: the head names a call even for silence."""
    if heard is None:
        return "Vocalization: no audio"
    if heard < cfg.call_threshold:
        return "Vocalization: none heard"
    label, p = top_or_unknown(obs, "vocalization")
    return f"Vocalization: {_pretty(label)} {p:.0%}"


def _arousal_line(obs: ObservationLike) -> str:
    """The runtime leaves the head out of windows it has no evidence for (a photo, when its
    arousal labels came from sounds only): say unknown rather than "0%"."""
    if "arousal" not in obs.heads:
        return "Arousal: unknown"
    label, p = top_or_unknown(obs, "arousal")
    return f"Arousal: {_pretty(label)} {p:.0%}"


def overlay_view(
    result: Analysed | None, now: float, cfg: OverlayConfig | None = None
) -> OverlayView | None:
    """The overlay for ``result`` seen at wall time ``now`` (None: nothing analysed yet)."""
    if result is None:
        return None
    cfg = cfg or OverlayConfig()
    obs = result.observation
    age = max(0.0, now - result.finished)
    visible, heard = _score(obs.cat_visible), _score(obs.cat_heard)
    present = obs.cat_score >= cfg.present_threshold
    state, conf = top_or_unknown(obs, "affective_state")
    details: list[str] = []
    if present:
        headline = f"{_pretty(state).capitalize()} {conf:.0%}"
        details.append(_call_line(obs, heard, cfg))
        details.append(_arousal_line(obs))
    else:
        headline = "No cat detected"
    stale = age >= cfg.stale_s
    if age > cfg.fresh_s:
        details.append(f"updated {age:.0f} s ago")
    return OverlayView(
        alpha=fade_alpha(age, cfg), age_s=age, cat_present=present, headline=headline,
        details=tuple(details), state=state if present else "none",
        cat_visible=visible, cat_heard=heard,
        seen=visible is not None and visible >= cfg.signal_threshold,
        heard=heard is not None and heard >= cfg.signal_threshold, stale=stale,
    )
