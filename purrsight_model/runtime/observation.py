"""What the runtime returns for one analysis window (numpy only)."""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np

#: Heads the live overlay shows, in display order.
OVERLAY_HEADS = ("affective_state", "vocalization", "arousal")


@dataclass(frozen=True)
class Observation:
    """The model's output for one window: ~1 s of audio plus the newest video frame."""

    ts: float
    """Capture time of the window (seconds since the epoch)."""
    has_image: bool
    """A frame was analysed."""
    has_audio: bool
    """Audio was analysed."""
    heads: dict[str, dict[str, float]] = field(default_factory=dict)
    """Head name -> class -> probability (overlay heads and any task heads)."""
    cat_visible: float = math.nan
    """0..1 zero-shot score that a cat is in the frame (NaN without a frame)."""
    cat_heard: float = math.nan
    """0..1 zero-shot score that a cat is audible (NaN without audio)."""
    calls: dict[str, float] = field(default_factory=dict)
    """Zero-shot call-type scores from the audio tagger (purr, hiss, meow, growl, ...)."""
    audio_level_db: float = -120.0
    """RMS level of the audio window in dBFS."""
    embedding: np.ndarray | None = None
    """[512] unit vector in the shared space (fused over present modalities)."""
    latency_ms: float = 0.0
    """Wall time the analysis took."""
    image_vec: np.ndarray | None = None
    """[512] aligned image vector (None without a frame); the Reporter averages these."""
    audio_vec: np.ndarray | None = None
    """[512] aligned audio vector; the Reporter averages these. None without audio, and when a
    frame was analysed beside audio that carries no cat (``cat_heard`` below
    ``zeroshot.CALL_HEARD_MIN``): the heads and ``embedding`` then come from the frame alone."""

    def top(self, head: str) -> tuple[str, float]:
        """Most probable class of a head and its probability (``("unknown", 0)`` if absent)."""
        probs = self.heads.get(head)
        if not probs:
            return "unknown", 0.0
        label = max(probs, key=probs.__getitem__)
        return label, probs[label]

    @property
    def cat_score(self) -> float:
        """Evidence of a cat from any modality (max of the available scores, 0 if none)."""
        scores = [s for s in (self.cat_visible, self.cat_heard) if not math.isnan(s)]
        return max(scores, default=0.0)

    def margin(self, head: str = "affective_state") -> float:
        """Top-1 minus top-2 probability: low = uncertain (used for active learning)."""
        probs = sorted(self.heads.get(head, {}).values(), reverse=True)
        if len(probs) < 2:
            return 1.0 if probs else 0.0
        return probs[0] - probs[1]
