"""Frozen encoders: image (MobileNetV2/V4), audio (YAMNet ONNX, PANNs CNN14), text (MiniLM).

Importing this package is cheap and torch-free; torch/transformers load inside the loaders
that need them (YAMNet needs only onnxruntime, plus ``onnx`` the first time its float graph
is built).
"""

from purrsight_model.encoders.base import (
    AUDIO_KINDS,
    IMAGE_KINDS,
    TEXT_KINDS,
    AudioEncoder,
    AudioFeatures,
    EncoderConfig,
    EncoderError,
    ImageEncoder,
    ImageFeatures,
    TextEncoder,
    encode_audio,
)
from purrsight_model.encoders.registry import (
    load_audio_encoder,
    load_image_encoder,
    load_text_encoder,
)

__all__ = [
    "AUDIO_KINDS",
    "IMAGE_KINDS",
    "TEXT_KINDS",
    "AudioEncoder",
    "AudioFeatures",
    "EncoderConfig",
    "EncoderError",
    "ImageEncoder",
    "ImageFeatures",
    "TextEncoder",
    "encode_audio",
    "load_audio_encoder",
    "load_image_encoder",
    "load_text_encoder",
]
