"""Command line: no display -> clear message and exit 2; timed offscreen self-test."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from purrsight_app.__main__ import NO_DISPLAY_EXIT, has_display, parse_args

ROOT = Path(__file__).resolve().parents[2]


def test_has_display_rules() -> None:
    assert not has_display({}, "linux")
    assert has_display({"WAYLAND_DISPLAY": "wayland-0"}, "linux")
    assert has_display({"QT_QPA_PLATFORM": "offscreen"}, "linux")
    assert has_display({}, "win32")
    args = parse_args(["--kiosk", "--size", "800x480", "--source", "demo"])
    assert args.kiosk and args.size == "800x480" and args.source == "demo"


def _env(**extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items()
           if k not in ("DISPLAY", "WAYLAND_DISPLAY", "QT_QPA_PLATFORM")}
    env.update(extra)
    return env


def test_no_display_exits_2_with_a_message(tmp_path) -> None:
    out = subprocess.run([sys.executable, "-m", "purrsight_app", "--data-dir", str(tmp_path)],
                         capture_output=True, text=True, env=_env(), cwd=ROOT, timeout=60)
    assert out.returncode == NO_DISPLAY_EXIT
    assert "no display found" in out.stderr
    assert "Traceback" not in out.stderr


def test_offscreen_self_test_runs_and_writes_a_summary(tmp_path, cat_clip) -> None:
    data = tmp_path / "data"
    out = subprocess.run(
        [sys.executable, "-m", "purrsight_app", "--data-dir", str(data), "--source",
         str(cat_clip), "--offscreen-seconds", "3", "--settings", str(tmp_path / "s.json")],
        capture_output=True, text=True, env=_env(), cwd=ROOT, timeout=120,
    )
    assert out.returncode == 0, out.stdout + out.stderr
    summary = json.loads((data / "logs" / "selftest.json").read_text())
    assert summary["frames_painted"] >= 20  # ~15 fps file source for 3 s
    assert summary["exceptions"] == [] and summary["errors"] == []
    assert any(line.startswith("model not available") for line in summary["status_lines"])
    assert "event" in summary["timeline_status"]
