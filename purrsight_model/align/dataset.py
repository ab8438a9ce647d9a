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

VAL_SPLIT = "val"


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
    fit = (*cfg.fit_splits, None)  # rows without a split count as training rows
    train_rows = [r for r in rows if r.split in fit]
    val_rows = [r for r in rows if r.split == VAL_SPLIT and VAL_SPLIT not in fit]
    heads = discover_heads(cfg, [row_dict(r) for r in train_rows])
    out = []
    kept = []
    for part in (train_rows, val_rows):
        batch = load_split(part, cache, max_frames=cfg.max_frames, max_patches=cfg.max_patches)
        out.append(arrays_from_batch(batch, part, heads))
        kept.append([part[i] for i in batch.index])
    if cfg.augment_copies > 0 or cfg.augment_image_copies > 0:
        add_variants(out[0], kept[0], cache, cfg)
    log.info("Phase 1 data: %d train / %d val rows, heads %s", len(out[0]), len(out[1]),
             [h.name for h in heads])
    return AlignData(out[0], out[1], heads)


def pick_recipe(cache: FeatureCache, cfg: AlignConfig) -> tuple[str, int]:
    """(recipe id, copies to load) for ``cfg``; a clear error if the cache has none."""
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
    built = recipes[recipe].get("copies", 0)
    built = max(built.values(), default=0) if isinstance(built, dict) else int(built)
    wanted = max(cfg.augment_copies, cfg.augment_image_copies)
    if built < wanted:
        log.warning("recipe %s has %d copies; using those (asked for %d)", recipe, built,
                    wanted)
    return recipe, min(wanted, built)


def add_variants(train: AlignArrays, rows: Sequence[Row], cache: FeatureCache,
                 cfg: AlignConfig) -> None:
    """Attach the cached augmented copies of the training rows to ``train`` (in place).

    ``rows`` are the rows of ``train`` (in order). Copy k is read only for the rows that may
    use it (clips up to ``augment_copies``, photos up to ``augment_image_copies``)."""
    recipe, copies = pick_recipe(cache, cfg)
    has_image, has_audio = train.image_mask.any(-1), train.audio_mask.any(-1)  # [N]
    for k in range(1, copies + 1):
        want_i = has_image & (k <= (cfg.augment_image_copies or cfg.augment_copies))
        want_a = has_audio & (k <= cfg.augment_copies)
        sel = np.flatnonzero(want_i | want_a)
        if not len(sel):
            break
        part = [rows[i] for i in sel]
        batch = load_split(part, cache, max_frames=cfg.max_frames,
                           max_patches=cfg.max_patches, variant=f"{recipe}/{k}")
        if len(batch) != len(sel):
            raise TrainingError(f"augmented copy {k}: features of {len(sel) - len(batch)} "
                                f"training rows vanished from {cache.root}")
        found = np.zeros(len(train), bool)
        found[sel] = True
        found[sel[batch.original]] = False
        train.variants.append(_variant(train, sel, arrays_from_batch(batch, part, ()),
                                       found & want_i, found & want_a))
        log.info("copy %d: %d photos/videos, %d clips", k, (found & want_i).sum(),
                 (found & want_a).sum())
    log.info("Phase 1: augmented copies of recipe %s", recipe)


def _variant(train: AlignArrays, sel: np.ndarray, var: AlignArrays, image_ok: np.ndarray,
             audio_ok: np.ndarray) -> MediaVariant:
    """Scatter the arrays of rows ``sel`` into full-size, train-shaped (float16) arrays."""
    out = MediaVariant(image_ok, audio_ok)
    n, f, p = len(train), train.image.shape[1], train.audio.shape[1]
    if image_ok.any():
        out.image = _compact((n, f, train.image.shape[2]), var.image)
        out.image_mask = np.zeros((n, f), bool)
        out.image[sel], out.image_mask[sel] = _fit(var.image, f), _fit(var.image_mask, f)
    if audio_ok.any():
        out.audio = _compact((n, p, train.audio.shape[2]), var.audio)
        out.audio_mask = np.zeros((n, p), bool)
        out.audio_scores = np.zeros((n, p, train.audio_scores.shape[2]), np.float16)
        out.audio[sel], out.audio_mask[sel] = _fit(var.audio, p), _fit(var.audio_mask, p)
        if var.audio_scores.shape[2] == train.audio_scores.shape[2]:
            out.audio_scores[sel] = _fit(var.audio_scores, p)
    return out


def _compact(shape: tuple[int, ...], like: np.ndarray) -> np.ndarray:
    """Zeros in float16 (halves the memory of the copies) unless ``like``'s values would
    overflow it (encoder features are small; float32 then, never inf)."""
    fits = not like.size or float(np.abs(like).max()) < 6e4
    return np.zeros(shape, np.float16 if fits else np.float32)


def _fit(x: np.ndarray, steps: int) -> np.ndarray:
    """Crop or zero-pad axis 1 to ``steps`` (copies may be a little longer or shorter)."""
    if x.shape[1] >= steps:
        return x[:, :steps]
    pad = [(0, 0), (0, steps - x.shape[1])] + [(0, 0)] * (x.ndim - 2)
    return np.pad(x, pad)
