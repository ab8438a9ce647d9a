"""Decode a clip for the labeling player (call off the GUI thread; no Qt here).

The player needs small frames at a modest rate, the audio (for optional playback) and a
picture of the sound: a spectrogram strip with the waveform envelope under it, so an owner
without speakers (or on a Pi without a sound card) still sees the purr or the hiss. Frames
are scaled to ``max_width`` and capped at ``max_frames`` (long clips get a lower frame rate),
so a preview stays a few tens of MB at most.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import cv2
import numpy as np
from matplotlib import colormaps

from purrsight_app.capture import iter_video_frames
from purrsight_app.clips.probe import probe
from purrsight_model import media

SR = 16_000
_LUT = (colormaps["magma"](np.linspace(0.0, 1.0, 256))[:, :3] * 255).astype(np.uint8)  # [256, 3]
_BG = np.array([31, 37, 43], np.uint8)
QUIET_TOP_DB = 12.0
"""Brightest level of the colour scale at least this (dB of a Hann-windowed 512-point FFT
bin; a full-scale tone is ~42 dB): background noise then looks like background noise."""
_WAVE = np.array([79, 195, 247], np.uint8)


@dataclass
class Preview:
    path: Path
    kind: str
    duration: float
    frames: list[np.ndarray] = field(default_factory=list)  # each [h, w, 3] uint8 RGB
    times: np.ndarray = field(default_factory=lambda: np.zeros(0))  # [F] seconds
    audio: np.ndarray | None = None  # [n] float32 at SR
    strip: np.ndarray | None = None  # [H, W, 3] uint8 spectrogram + waveform

    def frame_at(self, t: float) -> np.ndarray | None:
        """The frame showing at time ``t`` (the newest with time <= t)."""
        if not self.frames:
            return None
        i = int(np.searchsorted(self.times, t, side="right")) - 1
        return self.frames[max(0, min(i, len(self.frames) - 1))]


def _scaled(img: np.ndarray, max_width: int) -> np.ndarray:
    h, w = img.shape[:2]
    if w <= max_width:
        return img
    size = (max_width, max(2, int(round(h * max_width / w))))
    return cv2.resize(img, size, interpolation=cv2.INTER_AREA)


def _video_frames(path: Path, duration: float, max_width: int, fps: float,
                  max_frames: int) -> tuple[list[np.ndarray], np.ndarray]:
    rate = min(fps, max_frames / duration) if duration > 0 else fps
    frames, times = [], []
    stream = iter_video_frames(path, max_fps=max(rate, 0.2))
    try:
        for t, img in stream:
            frames.append(_scaled(img, max_width))
            times.append(t)
            if len(frames) >= max_frames:
                break
    finally:
        stream.close()
    return frames, np.asarray(times, dtype=np.float64)


def spectrogram_strip(audio: np.ndarray | None, width: int = 640, height: int = 96,
                      wave_height: int = 24) -> np.ndarray:
    """RGB [height, width, 3]: log-spectrogram (0–8 kHz) above a waveform envelope."""
    img = np.empty((height, width, 3), np.uint8)
    img[:] = _BG
    if audio is None or audio.size < 64:
        return img
    spec_h = height - wave_height
    n_fft = 512
    hop = max(1, (audio.size - n_fft) // max(width - 1, 1)) if audio.size > n_fft else 1
    padded = np.pad(audio, (0, max(0, n_fft + hop * (width - 1) - audio.size)))
    idx = np.arange(width)[:, None] * hop + np.arange(n_fft)[None, :]  # [W, n_fft]
    frames = padded[idx] * np.hanning(n_fft)[None, :].astype(np.float32)
    mag = np.abs(np.fft.rfft(frames, axis=1))  # [W, n_fft/2 + 1]
    db = 20 * np.log10(mag + 1e-6)
    top = max(float(db.max()), QUIET_TOP_DB)  # a quiet clip stays dark, not auto-gained
    norm = np.clip((db - (top - 70.0)) / 70.0, 0.0, 1.0)  # 70 dB of range
    rows = cv2.resize(norm.T[::-1].astype(np.float32), (width, spec_h),
                      interpolation=cv2.INTER_AREA)  # [spec_h, W], high freqs on top
    img[:spec_h] = _LUT[(rows * 255).astype(np.uint8)]
    env = np.array([np.abs(c).max() if c.size else 0.0
                    for c in np.array_split(audio, width)])  # [W]
    env = env / max(float(env.max()), 1e-4)
    mid = spec_h + wave_height / 2
    for x, v in enumerate(env):
        half = max(1, int(v * (wave_height / 2 - 1)))
        img[int(mid - half):int(mid + half), x] = _WAVE
    return img


def load_preview(path: str | Path, *, max_width: int = 480, fps: float = 8.0,
                 max_frames: int = 240, strip_width: int = 640) -> Preview:
    """Decode ``path`` for the player; raises ``media.MediaError`` naming the file."""
    p = Path(path)
    info = probe(p)
    preview = Preview(p, info.kind, info.duration)
    if info.kind == "image":
        preview.frames = [_scaled(media.load_image(p), max_width)]
        preview.times = np.zeros(1)
    elif info.has_video:
        preview.frames, preview.times = _video_frames(p, info.duration, max_width, fps,
                                                      max_frames)
    if info.has_audio:
        try:
            preview.audio = media.load_audio(p, SR)
        except media.MediaError:
            preview.audio = None
    if preview.audio is not None:
        preview.duration = max(preview.duration, preview.audio.size / SR)
    if preview.times.size:
        preview.duration = max(preview.duration, float(preview.times[-1]))
    preview.strip = spectrogram_strip(preview.audio, strip_width)
    return preview
