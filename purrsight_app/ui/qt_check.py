"""Detect a PySide6 build that corrupts Python's reference count of ``None``.

PySide6-Essentials 6.12.0 on Python 3.11 decrements ``None``'s refcount once per call of any
void-returning Qt method (``QPainter.setPen``, ``QLabel.setText``, ...). Python 3.12+ makes
``None`` immortal so it goes unnoticed there, but on 3.11 the interpreter aborts with
"none_dealloc" after some tens of thousands of calls — seconds of live painting. 6.11.3 is
fine. The app checks at start-up and refuses to run with a clear message instead of dying.
"""

from __future__ import annotations

import gc
import sys

CALLS = 200


def none_refcount_drift(calls: int = CALLS) -> float:
    """Change of ``sys.getrefcount(None)`` per void Qt call (0 on a healthy build)."""
    from PySide6.QtCore import QObject

    obj = QObject()
    gc.collect()
    before = sys.getrefcount(None)
    for _ in range(calls):
        obj.setObjectName("probe")  # void-returning
    gc.collect()
    return (sys.getrefcount(None) - before) / calls


def broken_binding_message() -> str | None:
    """A message when this PySide6 would crash the app, else None."""
    if sys.version_info >= (3, 12):
        return None  # None is immortal: the miscount is harmless
    drift = none_refcount_drift()
    if drift > -0.5:
        return None
    import PySide6

    return (f"PySide6 {PySide6.__version__} miscounts references to None on Python "
            f"{sys.version_info.major}.{sys.version_info.minor} and would crash PurrSight "
            "within minutes. Install another version: pip install 'PySide6-Essentials<6.12'")
