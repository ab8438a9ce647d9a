"""How clips are recorded: pre-roll, post-roll, length limits, output size and codecs."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class ClipConfig:
    """Recording choices (defaults suit a Raspberry Pi 5 with a 640x480 camera)."""

    pre_roll_s: float = 5.0
    """Seconds before the event's first window that a clip starts with."""
    post_roll_s: float = 2.0
    """Seconds after the event's last cat window that a clip keeps."""
    buffer_extra_s: float = 3.0
    """Pre-roll memory beyond ``pre_roll_s``: an event is only confirmed after the tracker's
    ``min_duration_s`` (plus a poll), so the buffer must reach back that much further."""
    max_clip_s: float = 120.0
    """Longer recordings are closed and continue in a new clip (bounded files)."""
    fps: float = 10.0
    """Video frames per second written (constant frame rate; the source is resampled)."""
    max_width: int = 640
    """Frames wider than this are scaled down before they are buffered (memory, file size)."""
    poll_s: float = 0.2
    """How often the recorder drains the rings. The FrameRing must hold more than this much
    video (48 frames = 1.6 s at 30 fps), or frames are missed."""
    video_codec: str = "libx264"
    """Tried first; ``mpeg4`` is the fallback when the FFmpeg build lacks it."""
    crf: int = 28
    """x264 quality (higher = smaller files; 28 keeps a cat recognisable at ~100 kB/s)."""
    thumb_width: int = 160
    """Thumbnail width in pixels (JPEG next to the clip)."""
    min_clip_s: float = 0.5
    """Recordings shorter than this are dropped (a glitch, not a clip)."""

    @property
    def buffer_s(self) -> float:
        """Seconds of video the recorder keeps in memory while idle."""
        return self.pre_roll_s + self.buffer_extra_s
