"""FrameRing: the newest N video frames with timestamps, shared by capture, analysis and clips.

The capture thread pushes; the analysis thread takes ``latest()``; the clip recorder takes
``since(t)`` for pre-roll; the GUI paints ``latest()``. Slots are preallocated arrays reused in
place, so steady-state pushes allocate nothing (a slot is only reallocated when the frame
size changes). One lock guards the slots; copies happen under it, so a reader never sees a
half-written frame.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True, slots=True)
class Frame:
    """A captured frame. ``seq`` increases by one per push (skip repaints when unchanged)."""

    image: np.ndarray  # [H, W, 3] uint8 RGB
    ts: float
    seq: int


class FrameRing:
    """Thread-safe ring of the latest ``capacity`` frames."""

    def __init__(self, capacity: int = 48, clock: Callable[[], float] = time.time) -> None:
        if capacity < 2:
            raise ValueError("FrameRing needs capacity >= 2")
        self.capacity = capacity
        self._clock = clock
        self._slots: list[np.ndarray | None] = [None] * capacity
        self._ts = np.zeros(capacity, dtype=np.float64)  # [N]
        self._seq = 0  # number of frames ever pushed; newest is slot (seq - 1) % N
        self._count = 0  # frames currently held (<= capacity)
        self._lock = threading.Lock()

    def push(self, image: np.ndarray, ts: float | None = None) -> int:
        """Copy ``image`` [H, W, C] into the next slot; return its sequence number."""
        stamp = self._clock() if ts is None else ts
        with self._lock:
            i = self._seq % self.capacity
            slot = self._slots[i]
            if slot is None or slot.shape != image.shape or slot.dtype != image.dtype:
                slot = self._slots[i] = np.empty_like(image)
            np.copyto(slot, image)
            self._ts[i] = stamp
            self._seq += 1
            self._count = min(self._count + 1, self.capacity)
            return self._seq

    @property
    def seq(self) -> int:
        """Sequence number of the newest frame (0 = nothing pushed yet)."""
        return self._seq

    def __len__(self) -> int:
        return self._count

    def latest(self, *, copy: bool = True) -> Frame | None:
        """The newest frame, O(1). ``copy=False`` returns the slot itself: valid only until
        ``capacity - 1`` further pushes (fine for an immediate repaint)."""
        with self._lock:
            if self._count == 0:
                return None
            i = (self._seq - 1) % self.capacity
            img = self._slots[i]
            assert img is not None
            return Frame(img.copy() if copy else img, float(self._ts[i]), self._seq)

    def latest_ts(self) -> float | None:
        """Timestamp of the newest frame without copying it (staleness checks)."""
        with self._lock:
            if self._count == 0:
                return None
            return float(self._ts[(self._seq - 1) % self.capacity])

    def since(self, t: float) -> list[Frame]:
        """Copies of the buffered frames newer than ``t``, oldest first (clip pre-roll)."""
        with self._lock:
            out = []
            for seq in range(self._seq - self._count + 1, self._seq + 1):
                i = (seq - 1) % self.capacity
                if self._ts[i] > t:
                    img = self._slots[i]
                    assert img is not None
                    out.append(Frame(img.copy(), float(self._ts[i]), seq))
            return out

    def clear(self) -> None:
        """Forget all frames (sequence numbers keep increasing)."""
        with self._lock:
            self._count = 0  # slots stay allocated for reuse
