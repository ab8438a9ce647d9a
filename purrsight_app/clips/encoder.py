"""ClipEncoder: frames and audio in (wall-clock stamped), an MP4 (H.264 + AAC) out.

Frames are encoded as they arrive (memory stays small: only compressed packets are held),
but packets are *muxed* lazily: ``release(until)`` writes the packets whose time is at most
``until`` and holds the rest. The recorder only learns where a clip ends some seconds after
the fact (the event tracker waits ``gap_s`` before it closes an event), so the tail beyond
the end is simply never muxed. H.264 runs with ``tune=zerolatency`` (no B-frames), so each
frame yields its packet at once and dropping trailing packets leaves a valid stream.

The video is constant frame rate: output slot k (time ``t0 + k/fps``) shows the newest source
frame captured at or before that time, so audio and video stay aligned whatever the source's
frame rate. Not thread-safe: one recorder thread owns an encoder.
"""

from __future__ import annotations

import contextlib
import logging
import math
from fractions import Fraction
from pathlib import Path

import av
import cv2
import numpy as np

from purrsight_app.clips.config import ClipConfig

log = logging.getLogger(__name__)

AUDIO_FRAME = 1024
"""Samples per AAC frame."""


class ClipEncodeError(RuntimeError):
    """A clip file that could not be written (the message names the file)."""


