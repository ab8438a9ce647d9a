"""Frames for INT8 calibration and for measuring what quantization costs.

Real frames beat synthetic ones by far (activation ranges of cat photos, not noise): give a
folder laid out like ``shared/data`` (its ``catfaces3`` photos are used) or any folder of
images/videos, or the frames themselves (e.g. from the owner's clips). Without any, smooth
random colour fields stand in, and the manifest says so.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from purrsight_model.frontends import preprocess_images

log = logging.getLogger(__name__)

IMAGE_EXTS = (".jpg", ".jpeg", ".png", ".bmp", ".webp")
VIDEO_EXTS = (".mp4", ".mov", ".avi", ".mkv", ".webm")


@dataclass(frozen=True)
class Calibration:
    """Preprocessed frames split into a calibration half and an evaluation half."""

    calibrate: np.ndarray  # [Nc, 3, 224, 224]
    evaluate: np.ndarray  # [Ne, 3, 224, 224]
    source: str  # what the frames are, for the manifest


def synthetic_frames(n: int, seed: int = 0) -> list[np.ndarray]:
    """Smooth random colour fields with mild noise: uint8 RGB [128, 160, 3]."""
    import cv2

    rng = np.random.default_rng(seed)
    out = []
    for _ in range(n):
        coarse = rng.integers(0, 256, (6, 8, 3)).astype(np.float32)
        img = cv2.resize(coarse, (160, 128), interpolation=cv2.INTER_CUBIC)
        img += rng.integers(-12, 13, img.shape).astype(np.float32)
        out.append(np.clip(img, 0, 255).astype(np.uint8))
    return out


def folder_frames(folder: Path, n: int) -> list[np.ndarray]:
    """Up to ``n`` frames from a data folder (catfaces3 photos first), spread evenly."""
    from purrsight_model.media import MediaError, load_image, load_video

    root = folder / "catfaces3" if (folder / "catfaces3").is_dir() else folder
    files = sorted(p for p in root.rglob("*") if p.suffix.lower() in IMAGE_EXTS + VIDEO_EXTS)
    if len(files) > n:
        files = [files[i] for i in np.linspace(0, len(files) - 1, n).round().astype(int)]
    frames: list[np.ndarray] = []
    for path in files:
        try:
            if path.suffix.lower() in IMAGE_EXTS:
                frames.append(load_image(path))
            else:
                frames.extend(load_video(path, fps=0.5, max_frames=2).frames)
        except MediaError as exc:
            log.warning("calibration: skipping %s (%s)", path, exc)
    return frames[:n]


def calibration_set(source: str | Path | Sequence[np.ndarray] | None, n: int = 64,
                    seed: int = 0) -> Calibration:
    """Frames from ``source`` (folder, frames, or None = synthetic), halved alternately."""
    if source is None:
        frames, what = synthetic_frames(n, seed), f"synthetic colour fields (n={n})"
    elif isinstance(source, str | Path):
        frames = folder_frames(Path(source), n)
        what = f"{len(frames)} frames from {source}"
        if len(frames) < 4:
            log.warning("calibration: only %d frames in %s, using synthetic", len(frames), source)
            frames, what = synthetic_frames(n, seed), f"synthetic (too few frames in {source})"
    else:
        frames, what = list(source)[:n], f"{min(len(source), n)} frames given by the caller"
    pixels = preprocess_images(frames)  # [N, 3, 224, 224]
    return Calibration(pixels[0::2], pixels[1::2], what)
