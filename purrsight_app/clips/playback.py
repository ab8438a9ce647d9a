"""Optional audio playback for the labeling player, through sounddevice when it can.

Many devices the app runs on have no sound output (a Pi without speakers, a server, CI), and
``import sounddevice`` itself fails without PortAudio. So everything here is lazy and never
raises: ``AudioOut.available`` says whether sound can be played and ``reason`` why not; the
player then shows the spectrogram strip only.
"""

from __future__ import annotations

import logging
from typing import Any

import numpy as np

log = logging.getLogger(__name__)


class AudioOut:
    """``play(audio, sr, offset_s)`` / ``stop()``; a no-op when no output device exists."""

    def __init__(self) -> None:
        self._sd: Any = None
        self.reason = ""
        self._checked = False

    def _backend(self) -> Any:
        if self._checked:
            return self._sd
        self._checked = True
        try:
            import sounddevice as sd

            sd.query_devices(kind="output")  # raises when there is no output device
        except Exception as exc:  # noqa: BLE001 - OSError, PortAudioError, ValueError
            self.reason = f"no sound output ({type(exc).__name__})"
            log.info("audio playback unavailable: %s", exc)
            return None
        self._sd = sd
        return sd

    @property
    def available(self) -> bool:
        return self._backend() is not None

    def play(self, audio: np.ndarray, sr: int, offset_s: float = 0.0) -> bool:
        """Start playing from ``offset_s``; False when it cannot."""
        sd = self._backend()
        if sd is None or audio.size == 0:
            return False
        start = int(max(0.0, offset_s) * sr)
        try:
            sd.play(audio[start:], sr)
        except Exception as exc:  # noqa: BLE001 - device vanished, busy, ...
            self.reason = f"sound output failed: {exc}"
            log.warning("%s", self.reason)
            return False
        return True

    def stop(self) -> None:
        if self._sd is None:
            return
        try:
            self._sd.stop()
        except Exception as exc:  # noqa: BLE001
            log.debug("stopping playback failed: %s", exc)
