"""Assemble the runnable default bundle from the committed parts + the weight packages.

The repository holds only what the project trained (``pack``: a few MB of low-bit weights and
the build record). The encoders and the LM are rebuilt from the installed weight packages by
the same ``export_bundle`` that made the record, with each graph's precision pinned to the
recorded choice (no timing, so the result does not depend on machine load). Every file of
the result is then checked against the record's sha256; a mismatch is an error naming the
file, and the half-built bundle never replaces a good one.
"""

from __future__ import annotations

import json
import logging
import shutil
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from purrsight_model.default_model.pack import source_digest, unpack
from purrsight_model.runtime.bundle import default_model_dir

log = logging.getLogger(__name__)

RECORD = "build.json"
STAMP = "assembled.json"
"""Written into an assembled bundle folder: which sources and record it was built from."""


class AssembleError(RuntimeError):
    """The default bundle cannot be assembled or does not match its build record."""


def source_dir() -> Path:
    """``resources/models/default``: where the runtime looks for the default model too."""
    return default_model_dir()


def bundle_dir(src: Path | None = None) -> Path:
    """Where the assembled bundle goes by default: ``<source>/bundle`` (git-ignored)."""
    return (src or source_dir()) / "bundle"


def read_record(src: Path) -> dict[str, Any]:
    path = src / RECORD
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError as exc:
        raise AssembleError(f"{path} is missing: no default model has been built "
                            "(purrsight-model build-default --data DIR)") from exc
    except (OSError, json.JSONDecodeError) as exc:
        raise AssembleError(f"{path} is unreadable: {exc}") from exc


def is_current(out: Path, src: Path) -> bool:
    """True when ``out`` was assembled from exactly the parts now in ``src``."""
    try:
        stamp = json.loads((out / STAMP).read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError):
        return False
    return stamp.get("source_digest") == source_digest(src) and (out / "manifest.json").is_file()


@dataclass
class Mismatch:
    name: str
    expected: str | None
    got: str | None


def compare_files(manifest: dict[str, Any], record: dict[str, Any]) -> list[Mismatch]:
    """Files whose sha256 differs between a fresh manifest and the build record."""
    want = {n: f["sha256"] for n, f in record.get("files", {}).items()}
    got = {n: f["sha256"] for n, f in manifest.get("files", {}).items()}
    return [Mismatch(n, want.get(n), got.get(n)) for n in sorted(set(want) | set(got))
            if want.get(n) != got.get(n)]


def _export(src: Path, record: dict[str, Any], work: Path, threads: int,
            sources: Any, llm: str) -> Path:
    from purrsight_model.export.bundle import export_bundle
    from purrsight_model.finetune import attach_sources

    align_run, instruct_run = unpack(src, work / "runs", llm=llm)
    out = export_bundle(align_run, instruct_run, work / "bundle", quantize=record["pins"],
                        threads=threads, sources=sources)
    # fine-tuning starts from these: the packed files (a fraction of the unpacked size)
    attach_sources(out, src / "align", src / "instruct" if instruct_run else None)
    return out


def assemble(src: Path | None = None, out: Path | None = None, *, verify: bool = True,
             force: bool = False, threads: int = 2, sources: Any = None, llm: str = "") -> Path:
    """Build the default bundle into ``out`` (default ``<src>/bundle``); returns ``out``.

    Skips the work when ``out`` already matches ``src``. ``verify`` = compare every file's
    sha256 with the build record (a mismatch raises ``AssembleError``; nothing is replaced).
    ``sources`` / ``llm``: encoders and LM folder instead of the packaged ones (tests).
    """
    src = src or source_dir()
    out = out or bundle_dir(src)
    record = read_record(src)
    if not force and is_current(out, src):
        log.info("default bundle %s is up to date", out)
        return out
    start = time.perf_counter()
    out.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix=".assemble-", dir=out.parent) as tmp:
        try:
            built = _export(src, record, Path(tmp), threads, sources, llm)
        except (OSError, KeyError, ValueError, RuntimeError) as exc:
            raise AssembleError(f"cannot assemble the default bundle from {src}: {exc}") from exc
        manifest = json.loads((built / "manifest.json").read_text(encoding="utf-8"))
        bad = compare_files(manifest, record) if verify else []
        if bad:
            lines = ", ".join(f"{m.name} (expected {str(m.expected)[:12]}, got "
                              f"{str(m.got)[:12]})" for m in bad)
            raise AssembleError(
                f"the rebuilt default bundle differs from its build record: {lines}. The "
                "installed weight packages or export libraries differ from the ones recorded "
                f"in {src / RECORD} ('packages'); reinstall those versions, or rebuild with "
                "purrsight-model build-default")
        stamp = {"source_digest": source_digest(src), "verified": verify,
                 "seconds": round(time.perf_counter() - start, 1),
                 "bundle_id": manifest.get("bundle_id")}
        (built / STAMP).write_text(json.dumps(stamp, indent=2) + "\n", encoding="utf-8")
        _replace(built, out)
    log.info("default bundle assembled in %s (%.0f s)", out, time.perf_counter() - start)
    return out


def _replace(built: Path, out: Path) -> None:
    """Swap ``built`` in for ``out`` (the old folder is removed only after the move)."""
    old = out.with_name(out.name + ".old")
    shutil.rmtree(old, ignore_errors=True)
    if out.exists():
        out.rename(old)
    shutil.move(str(built), str(out))
    shutil.rmtree(old, ignore_errors=True)
