"""Model bundle reader: a folder of ONNX files + ``manifest.json``, verified before use.

A bundle is what the app runs. Loading checks the manifest format, the report schema version
the bundle was trained for, and the sha256 of every listed file, so a torn download, a flipped
byte or a bundle from an older schema fails here with one clear ``BundleError`` (the app then
falls back to the shipped default bundle) instead of producing wrong overlays later.

numpy-free and torch-free: the exporter imports these names to write what this module reads.
"""

from __future__ import annotations

import hashlib
import json
import os
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from purrsight_model.schema import SCHEMA_VERSION

MANIFEST = "manifest.json"
#: Set by the installed app's entry point to the bundled default model folder.
ENV_DEFAULT_BUNDLE = "PURRSIGHT_DEFAULT_BUNDLE"
FORMAT = "purrsight-bundle"
FORMAT_VERSION = 1

# Roles of the files in a bundle (manifest["files"][name]["role"]).
IMAGE_ENCODER = "image_encoder"
AUDIO_ENCODER = "audio_encoder"
ALIGNER = "aligner"
TEXT_ENCODER = "text_encoder"
TEXT_TOKENIZER = "text_tokenizer"
PROJECTOR = "projector"
LLM_DECODER = "llm_decoder"
LLM_EMBEDDINGS = "llm_embeddings"
LLM_TOKENIZER = "llm_tokenizer"
EXTERNAL_DATA = "external_data"

#: Roles every bundle has; the report roles come together or not at all.
ANALYZER_ROLES = (IMAGE_ENCODER, AUDIO_ENCODER, ALIGNER)
REPORTER_ROLES = (PROJECTOR, LLM_DECODER, LLM_EMBEDDINGS, LLM_TOKENIZER)


class BundleError(RuntimeError):
    """A bundle that is missing, corrupt, or made for another schema; the message names it."""


def sha256_file(path: Path) -> str:
    """Hex sha256 of a file, read in 1 MiB blocks."""
    h = hashlib.sha256()
    with path.open("rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


@dataclass(frozen=True)
class Bundle:
    """A verified bundle folder and its manifest."""

    root: Path
    manifest: dict[str, Any]

    @property
    def id(self) -> str:
        return str(self.manifest["bundle_id"])

    @property
    def heads(self) -> dict[str, tuple[str, ...]]:
        """Head name -> class names, in the aligner's output order."""
        return {name: tuple(classes) for name, classes in self.manifest["heads"].items()}

    @property
    def head_evidence(self) -> dict[str, frozenset[str]]:
        """Head -> modalities its training labels came with (heads not listed: unrecorded)."""
        return {str(name): frozenset(map(str, mods))
                for name, mods in self.manifest.get("head_evidence", {}).items()}

    def files_with_role(self, role: str) -> list[str]:
        return [n for n, f in self.manifest["files"].items() if f.get("role") == role]

    def has(self, role: str) -> bool:
        return bool(self.files_with_role(role))

    def path(self, role: str) -> Path:
        """Path of the (single) file with ``role``; BundleError if the bundle lacks it."""
        names = self.files_with_role(role)
        if len(names) != 1:
            raise BundleError(f"bundle {self.root} has {len(names)} files with role {role!r}")
        return self.root / names[0]

    def section(self, name: str) -> dict[str, Any]:
        """A manifest section (e.g. ``"aligner"``), BundleError if absent."""
        value = self.manifest.get(name)
        if not isinstance(value, dict):
            raise BundleError(f"bundle {self.root}: manifest has no {name!r} section")
        return value

    @property
    def has_reporter(self) -> bool:
        return all(self.has(r) for r in REPORTER_ROLES)


def read_manifest(root: Path) -> dict[str, Any]:
    """Parse ``manifest.json`` and check its format; BundleError names the problem."""
    path = root / MANIFEST
    if not root.is_dir():
        raise BundleError(f"bundle folder not found: {root}")
    try:
        manifest = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError as exc:
        raise BundleError(f"{root} is not a model bundle (no {MANIFEST})") from exc
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise BundleError(f"cannot read {path}: {exc}") from exc
    if not isinstance(manifest, dict) or manifest.get("format") != FORMAT:
        raise BundleError(f"{path} is not a {FORMAT} manifest")
    if manifest.get("format_version") != FORMAT_VERSION:
        raise BundleError(f"{path}: bundle format {manifest.get('format_version')!r} is not "
                          f"supported (this runtime reads format {FORMAT_VERSION})")
    if manifest.get("schema_version") != SCHEMA_VERSION:
        raise BundleError(f"{path}: bundle was made for report schema "
                          f"{manifest.get('schema_version')!r}, this app uses {SCHEMA_VERSION}; "
                          "re-export the model or use the default bundle")
    for key in ("bundle_id", "files", "heads"):
        if key not in manifest:
            raise BundleError(f"{path}: manifest lacks {key!r}")
    return manifest


def verify_files(root: Path, files: dict[str, Any]) -> None:
    """Every listed file exists, stays inside the folder and matches its sha256."""
    for name, meta in files.items():
        path = (root / name).resolve()
        if not path.is_relative_to(root.resolve()):
            raise BundleError(f"bundle {root}: file {name!r} points outside the bundle")
        if not path.is_file():
            raise BundleError(f"bundle {root}: {name} is missing")
        if path.stat().st_size != meta.get("bytes", path.stat().st_size):
            raise BundleError(f"bundle {root}: {name} has {path.stat().st_size} bytes, "
                              f"manifest says {meta.get('bytes')} (truncated or replaced)")
        if sha256_file(path) != meta.get("sha256"):
            raise BundleError(f"bundle {root}: {name} is corrupt (sha256 does not match the "
                              "manifest)")


def load_bundle(root: str | Path, *, verify: bool = True) -> Bundle:
    """Read and verify a bundle folder (hashes, schema version, required roles)."""
    root = Path(root)
    manifest = read_manifest(root)
    if verify:
        verify_files(root, manifest["files"])
    bundle = Bundle(root, manifest)
    for role in ANALYZER_ROLES:
        if not bundle.has(role):
            raise BundleError(f"bundle {root} has no {role} graph")
    present = [r for r in REPORTER_ROLES if bundle.has(r)]
    if present and len(present) != len(REPORTER_ROLES):
        missing = sorted(set(REPORTER_ROLES) - set(present))
        raise BundleError(f"bundle {root} has a partial report model (missing {missing})")
    return bundle


def default_model_dir() -> Path:
    """``resources/models/default`` of the source tree (or of a frozen app's data)."""
    base = Path(getattr(sys, "_MEIPASS", Path(__file__).resolve().parents[2]))
    return base / "resources" / "models" / "default"


def default_bundle() -> Path | None:
    """The shipped default bundle: ``$PURRSIGHT_DEFAULT_BUNDLE``, else the one set-up
    assembled in ``resources/models/default/bundle`` (source tree or frozen app); None when
    none holds a manifest (not verified here). ``$PURRSIGHT_DEFAULT_BUNDLE=none`` disables it
    (tests of the no-model path)."""
    if os.environ.get(ENV_DEFAULT_BUNDLE, "").strip().lower() == "none":
        return None
    default = default_model_dir()
    candidates = [os.environ.get(ENV_DEFAULT_BUNDLE), str(default / "bundle"), str(default)]
    for c in candidates:
        if c and (Path(c) / MANIFEST).is_file():
            return Path(c)
    return None