def even_size(width: int, height: int, max_width: int) -> tuple[int, int]:
    """Output size: at most ``max_width`` wide, aspect kept, both sides even (yuv420p)."""
    scale = min(1.0, max_width / max(width, 1))
    w = max(2, int(round(width * scale)) // 2 * 2)
    h = max(2, int(round(height * scale)) // 2 * 2)
    return w, h


def fit_frame(img: np.ndarray, size: tuple[int, int]) -> np.ndarray:
    """``img`` [H, W, 3] uint8 resized to ``size`` (w, h) when it differs."""
    w, h = size
    if img.shape[1] == w and img.shape[0] == h:
        return img
    return cv2.resize(img, (w, h), interpolation=cv2.INTER_AREA)  # [h, w, 3]


class ClipEncoder:
    """Streaming MP4 writer for one clip (see module docstring)."""

    def __init__(self, path: Path, t0: float, *, frame_size: tuple[int, int] | None,
                 audio_rate: int | None, config: ClipConfig | None = None) -> None:
        if frame_size is None and audio_rate is None:
            raise ValueError("a clip needs video, audio or both")
        self.path, self.t0 = Path(path), t0
        self.config = cfg = config or ClipConfig()
        self.path.parent.mkdir(parents=True, exist_ok=True)
        try:
            self._out = av.open(str(self.path), "w")
            self._video = self._add_video(frame_size) if frame_size is not None else None
            self._audio = self._add_audio(audio_rate) if audio_rate is not None else None
        except (av.FFmpegError, OSError) as exc:
            raise ClipEncodeError(f"{self.path}: cannot create clip: {exc}") from exc
        self.size = frame_size
        self._fps = Fraction(cfg.fps).limit_denominator(1000)
        self._slot = 0  # next video output slot
        self._last: np.ndarray | None = None  # newest source frame, already at self.size
        self._sr = audio_rate or 0
        self._apos = 0  # next audio sample position (samples since t0)
        self._abuf = np.zeros(0, dtype=np.float32)  # [n] samples not yet encoded
        self._held: list[tuple[float, av.Packet]] = []
        self.frames_written = 0
        self.last_time = 0.0  # media time of the newest muxed packet

    # --- set-up -------------------------------------------------------------------------
    def _add_video(self, size: tuple[int, int]) -> av.VideoStream:
        cfg = self.config
        rate = Fraction(cfg.fps).limit_denominator(1000)
        try:
            stream = self._out.add_stream(cfg.video_codec, rate=rate)
            stream.options = {"preset": "veryfast", "tune": "zerolatency", "crf": str(cfg.crf)}
        except (av.FFmpegError, ValueError) as exc:
            log.info("codec %s unavailable (%s); using mpeg4", cfg.video_codec, exc)
            stream = self._out.add_stream("mpeg4", rate=rate)
            stream.options = {"bf": "0"}
        stream.width, stream.height = size
        stream.pix_fmt = "yuv420p"
        return stream

    def _add_audio(self, rate: int) -> av.AudioStream:
        stream = self._out.add_stream("aac", rate=rate)
        stream.layout = "mono"
        return stream

    @property
    def has_audio(self) -> bool:
        return self._audio is not None

    @property
    def has_video(self) -> bool:
        return self._video is not None

    # --- input --------------------------------------------------------------------------
    def add_frame(self, ts: float, img: np.ndarray) -> None:
        """A source frame captured at wall time ``ts`` (call in time order)."""
        if self._video is None or self.size is None:
            return
        due = self._slot_time(self._slot)
        if self._last is None and ts > due:  # video starts late: begin at this frame's slot
            self._slot = max(self._slot, int(math.ceil((ts - self.t0) * float(self._fps))))
        while self._last is not None and self._slot_time(self._slot) < ts:
            self._encode_video(self._last)
        self._last = fit_frame(img, self.size)

    def add_audio(self, samples: np.ndarray, start_ts: float) -> None:
        """Mono float32 samples [n] whose first sample was captured at ``start_ts``."""
        if self._audio is None or samples.size == 0:
            return
        pos = int(round((start_ts - self.t0) * self._sr))
        expected = self._apos + self._abuf.size
        x = samples.astype(np.float32, copy=False)
        if pos > expected:  # a gap (dropped blocks, or audio starting late): fill with silence
            x = np.concatenate([np.zeros(pos - expected, np.float32), x])
        elif pos < expected:  # overlap with what we already have (or before t0): skip it
            x = x[expected - pos:]
        if x.size:
            self._abuf = np.concatenate([self._abuf, x])
        while self._abuf.size >= AUDIO_FRAME:
            self._encode_audio(self._abuf[:AUDIO_FRAME])
            self._abuf = self._abuf[AUDIO_FRAME:]

    # --- output -------------------------------------------------------------------------
    def release(self, until: float) -> None:
        """Mux every held packet whose wall time is at most ``until``."""
        limit = until - self.t0
        keep = []
        for t, packet in sorted(self._held, key=lambda item: item[0]):
            if t <= limit + 1e-6:
                self._mux(packet, t)
            else:
                keep.append((t, packet))
        self._held = keep

    def close(self, end: float) -> float:
        """Encode up to ``end`` (wall time), mux what belongs to the clip, drop the rest;
        return the clip's duration in seconds."""
        try:
            if self._video is not None and self._last is not None:
                while self._slot_time(self._slot) <= end:
                    self._encode_video(self._last)
                self._collect(self._video.encode())
            if self._audio is not None:
                n_keep = max(0, int(round((end - self.t0) * self._sr)) - self._apos)
                tail = self._abuf[:n_keep]
                for s in range(0, tail.size, AUDIO_FRAME):
                    self._encode_audio(tail[s:s + AUDIO_FRAME])
                self._abuf = self._abuf[:0]
                self._collect(self._audio.encode())
            self.release(end + 0.5 / float(self._fps))
            self._held.clear()
            self._out.close()
        except (av.FFmpegError, OSError) as exc:
            raise ClipEncodeError(f"{self.path}: cannot finish clip: {exc}") from exc
        return max(0.0, min(end - self.t0, self.last_time + 1.0 / float(self._fps)))

    def abort(self) -> None:
        """Close without keeping anything (the file is removed)."""
        with contextlib.suppress(av.FFmpegError, OSError):
            self._out.close()
        self.path.unlink(missing_ok=True)

    # --- internals ----------------------------------------------------------------------
    def _slot_time(self, k: int) -> float:
        return self.t0 + k / float(self._fps)

    def _encode_video(self, img: np.ndarray) -> None:
        assert self._video is not None
        frame = av.VideoFrame.from_ndarray(img, format="rgb24")
        frame.pts, frame.time_base = self._slot, 1 / self._fps
        self._slot += 1
        self.frames_written += 1
        self._collect(self._video.encode(frame))

    def _encode_audio(self, block: np.ndarray) -> None:
        assert self._audio is not None
        frame = av.AudioFrame.from_ndarray(np.ascontiguousarray(block[None, :]), format="fltp",
                                           layout="mono")
        frame.sample_rate, frame.pts = self._sr, self._apos
        frame.time_base = Fraction(1, self._sr)
        self._apos += block.size
        self._collect(self._audio.encode(frame))

    def _collect(self, packets: list[av.Packet]) -> None:
        for packet in packets:
            if packet.pts is None or packet.time_base is None:
                continue
            self._held.append((float(packet.pts * packet.time_base), packet))

    def _mux(self, packet: av.Packet, t: float) -> None:
        self._out.mux(packet)
        self.last_time = max(self.last_time, t)
