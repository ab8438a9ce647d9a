"""Build Phase 1 arrays from an alignment JSONL and its feature cache."""

from __future__ import annotations

import logging
from collections.abc import Sequence

import numpy as np

from purrsight_model.align.config import AlignConfig, HeadSpec
from purrsight_model.align.data import (
    AlignArrays,
    MediaVariant,
    discover_heads,
    encode_targets,
    label_key,
)
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
    if cfg.augment_copies > 0:
        add_variants(out[0], train_rows, cache, cfg)
    log.info("Phase 1 data: %d train / %d val rows, heads %s", len(out[0]), len(out[1]),
             [h.name for h in heads])
    return AlignData(out[0], out[1], heads)


def pick_recipe(cache: FeatureCache, cfg: AlignConfig) -> tuple[str, int]:
    """(recipe id, copies to use) for ``cfg``; a clear error if the cache has none."""
    recipes = cache.augment_recipes()
    if cfg.augment_recipe:
        if cfg.augment_recipe not in recipes:
            raise TrainingError(f"{cache.root}: no augmentation recipe {cfg.augment_recipe!r} "
                                f"(have {sorted(recipes)}); run `purrsight-model features "
                                f"--augment K`")
        recipe = cfg.augment_recipe
    else:
        current = {k: v for k, v in recipes.items()
                   if v.get("versions", {}).get("audio") in (None, cache.audio_version)}
        if not current:
            raise TrainingError(f"{cache.root} has no augmented copies; run `purrsight-model "
                                f"features --augment {cfg.augment_copies}` or set "
                                f"augment_copies: 0")
        recipe = max(current, key=lambda k: current[k].get("updated", 0.0))
    copies = min(cfg.augment_copies, int(recipes[recipe].get("copies", 0)))
    if copies < cfg.augment_copies:
        log.warning("recipe %s has %d copies; using those (asked for %d)", recipe, copies,
                    cfg.augment_copies)
    return recipe, copies


def add_variants(train: AlignArrays, rows: Sequence[Row], cache: FeatureCache,
                 cfg: AlignConfig) -> None:
    """Attach the cached augmented copies of the training rows to ``train`` (in place)."""
    recipe, copies = pick_recipe(cache, cfg)
    n, f, p = len(train), train.image.shape[1], train.audio.shape[1]
    for k in range(1, copies + 1):
        batch = load_split(rows, cache, max_frames=cfg.max_frames, max_patches=cfg.max_patches,
                           variant=f"{recipe}/{k}")
        var = arrays_from_batch(batch, rows, ())
        if len(var) != n:
            raise TrainingError(f"augmented copy {k} covers {len(var)} rows, expected {n}")
        if batch.original:
            log.info("copy %d: %d of %d rows have no augmented copy (original used)", k,
                     len(batch.original), n)
        train.variants.append(MediaVariant(
            _fit(var.image, f), _fit(var.image_mask, f),
            _fit(var.audio, p).astype(np.float16), _fit(var.audio_mask, p),
            _fit(var.audio_scores, p).astype(np.float16)))
    log.info("Phase 1: %d augmented copies per training row (recipe %s)", copies, recipe)


def _fit(x: np.ndarray, steps: int) -> np.ndarray:
    """Crop or zero-pad axis 1 to ``steps`` (copies may be a little longer or shorter)."""
    if x.shape[1] >= steps:
        return x[:, :steps]
    pad = [(0, 0), (0, steps - x.shape[1])] + [(0, 0)] * (x.ndim - 2)
    return np.pad(x, pad)
