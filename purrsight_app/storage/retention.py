"""Retention and the disk-space guard.

Pruning order, always: oldest observations first, then the oldest *unlabeled* clips (rows and
files). Labels, labeled clips, reports and events are never pruned silently: when only they
are left and the disk is still short, the result says so and the owner decides. The
quarter-hour aggregate is kept, so old days still show their counts after raw rows are gone.

Run it on the writer (``writer.submit(PruneTask(...))``) so it never races the single writer.
"""

from __future__ import annotations

import logging
import shutil
import sqlite3
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from purrsight_app.storage.ops import remove_files

log = logging.getLogger(__name__)
_CHUNK = 20_000
MB = 1024 * 1024


@dataclass(frozen=True)
class RetentionSettings:
    """Owner-facing limits (Settings page)."""

    keep_observations_days: float = 30.0
    """Raw observations older than this are deleted (their quarter-hour counts stay)."""
    max_clips_gb: float = 20.0
    """Total size of clip + thumbnail files; oldest unlabeled clips go first."""
    min_free_disk_mb: float = 1024.0
    """Below this much free space, prune further (observations, then unlabeled clips)."""
    min_keep_observations_hours: float = 1.0
    """The disk guard never deletes observations newer than this."""


@dataclass(frozen=True)
class PruneResult:
    observations_deleted: int = 0
    clips_deleted: int = 0
    clip_bytes_freed: int = 0
    free_bytes: int | None = None
    low_disk: bool = False
    """True when the disk is still short after pruning everything allowed."""
    message: str | None = None


def disk_free(path: Path) -> int:
    """Free bytes on the volume holding ``path`` (or its nearest existing parent)."""
    p = Path(path)
    while not p.exists() and p.parent != p:
        p = p.parent
    return shutil.disk_usage(p).free


def _delete_observations_before(conn: sqlite3.Connection, cutoff: float) -> int:
    """Chunked delete (short transactions keep readers and the writer queue moving)."""
    total = 0
    while True:
        conn.execute("BEGIN IMMEDIATE")
        cur = conn.execute(
            "DELETE FROM observations WHERE rowid IN (SELECT rowid FROM observations "
            "WHERE ts < ? ORDER BY ts LIMIT ?)",
            (cutoff, _CHUNK),
        )
        conn.execute("COMMIT")
        total += cur.rowcount
        if cur.rowcount < _CHUNK:
            return total


def _give_space_back(conn: sqlite3.Connection) -> None:
    """Return freed pages to the file system (needs auto_vacuum=INCREMENTAL, set at create)."""
    # executescript steps the pragma to completion; execute() frees a single page only.
    conn.executescript("PRAGMA incremental_vacuum;")
    conn.execute("PRAGMA wal_checkpoint(TRUNCATE)").fetchall()


def _clip_files(conn: sqlite3.Connection, base: Path) -> list[tuple[str, float, int, int, tuple]]:
    """(id, ts, labeled, bytes, paths) for every clip."""
    out = []
    for cid, ts, labeled, path, thumb in conn.execute(
        "SELECT id, ts, labeled, path, thumbnail_path FROM clips ORDER BY ts"
    ):
        size = 0
        for p in (path, thumb):
            if p:
                f = Path(p) if Path(p).is_absolute() else base / p
                size += f.stat().st_size if f.exists() else 0
        out.append((cid, ts, labeled, size, (path, thumb)))
    return out


def _delete_clip(conn: sqlite3.Connection, base: Path, clip_id: str, paths: tuple) -> int:
    conn.execute("BEGIN IMMEDIATE")
    conn.execute("DELETE FROM clips WHERE id = ? AND labeled = 0", (clip_id,))
    conn.execute("COMMIT")
    return remove_files(base, list(paths))


@dataclass
class _Pruner:
    conn: sqlite3.Connection
    base: Path
    settings: RetentionSettings
    now: float
    free_bytes: Callable[[Path], int]
    obs_deleted: int = 0
    clips_deleted: int = 0
    bytes_freed: int = 0
    clips: list = field(default_factory=list)

    def low(self) -> bool:
        return self.free_bytes(self.base) < self.settings.min_free_disk_mb * MB

    def by_age(self) -> None:
        cutoff = self.now - self.settings.keep_observations_days * 86_400
        self.obs_deleted += _delete_observations_before(self.conn, cutoff)

    def pop_unlabeled_clip(self) -> bool:
        """Delete the oldest unlabeled clip; False when none is left."""
        for i, (cid, _, labeled, size, paths) in enumerate(self.clips):
            if not labeled:
                self.bytes_freed += _delete_clip(self.conn, self.base, cid, paths) or size
                self.clips_deleted += 1
                del self.clips[i]
                return True
        return False

    def clips_over_budget(self) -> None:
        budget = self.settings.max_clips_gb * 1024 * MB
        while sum(c[3] for c in self.clips) > budget and self.pop_unlabeled_clip():
            pass

    def disk_guard(self) -> None:
        floor = self.now - self.settings.min_keep_observations_hours * 3600
        while self.low():
            (oldest,) = self.conn.execute("SELECT MIN(ts) FROM observations").fetchone()
            if oldest is None or oldest >= floor:
                break
            self.obs_deleted += _delete_observations_before(
                self.conn, min(oldest + 86_400, floor)
            )
            _give_space_back(self.conn)
        while self.low() and self.pop_unlabeled_clip():
            pass


def prune(
    conn: sqlite3.Connection,
    data_dir: Path,
    settings: RetentionSettings,
    *,
    now: float | None = None,
    free_bytes: Callable[[Path], int] = disk_free,
) -> PruneResult:
    """Apply retention, then the disk guard (see module docstring for the order)."""
    p = _Pruner(conn, Path(data_dir), settings, time.time() if now is None else now, free_bytes)
    p.by_age()
    p.clips = _clip_files(conn, p.base)
    p.clips_over_budget()
    _give_space_back(conn)
    p.disk_guard()
    free = free_bytes(p.base)
    low = free < settings.min_free_disk_mb * MB
    message = None
    if low:
        message = (
            f"Only {free // MB} MB free on the disk holding {p.base}. Old observations and "
            "unlabeled clips were removed; labeled clips, labels and reports are kept. "
            "Please free some space or move the data folder."
        )
        log.warning(message)
    return PruneResult(p.obs_deleted, p.clips_deleted, p.bytes_freed, free, low, message)


@dataclass(frozen=True)
class PruneTask:
    """Writer task wrapper: ``writer.submit(PruneTask(data_dir, settings))`` -> PruneResult."""

    data_dir: Path
    settings: RetentionSettings = RetentionSettings()
    now: float | None = None
    free_bytes: Callable[[Path], int] = disk_free

    def run(self, conn: sqlite3.Connection) -> PruneResult:
        return prune(conn, self.data_dir, self.settings, now=self.now, free_bytes=self.free_bytes)
