"""MicSource: a sounddevice (PortAudio) input stream whose callback fills an AudioRing.

``sounddevice`` is imported lazily: without the PortAudio library it raises OSError at import,
which here becomes status ``unavailable`` with "no audio backend", never an exception. With a
backend but no input device the source is ``unavailable`` and retries (a USB mic may appear).
A watchdog notices a stream that stops calling back (device unplugged) -> ``lost`` ->
``reconnecting``.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass
from types import ModuleType
from typing import Any

import numpy as np

from purrsight_app.capture.audio_ring import AudioRing
from purrsight_app.capture.resample import StreamResampler
from purrsight_app.capture.source import Source, SourceStatus, StatusCallback

log = logging.getLogger(__name__)


class _Unavailable(Exception):
    """Reason the microphone cannot be used right now (message is owner-facing)."""


@dataclass(frozen=True)
class MicConfig:
    block_seconds: float = 0.05
    """Callback block length (latency vs. callback overhead)."""
    watchdog_s: float = 2.0
    """No callback for this long = the device is lost."""
    retry_interval_s: float = 3.0
    """Pause before reopening a lost or missing device."""


def load_backend() -> ModuleType:
    """Import sounddevice, or raise ``_Unavailable`` with a clear reason."""
    try:
        import sounddevice
    except OSError as exc:
        raise _Unavailable(f"no audio backend: {exc} (install PortAudio, e.g. libportaudio2)") from exc
    except ImportError as exc:
        raise _Unavailable("no audio backend: the sounddevice package is missing") from exc
    return sounddevice


class MicSource(Source):
    """Microphone -> AudioRing at the ring's sample rate (mono float32)."""

    has_audio = True

    def __init__(
        self,
        audio: AudioRing,
        device: int | str | None = None,
        *,
        config: MicConfig | None = None,
        name: str | None = None,
        clock: Callable[[], float] = time.time,
        on_status: StatusCallback | None = None,
    ) -> None:
        super().__init__(name or ("Microphone" if device is None else f"Microphone {device}"),
                         on_status)
        self.audio = audio
        self.device = device
        self.config = config or MicConfig()
        self._clock = clock
        self._resampler: StreamResampler | None = None
        self._last_callback = 0.0
        self.overflows = 0
        """Blocks PortAudio flagged as overflowed (the analysis thread fell behind)."""

    def _callback(self, indata: np.ndarray, frames: int, time_info: Any, status: Any) -> None:
        if status:
            self.overflows += 1
        x = indata[:, 0] if indata.ndim == 2 else indata  # view, no copy
        if self._resampler is not None:
            x = self._resampler.process(x)
        self.audio.write(x, self._clock())
        self._last_callback = time.monotonic()

    def _open_stream(self, sd: ModuleType) -> Any:
        """Open at the ring's rate, else at the device's native rate with resampling."""
        try:
            info = sd.query_devices(self.device, kind="input")
        except Exception as exc:  # noqa: BLE001 - PortAudioError / ValueError
            raise _Unavailable(f"{self.name}: no microphone found ({exc})") from exc
        rates = [self.audio.sample_rate, int(info["default_samplerate"])]
        last_error: Exception | None = None
        for rate in dict.fromkeys(rates):
            self._resampler = (None if rate == self.audio.sample_rate
                               else StreamResampler(rate, self.audio.sample_rate))
            try:
                stream = sd.InputStream(
                    samplerate=rate, channels=1, dtype="float32", device=self.device,
                    blocksize=int(rate * self.config.block_seconds), callback=self._callback,
                )
                self._last_callback = time.monotonic()
                stream.start()
                return stream
            except Exception as exc:  # noqa: BLE001
                last_error = exc
        raise _Unavailable(f"{self.name}: cannot open the microphone ({last_error})")

    def _watch(self, stream: Any) -> str:
        """Block while audio flows; return why it stopped ('' when asked to stop)."""
        while not self._stop.wait(0.1):
            if not stream.active:
                return f"{self.name}: the audio stream stopped"
            silent = time.monotonic() - self._last_callback
            if silent > self.config.watchdog_s:
                return f"{self.name}: no audio for {silent:.1f} s"
        return ""

    def _run(self) -> None:
        try:
            sd = load_backend()
        except _Unavailable as exc:
            self._set_status(SourceStatus.UNAVAILABLE, str(exc))
            return
        opened_once = False
        while not self._stop.is_set():
            try:
                stream = self._open_stream(sd)
            except _Unavailable as exc:
                status = SourceStatus.LOST if opened_once else SourceStatus.UNAVAILABLE
                self._set_status(status, str(exc))
            else:
                opened_once = True
                self._set_status(SourceStatus.RUNNING)
                reason = self._watch(stream)
                _close_quietly(stream)
                if self._stop.is_set():
                    return
                self._set_status(SourceStatus.LOST, reason)
            if self._stop.wait(self.config.retry_interval_s):
                return
            if opened_once:
                self._set_status(SourceStatus.RECONNECTING, f"{self.name}: reconnecting")


def _close_quietly(stream: Any) -> None:
    for method in ("stop", "close"):
        try:
            getattr(stream, method)()
        except Exception as exc:  # noqa: BLE001 - a dead device may fail to close
            log.debug("closing audio stream: %s", exc)
