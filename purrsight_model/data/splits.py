"""Deterministic train/val/test splits that limit leakage between recordings.

Scheme (documented here because model-card numbers depend on it):

* ``test`` is held out for the final numbers and never used while training; ``val`` is for
  early stopping and model selection; the rest is ``train``.
* CatMeows: split by cat (``group``); no cat appears in two splits (random splits
  overstate accuracy massively). Whole cats are assigned so that each context's share of
  val and test rows is as close as possible to the targets (``grouped_split``: best of
  2000 seeded orders).
* catsound10 and catfaces3: per class, files sorted by name (case-folded), then cut into
  contiguous ranges ``[train | val | test]``. Neighbouring names usually come from one
  source recording or web source, so contiguous ranges keep them together.
* Exact duplicates (same sha256) are resolved before splitting (see ``converters``), so a
  file can never sit in two splits.
"""

from __future__ import annotations

import hashlib
import random
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass

SPLITS = ("train", "val", "test")


@dataclass(frozen=True)
class SplitConfig:
    """Fractions of each class (or of the cats) given to val and test."""

    val_frac: float = 0.2
    """Share used for early stopping / model selection."""
    test_frac: float = 0.15
    """Share held out for final evaluation (model card)."""
    seed: int = 0
    """Seed of the cat ranking in grouped splits (changing it picks other test cats)."""

    def __post_init__(self) -> None:
        if not (0 <= self.val_frac < 1 and 0 <= self.test_frac < 1
                and self.val_frac + self.test_frac < 1):
            raise ValueError(f"bad split fractions val={self.val_frac} test={self.test_frac}")


def _counts(n: int, cfg: SplitConfig) -> tuple[int, int]:
    """(n_val, n_test); at least one of each when the fraction is set and n allows it."""
    n_test = round(n * cfg.test_frac)
    n_val = round(n * cfg.val_frac)
    if n >= 3:
        n_test = max(n_test, 1 if cfg.test_frac > 0 else 0)
        n_val = max(n_val, 1 if cfg.val_frac > 0 else 0)
    while n_val + n_test >= n and (n_val or n_test):  # keep at least one train item
        if n_val >= n_test:
            n_val -= 1
        else:
            n_test -= 1
    return n_val, n_test


def _name_key(name: str) -> tuple[str, str]:
    return (name.casefold(), name)


def contiguous_split(names: Sequence[str], cfg: SplitConfig = SplitConfig()) -> list[str]:
    """Split one class by sorted name ranges; returns the split of each input, in input order."""
    order = sorted(range(len(names)), key=lambda i: _name_key(names[i]))
    n_val, n_test = _counts(len(names), cfg)
    n_train = len(names) - n_val - n_test
    out = [""] * len(names)
    for rank, i in enumerate(order):
        out[i] = "train" if rank < n_train else "val" if rank < n_train + n_val else "test"
    return out


def group_rank(groups: Sequence[str], seed: int) -> list[str]:
    """Distinct groups in a seeded pseudo-random but stable order."""
    return sorted(set(groups), key=lambda g: hashlib.sha256(f"{seed}:{g}".encode()).hexdigest())


def _fill(order: Sequence[str], sizes: Counter[str], cfg: SplitConfig) -> dict[str, str]:
    """Walk groups in ``order``: test until its row share is reached, then val, then train."""
    total = sum(sizes.values())
    which, done = {}, 0
    for g in order:
        share = done / total
        which[g] = ("test" if share < cfg.test_frac else
                    "val" if share < cfg.test_frac + cfg.val_frac else "train")
        done += sizes[g]
    return which


def _imbalance(which: dict[str, str], groups: Sequence[str], strata: Sequence[str],
               cfg: SplitConfig) -> float:
    """Squared distance of each class's val/test shares from the targets (0 = perfect)."""
    per: Counter[tuple[str, str]] = Counter(zip(strata, (which[g] for g in groups), strict=True))
    totals = Counter(strata)
    cost = 0.0
    for c, n in totals.items():
        for split, frac in (("val", cfg.val_frac), ("test", cfg.test_frac)):
            cost += (per[c, split] / n - frac) ** 2
    if len(set(which.values())) < 3:  # a split without any cat is unusable
        cost += 10.0
    return cost


def grouped_split(groups: Sequence[str], cfg: SplitConfig = SplitConfig(),
                  strata: Sequence[str] | None = None, trials: int = 2000) -> list[str]:
    """Split by group (cat): whole groups go to test, val or train.

    Groups are taken in seeded random orders and filled up to the row shares of test and
    val; of ``trials`` such orders the one whose per-class (``strata``) shares come closest
    to the targets wins. Groups differ a lot in size and class mix (CatMeows: 5 to 54 clips
    per cat), so a single order would give very lopsided splits. Deterministic for a seed.
    """
    sizes = Counter(groups)
    strata = strata if strata is not None else ["" for _ in groups]
    rng = random.Random(cfg.seed)
    order = group_rank(groups, cfg.seed)
    best = _fill(order, sizes, cfg)
    best_cost = _imbalance(best, groups, strata, cfg)
    for _ in range(trials - 1):
        rng.shuffle(order)
        which = _fill(order, sizes, cfg)
        cost = _imbalance(which, groups, strata, cfg)
        if cost < best_cost - 1e-12:
            best, best_cost = which, cost
    return [best[g] for g in groups]


def group_kfold(groups: Sequence[str], k: int, seed: int = 0) -> list[int]:
    """Fold index (0..k-1) per item for cross-validation where no group spans two folds.

    Apply it to the train+val rows only, so the held-out test cats stay untouched.
    """
    if k < 2:
        raise ValueError("k must be at least 2")
    fold = {g: r % k for r, g in enumerate(group_rank(groups, seed))}
    return [fold[g] for g in groups]
