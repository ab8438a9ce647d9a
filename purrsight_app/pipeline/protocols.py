"""The narrow shapes the pipeline depends on (structural, so fakes and the real runtime fit).

The real classes live in ``purrsight_model.runtime`` and are loaded lazily by name
(``runtime_loader``); nothing here imports them, so the app starts without a bundle and tests
run against small fakes.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Protocol, runtime_checkable

import numpy as np

from purrsight_model.schema import Report


@runtime_checkable
class ObservationLike(Protocol):
    """What the pipeline reads from ``purrsight_model.runtime.Observation``."""

    ts: float
    has_image: bool
    has_audio: bool
    heads: Mapping[str, Mapping[str, float]]
    cat_visible: float
    cat_heard: float
    calls: Mapping[str, float]
    audio_level_db: float
    embedding: np.ndarray | None
    latency_ms: float

    def top(self, head: str) -> tuple[str, float]: ...

    @property
    def cat_score(self) -> float: ...


@runtime_checkable
class AnalyzerLike(Protocol):
    """``Analyzer.load(bundle)`` result: one window in, one observation out."""

    def analyze(
        self, frame: np.ndarray | None, audio: np.ndarray | None
    ) -> ObservationLike:  # frame [H, W, 3] uint8 RGB; audio [n] float32 16 kHz mono
        ...

    def embed_text(self, text: str) -> np.ndarray:  # [512] unit vector
        ...


@runtime_checkable
class ReporterLike(Protocol):
    """``Reporter.load(bundle)`` result: a schema-valid report about a run of observations."""

    def report(self, observations: Sequence[ObservationLike]) -> Report: ...


class FrameRingLike(Protocol):
    """The part of ``capture.FrameRing`` the analysis loop and the live view use."""

    @property
    def seq(self) -> int: ...

    def latest(self, *, copy: bool = True) -> object | None: ...  # Frame(image, ts, seq)

    def latest_ts(self) -> float | None: ...


class AudioRingLike(Protocol):
    """The part of ``capture.AudioRing`` the analysis loop and the level meter use."""

    sample_rate: int

    @property
    def end_ts(self) -> float: ...

    def read_last_into(self, out: np.ndarray) -> int: ...

    def read_last(self, seconds: float) -> np.ndarray: ...


class RecordSink(Protocol):
    """Where records go (``storage.StoreWriter``): ``put`` must never block."""

    def put(self, item: object) -> None: ...


class ClipListener(Protocol):
    """Who records clips of events (``clips.ClipRecorder``); every call must return at once."""

    def event_started(self, event_id: str, start: float) -> None: ...

    def event_updated(self, event_id: str, ts: float, active: bool) -> None: ...

    def event_ended(self, event_id: str, end: float) -> None: ...

    def window(self, ts: float, observation: ObservationLike) -> None: ...


def top_or_unknown(obs: ObservationLike, head: str) -> tuple[str, float]:
    """``obs.top(head)`` that tolerates a runtime without that head."""
    try:
        return obs.top(head)
    except (KeyError, ValueError):
        return "unknown", 0.0

