"""A small streaming resampler for microphones that refuse to open at 16 kHz.

Most PortAudio hosts convert rates themselves; this is the fallback when a device only offers
its native rate. Integer ratios (48 -> 16 kHz) average each group of ``k`` samples (a boxcar
low-pass plus decimation, no aliasing of the strongest bands); other ratios interpolate
linearly. State carries across blocks so block boundaries leave no clicks.
"""

from __future__ import annotations

import numpy as np


class StreamResampler:
    """Block-by-block mono resampling ``in_rate`` -> ``out_rate``."""

    def __init__(self, in_rate: int, out_rate: int) -> None:
        self.in_rate = int(in_rate)
        self.out_rate = int(out_rate)
        ratio = self.in_rate / self.out_rate
        self._k = int(round(ratio)) if abs(ratio - round(ratio)) < 1e-9 else 0
        self._step = ratio
        self._carry = np.zeros(0, dtype=np.float32)  # unconsumed input samples
        self._pos = 0.0  # position of the next output sample within carry+block

    def process(self, block: np.ndarray) -> np.ndarray:
        """Resample one block ([n] float32); returns [m] float32 (m may be 0)."""
        x = np.concatenate([self._carry, np.asarray(block, dtype=np.float32).reshape(-1)])
        if self.in_rate == self.out_rate:
            self._carry = x[:0]
            return x
        if self._k:
            usable = (x.shape[0] // self._k) * self._k
            self._carry = x[usable:]
            return x[:usable].reshape(-1, self._k).mean(axis=1, dtype=np.float32)
        positions = np.arange(self._pos, x.shape[0] - 1, self._step)  # need x[i + 1]
        if positions.size == 0:
            self._carry = x
            return np.zeros(0, dtype=np.float32)
        out = np.interp(positions, np.arange(x.shape[0]), x).astype(np.float32)
        next_pos = positions[-1] + self._step
        drop = min(int(next_pos), x.shape[0])  # never past the samples we have
        self._carry = x[drop:]
        self._pos = next_pos - drop
        return out
