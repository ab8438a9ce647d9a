"""CameraSource: OpenCV ``VideoCapture`` on its own thread, feeding a FrameRing.

USB cameras get unplugged and IP streams drop. After ``max_failed_reads`` bad reads in a row
the source reports ``lost``, releases the device, waits ``retry_interval_s`` and reports
``reconnecting`` while it reopens; a camera that never opened is ``unavailable`` and is
retried just the same (it may be plugged in later).
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import cv2
import numpy as np

from purrsight_app.capture.frame_ring import FrameRing
from purrsight_app.capture.source import Source, SourceStatus, StatusCallback

log = logging.getLogger(__name__)

_TO_RGB = {1: cv2.COLOR_GRAY2RGB, 3: cv2.COLOR_BGR2RGB, 4: cv2.COLOR_BGRA2RGB}


@dataclass(frozen=True)
class CameraConfig:
    width: int | None = None
    """Requested capture width (the driver may pick another)."""
    height: int | None = None
    fps: float | None = None
    """Requested device frame rate."""
    max_fps: float = 30.0
    """Upper bound on frames pushed per second (guards drivers that return instantly)."""
    max_failed_reads: int = 10
    """Consecutive failed reads before the camera is declared lost."""
    retry_interval_s: float = 2.0
    """Pause before reopening a lost or unavailable camera."""


class CameraSource(Source):
    """Camera frames -> FrameRing (RGB uint8), with loss detection and reconnects."""

    has_video = True

    def __init__(
        self,
        frames: FrameRing,
        device: int | str = 0,
        *,
        config: CameraConfig | None = None,
        name: str | None = None,
        clock: Callable[[], float] = time.time,
        on_status: StatusCallback | None = None,
    ) -> None:
        super().__init__(name or f"Camera {device}", on_status)
        self.frames = frames
        self.device = device
        self.config = config or CameraConfig()
        self._clock = clock
        self._rgb: np.ndarray | None = None  # reused conversion buffer [H, W, 3]
        self._ever_opened = False

    def _open(self) -> Any | None:
        try:
            cap = cv2.VideoCapture(self.device)
        except Exception as exc:  # noqa: BLE001 - backends raise odd things
            log.warning("camera %s: %s", self.device, exc)
            return None
        if cap is None or not cap.isOpened():
            if cap is not None:
                cap.release()
            return None
        cfg = self.config
        for prop, value in ((cv2.CAP_PROP_FRAME_WIDTH, cfg.width),
                            (cv2.CAP_PROP_FRAME_HEIGHT, cfg.height), (cv2.CAP_PROP_FPS, cfg.fps)):
            if value:
                cap.set(prop, value)
        return cap

    def _to_rgb(self, img: np.ndarray) -> np.ndarray:
        channels = 1 if img.ndim == 2 else img.shape[2]
        shape = (img.shape[0], img.shape[1], 3)
        if self._rgb is None or self._rgb.shape != shape:
            self._rgb = np.empty(shape, dtype=np.uint8)
        if img.dtype != np.uint8:
            img = cv2.convertScaleAbs(img)
        cv2.cvtColor(img, _TO_RGB[channels], dst=self._rgb)
        return self._rgb

    def _stream(self, cap: Any) -> None:
        """Read until stopped or ``max_failed_reads`` failures in a row."""
        failures = 0
        min_gap = 1.0 / self.config.max_fps if self.config.max_fps > 0 else 0.0
        next_due = time.monotonic()
        while not self._stop.is_set():
            ok, img = cap.read()
            if not ok or img is None or img.size == 0:
                failures += 1
                if failures >= self.config.max_failed_reads:
                    return
                self._stop.wait(0.05)
                continue
            failures = 0
            self.frames.push(self._to_rgb(img), self._clock())
            next_due = max(next_due + min_gap, time.monotonic())
            self._stop.wait(max(0.0, next_due - time.monotonic()))

    def _run(self) -> None:
        while not self._stop.is_set():
            cap = self._open()
            if cap is None:
                if self._ever_opened:
                    self._set_status(SourceStatus.LOST, f"{self.name}: cannot reopen the camera")
                else:
                    self._set_status(SourceStatus.UNAVAILABLE,
                                     f"{self.name}: no camera found (will keep trying)")
            else:
                self._ever_opened = True
                self._set_status(SourceStatus.RUNNING)
                try:
                    self._stream(cap)
                finally:
                    cap.release()
                if self._stop.is_set():
                    return
                self._set_status(SourceStatus.LOST, f"{self.name}: the camera stopped "
                                 "delivering frames")
            if self._stop.wait(self.config.retry_interval_s):
                return
            if self._ever_opened:
                self._set_status(SourceStatus.RECONNECTING, f"{self.name}: reconnecting")
