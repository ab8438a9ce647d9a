"""Phase 1 model: pool frozen-encoder features, project each modality onto a shared 512-d
unit sphere, and classify from the aligned vectors (overlay and task heads).

Inputs are cached encoder outputs, never media: the encoders stay frozen.

An ensemble of ``cfg.ensemble`` members lives inside one module without changing its
interface: member i owns its own pools, projections and heads and maps onto its own
``dim / n`` slice of the aligned vector. The aligned vector is the concatenation of the
members' unit vectors divided by sqrt(n), so it is still unit length, a cosine between two
aligned vectors is the mean of the members' cosines (retrieval averages the members), and
``classify`` returns the log of the members' mean class probabilities (softmax of it is the
ensemble's probability). With one member this is exactly a single model.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import nn

from purrsight_model.align.config import AlignConfig, HeadSpec
from purrsight_model.align.pooling import masked_mean, pool_scores
from purrsight_model.align.probe import LinearProbe, mix_probs, pooled_audio


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
        return torch.cat([attended, masked_mean(x, mask)], dim=-1)


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


class StackedProjection(nn.Module):
    """One ``Projection`` per member; outputs concatenated and scaled to unit length."""

    def __init__(self, n: int, in_dim: int, hidden: int, out_dim: int, dropout: float) -> None:
        super().__init__()
        self.parts = nn.ModuleList(
            Projection(in_dim, hidden, out_dim, dropout) for _ in range(n)
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        # x: [B, in_dim] -> [B, n * out_dim], unit length
        return stack_members([p(x) for p in self.parts])


def stack_members(parts: list[torch.Tensor]) -> torch.Tensor:
    """Concatenate members' unit vectors into one unit vector ([B, d] x n -> [B, n*d])."""
    out = parts[0] if len(parts) == 1 else torch.cat(parts, dim=-1)
    return out / math.sqrt(len(parts)) if len(parts) > 1 else out


def split_members(x: torch.Tensor, n: int) -> list[torch.Tensor]:
    """Inverse of ``stack_members``: each member's unit vector ([B, n*d] -> [B, d] x n)."""
    if n == 1:
        return [x]
    return [c * math.sqrt(n) for c in torch.chunk(x, n, dim=-1)]


@dataclass(frozen=True)
class FeatureDims:
    """Sizes of the cached features the model consumes."""

    image: int = 1280
    audio: int = 1536  # YAMNet blocks 11 + 13 pooled (encoders.yamnet_taps)
    audio_scores: int = 521
    text: int = 384


def _head(in_dim: int, hidden: int, classes: int, dropout: float) -> nn.Module:
    return nn.Sequential(
        nn.LayerNorm(in_dim),
        nn.Dropout(dropout),
        nn.Linear(in_dim, hidden),
        nn.GELU(),
        nn.Linear(hidden, classes),
    )


