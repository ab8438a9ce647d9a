"""Cheap facts about a media file (kind, duration, which tracks) without decoding it."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import av

from purrsight_model import media


@dataclass(frozen=True)
class MediaInfo:
    kind: str
    """"video" | "audio" | "image" (by extension, as ``purrsight_model.media`` sees it)."""
    duration: float
    """Seconds (0 for images or when the container does not say)."""
    has_video: bool
    has_audio: bool

    @property
    def modalities(self) -> tuple[str, ...]:
        """Report modalities this file can evidence."""
        return tuple(m for m, ok in (("image", self.has_video), ("audio", self.has_audio)) if ok)


def probe(path: str | Path) -> MediaInfo:
    """Read the container header; raises ``media.MediaError`` naming the file."""
    p = Path(path)
    kind = media.media_kind(p)
    if not p.is_file():
        raise media.MediaError(p, "file not found")
    if kind == "image":
        return MediaInfo("image", 0.0, True, False)
    try:
        with av.open(str(p)) as container:
            duration = container.duration / 1e6 if container.duration else 0.0
            has_video = kind == "video" and bool(container.streams.video)
            has_audio = bool(container.streams.audio)
            if not duration:
                streams = [s for s in container.streams if s.duration and s.time_base]
                duration = max((float(s.duration * s.time_base) for s in streams), default=0.0)
    except (av.FFmpegError, OSError, UnicodeDecodeError) as exc:
        raise media.MediaError(p, f"cannot open: {exc}") from exc
    if not (has_video or has_audio):
        raise media.MediaError(p, "no audio or video stream")
    return MediaInfo(kind, float(duration), has_video, has_audio)
