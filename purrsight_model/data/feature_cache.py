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

import itertools
import json
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

from purrsight_model.data.augment import (
    AugmentConfig,
    augment_audio,
    augment_frames,
    augment_image,
    copy_rng,
)
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

    def has_entry(self, kind: str, sha: str, variant: str | None = None) -> bool:
        c = self.cache
        if kind == "image":
            return c.image_path(sha, variant).is_file()
        audio_ok = c.audio_version is None or c.audio_path(sha, variant).is_file()
        if kind == "audio":
            return audio_ok
        return audio_ok and (c.image_version is None or c.video_path(sha, variant).is_file())

    def is_cached(self, kind: str, sha: str) -> bool:
        return self.has_entry(kind, sha)

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


# --- augmented copies (data.augment) --------------------------------------------------------

#: Rows whose media get augmented copies: training rows (no split counts as training).
AUGMENT_SPLITS = ("train", None)
#: Partner clips kept decoded per label group for mixing (bounds memory on big groups).
MIX_POOL = 48


def partner_key(row: Row) -> str:
    """Rows with equal keys carry the same labels, so mixing them keeps the labels true."""
    labels = {k: v for k, v in row.labels.items() if v != "unknown"}
    return json.dumps([sorted(labels.items()), sorted(row.tasks.items())])


class _AugWorker(_Worker):
    """Like ``_Worker``, but a file counts as cached only when every copy exists."""

    def __init__(self, cache: FeatureCache, cfg: FeatureConfig, sr: int,
                 aug: AugmentConfig) -> None:
        super().__init__(cache, cfg, sr)
        self.aug = aug

    def is_cached(self, kind: str, sha: str) -> bool:
        return all(self.has_entry(kind, sha, self.aug.variant(k))
                   for k in range(1, self.aug.copies_for(kind) + 1))


class _AugEncoder:
    """Draws the missing copies of one decoded file, encodes and stores them."""

    def __init__(self, worker: _AugWorker, image: ImageEncoder | None,
                 audio: AudioEncoder | None, aug: AugmentConfig, run: FeatureRun) -> None:
        self.worker, self.image, self.audio, self.aug, self.run = worker, image, audio, aug, run
        self.cache = worker.cache

    def add(self, item: _Decoded, pool: list[tuple[str, np.ndarray]]) -> None:
        """Store every missing copy of ``item``; ``pool`` = (sha, waveform) mixing partners."""
        for k in range(1, self.aug.copies_for(item.kind) + 1):
            variant = self.aug.variant(k)
            if self.worker.has_entry(item.kind, item.sha, variant):
                continue
            rng = copy_rng(self.aug, item.sha, k)
            try:
                if item.kind == "image":
                    view = augment_image(item.data, rng, self.aug)
                    feats = self.image.encode([view])
                    self.cache.put_image(item.sha, ImageFeatures(
                        feats.embedding[:1], feats.cat_score[:1], None), variant)
                elif item.kind == "audio":
                    partner = self._partner(item.sha, k, pool)
                    wave = augment_audio(item.data, rng, self.aug, partner)
                    self.cache.put_audio(item.sha, self.audio.encode(wave), variant)
                else:
                    self._video(item, rng, variant)
            except (MediaError, ValueError) as exc:
                self.run.errors.append((str(item.path), f"{item.path}: augmented copy {k} "
                                                        f"rejected: {exc}"))
                return
            self.run.computed[f"{item.kind}+aug"] += 1

    def _partner(self, sha: str, k: int, pool: list[tuple[str, np.ndarray]]
                 ) -> np.ndarray | None:
        others = [w for s, w in pool if s != sha]
        if not others:
            return None
        pick = np.random.default_rng([self.aug.seed, int(sha[:15], 16), k, 1])
        return others[int(pick.integers(len(others)))]

    def _video(self, item: _Decoded, rng: np.random.Generator, variant: str) -> None:
        clip = item.data
        if self.cache.audio_version is not None:
            feats = (self.audio.encode(augment_audio(clip.audio, rng, self.aug))
                     if clip.audio is not None else
                     AudioFeatures(np.zeros((0, self.audio.dim), np.float32), None))
            self.cache.put_audio(item.sha, feats, variant)
        if self.cache.image_version is not None:
            frames = self.image.encode(augment_frames(clip.frames, rng, self.aug))
            self.cache.put_video_frames(item.sha, frames, clip.frame_times, variant)


