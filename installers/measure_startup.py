"""Cold-start time of PurrSight under a virtual X server: process start -> window shown ->
first video frame on screen.

    python installers/measure_startup.py [--binary /usr/bin/purrsight] [--runs 3]
                                         [--app-arg=--no-model ...]

Starts Xvfb (needs Debian's xvfb, x11-utils and imagemagick), launches the binary on the demo
with a fresh data folder, polls ``xwininfo`` until the "PurrSight" window is viewable, then
grabs the window with ``import`` until the live view's video area shows the picture (its
pixels vary; before the first frame it is one flat colour). The app writes no first-frame
timestamp, so the last number is measured from outside, to about ±0.1 s (one grab).
Run it with a Python that has numpy (e.g. installers/.build-venv/bin/python).
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

WINDOW_TITLE = "PurrSight"
SIZE = (1280, 720)


def start_xvfb() -> tuple[subprocess.Popen, str]:
    n = 90
    while Path(f"/tmp/.X{n}-lock").exists():
        n += 1
    proc = subprocess.Popen(["Xvfb", f":{n}", "-screen", "0", f"{SIZE[0]}x{SIZE[1]}x24",
                             "-nolisten", "tcp"], stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL)
    for _ in range(100):
        if Path(f"/tmp/.X11-unix/X{n}").exists():
            break
        time.sleep(0.05)
    return proc, f":{n}"


def viewable_window(env: dict[str, str]) -> str | None:
    """Id of a viewable top-level window titled PurrSight, if any."""
    tree = subprocess.run(["xwininfo", "-root", "-tree"], capture_output=True, text=True,
                          env=env).stdout
    for wid in re.findall(rf'(0x[0-9a-f]+) "{WINDOW_TITLE}[^"]*"', tree):
        info = subprocess.run(["xwininfo", "-id", wid], capture_output=True, text=True,
                              env=env).stdout
        if "IsViewable" in info:
            return wid
    return None


def grab(wid: str, env: dict[str, str]) -> np.ndarray | None:
    """The window's pixels as [H, W, 3] uint8 (None if the grab failed)."""
    run = subprocess.run(["import", "-silent", "-window", wid, "-depth", "8", "ppm:-"],
                         capture_output=True, env=env)
    data = run.stdout
    m = re.match(rb"P6\s+(\d+)\s+(\d+)\s+255\s", data)
    if run.returncode != 0 or not m:
        return None
    w, h = int(m.group(1)), int(m.group(2))
    return np.frombuffer(data[m.end():m.end() + w * h * 3], np.uint8).reshape(h, w, 3)


def shows_video(img: np.ndarray) -> bool:
    """The central area (where the live view draws) holds a picture, not a flat panel."""
    h, w = img.shape[:2]
    centre = img[h // 4: 3 * h // 4, w // 4: 3 * w // 4].astype(np.float32)  # [h/2, w/2, 3]
    return float(centre.std()) > 20.0


def measure_once(binary: str, env: dict[str, str], timeout: float,
                 extra: list[str] | None = None) -> tuple[float, float]:
    data = Path(tempfile.mkdtemp(prefix="purrsight-start-"))
    cmd = [binary, "--source", "demo", "--data-dir", str(data / "data"),
           "--settings", str(data / "settings.json"), "--run-seconds", str(timeout),
           *(extra or [])]
    start = time.monotonic()
    log = (data / "stderr.txt").open("w")
    proc = subprocess.Popen(cmd, env=env, stdout=subprocess.DEVNULL, stderr=log)
    shown = frame = float("nan")
    try:
        wid = None
        while time.monotonic() - start < timeout and proc.poll() is None:
            wid = wid or viewable_window(env)
            if wid and shown != shown:  # NaN: not yet recorded
                shown = time.monotonic() - start
            if wid:
                img = grab(wid, env)
                if img is not None and shows_video(img):
                    frame = time.monotonic() - start
                    break
            time.sleep(0.05)  # each poll spawns a process: leave the CPU to the app
    finally:
        proc.terminate()
        proc.wait(timeout=30)
        log.close()
        if frame != frame:  # NaN: say why
            tail = (data / "stderr.txt").read_text(errors="replace").splitlines()[-10:]
            print(f"no frame (exit {proc.returncode}):", *tail, sep="\n  ", file=sys.stderr)
        shutil.rmtree(data, ignore_errors=True)
    return shown, frame


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--binary", default="/usr/bin/purrsight")
    p.add_argument("--runs", type=int, default=3)
    p.add_argument("--timeout", type=float, default=30.0)
    p.add_argument("--app-arg", action="append", default=[], metavar="ARG",
                   help="extra argument for the app (repeatable), e.g. --app-arg=--no-model")
    args = p.parse_args(argv)
    xvfb, display = start_xvfb()
    env = {k: v for k, v in os.environ.items() if k not in ("QT_QPA_PLATFORM", "WAYLAND_DISPLAY")}
    env.update(DISPLAY=display, XDG_CONFIG_HOME=tempfile.mkdtemp(prefix="purrsight-cfg-"))
    try:
        results = [measure_once(args.binary, env, args.timeout, args.app_arg)
                   for _ in range(args.runs)]
    finally:
        xvfb.terminate()
        xvfb.wait(timeout=10)
    for i, (shown, frame) in enumerate(results, 1):
        print(f"run {i}: window shown {shown:.2f} s, first video frame {frame:.2f} s")
    frames = [f for _, f in results if f == f]
    if not frames:
        print("no video frame seen", file=sys.stderr)
        return 1
    print(f"first video frame: best {min(frames):.2f} s, median {sorted(frames)[len(frames) // 2]:.2f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
