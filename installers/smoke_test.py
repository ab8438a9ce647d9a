"""Smoke-test a built or installed PurrSight: run it offscreen on the demo, then inspect.

    python installers/smoke_test.py [--binary dist/purrsight/purrsight] [--seconds 12]
                                    [--bundle DIR | --no-bundle] [--keep]

Starts the binary with ``--offscreen-seconds N --source demo`` and a fresh ``--data-dir``
(config and cache folders are redirected too, so the owner's files are never touched), then
checks: exit code 0, a JSON summary without errors or exceptions, painted frames, no ERROR or
traceback in the log, and the database. With a model bundle (the one shipped inside the
bundle, or ``--bundle``) the check is strict: windows analysed, observations and at least one
report in SQLite. Event thresholds are set to 0 so an event opens whatever the model thinks of
the demo; this tests the plumbing, not the model. Without a bundle it says so and checks the
"model not available" path instead. Exits non-zero on any failure.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import sqlite3
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
DEFAULT_BINARY = ROOT / "dist" / "purrsight" / "purrsight"
SMOKE_SETTINGS = {"event_on_threshold": 0.0, "event_off_threshold": 0.0,
                  "event_min_duration_s": 0.0, "event_gap_s": 5.0, "report_interval_s": 5.0}
"""Open an event at once and report every 5 s (the minimum the settings accept)."""
LOG_ALARMS = (" ERROR ", " CRITICAL ", "Traceback (most recent call last)")


@dataclass
class Verdict:
    """Collected failures and notes; ``ok`` when nothing failed."""

    failures: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    def check(self, condition: bool, what: str) -> None:
        (self.notes if condition else self.failures).append(("ok   " if condition else "FAIL ")
                                                             + what)

    @property
    def ok(self) -> bool:
        return not self.failures


def real_binary(binary: Path) -> Path:
    """Follow symlinks and the .deb's ``/usr/bin/purrsight`` wrapper (``exec /opt/...``)."""
    binary = binary.resolve()
    with binary.open("rb") as fh:
        if fh.read(2) != b"#!":
            return binary
    m = re.search(r"^exec\s+(\S+)", binary.read_text(encoding="utf-8", errors="replace"), re.M)
    return Path(m.group(1)).resolve() if m and Path(m.group(1)).is_file() else binary


def shipped_bundle(binary: Path) -> Path | None:
    """The model bundle inside a one-folder build (``_internal/models/default``)."""
    candidate = real_binary(binary).parent / "_internal" / "models" / "default"
    return candidate if (candidate / "manifest.json").is_file() else None


def parse_summary(stdout: str) -> dict[str, Any] | None:
    """The last JSON object printed on stdout that looks like the app's run summary."""
    decoder = json.JSONDecoder()
    found = None
    for i, ch in enumerate(stdout):
        if ch == "{" and (i == 0 or stdout[i - 1] == "\n"):
            try:
                obj, _end = decoder.raw_decode(stdout, i)
            except ValueError:
                continue
            if isinstance(obj, dict) and "frames_painted" in obj:
                found = obj
    return found


def log_alarms(log_dir: Path) -> list[str]:
    """ERROR/CRITICAL/traceback lines from the app's log files."""
    hits = []
    for log in sorted(log_dir.glob("purrsight.log*")):
        for line in log.read_text(encoding="utf-8", errors="replace").splitlines():
            if any(a in line for a in LOG_ALARMS):
                hits.append(line.strip())
    return hits


