"""Overall progress and time left for a run, from its progress events and the estimate.

Within a phase the rate is measured (time per step so far); phases not started yet use the
pre-run estimate, corrected by how fast the finished phases went compared to their estimate
— so an estimate that was 2x optimistic on features is not trusted blindly for alignment.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence

from purrsight_app.finetune.estimate import Estimate
from purrsight_model import Progress

DEFAULT_PHASE_S = 60.0
"""Weight of a phase the estimate does not mention (e.g. "evaluate")."""


class EtaTracker:
    """Feed every ``Progress``; read ``fraction`` and ``remaining_s``."""

    def __init__(self, phases: Sequence[str], estimate: Estimate | None = None,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.phases = list(phases)
        self.estimate = estimate
        self._clock = clock
        self._phase: str | None = None
        self._phase_t0 = clock()
        self._step, self._total = 0, 0
        self._done: dict[str, float] = {}  # phase -> seconds it took

    def _guess(self, phase: str) -> float:
        if self.estimate is not None and phase in self.estimate.seconds:
            return max(1.0, self.estimate.seconds[phase])
        return DEFAULT_PHASE_S if phase != "evaluate" else 10.0

    def update(self, event: Progress) -> None:
        if event.phase != self._phase:
            if self._phase is not None:
                self._done[self._phase] = self._clock() - self._phase_t0
            if event.phase not in self.phases:
                self.phases.append(event.phase)
            self._phase, self._phase_t0 = event.phase, self._clock()
        self._step, self._total = event.step, event.total

    def _speed_factor(self) -> float:
        """Measured / estimated time of the finished phases (clamped)."""
        if not self._done or self.estimate is None:
            return 1.0
        measured = sum(self._done.values())
        guessed = sum(self._guess(p) for p in self._done)
        return min(4.0, max(0.25, measured / max(guessed, 1e-6)))

    def _phase_index(self) -> int:
        return self.phases.index(self._phase) if self._phase in self.phases else -1

    def _current_left(self) -> float:
        assert self._phase is not None
        elapsed = self._clock() - self._phase_t0
        if self._step > 0 and self._total > 0:
            return elapsed / self._step * max(0, self._total - self._step)
        return max(0.0, self._guess(self._phase) * self._speed_factor() - elapsed)

    @property
    def remaining_s(self) -> float | None:
        """Seconds left for the whole run (None before the first event)."""
        if self._phase is None:
            return None
        later = self.phases[self._phase_index() + 1:]
        return self._current_left() + sum(self._guess(p) for p in later) * self._speed_factor()

    @property
    def fraction(self) -> float:
        """Overall progress in [0, 1], weighting phases by their estimated length."""
        if self._phase is None:
            return 0.0
        weights = [self._guess(p) for p in self.phases]
        i = self._phase_index()
        done = sum(weights[:i])
        within = self._step / self._total if self._total > 0 else 0.0
        return min(1.0, (done + weights[i] * min(within, 1.0)) / max(sum(weights), 1e-6))

    @property
    def phase(self) -> str | None:
        return self._phase
