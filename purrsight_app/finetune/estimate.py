"""The honest ETA before a fine-tune starts: ``purrsight-model estimate`` in a child process.

The model side measures this machine's speeds and scales them to the dataset; the app only
runs it (off the GUI thread: it is a Python start-up plus a few seconds) and formats it.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field


class EstimateError(RuntimeError):
    """The estimate could not be made (the message says why, for the panel)."""


@dataclass(frozen=True)
class Estimate:
    seconds: dict[str, float] = field(default_factory=dict)
    """Phase -> seconds ("features", "align", "instruct", "export")."""
    total: float = 0.0

    def describe(self) -> str:
        """"about 14 min (features 2 min, align 5 min, ...)"."""
        parts = ", ".join(f"{k} {format_duration(v)}" for k, v in self.seconds.items() if v > 0)
        return f"about {format_duration(self.total)}" + (f" ({parts})" if parts else "")


def format_duration(seconds: float | None) -> str:
    """Short human duration: "45 s", "12 min", "1 h 20 min"."""
    if seconds is None:
        return "–"
    s = max(0.0, float(seconds))
    if s < 90:
        return f"{s:.0f} s"
    minutes = int(round(s / 60))
    if minutes < 60:
        return f"{minutes} min"
    return f"{minutes // 60} h {minutes % 60:02d} min"


def parse_estimate(stdout: str) -> Estimate:
    """The last JSON object line of the command's output."""
    for line in reversed(stdout.strip().splitlines()):
        line = line.strip()
        if not line.startswith("{"):
            continue
        try:
            obj = json.loads(line)
            secs = {str(k): float(v) for k, v in (obj.get("seconds") or {}).items()}
            total = float(obj.get("total", sum(secs.values())))
        except (ValueError, TypeError, AttributeError) as exc:
            raise EstimateError(f"unreadable estimate: {line[:200]}") from exc
        return Estimate(secs, total)
    raise EstimateError("the estimate command printed no result")


def run_estimate(args: Sequence[str], *, module: str = "purrsight_model.cli",
                 env: Mapping[str, str] | None = None, timeout: float = 300.0) -> Estimate:
    """Run ``python -m <module> <args>`` and parse its estimate (blocking: call off the GUI
    thread)."""
    cmd = [sys.executable, "-m", module, *args]
    try:
        out = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout,
                             env={**os.environ, **(env or {})})
    except (OSError, subprocess.TimeoutExpired) as exc:
        raise EstimateError(f"estimate failed: {exc}") from exc
    if out.returncode != 0:
        why = (out.stderr.strip().splitlines() or ["no message"])[-1]
        raise EstimateError(f"estimate failed ({out.returncode}): {why}")
    return parse_estimate(out.stdout)
