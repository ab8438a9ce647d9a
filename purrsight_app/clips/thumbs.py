"""Clip thumbnails: a small JPEG next to the clip (the labeling queue shows it).

Audio-only clips get a waveform picture instead of a frame, so every queue row has
something to recognise the clip by.
"""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np

from purrsight_app.capture import iter_video_frames
from purrsight_model import media

THUMB_SUFFIX = ".jpg"
_WAVE_BG = (32, 37, 43)  # RGB, the app's panel color
_WAVE_FG = (79, 195, 247)  # RGB, the app's accent color


class ThumbnailError(RuntimeError):
    """A thumbnail that could not be written (the message names the file)."""


def thumb_path_for(clip_path: Path) -> Path:
    """``clips/2024-05-01/abc.mp4`` -> ``clips/2024-05-01/abc.jpg``."""
    return clip_path.with_suffix(THUMB_SUFFIX)


def write_thumbnail(path: Path, rgb: np.ndarray, width: int = 160) -> Path:
    """Scale ``rgb`` [H, W, 3] uint8 to ``width`` wide and save it as JPEG."""
    h, w = rgb.shape[:2]
    height = max(2, int(round(h * width / max(w, 1))))
    small = cv2.resize(rgb, (width, height), interpolation=cv2.INTER_AREA)  # [h, w, 3]
    ok, data = cv2.imencode(".jpg", cv2.cvtColor(small, cv2.COLOR_RGB2BGR),
                            [cv2.IMWRITE_JPEG_QUALITY, 80])
    if not ok:
        raise ThumbnailError(f"{path}: cannot encode thumbnail")
    path.parent.mkdir(parents=True, exist_ok=True)
    try:
        path.write_bytes(data.tobytes())
    except OSError as exc:
        raise ThumbnailError(f"{path}: cannot write thumbnail: {exc}") from exc
    return path


def waveform_image(audio: np.ndarray, width: int = 160, height: int = 90) -> np.ndarray:
    """A min/max waveform picture of mono ``audio`` [n] as RGB [height, width, 3] uint8."""
    img = np.empty((height, width, 3), np.uint8)
    img[:] = _WAVE_BG
    if audio.size == 0:
        return img
    cols = np.array_split(np.clip(audio, -1.0, 1.0), width)  # width x [~n/width]
    peak = max(float(np.max(np.abs(audio))), 1e-3)
    mid = height / 2
    for x, col in enumerate(cols):
        if col.size == 0:
            continue
        top = int(mid - float(col.max()) / peak * (mid - 2))
        bottom = int(mid - float(col.min()) / peak * (mid - 2))
        img[max(0, top):min(height, bottom + 1), x] = _WAVE_FG
    return img


def first_frame(path: Path) -> np.ndarray:
    """The first decodable frame of a video, RGB [H, W, 3] (streams; never decodes it all)."""
    frames = iter_video_frames(path, max_fps=1.0)
    try:
        first = next(frames, None)
    finally:
        frames.close()
    if first is None:
        raise media.MediaError(path, "no decodable video frames")
    return first[1]


def thumbnail_for_media(path: Path, out: Path, width: int = 160) -> Path:
    """Thumbnail of any media file: first video frame, the image, or the audio's waveform.

    Raises ``media.MediaError`` for unreadable media, ``ThumbnailError`` when writing fails.
    """
    kind = media.media_kind(path)
    if kind == "image":
        rgb = media.load_image(path)
    elif kind == "video":
        rgb = first_frame(path)
    else:
        rgb = waveform_image(media.load_audio(path), width, max(2, width * 9 // 16))
    return write_thumbnail(out, rgb, width)
