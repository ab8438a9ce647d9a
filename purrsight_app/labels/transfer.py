"""One call each for the panel's Import and Export buttons (blocking: run on a worker).

Import takes any mix of media files, folders and ``.jsonl`` datasets (dropped or picked),
skips what was imported before, and waits until the new rows are committed so the queue the
panel reloads right after already shows them.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Protocol

from purrsight_app.clips.importer import import_media
from purrsight_app.labels.export import ExportResult, export_labelled
from purrsight_app.labels.jsonl_import import import_jsonl
from purrsight_app.labels.queries import clip_sources
from purrsight_app.paths import AppPaths
from purrsight_app.pipeline.protocols import AnalyzerLike
from purrsight_app.storage import labeled_clips

Reader = Callable[[], sqlite3.Connection | None]


class WriterLike(Protocol):
    def put(self, item: object) -> None: ...

    def flush(self, timeout: float | None = None) -> bool: ...


@dataclass(frozen=True)
class ImportSummary:
    clips: int = 0
    labelled: int = 0
    skipped: list[str] = field(default_factory=list)

    def text(self) -> str:
        parts = [f"imported {self.clips} clip(s)"]
        if self.labelled:
            parts.append(f"{self.labelled} with labels")
        if self.skipped:
            parts.append(f"{len(self.skipped)} skipped ({self.skipped[0]})")
        return ", ".join(parts)


def _known(reader: Reader) -> set[str]:
    conn = reader()
    if conn is None:
        return set()
    try:
        return clip_sources(conn)
    finally:
        conn.close()


def import_sources(sources: Sequence[Path], paths: AppPaths, writer: WriterLike,
                   reader: Reader, analyzer: AnalyzerLike | None = None) -> ImportSummary:
    """Import media and JSONL datasets; returns counts and skip reasons."""
    known = _known(reader)
    datasets = [Path(s) for s in sources if Path(s).suffix.lower() == ".jsonl"]
    media_srcs = [Path(s) for s in sources if Path(s).suffix.lower() != ".jsonl"]
    clips = labelled = 0
    skipped: list[str] = []
    for ds in datasets:
        r = import_jsonl(ds, paths, writer, known=known, analyzer=analyzer)
        clips, labelled, skipped = clips + r.clips, labelled + r.labels, skipped + r.skipped
    if media_srcs:
        m = import_media(media_srcs, paths, writer, known=known, analyzer=analyzer)
        clips, skipped = clips + len(m.clips), skipped + m.skipped
    writer.flush(30)
    return ImportSummary(clips, labelled, skipped)


def export_folder(folder: Path, paths: AppPaths, reader: Reader) -> ExportResult:
    """Write every labelled clip to ``folder/align.jsonl`` and ``folder/instruct.jsonl``."""
    conn = reader()
    if conn is None:
        raise RuntimeError("the history database is not open")
    try:
        pairs = labeled_clips(conn)
    finally:
        conn.close()
    return export_labelled(pairs, paths.data_dir, folder)
