"""Small stand-ins for the model runtime (tests and the benchmark only; never in the product).

``FakeAnalyzer`` derives plausible scores from the actual input, so a synthetic clip drives
events end to end: a bright frame means "cat visible", loud audio means "cat heard". Every
call records the thread it ran on so tests can assert the GUI thread never runs inference.
"""

from __future__ import annotations

import math
import threading
import time
from collections.abc import Sequence

import numpy as np

from purrsight_model.runtime.observation import Observation
from purrsight_model.schema import AFFECTIVE_STATE, AROUSAL, VOCALIZATION, Report

EMB_DIM = 512


def unit_vector(seed: int, dim: int = EMB_DIM) -> np.ndarray:
    v = np.random.default_rng(seed).standard_normal(dim).astype(np.float32)  # [D]
    return v / np.linalg.norm(v)


def state_vector(state: str) -> np.ndarray:
    """The fake aligned-space direction of an affective state (stable across calls)."""
    return unit_vector(1000 + AFFECTIVE_STATE.index(state))


def probs(classes: Sequence[str], top: str, p: float) -> dict[str, float]:
    rest = (1.0 - p) / (len(classes) - 1)
    return {c: (p if c == top else rest) for c in classes}


def make_observation(
    ts: float | None = None,
    *,
    state: str = "content",
    conf: float = 0.8,
    vocalization: str = "purr",
    arousal: str = "low",
    cat_visible: float = 0.9,
    cat_heard: float = math.nan,
    level_db: float = -30.0,
) -> Observation:
    """A plausible observation with the given top classes."""
    return Observation(
        ts=time.time() if ts is None else ts,
        has_image=not math.isnan(cat_visible), has_audio=not math.isnan(cat_heard),
        heads={
            "affective_state": probs(AFFECTIVE_STATE, state, conf),
            "vocalization": probs(VOCALIZATION, vocalization, 0.7),
            "arousal": probs(AROUSAL, arousal, 0.6),
        },
        cat_visible=cat_visible, cat_heard=cat_heard, calls={vocalization: 0.7},
        audio_level_db=level_db, embedding=state_vector(state), latency_ms=1.0,
    )


class ThreadLog:
    """Names of the threads a fake was called on (thread-safe)."""

    def __init__(self) -> None:
        self.threads: list[threading.Thread] = []
        self._lock = threading.Lock()

    def note(self) -> None:
        with self._lock:
            self.threads.append(threading.current_thread())

    def ran_on_main(self) -> bool:
        with self._lock:
            return any(t is threading.main_thread() for t in self.threads)

    def __len__(self) -> int:
        with self._lock:
            return len(self.threads)


class FakeAnalyzer:
    """Scores from the input: mean brightness -> cat_visible, loudness -> cat_heard."""

    def __init__(self, delay_s: float = 0.0, state: str = "content") -> None:
        self.delay_s = delay_s
        self.state = state
        self.calls = ThreadLog()
        self.text_calls = ThreadLog()
        self.frame_ts_seen: list[float] = []
        self.inputs: list[tuple[bool, bool]] = []

    def analyze(self, frame: np.ndarray | None, audio: np.ndarray | None) -> Observation:
        self.calls.note()
        t0 = time.perf_counter()
        self.inputs.append((frame is not None, audio is not None))
        visible = math.nan if frame is None else float(np.clip(frame.mean() / 128.0, 0, 1))
        heard, level = math.nan, -120.0
        if audio is not None:
            r = float(np.sqrt(np.mean(np.square(audio, dtype=np.float64))))
            level = -120.0 if r <= 0 else max(-120.0, 20 * math.log10(r))
            heard = float(np.clip((level + 50.0) / 30.0, 0, 1))
        if self.delay_s:
            time.sleep(self.delay_s)
        obs = make_observation(
            state=self.state, cat_visible=visible, cat_heard=heard, level_db=level,
            vocalization="meow" if heard == heard and heard > 0.5 else "silent",
        )
        return Observation(**{**obs.__dict__, "latency_ms": (time.perf_counter() - t0) * 1e3})

    def embed_text(self, text: str) -> np.ndarray:
        self.text_calls.note()
        for state in AFFECTIVE_STATE:
            if state in text.lower():
                return state_vector(state)
        return unit_vector(hash(text) % 10_000)


class FakeReporter:
    """Summarises the windows it is given into a schema-valid Report."""

    def __init__(self, delay_s: float = 0.0, risk: str = "2") -> None:
        self.delay_s = delay_s
        self.risk = risk
        self.calls = ThreadLog()
        self.sizes: list[int] = []

    def report(self, observations: Sequence[Observation]) -> Report:
        self.calls.note()
        self.sizes.append(len(observations))
        if self.delay_s:
            time.sleep(self.delay_s)
        states = [o.top("affective_state")[0] for o in observations]
        state = max(set(states), key=states.count) if states else "unknown"
        return Report(
            affective_state=state, vocalization=observations[-1].top("vocalization")[0],
            arousal="low", risk=self.risk, confidence=0.7,
            summary=f"The cat looked {state} over {len(observations)} windows.",
            advice="Nothing to do; let the cat rest.", modalities_used=("image",),
        )


class ListSink:
    """A RecordSink that keeps what it was given, and on which thread."""

    def __init__(self) -> None:
        self.items: list[object] = []
        self.calls = ThreadLog()
        self._lock = threading.Lock()

    def put(self, item: object) -> None:
        self.calls.note()
        with self._lock:
            self.items.append(item)

    def of(self, kind: type) -> list:
        with self._lock:
            return [i for i in self.items if isinstance(i, kind)]
