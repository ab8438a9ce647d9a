"""On-disk feature cache: frozen-encoder outputs keyed by file content and encoder version.

Layout under the cache root::

    cache.json                                  versions, dims and fps of the last run
    <image version>/<sha[:2]>/<sha>.npz         still image: embedding [1, D], cat_score [1]
    <image version>/<sha[:2]>/<sha>.fps<f>.npz  video frames: embedding [F, D], cat_score [F],
                                                frame_times [F]
    <audio version>/<sha[:2]>/<sha>.npz         audio (or a video's track): embedding [P, D],
                                                scores [P, C] (optional); P = 0: no track
    <text version>/text/<h[:2]>/<h>.npy         caption embedding [D], h = sha256(text)
    <version>/<recipe>/<sha[:2]>/<sha>[.fps<f>].<k>.npz
                                                augmented copy k of a file (``data.augment``)

Keys are content hashes, so renamed or copied files hit the cache and an edited file never
returns stale features; the encoder version (kind + weights hash) in the path means a new
backbone never mixes with old features. Every entry is written to a temp file and renamed
into place, so an interrupted run leaves only whole entries behind.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from purrsight_model.encoders.base import AudioFeatures, ImageFeatures

_SHA_RE = re.compile(r"^[0-9a-f]{64}$")
_HASH_MEMO: dict[tuple[str, int, int], str] = {}


@dataclass
class VideoFeatures:
    """A video's sampled frames through the image encoder, plus its audio track."""

    frames: ImageFeatures  # embedding [F, D], cat_score [F]
    frame_times: np.ndarray  # [F] seconds
    audio: AudioFeatures | None  # None when the video has no audio track


def file_sha256(path: str | os.PathLike[str]) -> str:
    """Hex sha256 of a file's content, memoised per (path, size, mtime) within a process."""
    p = Path(path).resolve()
    st = p.stat()  # OSError (missing file) propagates to the caller
    key = (str(p), st.st_size, st.st_mtime_ns)
    if key not in _HASH_MEMO:
        h = hashlib.sha256()
        with p.open("rb") as f:
            for block in iter(lambda: f.read(1 << 20), b""):
                h.update(block)
        _HASH_MEMO[key] = h.hexdigest()
    return _HASH_MEMO[key]


