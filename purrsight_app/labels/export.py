"""Export labelled clips to the training JSONL files (README "Datasets (JSONL)").

Two files side by side: ``align.jsonl`` (Phase 1: media + caption + labels + split) and
``instruct.jsonl`` (the same rows plus a ``report`` object for Phase 2). Media paths are
absolute (clips stay where the app keeps them; nothing is copied). A clip whose file is gone,
or whose label says nothing (every field unknown and no description), is skipped and listed
in the result, never silently dropped.
"""

from __future__ import annotations

import json
import os
import tempfile
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from purrsight_app.clips.probe import probe
from purrsight_app.labels.captions import caption, clip_rng, report
from purrsight_app.labels.service import normalise
from purrsight_app.labels.splits import SplitConfig, assign_splits
from purrsight_app.storage import ClipRow, LabelRow
from purrsight_model import media
from purrsight_model.schema import UNKNOWN

ALIGN_FILE = "align.jsonl"
INSTRUCT_FILE = "instruct.jsonl"
OWNER_GROUP = "owner"


class ExportError(RuntimeError):
    """The dataset could not be written (the message names the file)."""


@dataclass(frozen=True)
class ExportResult:
    align: Path
    instruct: Path
    rows: int
    splits: dict[str, int] = field(default_factory=dict)
    skipped: list[str] = field(default_factory=list)
    """"<clip path>: <reason>" for every labelled clip that was left out."""


def resolve_clip_path(path: str, data_dir: Path) -> Path:
    """Clip paths in the store are relative to the data dir (or absolute for imports)."""
    p = Path(path).expanduser()
    return p if p.is_absolute() else data_dir / p


def _row(clip: ClipRow, label: LabelRow, path: Path, split: str) -> dict[str, Any] | None:
    values = normalise(label.values)
    description = (label.description or "").strip()
    if all(v == UNKNOWN for v in values.values()) and not description:
        return None
    info = probe(path)
    row: dict[str, Any] = {
        "id": clip.id, info.kind: str(path), "text": caption(values, description, clip_rng(clip.id)),
        "labels": values, "split": split, "group": OWNER_GROUP, "source": "owner",
    }
    if description:
        row["description"] = description
    row["report"] = report(values, info.modalities, description).to_dict()
    return row


def build_rows(pairs: Sequence[tuple[ClipRow, LabelRow]], data_dir: Path,
               split_config: SplitConfig | None = None) -> tuple[list[dict[str, Any]], list[str]]:
    """Instruction rows (alignment rows are the same minus ``report``) and skip reasons."""
    splits = assign_splits([c.id for c, _ in pairs], split_config)
    rows, skipped = [], []
    for clip, label in pairs:
        path = resolve_clip_path(clip.path, data_dir)
        try:
            row = _row(clip, label, path, splits[clip.id])
        except (media.MediaError, ValueError) as exc:
            skipped.append(f"{clip.path}: {exc}")
            continue
        if row is None:
            skipped.append(f"{clip.path}: every field is unknown")
            continue
        rows.append(row)
    return rows, skipped


def write_jsonl(path: Path, rows: Iterable[Mapping[str, Any]]) -> int:
    """Atomic write (temp file + rename): a crash never leaves half a dataset."""
    path.parent.mkdir(parents=True, exist_ok=True)
    n = 0
    try:
        with tempfile.NamedTemporaryFile("w", encoding="utf-8", dir=path.parent,
                                         suffix=".tmp", delete=False) as tmp:
            for row in rows:
                tmp.write(json.dumps(row, ensure_ascii=False) + "\n")
                n += 1
        os.replace(tmp.name, path)
    except OSError as exc:
        raise ExportError(f"{path}: cannot write dataset: {exc}") from exc
    return n


def export_labelled(pairs: Sequence[tuple[ClipRow, LabelRow]], data_dir: Path, out_dir: Path,
                    split_config: SplitConfig | None = None) -> ExportResult:
    """Write ``align.jsonl`` and ``instruct.jsonl`` into ``out_dir``."""
    rows, skipped = build_rows(pairs, data_dir, split_config)
    align_rows = [{k: v for k, v in r.items() if k != "report"} for r in rows]
    align = out_dir / ALIGN_FILE
    instruct = out_dir / INSTRUCT_FILE
    write_jsonl(align, align_rows)
    write_jsonl(instruct, rows)
    counts: dict[str, int] = {}
    for r in rows:
        counts[r["split"]] = counts.get(r["split"], 0) + 1
    return ExportResult(align, instruct, len(rows), counts, skipped)
