"""FileSource / DemoSource: play media files into the rings at real time, like a live feed.

Accepts a video (with or without audio), an audio file, an image, or a folder of them (played
in name order; unreadable files are skipped with a message). Decoding happens on the source's
thread with ``purrsight_model.media`` (audio tracks and images, the same decode as training)
and a streaming PyAV frame reader for video (constant memory for long files). Frames and
audio blocks are pushed when their media time comes (``speed`` > 1 plays faster, for tests),
stamped ``wall_start + media_time / speed``.
"""

from __future__ import annotations

import logging
import math
import os
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import av
import numpy as np

from purrsight_app.capture.audio_ring import AudioRing
from purrsight_app.capture.frame_ring import FrameRing
from purrsight_app.capture.source import Source, SourceStatus, StatusCallback
from purrsight_model import media

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class FileSourceConfig:
    loop: bool = False
    """Start over after the last file instead of ending."""
    speed: float = 1.0
    """Playback speed (1 = real time)."""
    max_fps: float = 15.0
    """Video frames pushed per second at most (decimates high-fps files)."""
    image_seconds: float = 5.0
    """How long a still image is shown."""
    image_fps: float = 5.0
    """Re-push rate of a still image (keeps the overlay 'fresh')."""
    audio_block_seconds: float = 0.05
    """Audio is pushed in blocks of this length, like a microphone callback."""


def list_media(path: str | os.PathLike[str]) -> list[Path]:
    """The playable files of a file or folder (recursive, name order, hidden files skipped)."""
    p = Path(path)
    candidates = [p] if p.is_file() else sorted(
        f for f in p.rglob("*") if f.is_file() and not f.name.startswith(".")
    )
    out = []
    for f in candidates:
        try:
            media.media_kind(f)
        except media.MediaError:
            continue
        out.append(f)
    return out


def iter_video_frames(path: Path, max_fps: float) -> Iterator[tuple[float, np.ndarray]]:
    """Stream (seconds from first frame, RGB [H, W, 3] uint8), at most ``max_fps`` per second."""
    try:
        container = av.open(str(path))
    except (av.FFmpegError, OSError) as exc:
        raise media.MediaError(path, f"cannot open: {exc}") from exc
    with container:
        if not container.streams.video:
            raise media.MediaError(path, "no video stream")
        stream = container.streams.video[0]
        rate = float(stream.average_rate or 25)
        t0: float | None = None
        next_t, n = 0.0, 0
        for packet in container.demux(stream):
            try:
                decoded = packet.decode()
            except av.FFmpegError:
                continue  # damaged packet: the decoder resyncs on the next one
            for fr in decoded:
                t = float(fr.time) if fr.time is not None else n / rate
                n += 1
                t0 = t if t0 is None else t0
                if t - t0 + 1e-6 < next_t:
                    continue
                next_t = t - t0 + 1.0 / max_fps
                yield t - t0, fr.to_ndarray(format="rgb24")


