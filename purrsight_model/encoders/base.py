"""Encoder vocabulary shared by every backbone: config, feature records, protocols, errors.

Torch-free on purpose: the feature cache, the exporter and the runtime can import these
names (and the ONNX YAMNet path) without paying for torch.
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol, runtime_checkable

import numpy as np

IMAGE_KINDS = ("mobilenet_v2", "mobilenet_v4")
AUDIO_KINDS = ("yamnet", "panns_cnn14")
TEXT_KINDS = ("minilm", "hf_text")


class EncoderError(RuntimeError):
    """Missing or broken weights, an unsupported architecture, or outputs of the wrong shape.

    The message always names the file or folder involved and what to do about it.
    """


@dataclass(frozen=True)
class EncoderConfig:
    """Which frozen encoder to load and from where."""

    kind: str
    """One of ``IMAGE_KINDS``, ``AUDIO_KINDS`` or ``TEXT_KINDS``."""
    path: str | None = None
    """Local weights file or folder; ``None`` means the packaged weights."""
    cache_dir: str | None = None
    """Where derived artefacts (YAMNet's float graph) go; ``None`` = user cache dir."""
    threads: int = 0
    """Intra-op threads for onnxruntime / torch; 0 keeps the library default."""


@dataclass
class ImageFeatures:
    """Per-image outputs of an image encoder."""

    embedding: np.ndarray  # [N, D] float32 pooled features
    cat_score: np.ndarray  # [N] float32, ImageNet domestic-cat mass; NaN without an ImageNet head
    logits: np.ndarray | None  # [N, C] float32 or None


@dataclass
class AudioFeatures:
    """Per-patch outputs of an audio encoder (0.96 s patches every 0.48 s)."""

    embedding: np.ndarray  # [P, D] float32
    scores: np.ndarray | None  # [P, C] float32 AudioSet probabilities (sigmoid) or None


@runtime_checkable
class ImageEncoder(Protocol):
    """Frozen image backbone: uint8 RGB images of any size -> pooled features."""

    kind: str
    dim: int
    version: str

    def encode(self, images: Sequence[np.ndarray]) -> ImageFeatures: ...


@runtime_checkable
class AudioEncoder(Protocol):
    """Frozen audio backbone: mono float32 at ``sample_rate`` -> per-patch features."""

    kind: str
    dim: int
    version: str
    sample_rate: int

    def encode(self, waveform: np.ndarray) -> AudioFeatures: ...


@runtime_checkable
class TextEncoder(Protocol):
    """Frozen sentence encoder: texts -> L2-normalised vectors."""

    kind: str
    dim: int
    version: str

    def encode(self, texts: Sequence[str]) -> np.ndarray: ...


_HASH_MEMO: dict[tuple[str, int, int], str] = {}


def sha256_file(path: str | os.PathLike[str]) -> str:
    """Hex sha256 of a file, memoised per (path, size, mtime) so versions are cheap to ask for."""
    p = Path(path)
    try:
        st = p.stat()
        key = (str(p.resolve()), st.st_size, st.st_mtime_ns)
        if key not in _HASH_MEMO:
            h = hashlib.sha256()
            with p.open("rb") as fh:
                for block in iter(lambda: fh.read(1 << 20), b""):
                    h.update(block)
            _HASH_MEMO[key] = h.hexdigest()
    except OSError as exc:
        raise EncoderError(f"cannot read weights file {p}: {exc}") from exc
    return _HASH_MEMO[key]


def version_id(kind: str, sha256_hex: str) -> str:
    """Stable encoder id: kind plus 12 hex digits of the weights' sha256."""
    return f"{kind}-{sha256_hex[:12]}"


def require_file(path: str | os.PathLike[str], what: str) -> Path:
    """Return ``path`` as a Path if it is an existing non-empty file, else raise EncoderError."""
    p = Path(path)
    if not p.is_file():
        raise EncoderError(f"{what} not found: {p}")
    if p.stat().st_size == 0:
        raise EncoderError(f"{what} is empty: {p}")
    return p


def encode_audio(encoder: AudioEncoder, waveform: np.ndarray, sr: int) -> AudioFeatures:
    """Resample ``waveform`` (mono, at ``sr``) to the encoder's rate, then encode it.

    YAMNet wants 16 kHz and CNN14 32 kHz; callers holding audio at another rate use this
    instead of remembering which.
    """
    from purrsight_model.frontends import resample

    return encoder.encode(resample(waveform, sr, encoder.sample_rate))