class AlignMember(nn.Module):
    """One ensemble member: pools, image/audio projections, logit scale and heads."""

    def __init__(self, cfg: AlignConfig, dims: FeatureDims, heads: tuple[HeadSpec, ...],
                 dim: int) -> None:
        super().__init__()
        self.cfg = cfg
        self.image_pool = AttentionPool(dims.image)
        self.audio_pool = AttentionPool(dims.audio)
        n_scores = {"mean": 1, "logmeanmax": 2}[cfg.score_features] * dims.audio_scores
        audio_in = 2 * dims.audio + (n_scores if cfg.use_audio_scores else 0)
        # log-scores span ~[-9, 0]: normalised on their own so that the projection's joint
        # LayerNorm does not squash the embedding block next to them
        self.score_norm = (nn.LayerNorm(n_scores) if cfg.score_features != "mean"
                           else nn.Identity())
        self.image_proj = Projection(2 * dims.image, cfg.hidden, dim, cfg.dropout)
        self.audio_proj = Projection(audio_in, cfg.hidden, dim, cfg.dropout)
        self.logit_scale = nn.Parameter(torch.tensor(float(cfg.init_logit_scale)))
        fused = 2 * dim + 2  # image ++ audio vectors (zeros when absent) ++ presence flags
        self.heads = nn.ModuleDict(
            {h.name: _head(fused, cfg.head_hidden, len(h.classes), cfg.dropout) for h in heads}
        )

    def embed_image(self, frames: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        # frames: [B, F, Di], mask: [B, F] -> [B, dim]
        return self.image_proj(self.image_pool(frames, mask))

    def embed_audio(self, patches: torch.Tensor, mask: torch.Tensor,
                    scores: torch.Tensor | None) -> torch.Tensor:
        # patches: [B, P, Da], mask: [B, P], scores: [B, P, C] -> [B, dim]
        pooled = self.audio_pool(patches, mask)
        if self.cfg.use_audio_scores:
            assert scores is not None, "model was built with use_audio_scores"
            pooled_scores = pool_scores(scores, mask, self.cfg.score_features)
            pooled = torch.cat([pooled, self.score_norm(pooled_scores)], -1)
        return self.audio_proj(pooled)

    def classify(self, image: torch.Tensor, has_image: torch.Tensor, audio: torch.Tensor,
                 has_audio: torch.Tensor) -> dict[str, torch.Tensor]:
        hi, ha = has_image.float().unsqueeze(-1), has_audio.float().unsqueeze(-1)  # [B, 1]
        fused = torch.cat([image * hi, audio * ha, hi, ha], dim=-1)  # [B, 2*dim+2]
        return {name: head(fused) for name, head in self.heads.items()}

    def clamped_logit_scale(self) -> torch.Tensor:
        return self.logit_scale.clamp(0.0, self.cfg.max_logit_scale).exp()


class AlignModel(nn.Module):
    """Projection heads for image/audio/text and classification heads (an ensemble of
    ``cfg.ensemble`` members behind a single model's interface)."""

    def __init__(self, cfg: AlignConfig, dims: FeatureDims, heads: tuple[HeadSpec, ...]) -> None:
        super().__init__()
        n = cfg.ensemble
        if n < 1 or cfg.dim % n:
            raise ValueError(f"ensemble={n} must be >= 1 and divide dim={cfg.dim}")
        self.cfg, self.dims, self.head_specs = cfg, dims, heads
        self.members = nn.ModuleList(AlignMember(cfg, dims, heads, cfg.dim // n)
                                     for _ in range(n))
        self.text_proj = StackedProjection(n, dims.text, cfg.hidden, cfg.dim // n, cfg.dropout)
        probe_in = 2 * dims.audio + dims.audio_scores
        self.probes = nn.ModuleDict({h.name: LinearProbe(probe_in, len(h.classes))
                                     for h in heads if h.name in cfg.probe_heads})

    @property
    def n_members(self) -> int:
        return len(self.members)

    def embed_image(self, frames: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        # frames: [B, F, 1280], mask: [B, F] -> [B, 512]
        return stack_members([m.embed_image(frames, mask) for m in self.members])

    def embed_audio(
        self, patches: torch.Tensor, mask: torch.Tensor, scores: torch.Tensor | None
    ) -> torch.Tensor:
        # patches: [B, P, D] (YAMNet D = 1536), mask: [B, P], scores: [B, P, 521] -> [B, 512]
        return stack_members([m.embed_audio(patches, mask, scores) for m in self.members])

    def embed_text(self, text: torch.Tensor) -> torch.Tensor:
        return self.text_proj(text)  # [B, 384] -> [B, 512]

    def classify(
        self,
        image: torch.Tensor,
        has_image: torch.Tensor,
        audio: torch.Tensor,
        has_audio: torch.Tensor,
    ) -> dict[str, torch.Tensor]:
        """Head logits from aligned vectors; absent modalities are zeroed (masked).

        With several members the result is log(mean of the members' softmax): still a
        valid logit vector whose softmax is the ensemble's probability.
        """
        n = self.n_members
        images, audios = split_members(image, n), split_members(audio, n)
        outs = [m.classify(i, has_image, a, has_audio)
                for m, i, a in zip(self.members, images, audios, strict=True)]
        if n == 1:
            return outs[0]
        return {name: torch.logsumexp(torch.stack([F.log_softmax(o[name], -1) for o in outs]),
                                      dim=0) - math.log(n)
                for name in outs[0]}

    def classify_media(
        self,
        image: torch.Tensor,
        has_image: torch.Tensor,
        audio: torch.Tensor,
        has_audio: torch.Tensor,
        patches: torch.Tensor,
        patch_mask: torch.Tensor,
        scores: torch.Tensor,
    ) -> dict[str, torch.Tensor]:
        """``classify`` plus the fitted linear probes of ``cfg.probe_heads``, which read the
        pooled audio features (patches [B, P, D], patch_mask [B, P], scores [B, P, S]).

        A probed head returns log of the mixed probability (softmax of it is the mix)."""
        logits = self.classify(image, has_image, audio, has_audio)
        if not len(self.probes):
            return logits
        pooled = pooled_audio(patches, patch_mask, scores)  # [B, 2D + S]
        present = has_audio.to(pooled.dtype).unsqueeze(-1)  # [B, 1]
        for name, probe in self.probes.items():
            weight = self.cfg.probe_weight * probe.fitted * present  # [B, 1]
            logits[name] = mix_probs(logits[name], probe(pooled), weight)
        return logits
