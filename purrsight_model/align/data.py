"""In-memory training arrays for Phase 1 (built once from the feature cache) and batching."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np
import torch

from purrsight_model.align.config import AlignConfig, HeadSpec
from purrsight_model.schema import UNKNOWN


@dataclass
class MediaVariant:
    """Augmented copy k of the rows' image and/or audio features (same rows and padding).

    Photos may have more copies than clips, so each modality says which rows it covers;
    a modality no row covers is ``None`` (saves memory)."""

    image_ok: np.ndarray  # [N] bool: rows whose image/frames exist in this copy
    audio_ok: np.ndarray  # [N] bool: rows whose audio exists in this copy
    image: np.ndarray | None = None  # [N, F, Di] float16
    image_mask: np.ndarray | None = None  # [N, F] bool
    audio: np.ndarray | None = None  # [N, P, Da] float16 (halves memory; cast per batch)
    audio_mask: np.ndarray | None = None  # [N, P] bool
    audio_scores: np.ndarray | None = None  # [N, P, S] float16

    def subset(self, idx: np.ndarray) -> MediaVariant:
        take = lambda x: None if x is None else x[idx]  # noqa: E731
        return MediaVariant(self.image_ok[idx], self.audio_ok[idx], take(self.image),
                            take(self.image_mask), take(self.audio), take(self.audio_mask),
                            take(self.audio_scores))


@dataclass
class AlignArrays:
    """Padded cached features of N rows. Absent modality = all-False mask row."""

    image: np.ndarray  # [N, F, Di] float32 frame embeddings
    image_mask: np.ndarray  # [N, F] bool
    audio: np.ndarray  # [N, P, Da] float32 patch embeddings
    audio_mask: np.ndarray  # [N, P] bool
    audio_scores: np.ndarray  # [N, P, S] float32 AudioSet class probabilities
    text: np.ndarray  # [N, Dt] float32 caption embeddings
    text_mask: np.ndarray  # [N] bool
    targets: dict[str, np.ndarray]  # head -> [N] int64 class index, -1 = unknown
    label_keys: list[str]  # per row: a key of its labels; equal keys = interchangeable captions
    groups: list[str]  # per row: cat / source id ("" if none)
    variants: list[MediaVariant] = field(default_factory=list)  # augmented copies (train only)

    def __len__(self) -> int:
        return len(self.text)

    def subset(self, idx: np.ndarray) -> AlignArrays:
        return AlignArrays(
            image=self.image[idx],
            image_mask=self.image_mask[idx],
            audio=self.audio[idx],
            audio_mask=self.audio_mask[idx],
            audio_scores=self.audio_scores[idx],
            text=self.text[idx],
            text_mask=self.text_mask[idx],
            targets={k: v[idx] for k, v in self.targets.items()},
            label_keys=[self.label_keys[i] for i in idx],
            groups=[self.groups[i] for i in idx],
            variants=[v.subset(idx) for v in self.variants],
        )

    def pick_variants(self, rng: np.random.Generator) -> AlignArrays:
        """Same rows, each modality taken from the original or one of the row's copies,
        uniformly at random (image and audio drawn independently)."""
        if not self.variants:
            return self
        image, image_mask = self.image.copy(), self.image_mask.copy()
        audio, audio_mask = self.audio.copy(), self.audio_mask.copy()
        scores = self.audio_scores.copy()
        pick_i = draw_available(np.stack([v.image_ok for v in self.variants], 1), rng)  # [N]
        pick_a = draw_available(np.stack([v.audio_ok for v in self.variants], 1), rng)  # [N]
        for k, var in enumerate(self.variants, start=1):
            rows = np.flatnonzero(pick_i == k)
            if len(rows):
                image[rows], image_mask[rows] = var.image[rows], var.image_mask[rows]
            rows = np.flatnonzero(pick_a == k)
            if len(rows):
                audio[rows], audio_mask[rows] = var.audio[rows], var.audio_mask[rows]
                scores[rows] = var.audio_scores[rows]
        return AlignArrays(image, image_mask, audio, audio_mask, scores, self.text,
                           self.text_mask, self.targets, self.label_keys, self.groups)


def draw_available(ok: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Per row, 0 (the original) or a copy k with ``ok[row, k-1]``, uniformly ([N, K] -> [N])."""
    avail = np.concatenate([np.ones((len(ok), 1), bool), ok], axis=1)  # [N, K+1]
    r = np.floor(rng.random(len(ok)) * avail.sum(1)).astype(np.int64)  # [N] rank among options
    return np.argmax(avail.cumsum(1) > r[:, None], axis=1)


def discover_heads(cfg: AlignConfig, rows: Sequence[dict]) -> tuple[HeadSpec, ...]:
    """Heads of the config whose targets occur in ``rows``; task classes sorted by name."""
    from purrsight_model.schema import CATEGORICAL_FIELDS

    heads = [
        HeadSpec(name, "labels", CATEGORICAL_FIELDS[name])
        for name in cfg.label_heads
        if any((r.get("labels") or {}).get(name, UNKNOWN) != UNKNOWN for r in rows)
    ]
    for task in cfg.task_heads:
        classes = sorted({str(r["tasks"][task]) for r in rows if task in (r.get("tasks") or {})})
        if len(classes) >= 2:
            heads.append(HeadSpec(task, "tasks", tuple(classes)))
    return tuple(heads)


