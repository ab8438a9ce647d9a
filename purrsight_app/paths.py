"""Where PurrSight keeps the owner's files.

Everything the user owns (database, clips, models, training runs, logs) lives under one data
directory: the platform's per-user data dir by default (``platformdirs``), or the folder given
with ``--data-dir`` (or ``PURRSIGHT_DATA_DIR``). Nothing is written into the install folder,
so upgrades and uninstalls never touch the owner's history.
"""

from __future__ import annotations

import argparse
import os
import time
from dataclasses import dataclass
from pathlib import Path

import platformdirs

APP_NAME = "purrsight"
ENV_DATA_DIR = "PURRSIGHT_DATA_DIR"
DB_NAME = "purrsight.db"


@dataclass(frozen=True)
class AppPaths:
    """The data directory and its fixed sub-folders."""

    data_dir: Path
    """Root of everything the owner owns."""

    @property
    def db_path(self) -> Path:
        """The SQLite database (observations, events, reports, clips, labels, runs, models)."""
        return self.data_dir / DB_NAME

    @property
    def clips_dir(self) -> Path:
        """Recorded clips, one sub-folder per local day (``clips/YYYY-MM-DD/``)."""
        return self.data_dir / "clips"

    @property
    def models_dir(self) -> Path:
        """Registered bundles (``models/<bundle-id>/``)."""
        return self.data_dir / "models"

    @property
    def runs_dir(self) -> Path:
        """Training runs (``runs/<run-id>/``)."""
        return self.data_dir / "runs"

    @property
    def logs_dir(self) -> Path:
        """Rotating app logs."""
        return self.data_dir / "logs"

    def clip_dir_for(self, ts: float) -> Path:
        """Folder for a clip recorded at wall-clock ``ts`` (local date, like the timeline)."""
        return self.clips_dir / time.strftime("%Y-%m-%d", time.localtime(ts))

    def ensure(self) -> AppPaths:
        """Create the data dir and its sub-folders (idempotent); return self for chaining."""
        for folder in (self.data_dir, self.clips_dir, self.models_dir, self.runs_dir, self.logs_dir):
            folder.mkdir(parents=True, exist_ok=True)
        return self


def default_data_dir() -> Path:
    """The platform's per-user data folder for PurrSight (not created here)."""
    return Path(platformdirs.user_data_dir(APP_NAME, appauthor=False))


def resolve_paths(data_dir: str | os.PathLike[str] | None = None, *, create: bool = True) -> AppPaths:
    """Pick the data dir: explicit argument, then ``$PURRSIGHT_DATA_DIR``, then the platform dir."""
    chosen = data_dir if data_dir is not None else os.environ.get(ENV_DATA_DIR) or None
    root = Path(chosen).expanduser().resolve() if chosen is not None else default_data_dir()
    paths = AppPaths(root)
    return paths.ensure() if create else paths


def add_data_dir_argument(parser: argparse.ArgumentParser) -> None:
    """Add the shared ``--data-dir`` option (so app and tools spell it the same way)."""
    parser.add_argument(
        "--data-dir",
        default=None,
        metavar="DIR",
        help=f"folder for the database, clips, models, runs and logs "
        f"(default: ${ENV_DATA_DIR} or {default_data_dir()})",
    )
