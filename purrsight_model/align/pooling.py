"""Masked pooling over the patches/frames of a clip, shared by the model and its probes."""

from __future__ import annotations

import math

import torch

#: Floor added to YAMNet's class probabilities before taking logs.
SCORE_EPS = 1e-4


def masked_mean(x: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    """[B, T, D], [B, T] bool -> [B, D] mean over the present steps (zeros when none)."""
    m = mask.unsqueeze(-1).to(x.dtype)  # [B, T, 1]
    return (x * m).sum(1) / m.sum(1).clamp_min(1)


def pool_scores(scores: torch.Tensor, mask: torch.Tensor, mode: str) -> torch.Tensor:
    """Clip-level YAMNet class features from per-patch probabilities.

    scores: [B, P, C], mask: [B, P] -> "mean": [B, C] mean probability; "logmeanmax":
    [B, 2C] mean and max over patches of log(p + eps) (a class heard in one patch counts,
    and rare-class probabilities are not squashed next to 0).
    """
    if mode == "mean":
        return masked_mean(scores, mask)
    logs = torch.log(scores.clamp_min(0) + SCORE_EPS)  # [B, P, C]
    peak = logs.masked_fill(~mask.unsqueeze(-1), math.log(SCORE_EPS)).amax(1)
    return torch.cat([masked_mean(logs, mask), peak], dim=-1)
