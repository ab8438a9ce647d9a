"""Lazy JSONL datasets: one streaming pass builds a byte-offset index, rows load on demand.

Exports from the app can grow to many thousands of clips and captions; keeping only two
integer arrays in memory (start, length per valid line) lets training and the feature
cache index a file of any size, and ``os.pread`` makes ``__getitem__`` thread-safe.
Malformed lines are validated away during indexing (logged with their line number and
kept in ``.skipped``) so a single bad line never stops a run.

Row format (paths relative to the JSONL file's folder, absolute paths also accepted)::

    {"text": str, "image"?: path, "audio"?: path, "video"?: path,
     "labels"?: {schema field: value}, "group"?: str, "tasks"?: {task: class},
     "split"?: "train"|"val"|"test", "id"?: str, "source"?: str,
     "report"?: {schema.Report}}      # instruction rows only
"""

from __future__ import annotations

import json
import logging
import os
import tempfile
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from purrsight_model.data.splits import SPLITS
from purrsight_model.schema import Report, ReportError, parse_report, validate_labels

log = logging.getLogger(__name__)

MEDIA_KEYS = ("image", "audio", "video")
_INDEX_VERSION = 1


class RowError(ValueError):
    """A JSONL line that is not a valid row (the reason is the message)."""


@dataclass(frozen=True)
class Row:
    """One validated dataset row with absolute media paths."""

    text: str
    image: Path | None = None
    audio: Path | None = None
    video: Path | None = None
    labels: dict[str, str] = field(default_factory=dict)  # every schema field, unknown-filled
    group: str | None = None
    tasks: dict[str, str] = field(default_factory=dict)
    split: str | None = None
    report: Report | None = None
    id: str | None = None
    source: str | None = None
    line_no: int = 0

    @property
    def media(self) -> dict[str, Path]:
        """Media present in this row, by kind."""
        return {k: p for k in MEDIA_KEYS if (p := getattr(self, k)) is not None}


def _str_map(obj: Any, what: str) -> dict[str, str]:
    if not isinstance(obj, Mapping):
        raise RowError(f"{what} must be an object")
    if not all(isinstance(v, str | int) and not isinstance(v, bool) for v in obj.values()):
        raise RowError(f"{what} values must be strings")
    return {str(k): str(v) for k, v in obj.items()}


def _media_path(obj: dict[str, Any], key: str, base: Path) -> Path | None:
    value = obj.get(key)
    if value is None:
        return None
    if not isinstance(value, str) or not value:
        raise RowError(f"{key!r} must be a non-empty path string")
    path = Path(value).expanduser()
    return path if path.is_absolute() else (base / path).resolve()


def parse_row(obj: Any, base: Path, line_no: int = 0) -> Row:
    """Validate one decoded JSON value into a ``Row``; raise ``RowError`` with the reason."""
    if not isinstance(obj, dict):
        raise RowError("line is not a JSON object")
    text = obj.get("text")
    if not isinstance(text, str) or not text.strip():
        raise RowError("missing or empty 'text'")
    try:
        labels = validate_labels(_str_map(obj.get("labels", {}), "labels"))
    except ValueError as exc:
        raise RowError(f"bad labels: {exc}") from exc
    report = None
    if "report" in obj:
        if not isinstance(obj["report"], dict):
            raise RowError("'report' must be an object")
        try:
            report = parse_report(obj["report"])
        except ReportError as exc:
            raise RowError(f"invalid report: {exc}") from exc
    split = obj.get("split")
    if split is not None and split not in SPLITS:
        raise RowError(f"split must be one of {SPLITS}, got {split!r}")
    group = obj.get("group")
    return Row(
        text=text, image=_media_path(obj, "image", base), audio=_media_path(obj, "audio", base),
        video=_media_path(obj, "video", base), labels=labels,
        group=None if group is None or group == "" else str(group),
        tasks=_str_map(obj.get("tasks", {}), "tasks"), split=split, report=report,
        id=None if obj.get("id") is None else str(obj["id"]),
        source=None if obj.get("source") is None else str(obj["source"]), line_no=line_no,
    )


