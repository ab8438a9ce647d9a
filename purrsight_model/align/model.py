"""Phase 1 model: pool frozen-encoder features, project each modality onto a shared 512-d
unit sphere, and classify from the aligned vectors (overlay and task heads).

Inputs are cached encoder outputs, never media: the encoders stay frozen.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import nn

from purrsight_model.align.config import AlignConfig, HeadSpec


class AttentionPool(nn.Module):
    """Masked attention pooling over patches/frames with one learned query (plus the mean)."""

    def __init__(self, dim: int) -> None:
        super().__init__()
        self.score = nn.Sequential(nn.LayerNorm(dim), nn.Linear(dim, 1))

    def forward(self, x: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        # x: [B, T, D], mask: [B, T] bool -> [B, 2D] (attention-pooled ++ mean)
        logits = self.score(x).squeeze(-1).masked_fill(~mask, -1e4)  # [B, T]
        weights = torch.softmax(logits, dim=-1) * mask  # [B, T]
        weights = weights / weights.sum(-1, keepdim=True).clamp_min(1e-6)
        attended = torch.einsum("bt,btd->bd", weights, x)  # [B, D]
        count = mask.sum(-1, keepdim=True).clamp_min(1)  # [B, 1]
        mean = (x * mask.unsqueeze(-1)).sum(1) / count  # [B, D]
        return torch.cat([attended, mean], dim=-1)


class Projection(nn.Module):
    """LayerNorm -> Linear -> GELU -> Dropout -> Linear, output L2-normalised."""

    def __init__(self, in_dim: int, hidden: int, out_dim: int, dropout: float) -> None:
        super().__init__()
        self.net = nn.Sequential(
            nn.LayerNorm(in_dim),
            nn.Linear(in_dim, hidden),
            nn.GELU(),
            nn.Dropout(dropout),
            nn.Linear(hidden, out_dim),
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return F.normalize(self.net(x), dim=-1)  # [B, out_dim]


@dataclass(frozen=True)
class FeatureDims:
    """Sizes of the cached features the model consumes."""

    image: int = 1280
    audio: int = 1024
    audio_scores: int = 521
    text: int = 384


class AlignModel(nn.Module):
    """Projection heads for image/audio/text, a learnable logit scale, classification heads."""

    def __init__(self, cfg: AlignConfig, dims: FeatureDims, heads: tuple[HeadSpec, ...]) -> None:
        super().__init__()
        self.cfg, self.dims, self.head_specs = cfg, dims, heads
        self.image_pool = AttentionPool(dims.image)
        self.audio_pool = AttentionPool(dims.audio)
        audio_in = 2 * dims.audio + (dims.audio_scores if cfg.use_audio_scores else 0)
        self.image_proj = Projection(2 * dims.image, cfg.hidden, cfg.dim, cfg.dropout)
        self.audio_proj = Projection(audio_in, cfg.hidden, cfg.dim, cfg.dropout)
        self.text_proj = Projection(dims.text, cfg.hidden, cfg.dim, cfg.dropout)
        self.logit_scale = nn.Parameter(torch.tensor(float(cfg.init_logit_scale)))
        fused = 2 * cfg.dim + 2  # image ++ audio vectors (zeros when absent) ++ presence flags
        self.heads = nn.ModuleDict(
            {
                h.name: nn.Sequential(
                    nn.LayerNorm(fused),
                    nn.Dropout(cfg.dropout),
                    nn.Linear(fused, cfg.hidden // 2),
                    nn.GELU(),
                    nn.Linear(cfg.hidden // 2, len(h.classes)),
                )
                for h in heads
            }
        )

    def embed_image(self, frames: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        # frames: [B, F, 1280], mask: [B, F] -> [B, 512]
        return self.image_proj(self.image_pool(frames, mask))

    def embed_audio(
        self, patches: torch.Tensor, mask: torch.Tensor, scores: torch.Tensor | None
    ) -> torch.Tensor:
        # patches: [B, P, 1024], mask: [B, P], scores: [B, P, 521] -> [B, 512]
        pooled = self.audio_pool(patches, mask)
        if self.cfg.use_audio_scores:
            assert scores is not None, "model was built with use_audio_scores"
            count = mask.sum(-1, keepdim=True).clamp_min(1)
            pooled = torch.cat([pooled, (scores * mask.unsqueeze(-1)).sum(1) / count], dim=-1)
        return self.audio_proj(pooled)

    def embed_text(self, text: torch.Tensor) -> torch.Tensor:
        return self.text_proj(text)  # [B, 384] -> [B, 512]

    def classify(
        self,
        image: torch.Tensor,
        has_image: torch.Tensor,
        audio: torch.Tensor,
        has_audio: torch.Tensor,
    ) -> dict[str, torch.Tensor]:
        """Head logits from aligned vectors; absent modalities are zeroed (masked)."""
        hi, ha = has_image.float().unsqueeze(-1), has_audio.float().unsqueeze(-1)  # [B, 1]
        fused = torch.cat([image * hi, audio * ha, hi, ha], dim=-1)  # [B, 2*512+2]
        return {name: head(fused) for name, head in self.heads.items()}

    def clamped_logit_scale(self) -> torch.Tensor:
        return self.logit_scale.clamp(0.0, self.cfg.max_logit_scale).exp()