def _label_groups(rows: Sequence[Row], image: bool, audio: bool
                  ) -> list[list[tuple[str, Path]]]:
    """Media jobs of the rows, grouped by ``partner_key`` (first-seen order, no repeats)."""
    groups: dict[str, dict[tuple[str, Path], None]] = {}
    seen: set[tuple[str, Path]] = set()
    for row in rows:
        for job in media_jobs([row], image, audio):
            if job not in seen:
                seen.add(job)
                groups.setdefault(partner_key(row), {})[job] = None
    return [list(g) for g in groups.values()]


def _pending(jobs: list[tuple[str, Path]], worker: _AugWorker) -> list[tuple[str, Path]]:
    """Jobs with at least one missing copy (unreadable files stay in: the worker reports them)."""
    out = []
    for kind, path in jobs:
        try:
            if worker.is_cached(kind, worker.cache.sha(path)):
                continue
        except OSError:
            pass
        out.append((kind, path))
    return out


def _mix_pool(jobs: list[tuple[str, Path]], worker: _AugWorker, workers: int
              ) -> dict[tuple[str, Path], _Decoded]:
    """Decode the group's first ``MIX_POOL`` audio files (independent of what is cached,
    so partners, and thus every copy, are the same after an interrupted build resumes)."""
    wanted = [j for j in jobs if j[0] == "audio"][:MIX_POOL]
    decode = _Worker(worker.cache, worker.cfg, worker.sr)
    decode.is_cached = lambda kind, sha: False  # type: ignore[method-assign]
    return {(d.kind, Path(d.path)): d for d in _prefetch(wanted, decode, workers)}


def build_augmented(rows: Sequence[Row], root: str | Path, aug: AugmentConfig, *,
                    image: ImageEncoder | None = None, audio: AudioEncoder | None = None,
                    cfg: FeatureConfig = FeatureConfig(), progress: bool = True,
                    splits: Sequence[str | None] = AUGMENT_SPLITS) -> FeatureRun:
    """Store augmented copies of every training row's media (resumable; ``aug.copies`` per
    clip, ``aug.image_copies`` per photo).

    Only rows of ``splits`` are augmented (default: ``train`` and rows without a split). Test
    media must stay as recorded; validation media only gets copies for a final refit on
    train + val (Phase 1 never reads copies of rows it validates on). Audio files are mixed
    only with files of the same label group, within the same split.
    """
    t0 = time.perf_counter()
    cache = FeatureCache(root, image.version if image else None,
                         audio.version if audio else None, None, fps=cfg.fps)
    cache.write_meta({k: e.dim for k, e in (("image", image), ("audio", audio)) if e})
    cache.write_augment_meta(aug.recipe_id(), aug.to_dict(),
                             {k: aug.copies_for(k) for k in ("image", "audio", "video")
                              if (k == "image" and image) or (k != "image" and audio)
                              or (k == "video" and (image or audio))})
    run = FeatureRun()
    worker = _AugWorker(cache, cfg, audio.sample_rate if audio else 16000, aug)
    encoder = _AugEncoder(worker, image, audio, aug, run)
    if "test" in splits:
        raise ValueError("test media must never be augmented")
    groups = []
    for split in dict.fromkeys(splits):  # mixing partners never cross splits
        part = [r for r in rows if r.split == split]
        groups += _label_groups(part, image is not None, audio is not None)
    bar = tqdm(total=sum(map(len, groups)), desc="augment", unit="file", disable=not progress)
    for jobs in groups:
        todo = _pending(jobs, worker)
        for kind, _ in set(jobs) - set(todo):
            run.cached[f"{kind}+aug"] += aug.copies_for(kind)
        bar.update(len(jobs) - len(todo))
        if not todo:
            continue
        decoded = _mix_pool(jobs, worker, cfg.workers)
        pool = [(d.sha, d.data) for d in decoded.values() if d.error is None]
        rest = [j for j in todo if j not in decoded]
        ready = (decoded[j] for j in todo if j in decoded)
        for item in itertools.chain(ready, _prefetch(rest, worker, cfg.workers)):
            bar.update()
            if item.error is not None:
                log.warning("%s", item.error)
                run.errors.append((str(item.path), item.error))
            elif not item.cached:
                encoder.add(item, pool)
    bar.close()
    run.seconds = time.perf_counter() - t0
    return run