class JsonlDataset:
    """Random-access rows of a JSONL file; memory holds offsets, never row text."""

    def __init__(self, path: str | os.PathLike[str], *, index_cache: bool = False) -> None:
        self.path = Path(path).resolve()
        self.base = self.path.parent
        if not self.path.is_file():
            raise FileNotFoundError(f"{self.path}: dataset not found")
        loaded = self._load_index() if index_cache else None
        if loaded is None:
            self._build_index()
            if index_cache:
                self._save_index()
        self._fd: int | None = None

    # --- index ------------------------------------------------------------------------
    def _build_index(self) -> None:
        starts: list[int] = []
        lengths: list[int] = []
        line_nos: list[int] = []
        self.skipped: list[tuple[int, str]] = []
        offset = 0
        with self.path.open("rb") as f:
            for line_no, raw in enumerate(f, start=1):
                start, offset = offset, offset + len(raw)
                if not raw.strip():
                    continue
                try:
                    parse_row(json.loads(raw), self.base, line_no)
                except (ValueError, RecursionError) as exc:  # JSON, UTF-8 and RowError
                    reason = " ".join(str(exc).split())[:300]  # one line, pydantic is multi-line
                    log.warning("%s:%d skipped: %s", self.path, line_no, reason)
                    self.skipped.append((line_no, reason))
                    continue
                starts.append(start)
                lengths.append(len(raw))
                line_nos.append(line_no)
        self._starts = np.asarray(starts, dtype=np.int64)  # [N] byte offset of each row
        self._lengths = np.asarray(lengths, dtype=np.int64)  # [N] bytes incl. newline
        self._line_nos = np.asarray(line_nos, dtype=np.int64)  # [N] 1-based line numbers

    def _index_file(self) -> Path:
        return self.path.with_name(self.path.name + ".idx.npz")

    def _stamp(self) -> np.ndarray:
        st = self.path.stat()
        return np.asarray([_INDEX_VERSION, st.st_size, st.st_mtime_ns], dtype=np.int64)

    def _load_index(self) -> bool | None:
        try:
            with np.load(self._index_file(), allow_pickle=False) as z:
                if not np.array_equal(z["stamp"], self._stamp()):
                    return None
                self._starts, self._lengths = z["starts"], z["lengths"]
                self._line_nos = z["line_nos"]
                self.skipped = [tuple(x) for x in json.loads(str(z["skipped"]))]
        except (OSError, KeyError, ValueError):
            return None
        return True

    def _save_index(self) -> None:
        try:
            with tempfile.NamedTemporaryFile(dir=self.base, suffix=".tmp", delete=False) as tmp:
                np.savez(tmp, stamp=self._stamp(), starts=self._starts, lengths=self._lengths,
                         line_nos=self._line_nos,
                         skipped=np.asarray(json.dumps(self.skipped)))
            _publish(tmp.name, self._index_file())
        except OSError as exc:  # read-only folder: the index is only an optimisation
            log.debug("cannot cache index beside %s: %s", self.path, exc)

    # --- access -----------------------------------------------------------------------
    def __len__(self) -> int:
        return int(self._starts.size)

    @property
    def offsets(self) -> np.ndarray:
        """Byte offset of each valid row in the file, ``[N]`` int64 (a copy)."""
        return self._starts.copy()

    @property
    def line_numbers(self) -> np.ndarray:
        """1-based line number of each valid row, ``[N]`` int64 (a copy)."""
        return self._line_nos.copy()

    def _read(self, i: int) -> bytes:
        if self._fd is None:
            self._fd = os.open(self.path, os.O_RDONLY)
        return os.pread(self._fd, int(self._lengths[i]), int(self._starts[i]))

    def __getitem__(self, i: int) -> Row:
        n = len(self)
        if not -n <= i < n:
            raise IndexError(f"row {i} out of range for {n} rows")
        i %= n
        return parse_row(json.loads(self._read(i)), self.base, int(self._line_nos[i]))

    def __iter__(self) -> Iterator[Row]:
        """Stream rows in file order (one sequential read, no seeks)."""
        j, n = 0, len(self)
        with self.path.open("rb") as f:
            for line_no, raw in enumerate(f, start=1):
                if j < n and line_no == self._line_nos[j]:
                    j += 1
                    yield parse_row(json.loads(raw), self.base, line_no)

    def __getstate__(self) -> dict[str, Any]:  # picklable for worker processes
        state = self.__dict__.copy()
        state["_fd"] = None
        return state

    def __del__(self) -> None:
        if getattr(self, "_fd", None) is not None:
            os.close(self._fd)


def write_jsonl(path: str | os.PathLike[str], records: Iterable[Mapping[str, Any]]) -> int:
    """Write records atomically (temp file + rename); returns the number written."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    n = 0
    with tempfile.NamedTemporaryFile("w", encoding="utf-8", dir=path.parent, suffix=".tmp",
                                     delete=False) as tmp:
        for rec in records:
            tmp.write(json.dumps(rec, ensure_ascii=False) + "\n")
            n += 1
    _publish(tmp.name, path)
    return n


def _publish(tmp_name: str, path: Path) -> None:
    """Give a finished temp file normal permissions and move it into place atomically."""
    umask = os.umask(0)
    os.umask(umask)
    os.chmod(tmp_name, 0o666 & ~umask)
    os.replace(tmp_name, path)
