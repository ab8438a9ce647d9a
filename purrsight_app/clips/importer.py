"""Import existing media (files or whole folders) as clips the owner can label.

Each playable file becomes a ``ClipRecord``: copied into the data dir by default (the owner's
clips then live with the rest of their history; ``copy=False`` references the file where it
is), with a thumbnail and — when a model is loaded — the model's prediction and margin over
a few windows, so imported clips join the "most uncertain first" queue like recorded ones.
The clip's ``source`` is ``import:<original path>``, which makes a second import of the same
folder skip what is already there. Unreadable files are listed in the result, never raised.
"""

from __future__ import annotations

import logging
import shutil
import threading
from collections.abc import Callable, Collection, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from purrsight_app.capture import list_media
from purrsight_app.clips.prediction import PredictionTally
from purrsight_app.clips.probe import probe
from purrsight_app.clips.thumbs import ThumbnailError, thumb_path_for, thumbnail_for_media
from purrsight_app.paths import AppPaths
from purrsight_app.pipeline.protocols import AnalyzerLike, RecordSink
from purrsight_app.storage import ClipRecord, new_id
from purrsight_model import media

log = logging.getLogger(__name__)

IMPORT_PREFIX = "import:"
WINDOW_S = 0.96
SR = 16_000


@dataclass(frozen=True)
class ImportResult:
    clips: list[ClipRecord] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)
    """"<file>: <reason>" for each file that was not imported (or was already there)."""


def source_tag(path: Path) -> str:
    return f"{IMPORT_PREFIX}{path.resolve()}"


def predict_media(analyzer: AnalyzerLike, path: Path, max_windows: int = 6) -> PredictionTally:
    """The model's view of a whole file: ``analyze_clip`` when the runtime has it (how
    training saw clips), else up to ``max_windows`` evenly spaced windows."""
    tally = PredictionTally()
    kind = media.media_kind(path)
    if kind == "image":
        tally.add(analyzer.analyze(media.load_image(path), None))
        return tally
    if kind == "video":
        clip = media.load_video(path, fps=1.0, max_frames=max_windows, sr=SR)
        frames, times, audio = list(clip.frames), list(clip.frame_times), clip.audio
    else:
        audio = media.load_audio(path, SR)
        span = max(audio.size / SR - WINDOW_S, 0.0)
        times = list(np.linspace(0.0, span, num=max_windows)) if span else [0.0]
        frames = [None] * len(times)
    whole = getattr(analyzer, "analyze_clip", None)
    if callable(whole):
        real = [f for f in frames if f is not None]
        tally.add(whole(real or None, audio))
        return tally
    n = int(WINDOW_S * SR)
    for frame, t in zip(frames, times, strict=True):
        window = None
        if audio is not None and audio.size:
            start = int(max(0.0, min(t, audio.size / SR - WINDOW_S)) * SR)
            window = np.zeros(n, np.float32)  # [n]
            chunk = audio[start:start + n]
            window[: chunk.size] = chunk
        tally.add(analyzer.analyze(frame, window))
    return tally


def _destination(src: Path, paths: AppPaths, clip_id: str) -> Path:
    folder = paths.clips_dir / "imported"
    return folder / f"{src.stem[:60]}-{clip_id[:8]}{src.suffix.lower()}"


def import_one(src: Path, paths: AppPaths, *, copy: bool = True,
               analyzer: AnalyzerLike | None = None) -> ClipRecord:
    """One file -> a ClipRecord (not yet stored). Raises ``media.MediaError`` / OSError."""
    info = probe(src)
    clip_id = new_id()
    dest = _destination(src, paths, clip_id) if copy else src.resolve()
    if copy:
        dest.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(src, dest)
    thumb = None
    try:
        thumb = thumbnail_for_media(dest, thumb_path_for(_destination(src, paths, clip_id)))
    except (media.MediaError, ThumbnailError) as exc:
        log.info("no thumbnail for %s: %s", src, exc)
    tally = None
    if analyzer is not None:
        try:
            tally = predict_media(analyzer, dest)
        except Exception as exc:  # noqa: BLE001 - a prediction is optional
            log.warning("no prediction for %s: %s", src, exc)
    return ClipRecord(
        path=_relative(dest, paths.data_dir), ts=src.stat().st_mtime, source=source_tag(src),
        duration=round(info.duration, 3),
        thumbnail_path=None if thumb is None else _relative(thumb, paths.data_dir),
        prediction=tally.prediction() if tally else None,
        uncertainty=tally.uncertainty() if tally else None, id=clip_id,
    )


def _relative(path: Path, base: Path) -> str:
    try:
        return str(path.resolve().relative_to(base.resolve()))
    except ValueError:
        return str(path)


def import_media(sources: Sequence[Path], paths: AppPaths, sink: RecordSink, *,
                 copy: bool = True, known: Collection[str] = (),
                 analyzer: AnalyzerLike | None = None,
                 cancel: threading.Event | None = None,
                 on_progress: Callable[[int, int], None] | None = None) -> ImportResult:
    """Import files and folders (recursively); ``known`` = clip sources already stored."""
    files: list[Path] = []
    for s in sources:
        files.extend(list_media(s) if Path(s).exists() else [])
    missing = [f"{s}: not found" for s in sources if not Path(s).exists()]
    result = ImportResult(skipped=missing)
    seen = set(known)
    for i, f in enumerate(files):
        if cancel is not None and cancel.is_set():
            result.skipped.append(f"{len(files) - i} file(s): import cancelled")
            break
        tag = source_tag(f)
        if tag in seen:
            result.skipped.append(f"{f}: already imported")
            continue
        try:
            record = import_one(f, paths, copy=copy, analyzer=analyzer)
        except (media.MediaError, OSError) as exc:
            result.skipped.append(str(exc) if isinstance(exc, media.MediaError) else f"{f}: {exc}")
            continue
        seen.add(tag)
        sink.put(record)
        result.clips.append(record)
        if on_progress is not None:
            on_progress(i + 1, len(files))
    return result
