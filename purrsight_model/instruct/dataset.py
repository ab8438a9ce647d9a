"""Phase 2 inputs from an instruction JSONL: find Phase 1, embed rows once, pick rows."""

from __future__ import annotations

import logging
from collections import defaultdict
from pathlib import Path

import numpy as np

from purrsight_model.align.checkpoint import latest_run, load_align_run
from purrsight_model.align.dataset import arrays_from_batch, read_rows
from purrsight_model.data.feature_batch import load_split
from purrsight_model.data.feature_store import FeatureCache
from purrsight_model.data.jsonl import Row
from purrsight_model.instruct.config import InstructConfig
from purrsight_model.instruct.features import soft_inputs
from purrsight_model.progress import TrainingError
from purrsight_model.userdirs import runs_dir

log = logging.getLogger(__name__)


def resolve_align_run(cfg: InstructConfig) -> Path:
    """``cfg.align_run`` if set, else the newest finished Phase 1 run under the runs root."""
    if cfg.align_run:
        return Path(cfg.align_run)
    root = Path(cfg.runs_root) if cfg.runs_root else runs_dir()
    found = latest_run(root)
    if found is None:
        raise TrainingError(f"no finished Phase 1 run under {root}; run Phase 1 first "
                            "or pass --align-run PATH")
    return found


def stratified_sample(rows: list[Row], cap: int, seed: int) -> list[Row]:
    """At most ``cap`` rows, round-robin over affective states so rare ones are kept."""
    if len(rows) <= cap:
        return rows
    rng = np.random.default_rng(seed)
    by_state: dict[str, list[Row]] = defaultdict(list)
    for r in rows:
        by_state[r.report.affective_state if r.report else "unknown"].append(r)
    pools = [list(rng.permutation(len(v))) for v in by_state.values()]
    keys = list(by_state)
    out: list[Row] = []
    while len(out) < cap:
        for k, pool in zip(keys, pools, strict=True):
            if pool and len(out) < cap:
                out.append(by_state[k][pool.pop()])
    return out


def load_instruct_data(cfg: InstructConfig):  # -> InstructData
    from purrsight_model.instruct.train import InstructData

    if not cfg.data or not cfg.cache:
        raise TrainingError("Phase 2 needs `data` (instruction JSONL) and `cache`")
    align_run = resolve_align_run(cfg)
    model = load_align_run(align_run)
    rows = [r for r in read_rows(cfg.data) if r.report is not None]
    cache = FeatureCache(cfg.cache)
    parts = {"train": [r for r in rows if r.split in ("train", None)],
             "val": [r for r in rows if r.split == "val"]}
    parts["train"] = stratified_sample(parts["train"], cfg.max_train_rows, cfg.seed)
    parts["val"] = stratified_sample(parts["val"], cfg.eval_rows, cfg.seed + 1)
    out = {}
    for name, part in parts.items():
        batch = load_split(part, cache, max_frames=model.cfg.max_frames,
                           max_patches=model.cfg.max_patches)
        arrays = arrays_from_batch(batch, part, ())
        out[name] = (soft_inputs(model, arrays), [part[i].report for i in batch.index])
    log.info("Phase 2 data: %d train / %d val rows (Phase 1 run %s)", len(out["train"][1]),
             len(out["val"][1]), align_run)
    return InstructData(out["train"][0], out["train"][1], out["val"][0], out["val"][1],
                        str(align_run))
