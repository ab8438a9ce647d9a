"""Slow: export the real packaged encoders (MobileNetV2, YAMNet, MiniLM) with a random aligner
of the real sizes, then analyse the repo's demo photo and meow with the torch-free runtime."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch

from purrsight_model.align import checkpoint as ackpt
from purrsight_model.align.config import AlignConfig
from purrsight_model.align.model import AlignModel, FeatureDims
from purrsight_model.export import export_bundle
from purrsight_model.export.tiny import HEADS

DEMO = Path(__file__).resolve().parents[2] / "resources" / "demo-src"


@pytest.mark.slow
def test_packaged_encoders_export_and_see_a_cat(tmp_path) -> None:
    from purrsight_model.media import load_audio, load_image
    from purrsight_model.runtime import Analyzer

    photo, meow = DEMO / "chelsea.png", DEMO / "I_CAN01_EU_FN_GIA01_305.wav"
    if not (photo.is_file() and meow.is_file()):
        pytest.skip("demo media not in this checkout")
    cfg = AlignConfig(dim=64, hidden=64, dropout=0.0)
    torch.manual_seed(0)
    run = tmp_path / "align"
    ackpt.write_config(cfg, run)
    ackpt.save_model(AlignModel(cfg, FeatureDims(), HEADS), run)
    bundle = export_bundle(run, None, tmp_path / "bundle", quantize=False, threads=1)
    analyzer = Analyzer.load(bundle, threads=1)
    assert analyzer.bundle.manifest["encoders"]["image"].startswith("mobilenet_v2-")
    obs = analyzer.analyze(load_image(photo), load_audio(meow)[:15360])
    assert obs.cat_visible > 0.5  # ImageNet's cat classes on a cat photo
    assert obs.cat_heard > 0.5 and obs.calls["meow"] > max(obs.calls["hiss"], obs.calls["purr"])
    vec = analyzer.embed_text("a cat meowing")
    assert vec.shape == (64,) and np.isclose(np.linalg.norm(vec), 1.0, atol=1e-5)
