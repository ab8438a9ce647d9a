"""Where the model package keeps user files when no path is given (platform conventions).

``PURRSIGHT_DATA_DIR`` overrides the data folder (the app's ``--data-dir`` sets it too).
"""

from __future__ import annotations

import os
from pathlib import Path


def data_dir() -> Path:
    from platformdirs import user_data_dir

    return Path(os.environ.get("PURRSIGHT_DATA_DIR") or user_data_dir("purrsight"))


def runs_dir() -> Path:
    """Training runs: ``<data>/runs/<run-id>/``."""
    return data_dir() / "runs"


def models_dir() -> Path:
    """Exported bundles: ``<data>/models/<bundle-id>/``."""
    return data_dir() / "models"
