"""Smoke-test a built or installed PurrSight: run it offscreen on the demo, then inspect.

    python installers/smoke_test.py [--binary dist/purrsight/purrsight] [--seconds 12]
                                    [--bundle DIR | --no-bundle] [--keep]

Starts the binary with ``--offscreen-seconds N --source demo`` and a fresh ``--data-dir``
(config and cache folders are redirected too, so the owner's files are never touched), then
checks: exit code 0, a JSON summary without errors or exceptions, painted frames, no ERROR or
traceback in the log, and the database. With a model bundle the check is strict: windows
analysed, no "model/reports not available" line, observation rows that only a model writes
(head probabilities and an aligned embedding), and at least one report whose JSON carries the
report schema's fields. The shipped bundle (``_internal/resources/models/default/bundle``) is
*not* passed with ``--bundle``: the data folder is fresh and ``$PURRSIGHT_DEFAULT_BUNDLE`` is
cleared, so the frozen app must find its own default model, as an installed one would.
``--bundle DIR`` tests another folder explicitly. Event thresholds are set to 0 so an event
opens whatever the model thinks of the demo; this tests the plumbing, not the model's
accuracy. Without a bundle it says so and checks the "model not available" path instead.
Exits non-zero on any failure.
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
SHIPPED_BUNDLES = ("resources/models/default/bundle", "models/default")
"""Where a one-folder build keeps its default model under ``_internal/`` (current, older)."""
REPORT_FIELDS = ("affective_state", "vocalization", "arousal", "risk", "summary",
                 "modalities_used")
"""Fields every report has (``purrsight_model/schema.py``); a stored report must carry them."""
NO_MODEL_LINES = ("model not available", "reports not available")


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
    """The model bundle inside a one-folder build (``_internal/resources/models/default/
    bundle``; ``_internal/models/default`` in older builds)."""
    internal = real_binary(binary).parent / "_internal"
    for rel in SHIPPED_BUNDLES:
        if (internal / rel / "manifest.json").is_file():
            return internal / rel
    return None


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


def model_rows(db: Path) -> dict[str, Any]:
    """What only a loaded model writes: observation rows with head probabilities and an
    embedding, and reports with the schema's fields (their JSON parsed)."""
    conn = sqlite3.connect(f"file:{db}?mode=ro", uri=True)
    try:
        obs = conn.execute(
            "SELECT count(*), max(length(embedding)) FROM observations "
            "WHERE head_probs IS NOT NULL AND embedding IS NOT NULL").fetchone()
        probs = [sum(r[0]) for r in conn.execute(
            "SELECT head_probs FROM observations WHERE head_probs IS NOT NULL LIMIT 50")]
        reports = []
        for (text,) in conn.execute("SELECT json FROM reports ORDER BY ts LIMIT 5"):
            try:
                reports.append(json.loads(text))
            except ValueError:
                reports.append(None)
    except sqlite3.Error as exc:
        return {"error": str(exc)}
    finally:
        conn.close()
    return {"observations_with_model": obs[0], "embedding_bytes": obs[1] or 0,
            "max_prob_mass": max(probs, default=0), "reports": reports}


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
    for key in ("PURRSIGHT_DATA_DIR", "PURRSIGHT_DEFAULT_BUNDLE"):
        env.pop(key, None)  # the app must find its own data folder and shipped model
    return env


def run_app(binary: Path, tmp: Path, seconds: float, bundle: Path | None,
            timeout: float) -> tuple[int, str, str, float]:
    """Run the app; ``bundle`` is passed with ``--bundle`` (None = let it find its own)."""
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


def _judge_model(v: Verdict, summary: dict[str, Any], db: Path, status: str,
                 bundle: Path) -> None:
    v.check(summary.get("windows_analysed", 0) > 0,
            f"windows analysed: {summary.get('windows_analysed')}")
    v.check(not any(s in status for s in NO_MODEL_LINES), f"model loaded (status: {status!r})")
    loaded = summary.get("model_bundle")  # printed by apps that report it
    if loaded is not None:
        v.check(Path(loaded).resolve() == bundle.resolve(),
                f"the app used {loaded} (expected {bundle})")
    rows = model_rows(db) if db.is_file() else {"error": "no database"}
    v.check("error" not in rows, f"model rows readable {rows.get('error', '')}".rstrip())
    v.check(rows.get("observations_with_model", 0) > 0 and rows.get("max_prob_mass", 0) > 0,
            f"observations from the model in SQLite: {rows.get('observations_with_model')} "
            f"(head probabilities + {rows.get('embedding_bytes', 0) // 2}-d embedding)")
    reports = rows.get("reports") or []
    good = [r for r in reports if isinstance(r, dict) and all(f in r for f in REPORT_FIELDS)]
    v.check(bool(good), f"reports from the model in SQLite: {len(good)} with the schema's "
                        f"fields (of {len(reports)} read)")
    if good:
        first = good[0]
        v.notes.append("note first report: " + json.dumps(
            {k: first.get(k) for k in ("affective_state", "vocalization", "risk", "summary")}))


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
        _judge_model(v, summary, db, status, bundle)
    else:
        v.notes.append("note no model bundle: checking the 'model not available' path")
        v.check("model not available" in status, f"status says so: {status!r}")
        v.check(summary.get("analysis_errors", 0) == 0, "no analysis errors without a model")
    return v


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--binary", type=Path, default=DEFAULT_BINARY)
    p.add_argument("--seconds", type=float, default=None,
                   help="run time (default 12 s, 25 s with a model: it loads, then reports)")
    p.add_argument("--timeout", type=float, default=120.0, help="kill the app after this")
    p.add_argument("--bundle", type=Path, help="model bundle (default: the shipped one)")
    p.add_argument("--no-bundle", action="store_true", help="test the no-model path")
    p.add_argument("--keep", action="store_true", help="keep the temporary data folder")
    args = p.parse_args(argv)
    if not args.binary.is_file():
        print(f"smoke: no binary at {args.binary} (run installers/build.sh)", file=sys.stderr)
        return 2
    shipped = shipped_bundle(args.binary)
    bundle = None if args.no_bundle else (args.bundle or shipped)
    explicit = bundle is not None and bundle != shipped
    print(f"smoke: model bundle: {bundle or 'none'}"
          + (" (--bundle)" if explicit else " (shipped: the app must find it itself)"
             if bundle else ""))
    seconds = args.seconds or (25.0 if bundle is not None else 12.0)
    tmp = Path(tempfile.mkdtemp(prefix="purrsight-smoke-"))
    passed = bundle if explicit else None
    if args.no_bundle and shipped is not None:  # hide the shipped model: an empty --bundle
        passed = tmp / "no-model"
        passed.mkdir()
    code, out, err, took = run_app(args.binary, tmp, seconds, passed, args.timeout)
    verdict = judge(code, out, tmp / "data", bundle)
    print(f"smoke: ran {took:.1f} s (asked {seconds:g} s)")
    summary = parse_summary(out)
    if summary:
        keys = ("frames_painted", "windows_analysed", "windows_dropped", "events_opened",
                "reports_written", "rows_written", "first_frame_s", "model_bundle",
                "status_lines")
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
