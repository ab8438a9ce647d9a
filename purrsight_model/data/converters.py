"""Build alignment and instruction JSONL from a folder laid out like ``shared/data``.

Each known set is a subfolder with ``manifest.csv`` (``path,label,group,sha256``; ``group``
and ``sha256`` may be blank or absent: a blank hash is computed from the file). The
conversion is deterministic: same input folder + config -> byte-identical JSONL. Media
paths are written absolute (the data folder is read-only and lives apart from the output).
"""

from __future__ import annotations

import csv
import logging
from collections import Counter, defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from purrsight_model.data.captions import build_report, caption, row_rng
from purrsight_model.data.feature_store import file_sha256
from purrsight_model.data.jsonl import write_jsonl
from purrsight_model.data.labelmap import TASK_KEYS, canonical_label, schema_labels
from purrsight_model.data.splits import SplitConfig, contiguous_split, grouped_split

log = logging.getLogger(__name__)

#: Known sets: name -> modality of their files.
SET_MODALITY = {"catmeows": "audio", "catsound10": "audio", "catfaces3": "image"}


class ConvertError(ValueError):
    """A dataset folder or manifest that cannot be converted (names the file)."""


@dataclass(frozen=True)
class Entry:
    """One manifest line, with the split decided later."""

    set_name: str
    rel: str  # path inside the set folder, as in the manifest
    path: Path  # absolute path of the media file
    label: str
    group: str | None
    sha256: str

    @property
    def id(self) -> str:
        return f"{self.set_name}/{self.rel}"


def read_manifest(set_dir: Path, set_name: str) -> list[Entry]:
    """Entries of one set, checked against the label mapping (unknown labels are errors)."""
    manifest = set_dir / "manifest.csv"
    try:
        with manifest.open(newline="", encoding="utf-8-sig") as f:  # a spreadsheet's BOM
            lines = list(csv.DictReader(f))
    except OSError as exc:
        raise ConvertError(f"{manifest}: cannot read: {exc}") from exc
    entries = []
    for n, line in enumerate(lines, start=2):
        try:
            rel, label = line["path"], line["label"]
            sha = (line.get("sha256") or "").strip().lower()
        except (KeyError, AttributeError) as exc:
            raise ConvertError(f"{manifest}:{n}: missing column {exc}") from exc
        try:
            label = canonical_label(set_name, label)
            schema_labels(set_name, label, rel)
        except KeyError as exc:
            raise ConvertError(f"{manifest}:{n}: unknown label {label!r}") from exc
        entries.append(Entry(set_name, rel, (set_dir / rel).resolve(), label,
                             line.get("group") or None, sha))
    return entries


def with_hashes(entries: Iterable[Entry]) -> tuple[list[Entry], list[Entry]]:
    """(entries with the sha256 a manifest left blank computed from the file, entries whose
    file cannot be read: warned about and dropped, like missing ones)."""
    hashed, unreadable = [], []
    for e in entries:
        try:
            hashed.append(e if e.sha256 else replace(e, sha256=file_sha256(e.path)))
        except OSError as exc:
            log.warning("%s: cannot read (%s); dropped", e.path, exc)
            unreadable.append(e)
    return hashed, unreadable


def dedupe(entries: Iterable[Entry]) -> tuple[list[Entry], list[Entry], list[Entry]]:
    """Resolve exact duplicates (same sha256) before splitting.

    Returns (kept, redundant copies, conflicting). Copies with one label keep the entry
    with the shortest id (the original rather than "name (2)"); copies whose labels disagree are all dropped (we cannot tell which is
    right), with a warning.
    """
    by_sha: dict[str, list[Entry]] = defaultdict(list)
    for e in entries:
        by_sha[e.sha256].append(e)
    kept, copies, conflicts = [], [], []
    for group in by_sha.values():
        group.sort(key=lambda e: (len(e.id), e.id))  # "x.mp3" before "x (2).mp3"
        if len({(e.set_name, e.label) for e in group}) > 1:
            log.warning("dropping duplicate files with conflicting labels: %s",
                        ", ".join(f"{e.id} ({e.label})" for e in group))
            conflicts.extend(group)
            continue
        kept.append(group[0])
        copies.extend(group[1:])
    kept.sort(key=lambda e: e.id)
    return kept, copies, conflicts


