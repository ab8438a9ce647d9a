"""AnalysisLoop: one worker thread turning the newest frame + last 0.96 s of audio into an
Observation, as often as the CPU allows and never more than ``rate_hz``.

Why "newest, never a backlog": the owner wants to know how the cat is *now*. When the model is
slower than the schedule, the windows that came due meanwhile are dropped (counted in
``stats.dropped``) and the next analysis starts on whatever is newest. Input older than
``stale_after_s`` counts as absent (camera unplugged, file ended), so the loop keeps running on
the modality that is left. Models are swapped between windows (``swap_models``), never during
one.
"""

from __future__ import annotations

import logging
import math
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, replace

import numpy as np

from purrsight_app.pipeline.protocols import (
    AnalyzerLike,
    AudioRingLike,
    FrameRingLike,
    ObservationLike,
    ReporterLike,
)

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class LoopConfig:
    """Pacing and staleness of the analysis loop."""

    rate_hz: float = 12.0
    """Most windows analysed per second (one tick every 1/rate_hz s)."""
    audio_seconds: float = 0.96
    """Audio per window (the YAMNet patch length)."""
    min_audio_seconds: float = 0.25
    """Less real audio than this in the ring (start-up) counts as no audio."""
    stale_after_s: float = 1.0
    """A frame or audio block older than this is treated as absent."""
    idle_poll_s: float = 0.02
    """Sleep while there is no new input or no model."""
    error_backoff_s: float = 1.0
    """Pause after ``max_consecutive_errors`` failing windows in a row."""
    max_consecutive_errors: int = 5


@dataclass(frozen=True)
class Analysed:
    """An observation plus when its inputs were captured and when it was ready."""

    observation: ObservationLike
    ts: float
    """Capture time of the window (newest of frame time and audio end), wall clock."""
    frame_ts: float | None
    audio_end_ts: float | None
    started: float
    """Wall clock when analysis began."""
    finished: float
    """Wall clock when the observation was published."""
    index: int
    """Window number since start (gaps = dropped windows)."""

    @property
    def latency_s(self) -> float:
        """Capture to result: what the owner perceives as overlay lag."""
        return self.finished - self.ts


@dataclass(frozen=True)
class LoopStats:
    """Counters for the status bar and the benchmark."""

    analysed: int = 0
    dropped: int = 0
    """Ticks that came due while the model was busy and were skipped."""
    idle: int = 0
    """Ticks with no fresh input (no frame, no audio)."""
    errors: int = 0
    last_error: str = ""
    model_generation: int = 0
    """Increments on every applied ``swap_models``."""


@dataclass
class _Inputs:
    frame: np.ndarray | None  # [H, W, 3] uint8 RGB
    frame_ts: float | None
    frame_seq: int
    audio: np.ndarray | None  # [n] float32 at the ring's rate
    audio_end_ts: float | None


ResultCallback = Callable[[Analysed], None]
ModelsCallback = Callable[[AnalyzerLike | None, ReporterLike | None], None]


