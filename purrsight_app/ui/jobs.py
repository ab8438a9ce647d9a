"""Run blocking work (SQL queries, text embedding, exports) on Qt's thread pool.

Results come back through a queued signal, so the slot runs on the GUI thread. Each
``JobRunner`` numbers its jobs: a result that arrives after a newer job was started (the owner
clicked again) is dropped instead of overwriting the newer view.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from typing import Any

from PySide6.QtCore import QObject, QRunnable, QThreadPool, Signal

log = logging.getLogger(__name__)


class _Signals(QObject):
    done = Signal(int, object)
    failed = Signal(int, str)


class _Job(QRunnable):
    def __init__(self, ticket: int, fn: Callable[[], Any], signals: _Signals) -> None:
        super().__init__()
        self.ticket, self.fn, self.signals = ticket, fn, signals
        self.setAutoDelete(True)

    def run(self) -> None:
        try:
            result = self.fn()
        except Exception as exc:  # noqa: BLE001 - shown to the owner, not raised
            log.warning("background job failed: %s", exc, exc_info=True)
            self._emit(self.signals.failed, f"{type(exc).__name__}: {exc}")
            return
        self._emit(self.signals.done, result)

    def _emit(self, signal, payload: Any) -> None:
        try:
            signal.emit(self.ticket, payload)
        except RuntimeError:  # the panel that asked was closed meanwhile: drop the result
            log.debug("job result dropped: receiver gone")


class JobRunner(QObject):
    """Per-purpose runner ("timeline query", "details"): newest result wins."""

    def __init__(self, parent: QObject | None = None, pool: QThreadPool | None = None) -> None:
        super().__init__(parent)
        self._pool = pool or QThreadPool.globalInstance()
        self._signals = _Signals()  # no parent: jobs keep it alive past the runner
        self._signals.done.connect(self._on_done)
        self._signals.failed.connect(self._on_failed)
        self._ticket = 0
        self._callbacks: dict[int, tuple[Callable[[Any], None], Callable[[str], None] | None]] = {}
        self._busy = threading.Event()

    def submit(
        self,
        fn: Callable[[], Any],
        on_done: Callable[[Any], None],
        on_error: Callable[[str], None] | None = None,
    ) -> int:
        """Run ``fn()`` on a pool thread; ``on_done(result)`` later on the GUI thread."""
        self._ticket += 1
        self._callbacks = {self._ticket: (on_done, on_error)}  # forget older tickets
        self._busy.set()
        self._pool.start(_Job(self._ticket, fn, self._signals))
        return self._ticket

    @property
    def busy(self) -> bool:
        """A job was submitted and its (newest) result has not been delivered yet."""
        return self._busy.is_set()

    def _on_done(self, ticket: int, result: Any) -> None:
        cbs = self._callbacks.pop(ticket, None)
        if cbs is None:
            return
        self._busy.clear()
        cbs[0](result)

    def _on_failed(self, ticket: int, message: str) -> None:
        cbs = self._callbacks.pop(ticket, None)
        if cbs is None:
            return
        self._busy.clear()
        if cbs[1] is not None:
            cbs[1](message)
