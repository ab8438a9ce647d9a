"""YAMNet's 521 AudioSet class names and the cat-related index sets.

The indices are constants (the class map is fixed by the published model) so the feature
cache, zero-shot scoring and the runtime agree without reading a file; ``class_names()``
reads the names from the packaged ``yamnet_class_map.csv`` when they are wanted for display.
"""

from __future__ import annotations

import csv
from functools import lru_cache
from pathlib import Path

from purrsight_model.encoders.base import EncoderError

NUM_CLASSES = 521

CAT = 76
PURR = 77
MEOW = 78
HISS = 79
CATERWAUL = 80
GROWLING = 74  # generic AudioSet "Growling" (listed under Dog, fires on cat growls too)
DOMESTIC_ANIMALS = 68  # "Domestic animals, pets"
ANIMAL = 67

#: Classes that name a cat sound outright: "a cat is heard" = mass on these.
CAT_CLASSES: tuple[int, ...] = (CAT, PURR, MEOW, HISS, CATERWAUL)
#: Wider set for recall-oriented uses (growls, generic pet sounds).
CAT_RELATED_CLASSES: tuple[int, ...] = (*CAT_CLASSES, GROWLING, DOMESTIC_ANIMALS)

#: Expected display names of the indices above (checked against the class map in tests).
EXPECTED_NAMES: dict[int, str] = {
    ANIMAL: "Animal",
    DOMESTIC_ANIMALS: "Domestic animals, pets",
    GROWLING: "Growling",
    CAT: "Cat",
    PURR: "Purr",
    MEOW: "Meow",
    HISS: "Hiss",
    CATERWAUL: "Caterwaul",
}


@lru_cache(maxsize=4)
def class_names(path: str | None = None) -> tuple[str, ...]:
    """The 521 display names in model output order (packaged class map unless ``path``)."""
    if path is None:
        from purrsight_model.encoders.packaged import YAMNET_CLASS_MAP, locate

        csv_path = locate(YAMNET_CLASS_MAP)
    else:
        csv_path = Path(path)
    try:
        with open(csv_path, newline="", encoding="utf-8") as fh:
            rows = list(csv.DictReader(fh))
        names = tuple(row["display_name"] for row in sorted(rows, key=lambda r: int(r["index"])))
    except (OSError, KeyError, ValueError) as exc:
        raise EncoderError(f"cannot read YAMNet class map {csv_path}: {exc}") from exc
    if len(names) != NUM_CLASSES:
        raise EncoderError(
            f"YAMNet class map {csv_path} has {len(names)} classes, not {NUM_CLASSES}"
        )
    return names