class AnalysisLoop:
    """Newest-window analysis on one thread (see module docstring)."""

    def __init__(
        self,
        frames: FrameRingLike | None,
        audio: AudioRingLike | None,
        on_result: ResultCallback,
        *,
        analyzer: AnalyzerLike | None = None,
        reporter: ReporterLike | None = None,
        config: LoopConfig | None = None,
        on_models: ModelsCallback | None = None,
        on_error: Callable[[str], None] | None = None,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.frames = frames
        self.audio = audio
        self.config = config or LoopConfig()
        self._on_result = on_result
        self._on_models = on_models
        self._on_error = on_error
        self._clock = clock
        self._analyzer = analyzer
        self._reporter = reporter
        self._pending_models: tuple[AnalyzerLike | None, ReporterLike | None] | None = None
        self._lock = threading.Lock()
        self._stats = LoopStats()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._last_seq = -1
        self._last_audio_end = -math.inf
        self._index = 0
        self._failing = 0

    # --- caller side --------------------------------------------------------------------
    def start(self) -> None:
        """Start the worker thread (idempotent)."""
        if self._thread is not None and self._thread.is_alive():
            return
        self._stop.clear()
        self._thread = threading.Thread(target=self._run, name="purrsight-analysis", daemon=True)
        self._thread.start()

    def stop(self, timeout: float = 5.0) -> None:
        """Finish the current window and stop."""
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout)

    def swap_models(
        self, analyzer: AnalyzerLike | None, reporter: ReporterLike | None = None
    ) -> None:
        """Use new models from the next window on (hot-swap after fine-tuning)."""
        with self._lock:
            self._pending_models = (analyzer, reporter)

    @property
    def analyzer(self) -> AnalyzerLike | None:
        return self._analyzer

    @property
    def reporter(self) -> ReporterLike | None:
        return self._reporter

    @property
    def stats(self) -> LoopStats:
        with self._lock:
            return self._stats

    @property
    def running(self) -> bool:
        return self._thread is not None and self._thread.is_alive()

    # --- worker -------------------------------------------------------------------------
    def _bump(self, **changes: object) -> None:
        with self._lock:
            s = self._stats
            self._stats = replace(s, **{k: getattr(s, k) + v if isinstance(v, int) else v
                                        for k, v in changes.items()})

    def _apply_pending_models(self) -> None:
        with self._lock:
            pending, self._pending_models = self._pending_models, None
        if pending is None:
            return
        self._analyzer, self._reporter = pending
        self._bump(model_generation=1)
        if self._on_models is not None:
            self._on_models(*pending)

    def _run(self) -> None:
        period = 1.0 / self.config.rate_hz
        next_due = time.monotonic()
        while not self._stop.is_set():
            wait = next_due - time.monotonic()
            if wait > 0 and self._stop.wait(wait):
                break
            self._apply_pending_models()
            worked = self._one_window()
            if not worked:
                self._stop.wait(self.config.idle_poll_s)
                next_due = time.monotonic()
                continue
            now = time.monotonic()
            missed = max(0, math.floor((now - next_due) / period))
            if missed:
                self._bump(dropped=missed)
            next_due += period * (missed + 1)

    def _one_window(self) -> bool:
        """Analyse the newest inputs once; False when there was nothing (new) to analyse."""
        analyzer = self._analyzer
        if analyzer is None:
            return False
        inputs = self._take_inputs()
        if inputs is None:
            self._bump(idle=1)
            return False
        started = self._clock()
        try:
            obs = analyzer.analyze(inputs.frame, inputs.audio)
        except Exception as exc:  # noqa: BLE001 - a bad window must not kill the loop
            self._window_failed(exc)
            return True
        self._failing = 0
        ts = max(t for t in (inputs.frame_ts, inputs.audio_end_ts) if t is not None)
        result = Analysed(obs, ts, inputs.frame_ts, inputs.audio_end_ts, started,
                          self._clock(), self._index)
        self._index += 1
        self._bump(analysed=1)
        try:
            self._on_result(result)
        except Exception:  # noqa: BLE001 - a consumer bug must not stop analysis
            log.exception("analysis result consumer failed")
        return True

    def _window_failed(self, exc: Exception) -> None:
        message = f"analysis failed: {type(exc).__name__}: {exc}"
        log.warning(message)
        self._failing += 1
        self._bump(errors=1, last_error=message)
        if self._on_error is not None:
            self._on_error(message)
        if self._failing >= self.config.max_consecutive_errors:
            self._stop.wait(self.config.error_backoff_s)

    def _take_inputs(self) -> _Inputs | None:
        """Newest fresh frame and audio; None when neither is fresh or nothing is new."""
        now = self._clock()
        cfg = self.config
        frame, frame_ts, seq = self._take_frame(now)
        audio, audio_end = self._take_audio(now)
        new_frame = frame is not None and seq != self._last_seq
        min_new_audio = 0.5 / cfg.rate_hz
        new_audio = audio_end is not None and audio_end - self._last_audio_end >= min_new_audio
        if not (new_frame or new_audio):
            return None
        self._last_seq = seq
        if audio_end is not None:
            self._last_audio_end = audio_end
        return _Inputs(frame, frame_ts, seq, audio, audio_end)

    def _take_frame(self, now: float) -> tuple[np.ndarray | None, float | None, int]:
        if self.frames is None:
            return None, None, -1
        ts = self.frames.latest_ts()
        if ts is None or now - ts > self.config.stale_after_s:
            return None, None, -1
        frame = self.frames.latest(copy=True)
        if frame is None:
            return None, None, -1
        return frame.image, frame.ts, frame.seq  # type: ignore[attr-defined]

    def _take_audio(self, now: float) -> tuple[np.ndarray | None, float | None]:
        ring = self.audio
        if ring is None:
            return None, None
        end = ring.end_ts
        if end <= 0 or now - end > self.config.stale_after_s:
            return None, None
        n = int(round(self.config.audio_seconds * ring.sample_rate))
        buf = np.empty(n, dtype=np.float32)  # [n] fresh per window: the model may keep it
        real = ring.read_last_into(buf)
        if real < self.config.min_audio_seconds * ring.sample_rate:
            return None, None
        return buf, end
