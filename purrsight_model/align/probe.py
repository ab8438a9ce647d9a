"""Linear probes on pooled frozen audio features, mixed into chosen heads' probabilities.

A multinomial logistic regression on a clip's mean and max patch embedding plus its mean
YAMNet class scores generalises across recording sources and cats differently from the
MLP heads on the aligned vectors (measured on the validation split: CatMeows context
macro-F1 .65 -> .72, CatSound-10 accuracy .820 -> .830 with both mixed half and half). It is
fitted in closed form after Phase 1 training, on the same rows, and then lives inside
``AlignModel`` as plain tensors, so the exported aligner graph carries it and the runtime
needs nothing new.
"""

from __future__ import annotations

import numpy as np
import torch
from torch import nn

from purrsight_model.align.pooling import SCORE_EPS, masked_mean, pool_scores

#: Bias of a class the probe never saw: its probability is ~0 and the MLP decides alone.
UNSEEN_BIAS = -30.0
#: A feature's std is floored at this share of its block's median std before dividing: a
#: YAMNet class that never fires has a near-constant log-score on the training clips, and
#: an owner's room that does trigger it must not become thousands of standard deviations.
STD_FLOOR = 0.1
#: Standardised features are clipped to +-CLIP, for the same reason.
CLIP = 10.0


def pooled_audio(patches: torch.Tensor, mask: torch.Tensor,
                 scores: torch.Tensor) -> torch.Tensor:
    """Clip features of the probe: [B, P, D], [B, P] bool, [B, P, S] -> [B, 2D + S]
    (mean patch ++ max patch ++ log of the mean class probability; zeros without audio)."""
    present = mask.any(1, keepdim=True).to(patches.dtype)  # [B, 1]
    peak = patches.masked_fill(~mask.unsqueeze(-1), -1e4).amax(1) * present  # [B, D]
    log_scores = torch.log(pool_scores(scores, mask, "mean") + SCORE_EPS)  # [B, S]
    return torch.cat([masked_mean(patches, mask), peak, log_scores], dim=-1)


class LinearProbe(nn.Module):
    """Standardise, then one linear layer; ``fitted`` is 0 until ``fit_probe`` ran (an
    unfitted probe is left out of the mix entirely)."""

    def __init__(self, in_dim: int, classes: int) -> None:
        super().__init__()
        self.register_buffer("shift", torch.zeros(in_dim))
        self.register_buffer("scale", torch.ones(in_dim))
        self.register_buffer("fitted", torch.zeros(()))
        self.linear = nn.Linear(in_dim, classes)
        nn.init.zeros_(self.linear.weight)
        nn.init.zeros_(self.linear.bias)
        self.linear.requires_grad_(False)  # fitted in closed form, never by the optimiser

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        z = ((x - self.shift) * self.scale).clamp(-CLIP, CLIP)  # [B, in]
        return self.linear(z)  # [B, C]


def mix_probs(logits: torch.Tensor, probe_logits: torch.Tensor,
              weight: torch.Tensor) -> torch.Tensor:
    """log((1 - w) softmax(logits) + w softmax(probe)); ``weight`` is [B, 1] (0 = MLP only)."""
    p = (1 - weight) * torch.softmax(logits, -1) + weight * torch.softmax(probe_logits, -1)
    return torch.log(p.clamp_min(1e-12))


@torch.no_grad()
def fit_probe(probe: LinearProbe, x: np.ndarray, y: np.ndarray, c: float,
              blocks: tuple[int, ...] = ()) -> float:
    """Fit ``probe`` on rows ``x`` [N, D] with class indices ``y`` [N] (class-balanced
    multinomial logistic regression, L2 strength 1/c); returns the training accuracy.

    ``blocks``: sizes of the feature groups whose stds are floored together (default: one)."""
    from sklearn.linear_model import LogisticRegression

    shift = x.mean(0)
    scale = inverse_std(x.std(0), blocks or (x.shape[1],))
    z = np.clip((x - shift) * scale, -CLIP, CLIP)
    lr = LogisticRegression(C=c, max_iter=3000, class_weight="balanced").fit(z, y)
    weight = np.zeros(tuple(probe.linear.weight.shape), np.float64)  # [C, D]
    bias = np.full(weight.shape[0], UNSEEN_BIAS)
    seen = lr.classes_.astype(np.int64)
    if len(seen) == 2:  # sklearn's binary form: one logit for the second class
        weight[seen[1]], bias[seen[0]], bias[seen[1]] = lr.coef_[0], 0.0, lr.intercept_[0]
    else:
        weight[seen], bias[seen] = lr.coef_, lr.intercept_
    probe.shift.copy_(torch.from_numpy(shift))
    probe.scale.copy_(torch.from_numpy(scale))
    probe.linear.weight.copy_(torch.from_numpy(weight))
    probe.linear.bias.copy_(torch.from_numpy(bias))
    probe.fitted.fill_(1.0)
    return float(lr.score(z, y))


def inverse_std(std: np.ndarray, blocks: tuple[int, ...]) -> np.ndarray:
    """1 / std, each std floored at ``STD_FLOOR`` x the median std of its block ([D] -> [D])."""
    if sum(blocks) != len(std):
        raise ValueError(f"blocks {blocks} do not cover {len(std)} features")
    out = np.empty_like(std)
    start = 0
    for size in blocks:
        part = std[start : start + size]
        floor = max(STD_FLOOR * float(np.median(part)) if size else 0.0, 1e-6)
        out[start : start + size] = 1.0 / np.maximum(part, floor)
        start += size
    return out
