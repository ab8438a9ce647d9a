"""Run the frozen encoders once per media file and caption, filling a ``FeatureCache``.

Training epochs then read small arrays instead of decoding MP3s and running backbones
again. Decoding (PyAV/OpenCV, resampling) runs in a thread pool ahead of the encoders,
which run in the calling thread (they are multi-threaded themselves; two cores here).
Everything already cached is skipped after a content hash, so a re-run is near-instant and
an interrupted run resumes where it stopped. Unreadable media is counted and reported per
file; it never aborts the run. A broken encoder (``EncoderError``) does, since every file
would fail.
"""

from __future__ import annotations

import logging
import time
from collections import Counter, deque
from collections.abc import Callable, Iterable, Iterator, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
from tqdm import tqdm

from purrsight_model.data.feature_store import FeatureCache
from purrsight_model.data.jsonl import Row
from purrsight_model.encoders.base import (
    AudioEncoder,
    AudioFeatures,
    ImageEncoder,
    ImageFeatures,
    TextEncoder,
)
from purrsight_model.media import MediaError, load_audio, load_image, load_video

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class FeatureConfig:
    """How media is sampled and how the work is spread."""

    fps: float = 2.0
    """Video frames sampled per second."""
    max_frames: int | None = 64
    """Cap on sampled frames per video (32 s at 2 fps); None = no cap."""
    workers: int = 2
    """Decoding threads; 0 decodes in the calling thread."""
    image_batch: int = 32
    """Still images per image-encoder call."""
    text_batch: int = 64
    """Captions per text-encoder call."""


@dataclass
class FeatureRun:
    """What a run did: per-kind counts, per-file errors and wall time."""

    computed: Counter[str] = field(default_factory=Counter)
    cached: Counter[str] = field(default_factory=Counter)
    errors: list[tuple[str, str]] = field(default_factory=list)  # (path, reason)
    seconds: float = 0.0


@dataclass
class _Decoded:
    kind: str
    path: Path
    sha: str | None = None
    data: Any = None  # np.ndarray (image/audio) or VideoClip
    cached: bool = False
    error: str | None = None


class _Worker:
    """Hash, check the cache, decode: everything per file that can run off the main thread."""

    def __init__(self, cache: FeatureCache, cfg: FeatureConfig, sr: int) -> None:
        self.cache, self.cfg, self.sr = cache, cfg, sr

    def is_cached(self, kind: str, sha: str) -> bool:
        c = self.cache
        if kind == "image":
            return c.image_path(sha).is_file()
        audio_ok = c.audio_version is None or c.audio_path(sha).is_file()
        if kind == "audio":
            return audio_ok
        return audio_ok and (c.image_version is None or c.video_path(sha).is_file())

    def __call__(self, kind: str, path: Path) -> _Decoded:
        out = _Decoded(kind, path)
        try:
            out.sha = self.cache.sha(path)
            if self.is_cached(kind, out.sha):
                out.cached = True
            elif kind == "image":
                out.data = load_image(path)
            elif kind == "audio":
                out.data = load_audio(path, self.sr)
            else:
                out.data = load_video(path, self.cfg.fps, self.cfg.max_frames, self.sr)
        except OSError as exc:
            out.error = f"{path}: cannot read: {exc.strerror or exc}"
        except MediaError as exc:
            out.error = str(exc)
        return out


def _prefetch(jobs: Sequence[tuple[str, Path]], fn: Callable[[str, Path], _Decoded],
              workers: int) -> Iterator[_Decoded]:
    """Results in job order, with at most ``4 * workers`` decoded files waiting in memory."""
    if workers <= 0:
        yield from (fn(*job) for job in jobs)
        return
    ex = ThreadPoolExecutor(workers, thread_name_prefix="decode")
    pending: deque[Future[_Decoded]] = deque()
    it = iter(jobs)
    try:
        for job in it:
            pending.append(ex.submit(fn, *job))
            if len(pending) >= 4 * workers:
                yield pending.popleft().result()
        while pending:
            yield pending.popleft().result()
    finally:
        ex.shutdown(wait=True, cancel_futures=True)


