"""Which of the owner's clips are held out ("test") and which tune the model ("train"/"val").

The split of a clip is a pure function of its id (a hash), so it never changes between
exports: a clip held out for the before/after comparison of one fine-tune is never trained
on by the next. Only for very small label sets, where the hash happens to hold out nothing,
the clip with the smallest hash is moved to "test" so there is always something to compare
on.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import dataclass


@dataclass(frozen=True)
class SplitConfig:
    test_frac: float = 0.2
    """Share of the owner's clips held out for the old-vs-new comparison."""
    val_frac: float = 0.1
    """Share used for early stopping."""
    min_test: int = 1
    """Hold out at least this many clips (when there are at least ``min_clips_for_test``)."""
    min_clips_for_test: int = 4
    seed: int = 0


def unit_hash(clip_id: str, seed: int = 0) -> float:
    """A stable number in [0, 1) for a clip id."""
    digest = hashlib.sha256(f"split:{seed}:{clip_id}".encode()).digest()
    return int.from_bytes(digest[:8], "big") / 2.0**64


def assign_splits(clip_ids: Sequence[str], config: SplitConfig | None = None) -> dict[str, str]:
    """Clip id -> "train" | "val" | "test" (see module docstring)."""
    cfg = config or SplitConfig()
    u = {cid: unit_hash(cid, cfg.seed) for cid in clip_ids}
    out = {}
    for cid, x in u.items():
        out[cid] = "test" if x < cfg.test_frac else (
            "val" if x < cfg.test_frac + cfg.val_frac else "train")
    n_test = sum(1 for s in out.values() if s == "test")
    if len(out) >= cfg.min_clips_for_test and n_test < cfg.min_test:
        spare = sorted((cid for cid, s in out.items() if s != "test"), key=u.__getitem__)
        for cid in spare[: cfg.min_test - n_test]:
            out[cid] = "test"
    return out
