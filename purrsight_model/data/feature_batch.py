"""Materialise dataset rows into padded numpy arrays from the feature cache.

Training reads whole splits into memory once (a few thousand clips fit easily) and then
shuffles and batches plain arrays. Variable-length media (video frames, audio patches) is
padded to the longest item with a boolean mask; a still image is a one-frame sequence.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np

from purrsight_model.data.feature_store import FeatureCache
from purrsight_model.data.jsonl import Row
from purrsight_model.encoders.base import AudioFeatures, ImageFeatures

log = logging.getLogger(__name__)


@dataclass
class FeatureBatch:
    """Padded features of the rows whose media all had cached features."""

    index: np.ndarray  # [N] int64 positions in the ``rows`` given to load_split
    image: np.ndarray  # [N, F, Di] float32 (F = 0 when no row has an image/video)
    image_mask: np.ndarray  # [N, F] bool, True = real frame
    image_cat: np.ndarray  # [N, F] float32 ImageNet cat score (NaN without an ImageNet head)
    audio: np.ndarray  # [N, P, Da] float32
    audio_mask: np.ndarray  # [N, P] bool, True = real patch
    audio_scores: np.ndarray  # [N, P, C] float32 (C = 0 when the encoder has no classes)
    text: np.ndarray | None  # [N, Dt] caption embeddings, None without a text encoder
    missing: list[int]  # positions of rows left out (media never cached or undecodable)
    original: list[int] = field(default_factory=list)  # rows whose asked variant was missing

    def __len__(self) -> int:
        return int(self.index.size)


def _even(n: int, cap: int | None) -> np.ndarray:
    """Indices of at most ``cap`` items spread evenly over ``n`` (keeps temporal coverage)."""
    if cap is None or n <= cap:
        return np.arange(n)
    return np.unique(np.linspace(0, n - 1, cap).round().astype(np.int64))


def _variant_media(row: Row, cache: FeatureCache, variant: str):  # -> tuple | None
    """(image, audio) of an augmented copy of every medium of ``row``, or None if one lacks it."""
    image = audio = None
    if row.video is not None:
        video = cache.video(row.video, variant)
        if video is None:
            return None
        image, audio = video.frames, video.audio
    if row.image is not None and (image := cache.image(row.image, variant)) is None:
        return None
    if row.audio is not None and (audio := cache.audio(row.audio, variant)) is None:
        return None
    return image, audio


def _row_features(row: Row, cache: FeatureCache, variant: str | None = None
                  ) -> tuple[ImageFeatures | None, AudioFeatures | None, np.ndarray | None, bool,
                             bool]:
    """(image, audio, text, ok, augmented) for one row; ok is False if any referenced media
    is missing. With ``variant``, the augmented copy is read where every medium has it."""
    image = audio = None
    try:
        found = _variant_media(row, cache, variant) if variant else None
        if found is not None:
            image, audio = found
        if found is None and row.video is not None:
            video = cache.video(row.video)
            if video is None:
                return None, None, None, False, False
            image, audio = video.frames, video.audio
        if found is None and row.image is not None:
            image = cache.image(row.image)
            if image is None:
                return None, None, None, False, False
        if found is None and row.audio is not None:
            audio = cache.audio(row.audio)
            if audio is None:
                return None, None, None, False, False
    except OSError:  # media file gone: cannot even hash it
        return None, None, None, False, False
    text = cache.text(row.text) if cache.text_version else None
    if cache.text_version and text is None:
        return None, None, None, False, False
    return image, audio, text, True, found is not None


def load_split(rows: Sequence[Row], cache: FeatureCache, *, max_frames: int | None = None,
               max_patches: int | None = None, variant: str | None = None) -> FeatureBatch:
    """Gather cached features of ``rows`` into padded arrays (rows lacking features skipped).

    ``variant`` (``"<recipe id>/<k>"``) reads augmented copy k instead, falling back to the
    original features for rows without that copy (listed in ``original``).
    """
    kept: list[int] = []
    missing: list[int] = []
    original: list[int] = []
    feats = []
    for i, row in enumerate(rows):
        image, audio, text, ok, augmented = _row_features(row, cache, variant)
        if not ok:
            missing.append(i)
            continue
        if variant and not augmented:
            original.append(i)
        kept.append(i)
        if image is not None:
            sel = _even(image.embedding.shape[0], max_frames)
            image = ImageFeatures(image.embedding[sel], image.cat_score[sel], None)
        if audio is not None:
            sel = _even(audio.embedding.shape[0], max_patches)
            audio = AudioFeatures(audio.embedding[sel],
                                  None if audio.scores is None else audio.scores[sel])
        feats.append((image, audio, text))
    if missing:
        log.info("load_split: %d of %d rows have no cached features", len(missing), len(rows))
    out = _pad(np.asarray(kept, dtype=np.int64), feats, cache, missing)
    out.original = original
    return out


def _dim(arrays: list[np.ndarray], default: int | None) -> int:
    return arrays[0].shape[-1] if arrays else int(default or 0)


def _pad(index: np.ndarray, feats: list, cache: FeatureCache, missing: list[int]) -> FeatureBatch:
    n = len(feats)
    images = [f[0] for f in feats]
    audios = [f[1] for f in feats]
    di = _dim([x.embedding for x in images if x is not None], cache.dims.get("image"))
    da = _dim([x.embedding for x in audios if x is not None], cache.dims.get("audio"))
    dc = _dim([x.scores for x in audios if x is not None and x.scores is not None], 0)
    nf = max((x.embedding.shape[0] for x in images if x is not None), default=0)
    npch = max((x.embedding.shape[0] for x in audios if x is not None), default=0)
    out = FeatureBatch(
        index=index,
        image=np.zeros((n, nf, di), np.float32), image_mask=np.zeros((n, nf), bool),
        image_cat=np.zeros((n, nf), np.float32),
        audio=np.zeros((n, npch, da), np.float32), audio_mask=np.zeros((n, npch), bool),
        audio_scores=np.zeros((n, npch, dc), np.float32),
        text=None, missing=missing,
    )
    for j, (image, audio, _) in enumerate(feats):
        if image is not None:
            f = image.embedding.shape[0]
            out.image[j, :f], out.image_cat[j, :f], out.image_mask[j, :f] = (
                image.embedding, image.cat_score, True)
        if audio is not None:
            p = audio.embedding.shape[0]
            out.audio[j, :p], out.audio_mask[j, :p] = audio.embedding, True
            if audio.scores is not None and dc:
                out.audio_scores[j, :p] = audio.scores
    if cache.text_version:
        dt = _dim([f[2] for f in feats], cache.dims.get("text"))
        out.text = np.stack([f[2] for f in feats]) if feats else np.zeros((0, dt), np.float32)
    return out
