"""Synthetic media writers shared by the data tests (helpers only, no tests here)."""

from __future__ import annotations

from fractions import Fraction
from pathlib import Path

import av
import cv2
import numpy as np

CODEC = {".wav": "pcm_s16le", ".mp3": "libmp3lame", ".flac": "flac", ".m4a": "aac",
         ".ogg": "libopus"}
SAMPLE_FMT = {"pcm_s16le": "s16", "libmp3lame": "fltp", "flac": "s16", "aac": "fltp",
              "libopus": "flt"}


def tone(freq: float, sr: int, seconds: float, channels: int = 1, amp: float = 0.5) -> np.ndarray:
    """Sine tone, ``[channels, T]`` float32 (right channel phase-shifted)."""
    t = np.arange(int(round(sr * seconds))) / sr
    return np.stack([amp * np.sin(2 * np.pi * freq * t + c * 0.3) for c in range(channels)]
                    ).astype(np.float32)


def _audio_frames(signal: np.ndarray, sr: int, fmt: str, layout: str, frame_size: int):
    pts = 0
    for start in range(0, signal.shape[1], frame_size):
        chunk = signal[:, start:start + frame_size]  # [C, n]
        if fmt == "s16":
            data = (np.clip(chunk, -1, 1) * 32767).astype(np.int16).T.reshape(1, -1)
        elif fmt == "flt":
            data = np.ascontiguousarray(chunk.T.reshape(1, -1))
        else:
            data = np.ascontiguousarray(chunk)
        frame = av.AudioFrame.from_ndarray(data, format=fmt, layout=layout)
        frame.sample_rate = sr
        frame.pts = pts
        frame.time_base = Fraction(1, sr)
        pts += chunk.shape[1]
        yield frame


def write_audio(path: Path, signal: np.ndarray, sr: int) -> Path:
    """Encode ``[C, T]`` float audio with the codec implied by the extension."""
    codec = CODEC[path.suffix]
    fmt = SAMPLE_FMT[codec]
    layout = "mono" if signal.shape[0] == 1 else "stereo"
    with av.open(str(path), "w") as out:
        stream = out.add_stream(codec, rate=sr, layout=layout)
        stream.format = fmt
        size = stream.codec_context.frame_size or 1024
        for frame in _audio_frames(signal, sr, fmt, layout, size):
            for packet in stream.encode(frame):
                out.mux(packet)
        for packet in stream.encode(None):
            out.mux(packet)
    return path


def moving_square(i: int, size: int = 64) -> np.ndarray:
    """RGB frame with a white square whose x position encodes the frame index."""
    img = np.zeros((size, size, 3), np.uint8)
    img[..., 2] = 40
    x = (i * 4) % (size - 8)
    img[20:28, x:x + 8] = 255
    return img


def write_video(path: Path, seconds: float = 2.0, fps: int = 10, sr: int = 22050,
                with_audio: bool = True) -> Path:
    """MPEG-4 video of a moving square, plus a stereo 440 Hz tone when ``with_audio``."""
    with av.open(str(path), "w") as out:
        v = out.add_stream("mpeg4", rate=fps)
        v.width = v.height = 64
        v.pix_fmt = "yuv420p"
        a = out.add_stream("aac", rate=sr, layout="stereo") if with_audio else None
        if a is not None:
            a.format = "fltp"
        for i in range(int(seconds * fps)):
            frame = av.VideoFrame.from_ndarray(moving_square(i), format="rgb24")
            frame.pts = i
            for packet in v.encode(frame):
                out.mux(packet)
        for packet in v.encode(None):
            out.mux(packet)
        if a is not None:
            for frame in _audio_frames(tone(440, sr, seconds, 2), sr, "fltp", "stereo", 1024):
                for packet in a.encode(frame):
                    out.mux(packet)
            for packet in a.encode(None):
                out.mux(packet)
    return path


def write_image(path: Path, rgb: np.ndarray | None = None) -> Path:
    """Write an RGB image (default: a red/green/blue striped 48x32 picture)."""
    if rgb is None:
        rgb = np.zeros((32, 48, 3), np.uint8)
        rgb[:, :16, 0] = 255
        rgb[:, 16:32, 1] = 255
        rgb[:, 32:, 2] = 255
    ok = cv2.imwrite(str(path), cv2.cvtColor(rgb, cv2.COLOR_RGB2BGR))
    assert ok, path
    return path
