"""Split helpers: contiguous name ranges, grouped (by cat) splits, group k-fold."""

from __future__ import annotations

from collections import Counter, defaultdict

import pytest

from purrsight_model.data.splits import (
    SplitConfig,
    contiguous_split,
    group_kfold,
    grouped_split,
)


def test_contiguous_split_sorted_ranges_in_input_order():
    names = [f"f{i:02d}.mp3" for i in range(20)][::-1]  # given in reverse
    out = contiguous_split(names, SplitConfig(val_frac=0.2, test_frac=0.1))
    by_name = dict(zip(names, out, strict=True))
    ordered = [by_name[n] for n in sorted(names)]
    assert ordered == ["train"] * 14 + ["val"] * 4 + ["test"] * 2


def test_contiguous_split_case_insensitive_and_small():
    out = contiguous_split(["b.mp3", "A.mp3", "c.mp3"])
    assert out == ["val", "train", "test"]  # A < b < c ignoring case
    assert contiguous_split(["only.mp3"]) == ["train"]
    assert contiguous_split(["a", "b"]) == ["train", "train"]  # too few to hold out


def test_grouped_split_keeps_groups_whole_and_balances_classes():
    groups, strata = [], []
    for g in range(12):
        for k in range(3 + g % 5):
            groups.append(f"cat{g}")
            strata.append("abc"[(g + k) % 3])
    cfg = SplitConfig(val_frac=0.2, test_frac=0.2, seed=3)
    out = grouped_split(groups, cfg, strata=strata)
    assert out == grouped_split(groups, cfg, strata=strata)  # deterministic
    seen = defaultdict(set)
    for g, s in zip(groups, out, strict=True):
        seen[g].add(s)
    assert all(len(v) == 1 for v in seen.values())
    share = Counter(out)
    for split in ("val", "test"):
        assert 0.1 <= share[split] / len(out) <= 0.3
        per_class = Counter(c for c, s in zip(strata, out, strict=True) if s == split)
        assert set(per_class) == {"a", "b", "c"}  # every class present in val and test


def test_group_kfold():
    groups = [f"g{i % 7}" for i in range(40)]
    folds = group_kfold(groups, 3)
    fold_of = defaultdict(set)
    for g, f in zip(groups, folds, strict=True):
        fold_of[g].add(f)
    assert all(len(v) == 1 for v in fold_of.values())
    assert set(folds) == {0, 1, 2}
    with pytest.raises(ValueError):
        group_kfold(groups, 1)


def test_bad_fractions():
    with pytest.raises(ValueError):
        SplitConfig(val_frac=0.6, test_frac=0.5)
