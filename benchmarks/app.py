"""Live-app benchmark: painted fps, analysis windows/s and overlay latency under load.

    python benchmarks/app.py                         # 10 s, fake model costing 25 ms/window
    python benchmarks/app.py --seconds 20 --fake-ms 60
    python benchmarks/app.py --bundle DIR            # the real runtime (Analyzer/Reporter)
    python benchmarks/app.py --source clip           # a 30 fps MP4 through FileSource (decoding too)

Runs the real main window offscreen. A synthetic 30 fps camera (640x480 RGB) and a 50 ms-block
microphone feed the rings (or a generated 30 fps clip plays through ``FileSource``); the
analysis loop runs the model on the newest window; the GUI timer paints. Reports:
- painted fps: new frames shown per second (target >= 25),
- analysis windows/s (target >= 10) and dropped windows,
- overlay latency: capture time of a window -> first GUI tick that shows its result (p50/p95),
- GUI cost per tick (scale the new frame, overlay state) and per paint, p50/p95 ms.
Storage numbers (insert rate, day view over 1M rows) are in ``benchmarks/storage.py``.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import threading
import time
from pathlib import Path

import numpy as np

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "tests" / "app"))  # fakes (used until a bundle exists)


class SyntheticFeed:
    """30 fps moving-gradient frames + 440 Hz audio blocks into the session's rings."""

    def __init__(self, frames, audio, fps: float = 30.0, size=(480, 640)) -> None:
        self.frames, self.audio, self.fps = frames, audio, fps
        h, w = size
        self._base = np.linspace(0, 255, w, dtype=np.float32)[None, :, None]  # [1, W, 1]
        self._img = np.zeros((h, w, 3), np.uint8)  # [H, W, 3]
        self.stop = threading.Event()
        self.thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        sr, block, n = self.audio.sample_rate, int(self.audio.sample_rate * 0.05), 0
        t_audio = np.arange(block) / sr
        next_frame = next_block = time.monotonic()
        while not self.stop.is_set():
            now = time.monotonic()
            if now >= next_frame:
                self._img[...] = ((self._base + n * 4) % 256).astype(np.uint8)
                self.frames.push(self._img)
                n += 1
                next_frame += 1.0 / self.fps
            if now >= next_block:
                wave = 0.2 * np.sin(2 * np.pi * 440 * (t_audio + now)).astype(np.float32)
                self.audio.write(wave)
                next_block += 0.05
            self.stop.wait(max(0.0, min(next_frame, next_block) - time.monotonic()))


def make_clip(path: Path, seconds: float) -> Path:
    from conftest import write_clip

    return write_clip(path, seconds=seconds, fps=30, cat_spans=((1.0, seconds - 1),),
                      size=(640, 480))


def pct(values: list[float], q: float) -> float:
    return float(np.percentile(values, q)) if values else float("nan")


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--seconds", type=float, default=10.0)
    ap.add_argument("--bundle", help="real model bundle (default: fake model)")
    ap.add_argument("--fake-ms", type=float, default=25.0, help="fake model cost per window")
    ap.add_argument("--source", choices=["synthetic", "clip"], default="synthetic")
    ap.add_argument("--rate-hz", type=float, default=12.0, help="analysis rate cap")
    ap.add_argument("--size", default="1280x720")
    args = ap.parse_args(argv)

    from PySide6.QtWidgets import QApplication

    from purrsight_app.app import AppOptions, build_app
    from purrsight_app.capture import FileSourceConfig
    from purrsight_app.pipeline.runtime_loader import LoadedRuntime, load_runtime
    from purrsight_app.settings import Settings, save_settings
    from purrsight_app.ui.live_view import VideoWidget

    qt = QApplication(sys.argv[:1])
    tmp = Path(tempfile.mkdtemp(prefix="purrsight-bench-"))
    save_settings(Settings(analysis_rate_hz=args.rate_hz), tmp / "settings.json")
    source = str(make_clip(tmp / "clip.mp4", args.seconds + 3)) if args.source == "clip" \
        else "mic"
    w, h = (int(v) for v in args.size.split("x"))
    app = build_app(AppOptions(data_dir=str(tmp / "data"), source=source, size=(w, h),
                               load_model=False, settings_file=str(tmp / "settings.json"),
                               file_config=FileSourceConfig(max_fps=30)))
    if args.bundle:
        runtime = load_runtime(args.bundle)
        if runtime.analyzer is None:
            print(runtime.status_line, file=sys.stderr)
            return 2
    else:
        from fakes import FakeAnalyzer, FakeReporter

        runtime = LoadedRuntime(FakeAnalyzer(delay_s=args.fake_ms / 1e3), FakeReporter())
    app.session.set_models(runtime)
    app.start()
    feed = None
    if args.source == "synthetic":
        feed = SyntheticFeed(app.session.frames, app.session.audio)
        feed.thread.start()

    latencies: list[float] = []
    tick_ms: list[float] = []
    seen: dict[str, object] = {"latest": None}
    real_tick = app.live.tick

    paint_ms: list[float] = []
    real_paint = VideoWidget.paintEvent

    def timed_paint(widget, event) -> None:
        t = time.perf_counter()
        real_paint(widget, event)
        paint_ms.append((time.perf_counter() - t) * 1e3)
    VideoWidget.paintEvent = timed_paint  # class-level: Qt dispatches to the override

    def timed_tick() -> None:
        t0 = time.perf_counter()
        real_tick()
        tick_ms.append((time.perf_counter() - t0) * 1e3)
        pipe = app.session.pipeline
        latest = pipe.latest if pipe else None
        if latest is not None and latest is not seen["latest"]:
            seen["latest"] = latest
            latencies.append(time.time() - latest.ts)

    app.live.timer.timeout.disconnect()
    app.live.timer.timeout.connect(timed_tick)
    app.session.ready.wait(10)
    warm_end = time.monotonic() + 1.5
    while time.monotonic() < warm_end:
        qt.processEvents()
        time.sleep(0.002)
    pipe = app.session.pipeline
    f0, a0, d0 = app.live.frames_shown, pipe.stats.loop.analysed, pipe.stats.loop.dropped
    latencies.clear()
    tick_ms.clear()
    paint_ms.clear()
    t0 = time.monotonic()
    while time.monotonic() - t0 < args.seconds:
        qt.processEvents()
        time.sleep(0.002)
    elapsed = time.monotonic() - t0
    stats = pipe.stats.loop
    result = {
        "source": args.source, "model": args.bundle or f"fake {args.fake_ms:.0f} ms",
        "window": args.size, "seconds": round(elapsed, 2),
        "painted_fps": round((app.live.frames_shown - f0) / elapsed, 1),
        "analysis_windows_per_s": round((stats.analysed - a0) / elapsed, 2),
        "dropped_windows": stats.dropped - d0,
        "overlay_latency_ms_p50": round(pct(latencies, 50) * 1e3, 1),
        "overlay_latency_ms_p95": round(pct(latencies, 95) * 1e3, 1),
        "gui_tick_ms_p50": round(pct(tick_ms, 50), 2),
        "gui_tick_ms_p95": round(pct(tick_ms, 95), 2),
        "gui_paint_ms_p50": round(pct(paint_ms, 50), 2),
        "gui_paint_ms_p95": round(pct(paint_ms, 95), 2),
        "gui_ticks": len(tick_ms), "paints": len(paint_ms),
        "cpu_count": os.cpu_count(),
        "targets": {"painted_fps": 25, "analysis_windows_per_s": 10},
    }
    if feed is not None:
        feed.stop.set()
    app.shutdown()
    print(json.dumps(result, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
