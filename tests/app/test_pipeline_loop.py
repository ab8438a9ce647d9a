"""AnalysisLoop: newest input only, stale windows dropped, modalities degrade, hot swap."""

from __future__ import annotations

import threading
import time

import numpy as np
from fakes import FakeAnalyzer

from purrsight_app.capture import AudioRing, FrameRing
from purrsight_app.pipeline.analysis_loop import AnalysisLoop, LoopConfig


class Pusher:
    """Feeds rings like a 30 fps camera + 50 ms microphone blocks, on its own thread."""

    def __init__(self, frames: FrameRing | None, audio: AudioRing | None, fps: float = 30.0):
        self.frames, self.audio, self.fps = frames, audio, fps
        self.stop = threading.Event()
        self.pushed = 0
        self.thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        img = np.full((48, 64, 3), 200, np.uint8)
        block = (0.2 * np.ones(800)).astype(np.float32)
        while not self.stop.wait(1.0 / self.fps):
            if self.frames is not None:
                self.frames.push(img)
                self.pushed += 1
            if self.audio is not None:
                self.audio.write(block)

    def __enter__(self) -> Pusher:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop.set()
        self.thread.join()


def run_loop(loop: AnalysisLoop, seconds: float) -> None:
    loop.start()
    time.sleep(seconds)
    loop.stop()


def test_slow_analyzer_drops_stale_windows_and_keeps_no_backlog() -> None:
    frames, audio = FrameRing(), AudioRing(seconds=5)
    analyzer = FakeAnalyzer(delay_s=0.15)
    results = []
    loop = AnalysisLoop(frames, audio, results.append, analyzer=analyzer,
                        config=LoopConfig(rate_hz=20))
    with Pusher(frames, audio):
        time.sleep(0.3)  # let the rings fill
        run_loop(loop, 1.5)
    stats = loop.stats
    assert 5 <= stats.analysed <= 12  # bounded by the model's speed, not the frame rate
    assert stats.dropped >= stats.analysed  # ~2 ticks missed per 150 ms window at 20 Hz
    # Every window used the newest frame: capture time close to the analysis start.
    ages = [r.started - r.frame_ts for r in results]
    assert max(ages) < 0.2  # one frame period (33 ms) plus scheduling jitter
    assert not analyzer.calls.ran_on_main()


def test_fast_analyzer_runs_at_rate_without_drops() -> None:
    frames = FrameRing()
    analyzer = FakeAnalyzer()
    results = []
    loop = AnalysisLoop(frames, None, results.append, analyzer=analyzer,
                        config=LoopConfig(rate_hz=10))
    with Pusher(frames, None):
        time.sleep(0.1)
        run_loop(loop, 1.0)
    assert 6 <= loop.stats.analysed <= 12  # paced at 10/s, not at the 30 fps frame rate
    assert loop.stats.dropped <= 3
    indices = [r.index for r in results]
    assert indices == list(range(len(indices)))


def test_stale_frames_are_not_analysed_and_audio_keeps_going() -> None:
    frames, audio = FrameRing(), AudioRing(seconds=5)
    frames.push(np.zeros((8, 8, 3), np.uint8), ts=time.time() - 10)  # a camera that died
    analyzer = FakeAnalyzer()
    loop = AnalysisLoop(frames, audio, lambda r: None, analyzer=analyzer,
                        config=LoopConfig(rate_hz=10, stale_after_s=1.0))
    with Pusher(None, audio):
        time.sleep(0.4)
        run_loop(loop, 0.6)
    assert analyzer.inputs, "audio alone must still be analysed"
    assert all(has_audio and not has_frame for has_frame, has_audio in analyzer.inputs)


def test_no_input_means_no_windows() -> None:
    analyzer = FakeAnalyzer()
    loop = AnalysisLoop(FrameRing(), AudioRing(seconds=1), lambda r: None, analyzer=analyzer)
    run_loop(loop, 0.3)
    assert loop.stats.analysed == 0
    assert loop.stats.idle > 0


def test_swap_models_between_windows() -> None:
    frames = FrameRing()
    first, second = FakeAnalyzer(state="content"), FakeAnalyzer(state="playful")
    seen = []
    swapped = []
    loop = AnalysisLoop(frames, None, lambda r: seen.append(r.observation.top("affective_state")),
                        analyzer=first, config=LoopConfig(rate_hz=20),
                        on_models=lambda a, r: swapped.append((a, r)))
    with Pusher(frames, None):
        loop.start()
        time.sleep(0.4)
        loop.swap_models(second, "reporter")
        time.sleep(0.4)
        loop.stop()
    labels = [s[0] for s in seen]
    assert labels[0] == "content" and labels[-1] == "playful"
    k = labels.index("playful")
    assert set(labels[k:]) == {"playful"}  # no flip-flopping after the swap
    assert swapped == [(second, "reporter")] and loop.stats.model_generation == 1
    assert loop.reporter == "reporter"


def test_analyzer_errors_are_counted_not_fatal() -> None:
    class Broken(FakeAnalyzer):
        def analyze(self, frame, audio):
            super().analyze(frame, audio)
            raise RuntimeError("bad window")

    frames = FrameRing()
    errors = []
    loop = AnalysisLoop(frames, None, lambda r: None, analyzer=Broken(),
                        config=LoopConfig(rate_hz=20, max_consecutive_errors=3,
                                          error_backoff_s=0.2), on_error=errors.append)
    with Pusher(frames, None):
        run_loop(loop, 0.6)
    assert loop.stats.errors >= 3
    assert "bad window" in loop.stats.last_error and errors
    assert loop.stats.analysed == 0
