"""The real packaged weights (slow: they load a few MB to ~90 MB each)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from purrsight_model.encoders import (
    EncoderConfig,
    load_audio_encoder,
    load_image_encoder,
    load_text_encoder,
)
from purrsight_model.encoders import yamnet_classes as yc

pytestmark = pytest.mark.slow


def test_mobilenet_v2_packaged_weights_load_strict() -> None:
    enc = load_image_encoder(EncoderConfig("mobilenet_v2"))
    assert enc.version == "mobilenet_v2-b03531047ffa"  # sha256 of mobilenet_v2-b0353104.pth
    yy, xx = np.mgrid[0:300, 0:400]
    img = np.stack([(xx % 256), (yy % 256), ((xx + yy) % 256)], axis=-1).astype(np.uint8)
    feats = enc.encode([img])
    assert feats.embedding.shape == (1, 1280) and np.all(np.isfinite(feats.embedding))
    assert feats.logits.shape == (1, 1000) and 0.0 <= feats.cat_score[0] <= 1.0


def test_yamnet_packaged_float_graph(tmp_path: Path) -> None:
    enc = load_audio_encoder(EncoderConfig("yamnet", cache_dir=str(tmp_path)))
    assert (enc.dim, enc.sample_rate) == (1536, 16000)  # blocks 11 + 13 pooled (yamnet_taps)
    t = np.arange(3 * 16000) / 16000
    wav = (0.3 * np.sin(2 * np.pi * 440 * t) * (1 + np.sin(2 * np.pi * 3 * t))).astype(np.float32)
    feats = enc.encode(wav)
    assert feats.embedding.shape == (6, 1536) and feats.scores.shape == (6, 521)
    assert np.all(np.isfinite(feats.embedding)) and feats.embedding.std() > 0
    assert np.all((feats.scores >= 0) & (feats.scores <= 1))
    silence = enc.encode(np.zeros(16000, np.float32)).scores[0]
    assert yc.class_names()[int(np.argmax(silence))] == "Silence"
    again = load_audio_encoder(EncoderConfig("yamnet", cache_dir=str(tmp_path)))
    assert again.version == enc.version  # cached graph reused


def test_yamnet_class_indices_match_the_class_map() -> None:
    names = yc.class_names()
    assert len(names) == yc.NUM_CLASSES
    for index, name in yc.EXPECTED_NAMES.items():
        assert names[index] == name


def test_minilm_sentence_similarity() -> None:
    enc = load_text_encoder(EncoderConfig("minilm"))
    assert enc.dim == 384
    a, b, c = enc.encode(["a cat purring", "purring kitten", "stock market report"])
    np.testing.assert_allclose([np.linalg.norm(a), np.linalg.norm(b)], 1.0, atol=1e-5)
    assert float(a @ b) > float(a @ c) + 0.3
