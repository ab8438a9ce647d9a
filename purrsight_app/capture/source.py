"""The common shape of every capture source (camera, microphone, file, demo).

A source fills rings from its own thread and never raises to its caller: problems become a
``status`` plus a human ``message`` (and an ``on_status`` callback, called on the source's
thread — the UI marshals it to the GUI thread).
"""

from __future__ import annotations

import logging
import threading
import time
from abc import ABC, abstractmethod
from collections.abc import Callable
from dataclasses import dataclass
from enum import StrEnum

log = logging.getLogger(__name__)


class SourceStatus(StrEnum):
    IDLE = "idle"
    """Created, not started."""
    RUNNING = "running"
    """Delivering data."""
    LOST = "lost"
    """Was running, stopped delivering; will retry."""
    RECONNECTING = "reconnecting"
    """Trying to reopen the device."""
    UNAVAILABLE = "unavailable"
    """No backend or no device (message says which); may retry if the device can appear."""
    ENDED = "ended"
    """A file source reached its end (no loop)."""
    ERROR = "error"
    """Nothing playable (message names the file and reason)."""
    STOPPED = "stopped"
    """Stopped by the caller."""


@dataclass(frozen=True)
class SourceState:
    status: SourceStatus
    message: str = ""
    ts: float = 0.0


StatusCallback = Callable[["Source", SourceState], None]


class Source(ABC):
    """Base class: name, status/message, start/stop of one worker thread."""

    has_video: bool = False
    has_audio: bool = False

    def __init__(self, name: str, on_status: StatusCallback | None = None) -> None:
        self.name = name
        self._on_status = on_status
        self._state = SourceState(SourceStatus.IDLE, "", time.time())
        self._state_lock = threading.Lock()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    @property
    def state(self) -> SourceState:
        with self._state_lock:
            return self._state

    @property
    def status(self) -> SourceStatus:
        return self.state.status

    @property
    def message(self) -> str:
        return self.state.message

    def start(self) -> None:
        """Start the worker thread (idempotent). Never raises for device problems."""
        if self._thread is not None and self._thread.is_alive():
            return
        self._stop.clear()
        with self._state_lock:  # a restarted source may leave STOPPED
            self._state = SourceState(SourceStatus.IDLE, "", time.time())
        self._thread = threading.Thread(target=self._guarded_run, name=f"source-{self.name}",
                                        daemon=True)
        self._thread.start()

    def stop(self, timeout: float = 3.0) -> None:
        """Ask the worker to finish and wait up to ``timeout`` s."""
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout)
        self._set_status(SourceStatus.STOPPED)

    def wait(self, timeout: float | None = None) -> bool:
        """Wait for the worker to finish on its own (file sources); True if it did."""
        if self._thread is None:
            return True
        self._thread.join(timeout)
        return not self._thread.is_alive()

    def _set_status(self, status: SourceStatus, message: str = "") -> None:
        with self._state_lock:
            if self._state.status == status and self._state.message == message:
                return
            if self._state.status is SourceStatus.STOPPED and status is not SourceStatus.STOPPED:
                return  # a late worker update must not resurrect a stopped source
            self._state = state = SourceState(status, message, time.time())
        log.info("source %s: %s %s", self.name, status.value, message)
        if self._on_status is not None:
            try:
                self._on_status(self, state)
            except Exception:  # noqa: BLE001 - a UI bug must not kill capture
                log.exception("status callback failed")

    def _guarded_run(self) -> None:
        try:
            self._run()
        except Exception as exc:  # noqa: BLE001 - last resort: report, never propagate
            log.exception("source %s crashed", self.name)
            self._set_status(SourceStatus.ERROR, f"{self.name}: {exc}")

    @abstractmethod
    def _run(self) -> None:
        """The worker loop; return when ``self._stop`` is set or the source ends."""
