"""Can this installation train? Only when PyTorch is importable (source installs with the
``train`` extra); the packaged app is runtime-only and says how to enable training instead.

``find_spec`` looks the package up without importing it: importing torch costs seconds and
~240 MB, which the app never pays — training always runs in a child process.
"""

from __future__ import annotations

import importlib.util

TRAIN_HINT = (
    "Fine-tuning needs PyTorch, which this installation does not include. In a source "
    'install run:  pip install "purrsight[train]"  (see README, "Fine-tuning").'
)


def training_available(module: str = "torch") -> tuple[bool, str]:
    """(True, "") when ``module`` can be imported, else (False, what to do)."""
    try:
        found = importlib.util.find_spec(module) is not None
    except (ImportError, ValueError):
        found = False
    return (True, "") if found else (False, TRAIN_HINT)
