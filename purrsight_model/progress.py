"""Progress events shared by every long job (feature cache, both training phases, export).

Jobs are generators that yield ``Progress``; the CLI prints them, the app's job runner turns
them into JSON lines from a child process. A job stops cleanly when its ``StopFlag`` is set.
"""

from __future__ import annotations

import json
import threading
from dataclasses import asdict, dataclass, field
from typing import Any


@dataclass(frozen=True)
class Progress:
    """One progress event of a job."""

    phase: str
    """Which job: "align", "instruct", "features", "export", "evaluate"."""
    step: int
    """Steps done so far."""
    total: int
    """Steps planned (0 if unknown)."""
    loss: float | None = None
    """Latest training loss, if any."""
    metrics: dict[str, Any] = field(default_factory=dict)
    """Evaluation metrics reported at this step (e.g. at the end of an epoch)."""
    message: str = ""
    """Human-readable note for logs and the UI."""
    done: bool = False
    """True on the final event of a job (finished or stopped)."""

    def to_json(self) -> str:
        return json.dumps(asdict(self), separators=(",", ":"), default=float)

    @classmethod
    def from_json(cls, line: str) -> Progress:
        return cls(**json.loads(line))


class StopFlag:
    """Cooperative cancel: a job polls ``is_set()`` between steps and stops cleanly."""

    def __init__(self) -> None:
        self._event = threading.Event()

    def set(self) -> None:
        self._event.set()

    def is_set(self) -> bool:
        return self._event.is_set()


class TrainingError(RuntimeError):
    """A run that cannot continue (NaN loss, no usable data, broken checkpoint)."""