def db_counts(db: Path) -> dict[str, int]:
    """Row counts of the tables the smoke test cares about (absent table -> -1)."""
    conn = sqlite3.connect(f"file:{db}?mode=ro", uri=True)
    try:
        tables = {r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type='table'")}
        return {t: (conn.execute(f"SELECT count(*) FROM {t}").fetchone()[0] if t in tables else -1)
                for t in ("observations", "events", "reports")}
    finally:
        conn.close()


def smoke_env(tmp: Path) -> dict[str, str]:
    """Offscreen Qt, no display, private config/cache folders."""
    env = {k: v for k, v in os.environ.items() if k not in ("DISPLAY", "WAYLAND_DISPLAY")}
    env.update(QT_QPA_PLATFORM="offscreen", XDG_CONFIG_HOME=str(tmp / "config"),
               XDG_CACHE_HOME=str(tmp / "cache"), PYTHONUNBUFFERED="1")
    env.pop("PURRSIGHT_DATA_DIR", None)
    return env


def run_app(binary: Path, tmp: Path, seconds: float, bundle: Path | None,
            timeout: float) -> tuple[int, str, str, float]:
    settings = tmp / "settings.json"
    settings.write_text(json.dumps(SMOKE_SETTINGS), encoding="utf-8")
    cmd = [str(binary), "--offscreen-seconds", str(seconds), "--source", "demo",
           "--data-dir", str(tmp / "data"), "--settings", str(settings)]
    if bundle is not None:
        cmd += ["--bundle", str(bundle)]
    print("smoke: $ " + " ".join(cmd), flush=True)
    start = time.monotonic()
    try:
        proc = subprocess.run(cmd, capture_output=True, text=True, env=smoke_env(tmp),
                              timeout=timeout)
    except subprocess.TimeoutExpired as exc:
        out = exc.stdout.decode() if isinstance(exc.stdout, bytes) else exc.stdout or ""
        return -9, out, f"timed out after {timeout:.0f} s", time.monotonic() - start
    return proc.returncode, proc.stdout, proc.stderr, time.monotonic() - start


def judge(code: int, stdout: str, data: Path, bundle: Path | None) -> Verdict:
    v = Verdict()
    v.check(code == 0, f"exit code {code}")
    summary = parse_summary(stdout)
    if summary is None and (data / "logs" / "selftest.json").is_file():
        summary = json.loads((data / "logs" / "selftest.json").read_text(encoding="utf-8"))
    v.check(summary is not None, "run summary printed")
    summary = summary or {}
    v.check(not summary.get("errors") and not summary.get("exceptions"),
            f"no errors/exceptions in summary {summary.get('errors')} "
            f"{summary.get('exceptions')}")
    v.check(summary.get("frames_painted", 0) > 0,
            f"frames painted: {summary.get('frames_painted')}")
    alarms = log_alarms(data / "logs")
    v.check(not alarms, "log clean" + ("" if not alarms else ": " + " | ".join(alarms[:5])))
    db = data / "purrsight.db"
    v.check(db.is_file(), "database created")
    counts = db_counts(db) if db.is_file() else {}
    v.check(all(n >= 0 for n in counts.values()) and bool(counts), f"tables present {counts}")
    status = " / ".join(summary.get("status_lines") or [])
    if bundle is not None:
        v.check(summary.get("windows_analysed", 0) > 0,
                f"windows analysed: {summary.get('windows_analysed')}")
        v.check(counts.get("observations", 0) > 0,
                f"observations in SQLite: {counts.get('observations')}")
        v.check(counts.get("reports", 0) > 0, f"reports in SQLite: {counts.get('reports')}")
        v.check("model not available" not in status, f"model loaded (status: {status!r})")
    else:
        v.notes.append("note no model bundle: checking the 'model not available' path")
        v.check("model not available" in status, f"status says so: {status!r}")
        v.check(summary.get("analysis_errors", 0) == 0, "no analysis errors without a model")
    return v


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--binary", type=Path, default=DEFAULT_BINARY)
    p.add_argument("--seconds", type=float, default=12.0)
    p.add_argument("--timeout", type=float, default=120.0, help="kill the app after this")
    p.add_argument("--bundle", type=Path, help="model bundle (default: the shipped one)")
    p.add_argument("--no-bundle", action="store_true", help="test the no-model path")
    p.add_argument("--keep", action="store_true", help="keep the temporary data folder")
    args = p.parse_args(argv)
    if not args.binary.is_file():
        print(f"smoke: no binary at {args.binary} (run installers/build.sh)", file=sys.stderr)
        return 2
    bundle = None if args.no_bundle else (args.bundle or shipped_bundle(args.binary))
    print(f"smoke: model bundle: {bundle or 'none'}")
    tmp = Path(tempfile.mkdtemp(prefix="purrsight-smoke-"))
    code, out, err, took = run_app(args.binary, tmp, args.seconds, bundle, args.timeout)
    verdict = judge(code, out, tmp / "data", bundle)
    print(f"smoke: ran {took:.1f} s (asked {args.seconds:g} s)")
    summary = parse_summary(out)
    if summary:
        keys = ("frames_painted", "windows_analysed", "windows_dropped", "events_opened",
                "reports_written", "rows_written", "status_lines")
        print("smoke: summary " + json.dumps({k: summary.get(k) for k in keys}))
    for line in verdict.notes + verdict.failures:
        print(f"  {line}")
    if not verdict.ok:
        print("smoke: stderr tail:\n" + "\n".join(err.splitlines()[-25:]), file=sys.stderr)
    print(f"smoke: {'PASSED' if verdict.ok else 'FAILED'} (data in {tmp})")
    if not args.keep and verdict.ok:
        import shutil

        shutil.rmtree(tmp, ignore_errors=True)
    return 0 if verdict.ok else 1


if __name__ == "__main__":
    sys.exit(main())