def encode_targets(rows: Sequence[dict], heads: Sequence[HeadSpec]) -> dict[str, np.ndarray]:
    """Class index per row and head (-1 where the row has no such label)."""
    out: dict[str, np.ndarray] = {}
    for head in heads:
        index = {c: i for i, c in enumerate(head.classes)}
        values = [(r.get(head.source) or {}).get(head.name, UNKNOWN) for r in rows]
        out[head.name] = np.array([index.get(str(v), -1) for v in values], dtype=np.int64)
    return out


def label_key(row: dict) -> str:
    """Rows with equal keys have interchangeable captions (same labels and tasks)."""
    labels = row.get("labels") or {}
    tasks = row.get("tasks") or {}
    parts = [f"{k}={v}" for k, v in sorted(labels.items()) if v != UNKNOWN and k != "description"]
    parts += [f"{k}={v}" for k, v in sorted(tasks.items())]
    return "|".join(parts) or f"row:{id(row)}"


@dataclass
class Batch:
    """Torch tensors of one step."""

    image: torch.Tensor  # [B, F, Di]
    image_mask: torch.Tensor  # [B, F]
    audio: torch.Tensor  # [B, P, Da]
    audio_mask: torch.Tensor  # [B, P]
    audio_scores: torch.Tensor  # [B, P, S]
    text: torch.Tensor  # [B, Dt]
    text_mask: torch.Tensor  # [B]
    targets: dict[str, torch.Tensor]  # head -> [B]
    positives: torch.Tensor  # [B, B] bool, same label key

    @property
    def has_image(self) -> torch.Tensor:
        return self.image_mask.any(-1)

    @property
    def has_audio(self) -> torch.Tensor:
        return self.audio_mask.any(-1)


def make_batch(
    arrays: AlignArrays,
    idx: np.ndarray,
    rng: np.random.Generator | None = None,
    cfg: AlignConfig | None = None,
    feature_std: dict[str, np.ndarray] | None = None,
) -> Batch:
    """Tensors for rows ``idx``; with ``rng`` + ``cfg`` apply training augmentation
    (a random cached augmented copy per row, step/modality dropout, feature noise)."""
    sub = arrays.subset(idx)
    if rng is not None and sub.variants:
        sub = sub.pick_variants(rng)
    image, image_mask = sub.image.copy(), sub.image_mask.copy()
    audio, audio_mask = sub.audio.copy(), sub.audio_mask.copy()
    if rng is not None and cfg is not None:
        image_mask = _drop_steps(image_mask, cfg.patch_dropout, rng)
        audio_mask = _drop_steps(audio_mask, cfg.patch_dropout, rng)
        image_mask, audio_mask = _drop_modality(image_mask, audio_mask, cfg.modality_dropout, rng)
        if cfg.feature_noise > 0 and feature_std is not None:
            image += rng.standard_normal(image.shape, dtype=np.float32) * (
                cfg.feature_noise * feature_std["image"]
            )
            audio += rng.standard_normal(audio.shape, dtype=np.float32) * (
                cfg.feature_noise * feature_std["audio"]
            )
    keys = np.array(sub.label_keys)
    return Batch(
        image=torch.from_numpy(image),
        image_mask=torch.from_numpy(image_mask),
        audio=torch.from_numpy(audio),
        audio_mask=torch.from_numpy(audio_mask),
        audio_scores=torch.from_numpy(sub.audio_scores),
        text=torch.from_numpy(sub.text),
        text_mask=torch.from_numpy(sub.text_mask),
        targets={k: torch.from_numpy(v) for k, v in sub.targets.items()},
        positives=torch.from_numpy(keys[:, None] == keys[None, :]),
    )


def _drop_steps(mask: np.ndarray, p: float, rng: np.random.Generator) -> np.ndarray:
    """Randomly hide patches/frames, always keeping at least one of a present modality."""
    if p <= 0:
        return mask
    keep = mask & (rng.random(mask.shape) >= p)
    lost = mask.any(-1) & ~keep.any(-1)  # rows that would lose every step
    for row in np.flatnonzero(lost):
        keep[row, rng.choice(np.flatnonzero(mask[row]))] = True
    return keep


def _drop_modality(
    image_mask: np.ndarray, audio_mask: np.ndarray, p: float, rng: np.random.Generator
) -> tuple[np.ndarray, np.ndarray]:
    """Hide one modality of rows that have both, so single-modality inputs are trained too."""
    both = image_mask.any(-1) & audio_mask.any(-1)
    hit = both & (rng.random(len(both)) < p)
    hide_image = hit & (rng.random(len(both)) < 0.5)
    image_mask = image_mask & ~hide_image[:, None]
    audio_mask = audio_mask & ~(hit & ~hide_image)[:, None]
    return image_mask, audio_mask


def feature_std(arrays: AlignArrays) -> dict[str, np.ndarray]:
    """Per-dimension std of present image/audio steps (scales the training noise)."""
    out = {}
    for name, x, m in (
        ("image", arrays.image, arrays.image_mask),
        ("audio", arrays.audio, arrays.audio_mask),
    ):
        present = x[m]
        out[name] = (present.std(0) if len(present) else np.ones(x.shape[-1])).astype(np.float32)
    return out
