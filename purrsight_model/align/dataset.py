"""Build Phase 1 arrays from an alignment JSONL and its feature cache."""

from __future__ import annotations

import logging
from collections.abc import Sequence

import numpy as np

from purrsight_model.align.config import AlignConfig, HeadSpec
from purrsight_model.align.data import AlignArrays, discover_heads, encode_targets, label_key
from purrsight_model.data.feature_batch import FeatureBatch, load_split
from purrsight_model.data.feature_store import FeatureCache
from purrsight_model.data.jsonl import JsonlDataset, Row
from purrsight_model.progress import TrainingError

log = logging.getLogger(__name__)

TRAIN_SPLITS = ("train", None)  # rows without a split count as training rows
VAL_SPLITS = ("val",)


def row_dict(row: Row) -> dict:
    """The fields heads and caption keys read, as a plain dict."""
    return {"labels": row.labels, "tasks": row.tasks}


def read_rows(path: str) -> list[Row]:
    """All valid rows of a JSONL (malformed lines are skipped and logged by the reader)."""
    dataset = JsonlDataset(path)
    rows = list(dataset)
    if dataset.skipped:
        log.warning("%s: skipped %d malformed lines (first: line %d, %s)", path,
                    len(dataset.skipped), *dataset.skipped[0])
    return rows


def arrays_from_batch(batch: FeatureBatch, rows: Sequence[Row],
                      heads: Sequence[HeadSpec]) -> AlignArrays:
    """Wrap a FeatureBatch plus its rows' targets as AlignArrays (rows already filtered)."""
    kept = [rows[i] for i in batch.index]
    dicts = [row_dict(r) for r in kept]
    n = len(kept)
    image, image_mask = _at_least_one_step(batch.image, batch.image_mask)
    audio, audio_mask = _at_least_one_step(batch.audio, batch.audio_mask)
    scores = batch.audio_scores if batch.audio_scores.shape[1] == audio.shape[1] else (
        np.zeros((n, audio.shape[1], batch.audio_scores.shape[-1]), np.float32))
    text = batch.text if batch.text is not None else np.zeros((n, 1), np.float32)
    return AlignArrays(
        image=image, image_mask=image_mask, audio=audio, audio_mask=audio_mask,
        audio_scores=scores, text=text.astype(np.float32),
        text_mask=np.full(n, batch.text is not None),
        targets=encode_targets(dicts, heads),
        label_keys=[label_key(d) for d in dicts],
        groups=[r.group or "" for r in kept],
    )


def _at_least_one_step(x: np.ndarray, mask: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Pad a [N, 0, D] modality to one masked step so pooling never sees an empty axis."""
    if x.shape[1] > 0:
        return x, mask
    return np.zeros((x.shape[0], 1, x.shape[2]), np.float32), np.zeros((x.shape[0], 1), bool)


def load_align_data(cfg: AlignConfig):  # -> AlignData (import cycle avoided)
    """Train/val arrays from ``cfg.data`` + ``cfg.cache``; heads discovered on train rows."""
    from purrsight_model.align.train import AlignData

    if not cfg.data or not cfg.cache:
        raise TrainingError("Phase 1 needs `data` (alignment JSONL) and `cache` (feature cache)")
    rows = read_rows(cfg.data)
    cache = FeatureCache(cfg.cache)
    train_rows = [r for r in rows if r.split in TRAIN_SPLITS]
    val_rows = [r for r in rows if r.split in VAL_SPLITS]
    heads = discover_heads(cfg, [row_dict(r) for r in train_rows])
    out = []
    for part in (train_rows, val_rows):
        batch = load_split(part, cache, max_frames=cfg.max_frames, max_patches=cfg.max_patches)
        out.append(arrays_from_batch(batch, part, heads))
    log.info("Phase 1 data: %d train / %d val rows, heads %s", len(out[0]), len(out[1]),
             [h.name for h in heads])
    return AlignData(out[0], out[1], heads)
