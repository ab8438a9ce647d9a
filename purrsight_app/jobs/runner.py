"""Run a model job (training, export, evaluation) in a child process.

The child is ``python -m purrsight_model.cli ... --json``: it prints one ``Progress`` JSON
object per line. A reader thread parses them and calls ``on_event``; other lines go to the
job's log. ``cancel()`` sends SIGTERM, which the CLI turns into a clean stop (the partial
run is kept). ``job.json`` in the run folder records the state, so a restarted app can find
a finished run and offer it.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path

from purrsight_model import Progress

JOB_FILE = "job.json"
STATES = ("running", "finished", "failed", "cancelled")


@dataclass
class JobState:
    """What ``job.json`` holds."""

    kind: str
    argv: list[str]
    status: str = "running"
    pid: int = 0
    started: float = field(default_factory=time.time)
    finished: float | None = None
    returncode: int | None = None
    last: dict | None = None  # the last progress event
    offered: bool = False  # the UI has shown the finished run to the owner

    def save(self, folder: Path) -> None:
        folder.mkdir(parents=True, exist_ok=True)
        tmp = folder / (JOB_FILE + ".tmp")
        tmp.write_text(json.dumps(asdict(self), indent=2), encoding="utf-8")
        os.replace(tmp, folder / JOB_FILE)

    @classmethod
    def load(cls, folder: Path) -> JobState | None:
        try:
            return cls(**json.loads((folder / JOB_FILE).read_text(encoding="utf-8")))
        except (OSError, ValueError, TypeError):
            return None


class Job:
    """One child process with progress events, a log file and clean cancellation."""

    def __init__(self, kind: str, args: Sequence[str], run_dir: Path,
                 on_event: Callable[[Progress], None] | None = None,
                 on_exit: Callable[[JobState], None] | None = None,
                 env: dict[str, str] | None = None,
                 module: str = "purrsight_model.cli", python: str | None = None) -> None:
        self.run_dir = Path(run_dir)
        self.argv = [python or sys.executable, "-m", module, *args, "--json"]
        self.state = JobState(kind=kind, argv=self.argv)
        self.on_event, self.on_exit = on_event, on_exit
        self.env = {**os.environ, **(env or {})}
        self._proc: subprocess.Popen[str] | None = None
        self._cancelled = False
        self._reader: threading.Thread | None = None

    def start(self) -> None:
        self.run_dir.mkdir(parents=True, exist_ok=True)
        log = (self.run_dir / "job.log").open("a", encoding="utf-8")
        self._proc = subprocess.Popen(self.argv, stdout=subprocess.PIPE, stderr=log,
                                      text=True, bufsize=1, env=self.env)
        log.close()
        self.state.pid = self._proc.pid
        self.state.save(self.run_dir)
        self._reader = threading.Thread(target=self._read, name=f"job-{self.state.kind}",
                                        daemon=True)
        self._reader.start()

    def _read(self) -> None:
        assert self._proc is not None and self._proc.stdout is not None
        with (self.run_dir / "job.log").open("a", encoding="utf-8") as log:
            for line in self._proc.stdout:
                event = _parse(line)
                if event is None:
                    log.write(line)
                    log.flush()
                    continue
                self.state.last = asdict(event)
                if self.on_event is not None:
                    self.on_event(event)
        code = self._proc.wait()
        self._finish(code)

    def _finish(self, code: int) -> None:
        done = bool(self.state.last and self.state.last.get("done"))
        stopped = self._cancelled or "stopped" in str((self.state.last or {}).get("message"))
        if stopped:
            self.state.status = "cancelled"
        else:
            self.state.status = "finished" if code == 0 and done else "failed"
        self.state.returncode, self.state.finished = code, time.time()
        self.state.save(self.run_dir)
        if self.on_exit is not None:
            self.on_exit(self.state)

    def cancel(self) -> None:
        """Ask the child to stop cleanly (SIGTERM → the run keeps its partial state)."""
        self._cancelled = True
        if self._proc is not None and self._proc.poll() is None:
            self._proc.send_signal(signal.SIGTERM)

    def wait(self, timeout: float | None = None) -> JobState:
        if self._reader is not None:
            self._reader.join(timeout)
        return self.state

    @property
    def running(self) -> bool:
        return self._proc is not None and self._proc.poll() is None


def _parse(line: str) -> Progress | None:
    line = line.strip()
    if not line.startswith("{"):
        return None
    try:
        return Progress.from_json(line)
    except (ValueError, TypeError):
        return None


def finished_runs(runs_dir: Path) -> list[tuple[Path, JobState]]:
    """Runs that finished and have not been offered to the owner yet (newest first).

    A job left "running" whose process is gone (the app was closed mid-run) is marked
    failed, so it is not shown as running forever.
    """
    out = []
    for job_file in sorted(runs_dir.glob(f"*/{JOB_FILE}")):
        folder = job_file.parent
        state = JobState.load(folder)
        if state is None:
            continue
        if state.status == "running" and not _alive(state.pid):
            state.status, state.finished = "failed", time.time()
            state.save(folder)
        if state.status == "finished" and not state.offered:
            out.append((folder, state))
    return sorted(out, key=lambda item: item[1].finished or 0, reverse=True)


def _alive(pid: int) -> bool:
    if pid <= 0:
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True
