"""ClipRecorder: event-triggered (and manual) clips with pre-roll, written off the GUI thread.

One worker thread drains the rings every ``poll_s``: video frames (``FrameRing.since``) are
decimated to the clip rate, scaled down and kept for ``buffer_s`` seconds — that rolling
buffer is the pre-roll; audio comes from the ``AudioRing`` (30 s deep) with ``read_since``.
When an event opens, a recording starts ``pre_roll_s`` before the event's first window and
streams into a ``ClipEncoder``; the tracker reports the end seconds later (after its gap),
so the encoder holds compressed packets and muxes only up to ``last cat window +
post_roll_s``. The finished clip becomes a ``ClipRecord`` (path relative to the data dir,
thumbnail, the model's prediction and its margin) on the store writer's queue.

Callers (analysis thread, GUI) only enqueue commands: nothing here blocks them.
"""

from __future__ import annotations

import logging
import queue
import threading
import time
from collections import deque
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

from purrsight_app.capture import AudioRing, FrameRing
from purrsight_app.clips.config import ClipConfig
from purrsight_app.clips.encoder import ClipEncodeError, ClipEncoder, even_size, fit_frame
from purrsight_app.clips.state import RecorderStats, Recording
from purrsight_app.clips.thumbs import ThumbnailError, thumb_path_for, write_thumbnail
from purrsight_app.paths import AppPaths
from purrsight_app.pipeline.protocols import RecordSink
from purrsight_app.storage import ClipRecord, new_id

log = logging.getLogger(__name__)

FRESH_S = 2.0
"""Input newer than this counts as live when a recording starts (picks video/audio)."""
AUDIO_SETTLE_S = 0.3
"""Wait this long past a clip's end for the last audio blocks before finishing it."""


