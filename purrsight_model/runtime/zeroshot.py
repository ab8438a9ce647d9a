"""Zero-shot cues that need no training: YAMNet's cat classes and the ImageNet cat score,
and how they are fused with the trained vocalization head.

The class indices come from the bundle manifest (written by the exporter from
``encoders.yamnet_classes``), so the runtime does not import the encoder package.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np

#: A zero-shot call must reach this score before it may raise the trained head's confidence.
AGREE_MIN_SCORE = 0.3
#: A call type is named only from this ``cat_heard`` score up (the overlay's call line and a
#: report's vocalization): the trained head names some call even for silence.
CALL_HEARD_MIN = 0.2


def cat_heard(scores: np.ndarray, cat_classes: Sequence[int]) -> float:
    """Max over patches and cat classes of YAMNet's sigmoid scores ([P, C] -> 0..1)."""
    if scores.size == 0 or not cat_classes:
        return float("nan")
    return float(scores[:, list(cat_classes)].max())


def call_scores(scores: np.ndarray, calls: Mapping[str, int]) -> dict[str, float]:
    """Schema vocalization name -> max score over patches of its AudioSet class."""
    if scores.size == 0:
        return {}
    return {name: float(scores[:, idx].max()) for name, idx in calls.items()}


def fuse_calls(probs: Mapping[str, float], calls: Mapping[str, float],
               min_score: float = AGREE_MIN_SCORE) -> dict[str, float]:
    """Raise the trained head's top class to the zero-shot score where both name the same call.

    Agreement only adds confidence: if the trained head's top class is a call that YAMNet
    also hears (score >= ``min_score``) and YAMNet is surer, that class takes YAMNet's
    score and the other classes share the rest in their old proportions. Disagreement
    leaves the trained head untouched (the raw zero-shot scores stay in ``calls``).
    """
    out = dict(probs)
    if not out or not calls:
        return out
    top = max(out, key=out.__getitem__)
    z = calls.get(top, 0.0)
    if z < min_score or z <= out[top]:
        return out
    rest = 1.0 - out[top]
    for name in out:
        out[name] = z if name == top else (out[name] / rest * (1.0 - z) if rest > 0 else 0.0)
    return out


def level_dbfs(audio: np.ndarray) -> float:
    """RMS level in dBFS (-120 for silence)."""
    if audio.size == 0:
        return -120.0
    rms = float(np.sqrt(np.mean(np.square(audio, dtype=np.float64))))
    return max(-120.0, 20.0 * np.log10(rms + 1e-12))
