"""Projector: aligned 512-d vectors -> K soft-prompt tokens per modality for the LM.

Each modality has its own Linear-GELU-Linear map and a learned "missing" block of K tokens
used when that modality is absent, so the LM always sees the same number of soft tokens.
"""

from __future__ import annotations

import torch
from torch import nn

MODALITY_ORDER = ("image", "audio")


class Projector(nn.Module):
    """[B, 512] per modality (+ presence) -> [B, M*K, d_model] soft tokens."""

    def __init__(self, in_dim: int, d_model: int, k_tokens: int, hidden: int = 1024) -> None:
        super().__init__()
        self.in_dim, self.d_model, self.k = in_dim, d_model, k_tokens
        self.maps = nn.ModuleDict({
            m: nn.Sequential(nn.Linear(in_dim, hidden), nn.GELU(),
                             nn.Linear(hidden, k_tokens * d_model))
            for m in MODALITY_ORDER
        })
        self.missing = nn.ParameterDict({
            m: nn.Parameter(torch.randn(k_tokens, d_model) * 0.02) for m in MODALITY_ORDER
        })

    @property
    def n_tokens(self) -> int:
        return self.k * len(MODALITY_ORDER)

    def forward(self, vectors: dict[str, torch.Tensor], present: dict[str, torch.Tensor]
                ) -> torch.Tensor:
        blocks = []
        for m in MODALITY_ORDER:
            x = vectors[m]  # [B, 512]
            tokens = self.maps[m](x).view(x.shape[0], self.k, self.d_model)  # [B, K, d]
            keep = present[m].to(tokens.dtype).view(-1, 1, 1)  # [B, 1, 1]
            blocks.append(keep * tokens + (1 - keep) * self.missing[m].unsqueeze(0))
        return torch.cat(blocks, dim=1)  # [B, M*K, d]
