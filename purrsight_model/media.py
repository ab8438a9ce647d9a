"""Decode audio, image and video files to numpy arrays, with one clear error type.

Training, the feature cache, the app's file source and evaluation all read media through
these four functions, so every caller sees the same mono 16 kHz float audio, the same RGB
uint8 frames and a ``MediaError`` naming the file for anything unreadable. PyAV (bundled
FFmpeg) decodes audio and video; OpenCV decodes still images. numpy + av + cv2 only: the
runtime imports this module, so no torch here.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

import av
import cv2
import numpy as np

from purrsight_model.frontends import resample

log = logging.getLogger(__name__)

AUDIO_EXTS = frozenset({".wav", ".mp3", ".ogg", ".oga", ".flac", ".m4a", ".aac", ".opus"})
IMAGE_EXTS = frozenset({".jpg", ".jpeg", ".png", ".bmp", ".webp"})
VIDEO_EXTS = frozenset({".mp4", ".mov", ".avi", ".mkv", ".webm", ".m4v"})

MediaKind = Literal["audio", "image", "video"]


class MediaError(ValueError):
    """A media file that is missing, empty, corrupt or of an unsupported type."""

    def __init__(self, path: str | os.PathLike[str], reason: str) -> None:
        self.path = str(path)
        self.reason = reason
        super().__init__(f"{self.path}: {reason}")


@dataclass
class VideoClip:
    """Frames sampled at a fixed rate plus the clip's audio track (if any)."""

    frames: np.ndarray  # [F, H, W, 3] uint8 RGB
    frame_times: np.ndarray  # [F] float64 seconds from the clip start
    audio: np.ndarray | None  # [T] float32 mono at the requested rate, None without a track
    duration: float  # seconds


def media_kind(path: str | os.PathLike[str]) -> MediaKind:
    """Classify a file by extension; anything else is a ``MediaError``."""
    ext = Path(path).suffix.lower()
    if ext in AUDIO_EXTS:
        return "audio"
    if ext in IMAGE_EXTS:
        return "image"
    if ext in VIDEO_EXTS:
        return "video"
    raise MediaError(path, f"unsupported file type {ext or '(no extension)'!r}")


def _check_file(path: str | os.PathLike[str]) -> Path:
    """Fail early with a precise reason instead of FFmpeg's generic one."""
    p = Path(path)
    if not p.exists():
        raise MediaError(p, "file not found")
    if not p.is_file():
        raise MediaError(p, "not a regular file")
    if p.stat().st_size == 0:
        raise MediaError(p, "empty file")
    return p


def _open(p: Path) -> av.container.InputContainer:
    try:
        return av.open(str(p), mode="r")
    except (av.FFmpegError, OSError, UnicodeDecodeError) as exc:
        raise MediaError(p, f"cannot open: {exc}") from exc


def _decode_packets(container: av.container.InputContainer, streams: list) -> Iterator:
    """Yield decoded frames, skipping packets the decoder rejects.

    Real files carry damaged frames (e.g. an MP3 with a bad header near its end); the
    decoder resyncs on the next packet, so we keep everything that decodes.
    """
    try:
        packets = container.demux(streams)
        for packet in packets:
            try:
                yield from packet.decode()
            except av.FFmpegError as exc:
                log.debug("%s: skipped a damaged packet: %s", container.name, exc)
    except av.FFmpegError as exc:  # demuxer gave up mid-file: keep what decoded so far
        log.debug("%s: demuxing stopped early: %s", container.name, exc)


class _AudioCollector:
    """Accumulates decoded audio frames as float32 mono at the stream's native rate."""

    def __init__(self) -> None:
        self.chunks: list[np.ndarray] = []
        self.rate: int | None = None
        self._resampler: av.AudioResampler | None = None

    def add(self, frame: av.AudioFrame) -> None:
        if self._resampler is None:
            self.rate = frame.sample_rate
            # Format conversion only (float planar, same layout and rate); resampling is
            # done by frontends.resample so training and runtime share one implementation.
            self._resampler = av.AudioResampler(format="fltp", rate=self.rate)
        for out in self._resampler.resample(frame):
            planes = out.to_ndarray()  # [C, T] float32
            self.chunks.append(planes.mean(axis=0, dtype=np.float32))

    def finish(self, path: Path, sr: int) -> np.ndarray | None:
        if not self.chunks or self.rate is None:
            return None
        if self._resampler is not None:
            for out in self._resampler.resample(None):
                self.chunks.append(out.to_ndarray().mean(axis=0, dtype=np.float32))
        mono = np.concatenate(self.chunks)  # [T]
        if mono.size == 0:
            return None
        if not np.all(np.isfinite(mono)):
            raise MediaError(path, "audio contains NaN or infinite samples")
        mono = np.clip(mono, -1.0, 1.0)
        if self.rate != sr:
            mono = resample(mono, self.rate, sr)
        return np.ascontiguousarray(mono, dtype=np.float32)


