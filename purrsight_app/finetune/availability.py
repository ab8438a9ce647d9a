"""Can this installation train? Only when PyTorch is importable (source installs with the
``train`` extra); the packaged app is runtime-only and says how to enable training instead.

``find_spec`` looks the package up without importing it: importing torch costs seconds and
~240 MB, which the app never pays — training always runs in a child process.
"""

from __future__ import annotations

import importlib.util
import os
import sys
from pathlib import Path

TRAIN_HINT = (
    "Fine-tuning needs PyTorch, which this installation does not include. In a source "
    'install run:  pip install "purrsight[train]"  (see README, "Fine-tuning").'
)


FROZEN_HINT = (
    "Training needs the optional training environment (about 2.3 GB). Open a terminal, run "
    "`purrsight-enable-training`, then restart PurrSight."
)


def frozen_training_python() -> Path:
    """The training interpreter of an installed (frozen) app."""
    custom = os.environ.get("PURRSIGHT_TRAIN_PYTHON")
    if custom:
        return Path(custom)
    return Path.home() / ".local" / "share" / "purrsight-training" / "bin" / "python"


def training_python() -> str:
    """Interpreter that runs training jobs: this one, or the frozen app's training venv."""
    return str(frozen_training_python()) if getattr(sys, "frozen", False) else sys.executable


def training_available(module: str = "torch") -> tuple[bool, str]:
    """(True, "") when ``module`` can be imported, else (False, what to do)."""
    if getattr(sys, "frozen", False):
        ok = frozen_training_python().exists()
        return (True, "") if ok else (False, FROZEN_HINT)
    try:
        found = importlib.util.find_spec(module) is not None
    except (ImportError, ValueError):
        found = False
    return (True, "") if found else (False, TRAIN_HINT)