class _Encoder:
    """Main-thread side: batches still images, encodes, writes entries."""

    def __init__(self, cache: FeatureCache, image: ImageEncoder | None,
                 audio: AudioEncoder | None, cfg: FeatureConfig, run: FeatureRun) -> None:
        self.cache, self.image, self.audio, self.cfg, self.run = cache, image, audio, cfg, run
        self.pending: list[_Decoded] = []

    def add(self, item: _Decoded) -> None:
        try:
            if item.kind == "image":
                self.pending.append(item)
                if len(self.pending) >= self.cfg.image_batch:
                    self.flush()
                return
            if item.kind == "audio":
                self.cache.put_audio(item.sha, self.audio.encode(item.data))
            else:
                self._video(item)
            self.run.computed[item.kind] += 1
        except (MediaError, ValueError) as exc:
            self.run.errors.append((str(item.path), f"{item.path}: encoder rejected it: {exc}"))

    def _video(self, item: _Decoded) -> None:
        clip = item.data
        if self.cache.audio_version is not None:
            dim = self.audio.dim
            feats = (self.audio.encode(clip.audio) if clip.audio is not None else
                     AudioFeatures(np.zeros((0, dim), np.float32), None))  # marker: no track
            self.cache.put_audio(item.sha, feats)
        if self.cache.image_version is not None:
            frames = self.image.encode(list(clip.frames))  # embedding [F, D]
            self.cache.put_video_frames(item.sha, frames, clip.frame_times)

    def flush(self) -> None:
        batch, self.pending = self.pending, []
        if not batch:
            return
        try:
            feats = self.image.encode([b.data for b in batch])  # embedding [B, D]
        except ValueError as exc:
            if len(batch) == 1:
                self.run.errors.append((str(batch[0].path),
                                        f"{batch[0].path}: encoder rejected it: {exc}"))
                return
            for b in batch:  # isolate the image the encoder rejects
                self.pending = [b]
                self.flush()
            return
        for i, b in enumerate(batch):
            self.cache.put_image(b.sha, ImageFeatures(feats.embedding[i:i + 1],
                                                      feats.cat_score[i:i + 1], None))
            self.run.computed["image"] += 1


def media_jobs(rows: Iterable[Row], image: bool, audio: bool) -> list[tuple[str, Path]]:
    """Unique (kind, path) pairs the available encoders can handle, in first-seen order."""
    wanted = {"image": image, "audio": audio, "video": image or audio}
    seen: dict[tuple[str, Path], None] = {}
    for row in rows:
        for kind, path in row.media.items():
            if wanted[kind]:
                seen.setdefault((kind, path), None)
    return list(seen)


def _encode_texts(texts: Iterable[str], cache: FeatureCache, enc: TextEncoder,
                  cfg: FeatureConfig, run: FeatureRun, progress: bool) -> None:
    todo = [t for t in dict.fromkeys(texts) if not cache.text_path(t).is_file()]
    run.cached["text"] += len(set(texts)) - len(todo)
    for start in tqdm(range(0, len(todo), cfg.text_batch), desc="captions", unit="batch",
                      disable=not progress or not todo):
        chunk = todo[start:start + cfg.text_batch]
        vectors = enc.encode(chunk)  # [B, D]
        for text, vec in zip(chunk, vectors, strict=True):
            cache.put_text(text, vec)
        run.computed["text"] += len(chunk)


def build_cache(rows: Sequence[Row], root: str | Path, *, image: ImageEncoder | None = None,
                audio: AudioEncoder | None = None, text: TextEncoder | None = None,
                cfg: FeatureConfig = FeatureConfig(), progress: bool = True) -> FeatureRun:
    """Compute every missing feature for ``rows`` into the cache at ``root``."""
    t0 = time.perf_counter()
    cache = FeatureCache(root, image.version if image else None,
                         audio.version if audio else None, text.version if text else None,
                         fps=cfg.fps)
    cache.write_meta({k: e.dim for k, e in (("image", image), ("audio", audio), ("text", text))
                      if e is not None})
    run = FeatureRun()
    jobs = media_jobs(rows, image is not None, audio is not None)
    worker = _Worker(cache, cfg, audio.sample_rate if audio else 16000)
    encoder = _Encoder(cache, image, audio, cfg, run)
    done: set[tuple[str, str]] = set()
    for item in tqdm(_prefetch(jobs, worker, cfg.workers), total=len(jobs), desc="media",
                     unit="file", disable=not progress):
        if item.error is not None:
            log.warning("%s", item.error)
            run.errors.append((str(item.path), item.error))
        elif item.cached or (item.kind, item.sha) in done:
            run.cached[item.kind] += 1
        else:
            done.add((item.kind, item.sha))
            encoder.add(item)
    encoder.flush()
    if text is not None:
        _encode_texts([r.text for r in rows], cache, text, cfg, run, progress)
    run.seconds = time.perf_counter() - t0
    return run