def assign_splits(entries: list[Entry], cfg: SplitConfig) -> list[str]:
    """Split per set: CatMeows by cat, the others by contiguous sorted names per class."""
    out = [""] * len(entries)
    by_set: dict[tuple[str, str], list[int]] = defaultdict(list)
    for i, e in enumerate(entries):
        key = (e.set_name, "" if e.set_name == "catmeows" else e.label)
        by_set[key].append(i)
    for (set_name, _), idx in by_set.items():
        if set_name == "catmeows":
            splits = grouped_split([entries[i].group or entries[i].rel for i in idx], cfg,
                                   strata=[entries[i].label for i in idx])
        else:
            splits = contiguous_split([entries[i].rel.rsplit("/", 1)[-1] for i in idx], cfg)
        for i, s in zip(idx, splits, strict=True):
            out[i] = s
    return out


def align_record(e: Entry, split: str, seed: int) -> dict[str, Any]:
    """Alignment row: caption + media + evidenced labels + original class."""
    modality = SET_MODALITY[e.set_name]
    fields = schema_labels(e.set_name, e.label, e.rel)
    rec: dict[str, Any] = {
        "id": e.id,
        "text": caption(e.set_name, e.label, modality, fields, row_rng(seed, e.id)),
        modality: str(e.path),
        "labels": fields,
        "tasks": {TASK_KEYS[e.set_name]: e.label},
        "split": split,
        "source": e.set_name,
    }
    if e.group:
        rec["group"] = e.group
    return rec


def instruct_record(align: dict[str, Any]) -> dict[str, Any]:
    """Instruction row: the alignment row plus its target report."""
    mods = tuple(m for m in ("image", "audio") if m in align or
                 (m == "image" and "video" in align))
    report = build_report(align["labels"], mods)
    return {**align, "report": report.to_dict()}


@dataclass
class Conversion:
    """Everything a conversion produced, for writing and for the summary."""

    align: dict[str, list[dict[str, Any]]]  # set -> rows
    copies: list[Entry]
    conflicts: list[Entry]
    missing: list[Entry]

    def summary(self) -> dict[str, Any]:
        sets = {}
        for name, rows in self.align.items():
            per_split = Counter(r["split"] for r in rows)
            per_class: dict[str, Counter[str]] = defaultdict(Counter)
            for r in rows:
                per_class[next(iter(r["tasks"].values()))][r["split"]] += 1
            sets[name] = {"rows": len(rows), "splits": dict(sorted(per_split.items())),
                          "classes": {k: dict(sorted(v.items()))
                                      for k, v in sorted(per_class.items())}}
        return {"sets": sets, "duplicate_copies_dropped": [e.id for e in self.copies],
                "conflicting_duplicates_dropped": [e.id for e in self.conflicts],
                "missing_files_dropped": [e.id for e in self.missing]}  # or unreadable


def convert(data_dir: str | Path, cfg: SplitConfig | None = None, caption_seed: int = 0,
            sets: Iterable[str] | None = None) -> Conversion:
    """Read every known set found under ``data_dir`` and build the rows (no writing)."""
    cfg = cfg or SplitConfig()
    data_dir = Path(data_dir)
    names = [s for s in (sets or SET_MODALITY) if (data_dir / s / "manifest.csv").is_file()]
    if not names:
        raise ConvertError(f"{data_dir}: no known dataset folder with manifest.csv "
                           f"(expected some of {', '.join(SET_MODALITY)})")
    entries = [e for name in names for e in read_manifest(data_dir / name, name)]
    present: list[Entry] = []
    missing: list[Entry] = []
    for e in entries:
        (present if e.path.is_file() else missing).append(e)
    for e in missing:
        log.warning("%s: listed in the manifest but missing; dropped", e.path)
    hashed, unreadable = with_hashes(present)
    kept, copies, conflicts = dedupe(hashed)
    splits = assign_splits(kept, cfg)
    align: dict[str, list[dict[str, Any]]] = {name: [] for name in names}
    for e, split in zip(kept, splits, strict=True):
        align[e.set_name].append(align_record(e, split, caption_seed))
    return Conversion(align, copies, conflicts, missing + unreadable)


def write_conversion(conv: Conversion, out_dir: str | Path) -> dict[str, Path]:
    """Write align.jsonl, instruct.jsonl and <set>_align/_instruct.jsonl; returns the paths."""
    out_dir = Path(out_dir)
    written: dict[str, Path] = {}
    all_align: list[dict[str, Any]] = []
    for name, rows in conv.align.items():
        for kind, recs in (("align", rows), ("instruct", [instruct_record(r) for r in rows])):
            path = out_dir / f"{name}_{kind}.jsonl"
            write_jsonl(path, recs)
            written[f"{name}_{kind}"] = path
        all_align.extend(rows)
    written["align"] = out_dir / "align.jsonl"
    write_jsonl(written["align"], all_align)
    written["instruct"] = out_dir / "instruct.jsonl"
    write_jsonl(written["instruct"], (instruct_record(r) for r in all_align))
    return written
