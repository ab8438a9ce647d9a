"""Turning SQLite write failures into a kind the app can act on and words the owner can read."""

from __future__ import annotations

import sqlite3

#: Kinds worth retrying later: the data is kept in memory until the write succeeds.
RETRYABLE = ("disk_full", "locked", "read_only", "io", "cannot_open", "error")

_MESSAGES = {
    "disk_full": "The disk is full. {pending} records are waiting in memory and will be saved "
    "as soon as space is freed.",
    "locked": "The database is busy (another program holds a lock). {pending} records are "
    "waiting and will be saved shortly.",
    "read_only": "The database file is read-only. {pending} records are waiting; check the "
    "data folder's permissions.",
    "io": "The disk reported an input/output error. {pending} records are waiting.",
    "cannot_open": "The database cannot be opened. {pending} records are waiting.",
    "error": "Saving failed ({detail}). {pending} records are waiting and will be retried.",
}


def classify(exc: BaseException) -> str:
    """Map an exception from a write to one of ``RETRYABLE``."""
    name = getattr(exc, "sqlite_errorname", "") or ""
    msg = str(exc).lower()
    if "FULL" in name or "disk is full" in msg:
        return "disk_full"
    if name.startswith(("SQLITE_BUSY", "SQLITE_LOCKED")) or "locked" in msg or "busy" in msg:
        return "locked"
    if "READONLY" in name or "readonly" in msg or "read-only" in msg:
        return "read_only"
    if "IOERR" in name or "disk i/o" in msg:
        return "io"
    if "CANTOPEN" in name or "unable to open" in msg:
        return "cannot_open"
    return "error"


def is_transient(exc: BaseException) -> bool:
    """True for failures of the medium (retry later), False for a bad record (reject it)."""
    return isinstance(exc, sqlite3.OperationalError) or (
        isinstance(exc, sqlite3.DatabaseError)
        and not isinstance(exc, sqlite3.IntegrityError | sqlite3.InterfaceError)
        and classify(exc) != "error"
    )


def describe(kind: str, pending: int, detail: str = "") -> str:
    """Owner-facing sentence for a failure kind."""
    return _MESSAGES.get(kind, _MESSAGES["error"]).format(pending=pending, detail=detail)
