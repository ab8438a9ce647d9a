"""A run's own files beside the job's: every progress event (``progress.jsonl``, so a
restarted app can redraw the loss curve) and a tail of ``job.log`` for the log view."""

from __future__ import annotations

import json
import logging
import threading
from collections.abc import Callable
from dataclasses import asdict
from pathlib import Path

from purrsight_model import Progress

log = logging.getLogger(__name__)

PROGRESS_FILE = "progress.jsonl"
LOG_FILE = "job.log"


def append_progress(run_dir: Path, event: Progress) -> None:
    try:
        with (run_dir / PROGRESS_FILE).open("a", encoding="utf-8") as fh:
            fh.write(json.dumps(asdict(event), default=float) + "\n")
    except OSError as exc:
        log.warning("cannot record progress in %s: %s", run_dir, exc)


def read_progress(run_dir: Path) -> list[Progress]:
    """Every recorded event (bad lines skipped): the curve of a finished run."""
    out = []
    try:
        lines = (run_dir / PROGRESS_FILE).read_text(encoding="utf-8").splitlines()
    except OSError:
        return out
    for line in lines:
        try:
            out.append(Progress.from_json(line))
        except (ValueError, TypeError):
            continue
    return out


class LogTail:
    """Calls ``on_lines`` with new lines of a growing text file, from a daemon thread."""

    def __init__(self, path: Path, on_lines: Callable[[list[str]], None],
                 interval_s: float = 0.5, max_bytes: int = 65536) -> None:
        self.path, self.on_lines = path, on_lines
        self.interval_s, self.max_bytes = interval_s, max_bytes
        self._offset = 0
        self._partial = ""
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="purrsight-logtail", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        """Read what is left, then stop."""
        self._stop.set()
        if self._thread.is_alive():
            self._thread.join(5)

    def _run(self) -> None:
        while not self._stop.wait(self.interval_s):
            self._read()
        self._read()

    def _read(self) -> None:
        try:
            with self.path.open("r", encoding="utf-8", errors="replace") as fh:
                fh.seek(self._offset)
                chunk = fh.read(self.max_bytes)
                self._offset = fh.tell()
        except OSError:
            return
        if not chunk:
            return
        text = self._partial + chunk
        lines = text.split("\n")
        self._partial = lines.pop()
        if lines:
            try:
                self.on_lines(lines)
            except Exception:  # noqa: BLE001 - a UI bug must not kill the tail
                log.exception("log callback failed")
