"""What the owner's label set looks like: counts per class and honest warnings.

A fine-tune on 40 "content" clips and 2 "anxious" ones teaches the model that every cat is
content; the owner should know that before spending an hour of CPU. So the summary counts
each field's classes (affective state first, it is what the owner cares about) and warns
about too few labels, classes with very few examples, strong imbalance and a held-out set
too small to compare models on.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

from purrsight_model.schema import LABEL_FIELDS, UNKNOWN


@dataclass(frozen=True)
class SummaryConfig:
    min_labels: int = 20
    """Fewer labelled clips than this: fine-tuning will barely move the model."""
    min_per_class: int = 5
    """A labelled class with fewer examples is warned about."""
    max_ratio: float = 5.0
    """Largest / smallest labelled class above this ratio is called imbalanced."""
    min_test: int = 5
    """Fewer held-out clips make old-vs-new numbers noisy."""


@dataclass(frozen=True)
class LabelSummary:
    clips: int
    """Clips in the store."""
    labelled: int
    counts: dict[str, dict[str, int]] = field(default_factory=dict)
    """Field -> class -> number of labelled clips (``unknown`` excluded)."""
    splits: dict[str, int] = field(default_factory=dict)
    warnings: list[str] = field(default_factory=list)

    def lines(self, field_name: str = "affective_state") -> list[str]:
        """Short text lines for a panel: totals, then one field's counts."""
        out = [f"{self.labelled} of {self.clips} clips labelled"]
        if self.splits:
            test = self.splits.get("test", 0)
            tune = sum(v for k, v in self.splits.items() if k != "test")
            out.append(f"{tune} to learn from, {test} held out to test")
        counts = self.counts.get(field_name, {})
        if counts:
            out.append(", ".join(f"{k} {v}" for k, v in
                                 sorted(counts.items(), key=lambda kv: -kv[1])))
        return out


def _count(labels: Sequence[Mapping[str, str]]) -> dict[str, dict[str, int]]:
    counts: dict[str, dict[str, int]] = {}
    for name in LABEL_FIELDS:
        c = Counter(v for lab in labels if (v := lab.get(name, UNKNOWN)) != UNKNOWN)
        if c:
            counts[name] = dict(c.most_common())
    return counts


def _warnings(labelled: int, counts: dict[str, dict[str, int]], splits: Mapping[str, int],
              cfg: SummaryConfig) -> list[str]:
    out = []
    if labelled < cfg.min_labels:
        out.append(f"only {labelled} labelled clips; {cfg.min_labels}+ give a useful fine-tune")
    states = counts.get("affective_state", {})
    if labelled and not states:
        out.append("no clip has an affective state: the main head cannot learn")
    elif len(states) == 1:
        out.append(f"every labelled state is '{next(iter(states))}': label other moods too")
    for name, c in counts.items():
        few = [k for k, v in c.items() if v < cfg.min_per_class]
        if few and name == "affective_state":
            out.append(f"few examples of {', '.join(sorted(few))} (< {cfg.min_per_class} each)")
        if len(c) > 1 and max(c.values()) / max(min(c.values()), 1) > cfg.max_ratio:
            big = max(c, key=c.__getitem__)
            out.append(f"{name.replace('_', ' ')} is imbalanced: '{big}' has "
                       f"{c[big]} of {sum(c.values())}")
    if labelled and splits.get("test", 0) < cfg.min_test:
        n = splits.get("test", 0)
        out.append(f"only {n} held-out clip{'' if n == 1 else 's'}: old-vs-new numbers "
                   "will be rough")
    return out


def summarise(n_clips: int, labels: Sequence[Mapping[str, str]],
              splits: Mapping[str, str] | None = None,
              config: SummaryConfig | None = None) -> LabelSummary:
    """Summary of ``labels`` (one value dict per labelled clip); ``splits`` maps clip id ->
    split for the held-out count."""
    cfg = config or SummaryConfig()
    counts = _count(labels)
    split_counts = dict(Counter((splits or {}).values()))
    return LabelSummary(n_clips, len(labels), counts, split_counts,
                        _warnings(len(labels), counts, split_counts, cfg))
