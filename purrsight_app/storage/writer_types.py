"""The writer's configuration, its status snapshot and the task protocol (no threads here)."""

from __future__ import annotations

import sqlite3
from dataclasses import dataclass
from typing import Any, Protocol, runtime_checkable


@runtime_checkable
class WriterTask(Protocol):
    """Maintenance work (pruning, checkpoints) run on the writer's connection, in order."""

    def run(self, conn: sqlite3.Connection) -> Any:
        """Do the work; manage your own transactions. The return value resolves the future."""


@dataclass(frozen=True)
class WriterConfig:
    """How the writer batches, downsamples and retries."""

    batch_size: int = 512
    """Most records per transaction."""
    max_latency_s: float = 0.25
    """Longest a record waits before its batch is committed."""
    retry_interval_s: float = 5.0
    """Pause between attempts after a failed write."""
    min_observation_interval_s: float = 1.0
    """Keep at most one observation per interval bucket (0 = keep all); an event change
    always starts a new bucket."""
    max_pending_observations: int = 200_000
    """While writes fail, keep at most this many observations in memory (oldest dropped
    first; events, reports, clips and labels are never dropped)."""


@dataclass(frozen=True)
class WriterStatus:
    """Snapshot for the UI; ``ok`` False means records are waiting for a retry."""

    ok: bool = True
    error_kind: str | None = None
    message: str = ""
    pending: int = 0
    written: int = 0
    skipped: int = 0
    """Observations dropped by downsampling (by design)."""
    dropped: int = 0
    """Observations dropped because writes kept failing and memory hit the cap."""
    rejected: int = 0
    """Records that could never be written (bad values); their futures hold the error."""
    closed: bool = False
