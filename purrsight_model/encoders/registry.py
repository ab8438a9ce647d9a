"""``EncoderConfig`` -> loaded encoder. Heavy imports (torch, transformers) happen only here,
inside the loader that needs them, so YAMNet loads without torch."""

from __future__ import annotations

from pathlib import Path

from purrsight_model.encoders.base import (
    AUDIO_KINDS,
    IMAGE_KINDS,
    TEXT_KINDS,
    AudioEncoder,
    EncoderConfig,
    EncoderError,
    ImageEncoder,
    TextEncoder,
)
from purrsight_model.encoders.packaged import MINILM_DIR, MOBILENET_V2, YAMNET_W8A8_ZIP, locate


def _check_kind(cfg: EncoderConfig, allowed: tuple[str, ...], modality: str) -> None:
    if cfg.kind not in allowed:
        raise EncoderError(
            f"{cfg.kind!r} is not an {modality} encoder kind; choose one of {', '.join(allowed)}"
        )


def load_image_encoder(cfg: EncoderConfig) -> ImageEncoder:
    """MobileNetV2 (packaged ImageNet weights by default) or a user's timm MobileNetV4."""
    _check_kind(cfg, IMAGE_KINDS, "image")
    from purrsight_model.encoders import image
    from purrsight_model.encoders.torch_io import set_threads

    set_threads(cfg.threads)
    if cfg.kind == "mobilenet_v2":
        return image.load_mobilenet_v2(cfg.path or locate(MOBILENET_V2))
    if cfg.path is None:
        raise EncoderError(
            "mobilenet_v4 has no packaged weights: pass the path of a timm state dict "
            "(e.g. mobilenetv4_conv_small .safetensors/.pth)"
        )
    return image.load_mobilenet_v4(cfg.path)


def load_audio_encoder(cfg: EncoderConfig) -> AudioEncoder:
    """YAMNet (float ONNX from the packaged w8a8 export by default) or PANNs CNN14."""
    _check_kind(cfg, AUDIO_KINDS, "audio")
    if cfg.kind == "yamnet":
        from purrsight_model.encoders.yamnet import YamnetEncoder
        from purrsight_model.encoders.yamnet_graph import prepare_yamnet

        files = prepare_yamnet(cfg.path or locate(YAMNET_W8A8_ZIP), cfg.cache_dir)
        return YamnetEncoder(files, cfg.threads)
    from purrsight_model.encoders.panns import load_cnn14
    from purrsight_model.encoders.torch_io import set_threads

    set_threads(cfg.threads)
    return load_cnn14(cfg.path)


def load_text_encoder(cfg: EncoderConfig) -> TextEncoder:
    """all-MiniLM-L6-v2 (packaged) or any local BERT-like Hugging Face folder."""
    _check_kind(cfg, TEXT_KINDS, "text")
    from purrsight_model.encoders.text import HFTextEncoder
    from purrsight_model.encoders.torch_io import set_threads

    set_threads(cfg.threads)
    if cfg.path is None and cfg.kind == "hf_text":
        raise EncoderError("hf_text needs the path of a local Hugging Face model folder")
    folder = Path(cfg.path) if cfg.path else locate(MINILM_DIR)
    if not folder.is_dir():
        raise EncoderError(f"text encoder folder not found: {folder}")
    return HFTextEncoder(cfg.kind, folder)