class FileSource(Source):
    """Media file(s) -> FrameRing / AudioRing, paced at real time."""

    def __init__(
        self,
        path: str | os.PathLike[str],
        frames: FrameRing | None = None,
        audio: AudioRing | None = None,
        *,
        config: FileSourceConfig | None = None,
        name: str | None = None,
        clock: Callable[[], float] = time.time,
        on_status: StatusCallback | None = None,
    ) -> None:
        self.path = Path(path)
        super().__init__(name or self.path.name, on_status)
        self.frames = frames
        self.audio = audio
        self.has_video = frames is not None
        self.has_audio = audio is not None
        self.config = config or FileSourceConfig()
        self._clock = clock
        self.current_file: Path | None = None

    # --- decoding ----------------------------------------------------------------------
    def _audio_track(self, f: Path) -> np.ndarray | None:
        if self.audio is None:
            return None
        try:
            return media.load_audio(f, sr=self.audio.sample_rate)  # [T]
        except media.MediaError as exc:
            if media.media_kind(f) == "audio":
                raise
            log.info("%s: playing without audio (%s)", f, exc.reason)
            return None

    def _image_frames(self, f: Path) -> Iterator[tuple[float, np.ndarray]]:
        img = media.load_image(f)  # [H, W, 3]
        n = max(1, int(round(self.config.image_seconds * self.config.image_fps)))
        return ((i / self.config.image_fps, img) for i in range(n))

    def _tracks(self, f: Path) -> tuple[Iterator[tuple[float, np.ndarray]], np.ndarray | None]:
        kind = media.media_kind(f)
        if kind == "image":
            return (self._image_frames(f) if self.frames is not None else iter(())), None
        frames: Iterator[tuple[float, np.ndarray]] = iter(())
        if kind == "video" and self.frames is not None:
            frames = iter_video_frames(f, self.config.max_fps)
        return frames, self._audio_track(f)

    # --- playback ----------------------------------------------------------------------
    def _play(self, f: Path) -> None:
        """Push one file's frames and audio blocks in media-time order, paced."""
        frames, audio = self._tracks(f)
        sr = self.audio.sample_rate if self.audio is not None else 1
        block = max(1, int(sr * self.config.audio_block_seconds))
        n_audio = 0 if audio is None else audio.shape[0]
        start_mono, start_wall = time.monotonic(), self._clock()
        speed = self.config.speed

        def wait_until(t: float) -> bool:
            return not self._stop.wait(max(0.0, start_mono + t / speed - time.monotonic()))

        try:
            frame = next(frames, None)
            pos = 0
            while True:
                audio_due = min(pos + block, n_audio) / sr if pos < n_audio else math.inf
                frame_due = frame[0] if frame is not None else math.inf
                if math.isinf(audio_due) and math.isinf(frame_due):
                    return
                due = min(audio_due, frame_due)
                if not wait_until(due):
                    return
                if frame is not None and frame_due <= audio_due:
                    self.frames.push(frame[1], start_wall + due / speed)  # type: ignore[union-attr]
                    frame = next(frames, None)
                else:
                    end = min(pos + block, n_audio)
                    self.audio.write(audio[pos:end], start_wall + due / speed)  # type: ignore[index,union-attr]
                    pos = end
        finally:
            close = getattr(frames, "close", None)
            if close is not None:
                close()

    def _play_all(self, files: list[Path]) -> tuple[int, list[str]]:
        played, skipped = 0, []
        for f in files:
            if self._stop.is_set():
                break
            self.current_file = f
            try:
                self._play(f)
                played += 1
            except (media.MediaError, av.FFmpegError, OSError, ValueError) as exc:
                skipped.append(f"{f.name}: {exc}")
                log.warning("file source skipped %s: %s", f, exc)
                self._set_status(SourceStatus.RUNNING, f"skipped {f.name}: {exc}")
        return played, skipped

    def _run(self) -> None:
        files = list_media(self.path) if self.path.exists() else []
        if not files:
            why = "not found" if not self.path.exists() else "no playable media files"
            self._set_status(SourceStatus.ERROR, f"{self.path}: {why}")
            return
        self._set_status(SourceStatus.RUNNING)
        while not self._stop.is_set():
            lap_start = time.monotonic()
            played, skipped = self._play_all(files)
            if self._stop.is_set():
                return
            if played == 0:
                self._set_status(SourceStatus.ERROR, "nothing playable: " + "; ".join(skipped))
                return
            if not self.config.loop:
                note = f" ({len(skipped)} skipped)" if skipped else ""
                self._set_status(SourceStatus.ENDED, f"played {played} file(s){note}")
                return
            if time.monotonic() - lap_start < 0.1:  # nothing paced (e.g. no matching ring)
                self._stop.wait(0.5)


class DemoSource(FileSource):
    """A looping FileSource over the bundled demo folder (the app passes its path)."""

    def __init__(
        self,
        folder: str | os.PathLike[str],
        frames: FrameRing | None = None,
        audio: AudioRing | None = None,
        *,
        config: FileSourceConfig | None = None,
        on_status: StatusCallback | None = None,
    ) -> None:
        super().__init__(folder, frames, audio, config=config or FileSourceConfig(loop=True),
                         name="Demo", on_status=on_status)