def text_key(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def _atomic_save(path: Path, writer: Any) -> None:
    """Write via ``writer(fileobj)`` to a temp file beside ``path`` and rename into place."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.NamedTemporaryFile(dir=path.parent, suffix=".tmp", delete=False) as tmp:
        writer(tmp)
    os.chmod(tmp.name, 0o644)
    os.replace(tmp.name, path)


class FeatureCache:
    """Reader and writer of one cache root for one set of encoder versions.

    Versions (and the video fps) default to those recorded in ``cache.json`` by the last
    ``purrsight-model features`` run, so training only needs the folder.
    """

    def __init__(self, root: str | os.PathLike[str], image_version: str | None = None,
                 audio_version: str | None = None, text_version: str | None = None,
                 fps: float | None = None) -> None:
        self.root = Path(root)
        meta = self.read_meta()
        self.image_version = image_version or meta.get("image", {}).get("version")
        self.audio_version = audio_version or meta.get("audio", {}).get("version")
        self.text_version = text_version or meta.get("text", {}).get("version")
        self.fps = float(fps if fps is not None else meta.get("fps", 2.0))
        self.dims = {k: meta[k]["dim"] for k in ("image", "audio", "text")
                     if k in meta and meta[k].get("version") == getattr(self, f"{k}_version")}

    # --- metadata ---------------------------------------------------------------------
    def read_meta(self) -> dict[str, Any]:
        try:
            return json.loads((self.root / "cache.json").read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return {}

    def write_meta(self, dims: dict[str, int]) -> None:
        """Record this run's versions and dims; kinds this run did not touch are kept."""
        meta = self.read_meta()
        meta["fps"] = self.fps
        for kind in ("image", "audio", "text"):
            version = getattr(self, f"{kind}_version")
            if version:
                meta[kind] = {"version": version, "dim": dims.get(kind)}
                self.dims[kind] = dims.get(kind)
        _atomic_save(self.root / "cache.json",
                     lambda f: f.write(json.dumps(meta, indent=2).encode()))

    def augment_recipes(self) -> dict[str, dict[str, Any]]:
        """Recipe id -> ``{"config": {...}, "copies": {kind: k}}`` of the copies built so far."""
        return dict(self.read_meta().get("augment", {}))

    def write_augment_meta(self, recipe_id: str, config: dict[str, Any],
                           copies: dict[str, int]) -> None:
        """Record a recipe and its copies per media kind (counts only grow: a smaller rebuild
        keeps the larger count)."""
        meta = self.read_meta()
        recipes = meta.setdefault("augment", {})
        old = recipes.get(recipe_id, {}).get("copies", {})
        if not isinstance(old, dict):  # early format: one count for every kind
            old = dict.fromkeys(("image", "audio", "video"), int(old))
        merged = {k: max(int(copies.get(k, 0)), int(old.get(k, 0))) for k in {*copies, *old}}
        recipes[recipe_id] = {"config": config, "copies": merged,
                              "updated": time.time(),
                              "versions": {k: getattr(self, f"{k}_version")
                                           for k in ("image", "audio")}}
        _atomic_save(self.root / "cache.json",
                     lambda f: f.write(json.dumps(meta, indent=2).encode()))

    # --- paths ------------------------------------------------------------------------
    @staticmethod
    def sha(path_or_sha: str | os.PathLike[str]) -> str:
        """Content hash of a file, or the argument itself if it already is a sha256."""
        s = str(path_or_sha)
        if _SHA_RE.match(s) and not Path(s).exists():
            return s
        return file_sha256(s)

    def _entry(self, version: str | None, sha: str, suffix: str = "",
               variant: str | None = None) -> Path | None:
        """Entry path; ``variant`` = ``"<recipe id>/<copy>"`` for an augmented copy."""
        if version is None:
            return None
        if variant is None:
            return self.root / version / sha[:2] / f"{sha}{suffix}.npz"
        recipe, _, copy = variant.partition("/")
        if not recipe or not copy.isdigit() or "." in recipe:
            raise ValueError(f"bad augmentation variant {variant!r} (want '<recipe>/<k>')")
        return self.root / version / recipe / sha[:2] / f"{sha}{suffix}.{copy}.npz"

    def image_path(self, sha: str, variant: str | None = None) -> Path | None:
        return self._entry(self.image_version, sha, "", variant)

    def video_path(self, sha: str, variant: str | None = None) -> Path | None:
        return self._entry(self.image_version, sha, f".fps{self.fps:g}", variant)

    def audio_path(self, sha: str, variant: str | None = None) -> Path | None:
        return self._entry(self.audio_version, sha, "", variant)

    def text_path(self, text: str) -> Path | None:
        if self.text_version is None:
            return None
        key = text_key(text)
        return self.root / self.text_version / "text" / key[:2] / f"{key}.npy"

    # --- readers ----------------------------------------------------------------------
    @staticmethod
    def _load(path: Path | None) -> dict[str, np.ndarray] | None:
        if path is None or not path.is_file():
            return None
        with np.load(path, allow_pickle=False) as z:
            return {k: z[k] for k in z.files}

    def image(self, path_or_sha: str | os.PathLike[str],
              variant: str | None = None) -> ImageFeatures | None:
        z = self._load(self.image_path(self.sha(path_or_sha), variant))
        return None if z is None else ImageFeatures(z["embedding"], z["cat_score"], None)

    def audio(self, path_or_sha: str | os.PathLike[str],
              variant: str | None = None) -> AudioFeatures | None:
        z = self._load(self.audio_path(self.sha(path_or_sha), variant))
        return None if z is None else AudioFeatures(z["embedding"], z.get("scores"))

    def video(self, path_or_sha: str | os.PathLike[str],
              variant: str | None = None) -> VideoFeatures | None:
        sha = self.sha(path_or_sha)
        z = self._load(self.video_path(sha, variant))
        if z is None:
            return None
        audio = self.audio(sha, variant) if self.audio_version else None
        if audio is not None and audio.embedding.shape[0] == 0:
            audio = None  # stored marker: the video has no audio track
        return VideoFeatures(ImageFeatures(z["embedding"], z["cat_score"], None),
                             z["frame_times"], audio)

    def text(self, text: str) -> np.ndarray | None:
        """Caption embedding ``[D]``, or None if it was never computed."""
        path = self.text_path(text)
        return None if path is None or not path.is_file() else np.load(path)

    # --- writers ----------------------------------------------------------------------
    @staticmethod
    def _save(path: Path | None, **arrays: np.ndarray | None) -> None:
        if path is None:
            raise ValueError("no encoder version set for this kind of feature")
        data = {k: np.asarray(v, dtype=np.float32) for k, v in arrays.items() if v is not None}
        _atomic_save(path, lambda f: np.savez(f, **data))

    def put_image(self, sha: str, feats: ImageFeatures, variant: str | None = None) -> None:
        self._save(self.image_path(sha, variant), embedding=feats.embedding,
                   cat_score=feats.cat_score)

    def put_video_frames(self, sha: str, feats: ImageFeatures, frame_times: np.ndarray,
                         variant: str | None = None) -> None:
        self._save(self.video_path(sha, variant), embedding=feats.embedding,
                   cat_score=feats.cat_score, frame_times=frame_times)

    def put_audio(self, sha: str, feats: AudioFeatures, variant: str | None = None) -> None:
        self._save(self.audio_path(sha, variant), embedding=feats.embedding,
                   scores=feats.scores)

    def put_text(self, text: str, vector: np.ndarray) -> None:
        path = self.text_path(text)
        if path is None:
            raise ValueError("no text encoder version set")
        _atomic_save(path, lambda f: np.save(f, np.asarray(vector, dtype=np.float32)))