def load_audio(path: str | os.PathLike[str], sr: int = 16000) -> np.ndarray:
    """Decode the first audio stream of an audio or video file to mono float32 at ``sr``.

    Returns ``[T]`` float32 in [-1, 1]. Any channel count or rate is accepted; channels are
    averaged. A clip shorter than a second is fine; a file with no decodable samples is not.
    """
    p = _check_file(path)
    media_kind(p)
    with _open(p) as container:
        if not container.streams.audio:
            raise MediaError(p, "no audio stream")
        stream = container.streams.audio[0]
        collector = _AudioCollector()
        for frame in _decode_packets(container, [stream]):
            collector.add(frame)
        audio = collector.finish(p, sr)
    if audio is None:
        raise MediaError(p, "no decodable audio samples")
    return audio


def load_image(path: str | os.PathLike[str]) -> np.ndarray:
    """Decode a still image to ``[H, W, 3]`` uint8 RGB (alpha dropped, EXIF rotation applied)."""
    p = _check_file(path)
    if media_kind(p) != "image":
        raise MediaError(p, "not an image file")
    # imdecode from bytes: unlike imread it handles non-ASCII paths.
    data = np.fromfile(p, dtype=np.uint8)
    bgr = cv2.imdecode(data, cv2.IMREAD_COLOR)
    if bgr is None or bgr.size == 0:
        raise MediaError(p, "corrupt or unsupported image data")
    return np.ascontiguousarray(cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB))


def _frame_time(frame: av.VideoFrame, fallback: float) -> float:
    return float(frame.time) if frame.time is not None else fallback


def load_video(
    path: str | os.PathLike[str],
    fps: float = 2.0,
    max_frames: int | None = None,
    sr: int = 16000,
) -> VideoClip:
    """Decode a video: frames sampled every ``1/fps`` s (first frame included) plus its audio.

    Decodes sequentially without seeking (clips are short); frames are picked when their
    timestamp reaches the next sampling instant, so the kept frames are evenly spaced.
    """
    if fps <= 0:
        raise ValueError("fps must be positive")
    p = _check_file(path)
    if media_kind(p) != "video":
        raise MediaError(p, "not a video file")
    frames: list[np.ndarray] = []
    times: list[float] = []
    with _open(p) as container:
        if not container.streams.video:
            raise MediaError(p, "no video stream")
        streams = [container.streams.video[0], *container.streams.audio[:1]]
        collector = _AudioCollector()
        start: float | None = None
        next_t = 0.0
        last_t = 0.0
        n_seen = 0
        for frame in _decode_packets(container, streams):
            if isinstance(frame, av.AudioFrame):
                collector.add(frame)
                continue
            t = _frame_time(frame, n_seen / fps)
            n_seen += 1
            start = t if start is None else start
            last_t = t - start
            if last_t + 1e-6 >= next_t and (max_frames is None or len(frames) < max_frames):
                frames.append(frame.to_ndarray(format="rgb24"))  # [H, W, 3]
                times.append(last_t)
                next_t = (np.floor(last_t * fps + 1e-6) + 1.0) / fps
        container_duration = container.duration / 1e6 if container.duration else 0.0
        audio = collector.finish(p, sr)
    if not frames:
        raise MediaError(p, "no decodable video frames")
    duration = max(container_duration, last_t, 0.0 if audio is None else audio.size / sr)
    return VideoClip(
        frames=np.stack(frames),
        frame_times=np.asarray(times, dtype=np.float64),
        audio=audio,
        duration=float(duration),
    )
