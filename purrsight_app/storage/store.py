"""The storage entry point: open (check, repair, migrate) once, then hand out connections.

One ``StoreWriter`` writes; every other thread (UI, exporters, training export) opens its own
``reader()`` — WAL lets them read while the writer commits.
"""

from __future__ import annotations

import os
import sqlite3
from collections.abc import Callable
from pathlib import Path

from purrsight_app.storage.db import CheckMode, OpenResult, connect, open_database
from purrsight_app.storage.writer import StoreWriter, WriterConfig, WriterStatus


class Store:
    """An opened database file. Create with ``Store.open(path)``."""

    def __init__(self, result: OpenResult) -> None:
        self.open_result = result

    @classmethod
    def open(cls, path: str | os.PathLike[str], *, check: CheckMode = "auto") -> Store:
        """Open or create; a damaged file is moved aside (see ``notice``), never raised."""
        return cls(open_database(path, check=check))

    @property
    def path(self) -> Path:
        return self.open_result.path

    @property
    def notice(self) -> str | None:
        """Something the UI should tell the owner (repair, upgrade), or None."""
        return self.open_result.message

    def reader(self, *, check_same_thread: bool = True) -> sqlite3.Connection:
        """A new read-only (``query_only``) connection for the calling thread."""
        return connect(self.path, query_only=True, check_same_thread=check_same_thread)

    def writer(
        self,
        config: WriterConfig | None = None,
        *,
        on_status: Callable[[WriterStatus], None] | None = None,
    ) -> StoreWriter:
        """Start the (single) writer thread for this file."""
        return StoreWriter(self.path, config, on_status=on_status)
