"""AudioRing: the last N seconds of mono float32 audio at 16 kHz, written from a callback.

PortAudio calls ``write`` on its own thread every few milliseconds; that path only copies into
a preallocated circular buffer under a lock (no allocation for mono input). Readers take the
last window for analysis (``read_last``/``read_last_into``) or everything since a time for a
clip's pre-roll (``read_since``). Times: the writer stamps the end of each block; sample k's
time is derived from the newest stamp and the sample rate.
"""

from __future__ import annotations

import math
import threading
import time
from collections.abc import Callable

import numpy as np

SAMPLE_RATE = 16_000


def rms(x: np.ndarray) -> float:
    """Root mean square of a signal (0.0 for an empty one)."""
    if x.size == 0:
        return 0.0
    return float(np.sqrt(np.mean(np.square(x, dtype=np.float64))))


def rms_dbfs(x: np.ndarray, floor_db: float = -100.0) -> float:
    """RMS in dB relative to full scale (a full-scale sine is about -3 dBFS)."""
    level = rms(x)
    return floor_db if level <= 0 else max(floor_db, 20.0 * math.log10(level))


class AudioRing:
    """Thread-safe circular buffer of mono float32 samples."""

    def __init__(
        self,
        seconds: float = 30.0,
        sample_rate: int = SAMPLE_RATE,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.sample_rate = sample_rate
        self.capacity = int(round(seconds * sample_rate))
        self._buf = np.zeros(self.capacity, dtype=np.float32)  # [capacity]
        self._total = 0  # samples ever written
        self._end_ts = 0.0  # time of the end of the newest sample
        self._clock = clock
        self._lock = threading.Lock()

    def write(self, block: np.ndarray, ts_end: float | None = None) -> None:
        """Append ``block`` ([n] or [n, 1]; [n, C] is down-mixed) ending at ``ts_end``."""
        stamp = self._clock() if ts_end is None else ts_end
        x = block
        if x.ndim == 2:
            x = x[:, 0] if x.shape[1] == 1 else x.mean(axis=1, dtype=np.float32)
        n = x.shape[0]
        if n > self.capacity:
            x = x[n - self.capacity:]
        m = x.shape[0]
        with self._lock:
            start = (self._total + n - m) % self.capacity  # skipped samples still count
            first = min(m, self.capacity - start)
            self._buf[start:start + first] = x[:first]
            if first < m:
                self._buf[: m - first] = x[first:]
            self._total += n
            self._end_ts = stamp

    @property
    def total_samples(self) -> int:
        """Samples ever written."""
        return self._total

    @property
    def available(self) -> int:
        """Samples currently held (<= capacity)."""
        return min(self._total, self.capacity)

    @property
    def end_ts(self) -> float:
        """Time of the end of the newest block (0.0 before the first write)."""
        return self._end_ts

    def _copy_tail(self, out: np.ndarray, n: int) -> None:
        """Copy the newest ``n`` samples into ``out[:n]`` (caller holds the lock)."""
        end = self._total % self.capacity
        start = end - n
        if start >= 0:
            out[:n] = self._buf[start:end]
        else:
            out[: -start] = self._buf[start:]
            out[-start:n] = self._buf[:end]

    def read_last_into(self, out: np.ndarray) -> int:
        """Fill ``out`` [n] with the newest samples, right-aligned; zero-pad the front when
        fewer were written. Returns how many real samples were copied. No allocation."""
        with self._lock:
            n = min(out.shape[0], self.available)
            pad = out.shape[0] - n
            out[:pad] = 0.0
            self._copy_tail(out[pad:], n)
            return n

    def read_last(self, seconds: float) -> np.ndarray:
        """Copy of the newest ``seconds`` of audio ([n] float32; shorter if not yet written)."""
        want = int(round(seconds * self.sample_rate))
        with self._lock:
            n = min(want, self.available)
            out = np.empty(n, dtype=np.float32)
            self._copy_tail(out, n)
            return out

    def read_since(self, t: float) -> tuple[np.ndarray, float]:
        """Samples later than time ``t`` and the time of the first returned sample."""
        with self._lock:
            n = int(math.floor((self._end_ts - t) * self.sample_rate))
            n = max(0, min(n, self.available))
            out = np.empty(n, dtype=np.float32)
            self._copy_tail(out, n)
            return out, self._end_ts - n / self.sample_rate

    def level(self, seconds: float = 0.1) -> float:
        """RMS of the newest ``seconds`` (a VU meter)."""
        return rms(self.read_last(seconds))

    def clear(self) -> None:
        """Forget buffered audio (e.g. when switching sources)."""
        with self._lock:
            self._total = 0
            self._end_ts = 0.0