class ClipRecorder:
    """See module docstring. ``start()`` the thread, ``close()`` to finish and stop."""

    def __init__(self, frames: FrameRing | None, audio: AudioRing | None, sink: RecordSink,
                 paths: AppPaths, *, config: ClipConfig | None = None, source_name: str = "",
                 clock: Callable[[], float] = time.time,
                 on_saved: Callable[[ClipRecord], None] | None = None,
                 on_error: Callable[[str], None] | None = None) -> None:
        self.frames, self.audio, self.sink, self.paths = frames, audio, sink, paths
        self.config = config or ClipConfig()
        self.source_name = source_name
        self._clock, self._on_saved, self._on_error = clock, on_saved, on_error
        self._commands: queue.SimpleQueue[tuple[str, tuple[Any, ...]]] = queue.SimpleQueue()
        self._buffer: deque[tuple[float, np.ndarray]] = deque()  # (ts, [h, w, 3]) pre-roll
        self._windows: deque[tuple[float, Any]] = deque()  # (ts, observation) pre-roll
        self._last_frame_ts = 0.0
        self._next_keep = 0.0
        self._last_audio_ts = 0.0
        self._rec: Recording | None = None
        self._stats = RecorderStats()
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._wake = threading.Event()
        self._thread: threading.Thread | None = None

    # --- caller side (never blocks) -----------------------------------------------------
    def start(self) -> None:
        if self._thread is None or not self._thread.is_alive():
            self._stop.clear()
            self._thread = threading.Thread(target=self._run, name="purrsight-clips",
                                            daemon=True)
            self._thread.start()

    def close(self, timeout: float = 10.0) -> None:
        """Finish the current recording (cut at the latest input) and stop the thread."""
        self._stop.set()
        self._wake.set()
        if self._thread is not None:
            self._thread.join(timeout)

    def event_started(self, event_id: str, start: float) -> None:
        self._send("started", event_id, start)

    def event_updated(self, event_id: str, ts: float, active: bool) -> None:
        if active:
            self._send("active", event_id, ts)

    def event_ended(self, event_id: str, end: float) -> None:
        self._send("ended", event_id, end)

    def window(self, ts: float, observation: Any) -> None:
        """One analysed window (its prediction counts for the clip it falls into)."""
        self._send("window", ts, observation)

    def manual_start(self) -> None:
        """Record now (with pre-roll) until ``manual_stop``."""
        self._send("manual_start", self._clock())

    def manual_stop(self) -> None:
        self._send("manual_stop", self._clock())

    def set_source(self, name: str) -> None:
        self._send("source", name)

    @property
    def recording(self) -> bool:
        return self._rec is not None

    @property
    def manual(self) -> bool:
        rec = self._rec
        return rec is not None and rec.manual

    @property
    def stats(self) -> RecorderStats:
        with self._lock:
            return self._stats

    def _send(self, name: str, *args: Any) -> None:
        self._commands.put((name, args))
        if name in ("started", "ended", "manual_start", "manual_stop"):
            self._wake.set()

    # --- worker -------------------------------------------------------------------------
    def _run(self) -> None:
        while not self._stop.is_set():
            self._tick()
            self._wake.wait(self.config.poll_s)
            self._wake.clear()
        self._tick()
        if self._rec is not None:
            rec = self._rec
            try:
                self._finish(rec, min(rec.end or self._clock(), self._latest_input()))
            except Exception as exc:  # noqa: BLE001 - shutting down: report, never raise
                log.exception("clip recorder failed while stopping")
                self._fail(f"clip recording failed: {exc}")

    def _tick(self) -> None:
        try:
            self._drain_commands()
            self._pull_frames()
            self._pull_audio()
            self._trim()
            self._advance()
        except Exception as exc:  # noqa: BLE001 - a clip bug must not kill the thread
            log.exception("clip recorder failed")
            if self._rec is not None:  # drop the broken recording, keep recording later ones
                self._rec.encoder.abort()
                self._rec = None
            self._fail(f"clip recording failed: {type(exc).__name__}: {exc}")

    def _drain_commands(self) -> None:
        while True:
            try:
                name, args = self._commands.get_nowait()
            except queue.Empty:
                return
            getattr(self, f"_on_{name}")(*args)

    # --- commands (worker thread) ------------------------------------------------------
    def _on_started(self, event_id: str, start: float) -> None:
        rec = self._rec or self._begin(start - self.config.pre_roll_s, start)
        if rec is None:
            return
        rec.events.add(event_id)
        rec.first_event = rec.first_event or event_id
        rec.end = None
        rec.last_active = max(rec.last_active, start)

    def _on_active(self, event_id: str, ts: float) -> None:
        rec = self._rec
        if rec is not None and event_id in rec.events:
            rec.last_active = max(rec.last_active, ts)

    def _on_ended(self, event_id: str, end: float) -> None:
        rec = self._rec
        if rec is None or event_id not in rec.events:
            return
        rec.events.discard(event_id)
        rec.last_active = max(rec.last_active, end)
        if not rec.events and not rec.manual:
            rec.end = rec.last_active + self.config.post_roll_s

    def _on_window(self, ts: float, obs: Any) -> None:
        self._windows.append((ts, obs))
        rec = self._rec
        if rec is not None and ts >= rec.t0:
            rec.tally.add(obs)

    def _on_manual_start(self, now: float) -> None:
        rec = self._rec or self._begin(now - self.config.pre_roll_s, now)
        if rec is not None:
            rec.manual, rec.end = True, None
            rec.last_active = max(rec.last_active, now)

    def _on_manual_stop(self, now: float) -> None:
        rec = self._rec
        if rec is None or not rec.manual:
            return
        rec.manual = False
        rec.last_active = max(rec.last_active, now)
        if not rec.events:
            rec.end = now

    def _on_source(self, name: str) -> None:
        self.source_name = name

    # --- recording lifecycle ----------------------------------------------------------
    def _begin(self, wanted_t0: float, thumb_after: float,
               carry: Recording | None = None) -> Recording | None:
        now = self._clock()
        t0 = max(wanted_t0, self._oldest_input(now))
        fresh_video = bool(self._buffer) and now - self._buffer[-1][0] <= FRESH_S
        fresh_audio = self.audio is not None and now - self.audio.end_ts <= FRESH_S
        if not (fresh_video or fresh_audio):
            log.info("no live video or audio: nothing to record")
            return None
        size = None
        if fresh_video:
            h, w = self._buffer[-1][1].shape[:2]
            size = (w, h)
        suffix = ".mp4" if fresh_video else ".m4a"
        rec_id = new_id()
        path = self.paths.clip_dir_for(t0) / (
            time.strftime("%H%M%S", time.localtime(t0)) + f"-{rec_id[:8]}{suffix}")
        try:
            enc = ClipEncoder(path, t0, frame_size=size,
                              audio_rate=self.audio.sample_rate if fresh_audio else None,
                              config=self.config)
        except ClipEncodeError as exc:
            self._fail(str(exc))
            return None
        rec = Recording(t0=t0, encoder=enc, path=path, id=rec_id, thumb_after=thumb_after)
        if carry is not None:
            rec.events, rec.first_event, rec.manual = set(carry.events), carry.first_event, \
                carry.manual
        self._rec = rec
        self._feed_preroll(rec)
        return rec

    def _feed_preroll(self, rec: Recording) -> None:
        for ts, img in self._buffer:
            if ts >= rec.t0:
                self._add_frame(rec, ts, img)
        for ts, obs in self._windows:
            if ts >= rec.t0:
                rec.tally.add(obs)
        if self.audio is not None and rec.encoder.has_audio:
            samples, first = self.audio.read_since(rec.t0)
            rec.encoder.add_audio(samples, first)

    def _advance(self) -> None:
        rec = self._rec
        if rec is None:
            return
        now = self._clock()
        if rec.end is None and now - rec.t0 >= self.config.max_clip_s:
            self._finish(rec, now)
            self._begin(now, now, carry=rec)
            return
        bound = now if rec.manual else rec.last_active + self.config.post_roll_s
        if rec.end is not None:
            bound = min(bound, rec.end)
        rec.encoder.release(bound)
        if rec.end is not None and now >= rec.end + AUDIO_SETTLE_S:
            self._finish(rec, rec.end)

    def _finish(self, rec: Recording, end: float) -> None:
        self._rec = None
        try:
            duration = rec.encoder.close(end)
        except ClipEncodeError as exc:
            rec.encoder.abort()
            self._fail(str(exc))
            return
        if duration < self.config.min_clip_s:
            rec.path.unlink(missing_ok=True)
            self._bump(dropped=1)
            return
        self._store(rec, duration)

    def _store(self, rec: Recording, duration: float) -> None:
        thumb_rel = None
        if rec.thumb is None and self._buffer:
            rec.thumb = self._buffer[-1][1]
        if rec.thumb is not None:
            try:
                thumb = write_thumbnail(thumb_path_for(rec.path), rec.thumb,
                                        self.config.thumb_width)
                thumb_rel = self._relative(thumb)
            except ThumbnailError as exc:
                log.warning("%s", exc)
        record = ClipRecord(
            path=self._relative(rec.path), ts=rec.t0, source=self.source_name,
            duration=round(duration, 3), thumbnail_path=thumb_rel,
            prediction=rec.tally.prediction(), uncertainty=rec.tally.uncertainty(),
            event_id=rec.first_event, id=rec.id,
        )
        self.sink.put(record)
        self._bump(saved=1, last_clip=record.path)
        if self._on_saved is not None:
            self._on_saved(record)

    # --- ring input -------------------------------------------------------------------
    def _pull_frames(self) -> None:
        if self.frames is None:
            return
        cfg = self.config
        rec = self._rec
        for frame in self.frames.since(self._last_frame_ts):
            self._last_frame_ts = frame.ts
            if frame.ts < self._next_keep:
                continue
            self._next_keep = frame.ts + 0.9 / cfg.fps
            h, w = frame.image.shape[:2]
            img = fit_frame(frame.image, even_size(w, h, cfg.max_width))  # [h, w, 3]
            self._buffer.append((frame.ts, img))
            if rec is not None:
                self._add_frame(rec, frame.ts, img)

    @staticmethod
    def _add_frame(rec: Recording, ts: float, img: np.ndarray) -> None:
        rec.encoder.add_frame(ts, img)
        if rec.thumb is None and ts >= rec.thumb_after:
            rec.thumb = img

    def _trim(self) -> None:
        """Forget pre-roll older than ``buffer_s`` (bounded memory)."""
        horizon = self._clock() - self.config.buffer_s
        while self._buffer and self._buffer[0][0] < horizon:
            self._buffer.popleft()
        while self._windows and self._windows[0][0] < horizon:
            self._windows.popleft()

    def _pull_audio(self) -> None:
        if self.audio is None:
            return
        samples, first = self.audio.read_since(self._last_audio_ts)
        if samples.size == 0:
            return
        self._last_audio_ts = first + samples.size / self.audio.sample_rate
        rec = self._rec
        if rec is not None:
            rec.encoder.add_audio(samples, first)

    def _oldest_input(self, now: float) -> float:
        """Earliest time still held in memory (a clip cannot start before it)."""
        times = [self._buffer[0][0]] if self._buffer else []
        if self.audio is not None and self.audio.available:
            times.append(self.audio.end_ts - self.audio.available / self.audio.sample_rate)
        return min(times) if times else now

    def _latest_input(self) -> float:
        times = [self._buffer[-1][0]] if self._buffer else []
        if self.audio is not None and self.audio.end_ts > 0:
            times.append(self.audio.end_ts)
        return max(times) if times else self._clock()

    # --- bookkeeping ------------------------------------------------------------------
    def _relative(self, path: Path) -> str:
        try:
            return str(path.relative_to(self.paths.data_dir))
        except ValueError:
            return str(path)

    def _bump(self, **changes: Any) -> None:
        with self._lock:
            s = self._stats
            values = {k: (getattr(s, k) + v if isinstance(v, int) else v)
                      for k, v in changes.items()}
            self._stats = RecorderStats(**{**s.__dict__, **values})

    def _fail(self, message: str) -> None:
        log.warning("%s", message)
        self._bump(errors=1, last_error=message)
        if self._on_error is not None:
            try:
                self._on_error(message)
            except Exception:  # noqa: BLE001
                log.exception("clip error callback failed")
