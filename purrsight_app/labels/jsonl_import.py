"""Import labelled clips from a training JSONL file (the format ``export`` writes).

Lets an owner bring labels made elsewhere (another device, an earlier install, or a
converted public dataset) into the labeling queue, where they can be reviewed and edited
like their own. Media are referenced where they are (datasets are large; nothing is
copied). Lines that are not JSON, lack a media file, carry labels outside the schema or say
nothing at all are skipped and reported with their line number.
"""

from __future__ import annotations

import json
import logging
import threading
from collections.abc import Collection, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from purrsight_app.clips.importer import import_one, source_tag
from purrsight_app.labels.service import normalise
from purrsight_app.paths import AppPaths
from purrsight_app.pipeline.protocols import AnalyzerLike, RecordSink
from purrsight_app.storage import LabelRecord
from purrsight_model import media
from purrsight_model.schema import MAX_TEXT_CHARS, UNKNOWN

log = logging.getLogger(__name__)

MEDIA_KEYS = ("video", "audio", "image")


@dataclass(frozen=True)
class JsonlImportResult:
    clips: int = 0
    labels: int = 0
    skipped: list[str] = field(default_factory=list)
    """"line N: reason" for every line not imported."""


def _parse(obj: Any, base: Path) -> tuple[Path, dict[str, str], str]:
    """(media path, schema labels, description) of one row; ValueError with the reason."""
    if not isinstance(obj, Mapping):
        raise ValueError("not a JSON object")
    key = next((k for k in MEDIA_KEYS if obj.get(k)), None)
    if key is None:
        raise ValueError("no video, audio or image path")
    path = Path(str(obj[key])).expanduser()
    path = path if path.is_absolute() else (base / path)
    labels = obj.get("labels") or {}
    if not isinstance(labels, Mapping):
        raise ValueError("'labels' is not an object")
    values = normalise({k: str(v) for k, v in labels.items()})
    description = str(obj.get("description") or "").strip()[:MAX_TEXT_CHARS]
    if all(v == UNKNOWN for v in values.values()) and not description:
        raise ValueError("no label (every field unknown)")
    return path, values, description


def import_jsonl(jsonl: Path, paths: AppPaths, sink: RecordSink, *,
                 known: Collection[str] = (), analyzer: AnalyzerLike | None = None,
                 limit: int | None = None,
                 cancel: threading.Event | None = None) -> JsonlImportResult:
    """Read ``jsonl`` and queue a ClipRecord + LabelRecord per usable row."""
    base = jsonl.resolve().parent
    seen = set(known)
    clips, skipped = 0, []
    try:
        handle = jsonl.open("r", encoding="utf-8")
    except OSError as exc:
        return JsonlImportResult(skipped=[f"{jsonl}: cannot read: {exc}"])
    with handle:
        for line_no, line in enumerate(handle, start=1):
            if (limit is not None and clips >= limit) or (cancel and cancel.is_set()):
                break
            if not line.strip():
                continue
            try:
                path, values, description = _parse(json.loads(line), base)
                if source_tag(path) in seen:
                    raise ValueError(f"{path.name} already imported")
                record = import_one(path, paths, copy=False, analyzer=analyzer)
            except (ValueError, OSError, media.MediaError) as exc:
                skipped.append(f"line {line_no}: {exc}")
                continue
            seen.add(source_tag(path))
            sink.put(record)
            sink.put(LabelRecord(record.id, values, description))
            clips += 1
    return JsonlImportResult(clips, clips, skipped)
