"""Image encoders with randomly initialised weights saved to tmp files (no packaged weights)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch

from purrsight_model.encoders import EncoderConfig, EncoderError, load_image_encoder
from purrsight_model.encoders.image import IMAGENET_CAT_CLASSES
from purrsight_model.encoders.mobilenet_v2 import MobileNetV2, infer_width
from purrsight_model.encoders.mobilenet_v4 import MobileNetV4, detect_variant
from purrsight_model.frontends import preprocess_images


def randomised(model: torch.nn.Module, seed: int = 0) -> dict[str, torch.Tensor]:
    """State dict with non-trivial BN statistics, so a wrong key mapping changes outputs."""
    g = torch.Generator().manual_seed(seed)
    out = {}
    for k, v in model.state_dict().items():
        if k.endswith("running_var"):
            v = torch.rand(v.shape, generator=g) + 0.5
        elif v.is_floating_point():
            v = v + 0.05 * torch.randn(v.shape, generator=g)
        out[k] = v
    return out


def images() -> list[np.ndarray]:
    rng = np.random.default_rng(0)
    return [
        rng.integers(0, 256, (240, 320, 3), dtype=np.uint8),
        rng.integers(0, 256, (500, 400, 3), dtype=np.uint8),
    ]


def test_mobilenet_v2_has_torchvision_keys() -> None:
    keys = list(MobileNetV2().state_dict())
    assert len(keys) == 314  # torchvision mobilenet_v2, num_batches_tracked included
    for key in (
        "features.0.0.weight",
        "features.1.conv.0.0.weight",
        "features.1.conv.1.weight",
        "features.2.conv.0.0.weight",
        "features.17.conv.3.running_var",
        "features.18.1.weight",
        "classifier.1.weight",
    ):
        assert key in keys


@pytest.mark.parametrize("width", [1.0, 0.5])
def test_mobilenet_v2_roundtrip_through_loader(tmp_path: Path, width: float) -> None:
    reference = MobileNetV2(width).eval()
    state = randomised(reference)
    reference.load_state_dict(state, strict=True)
    path = tmp_path / "mnv2.pth"
    torch.save(state, path)
    assert infer_width(state) == width
    enc = load_image_encoder(EncoderConfig("mobilenet_v2", str(path)))
    feats = enc.encode(images())
    assert enc.kind == "mobilenet_v2" and enc.dim == 1280
    assert feats.embedding.shape == (2, 1280) and feats.logits.shape == (2, 1000)
    with torch.no_grad():
        want_emb, want_logits = reference(torch.from_numpy(preprocess_images(images())))
    np.testing.assert_allclose(feats.embedding, want_emb.numpy(), rtol=1e-4, atol=1e-4)
    probs = torch.softmax(want_logits, dim=1)[:, list(IMAGENET_CAT_CLASSES)].sum(1).numpy()
    np.testing.assert_allclose(feats.cat_score, probs, rtol=1e-4, atol=1e-6)
    assert enc.version.startswith("mobilenet_v2-") and len(enc.version) == len("mobilenet_v2-") + 12


def test_mobilenet_v2_empty_batch(tmp_path: Path) -> None:
    path = tmp_path / "m.pth"
    torch.save(MobileNetV2(0.35).state_dict(), path)
    feats = load_image_encoder(EncoderConfig("mobilenet_v2", str(path))).encode([])
    assert feats.embedding.shape == (0, 1280) and feats.cat_score.shape == (0,)
    assert feats.logits is not None and feats.logits.shape == (0, 1000)


def test_mobilenet_v4_conv_small_matches_timm_layout() -> None:
    state = MobileNetV4("conv_small").state_dict()
    assert len(state) == 278  # timm mobilenetv4_conv_small
    params = sum(
        v.numel() for k, v in state.items() if "running" not in k and "num_batches" not in k
    )
    assert params == 3_774_024
    for key in (
        "conv_stem.weight",
        "bn1.running_mean",
        "blocks.0.0.conv.weight",
        "blocks.0.0.bn1.weight",
        "blocks.2.0.dw_start.conv.weight",
        "blocks.2.0.dw_mid.bn.running_var",
        "blocks.2.5.pw_proj.conv.weight",
        "blocks.4.0.conv.weight",
        "conv_head.weight",
        "norm_head.weight",
        "classifier.weight",
    ):
        assert key in state
    assert tuple(state["conv_head.weight"].shape) == (1280, 960, 1, 1)


@pytest.mark.parametrize(("suffix", "num_classes"), [(".safetensors", 1000), (".pth", 0)])
def test_mobilenet_v4_roundtrip_through_loader(
    tmp_path: Path, suffix: str, num_classes: int
) -> None:
    reference = MobileNetV4("conv_small", num_classes).eval()
    state = randomised(reference, seed=1)
    reference.load_state_dict(state, strict=True)
    path = tmp_path / f"mnv4{suffix}"
    if suffix == ".safetensors":
        from safetensors.torch import save_file

        save_file({k: v.contiguous() for k, v in state.items()}, str(path))
    else:
        torch.save({"state_dict": state}, path)
    assert detect_variant(state) == ("conv_small", num_classes)
    enc = load_image_encoder(EncoderConfig("mobilenet_v4", str(path)))
    feats = enc.encode(images())
    with torch.no_grad():
        want, _ = reference(torch.from_numpy(preprocess_images(images())))
    np.testing.assert_allclose(feats.embedding, want.numpy(), rtol=1e-4, atol=1e-4)
    if num_classes:
        assert feats.logits.shape == (2, 1000) and np.all(
            (feats.cat_score >= 0) & (feats.cat_score <= 1)
        )
    else:
        assert feats.logits is None and np.all(np.isnan(feats.cat_score))


def test_mobilenet_v4_other_variants_are_detected() -> None:
    with torch.device("meta"):
        state = MobileNetV4("conv_medium", 10).state_dict()
    assert detect_variant(state) == ("conv_medium", 10)


def test_mobilenet_v4_unsupported_layouts_raise(tmp_path: Path) -> None:
    state = MobileNetV4("conv_small", 0).state_dict()
    hybrid = dict(state, **{"blocks.3.4.attn.query.proj.weight": torch.zeros(4, 4, 1, 1)})
    torch.save(hybrid, tmp_path / "hybrid.pth")
    with pytest.raises(EncoderError, match="hybrid"):
        load_image_encoder(EncoderConfig("mobilenet_v4", str(tmp_path / "hybrid.pth")))
    partial = {k: v for k, v in state.items() if not k.startswith("blocks.3")}
    torch.save(partial, tmp_path / "partial.pth")
    with pytest.raises(EncoderError, match="partial.pth"):
        load_image_encoder(EncoderConfig("mobilenet_v4", str(tmp_path / "partial.pth")))
    with pytest.raises(EncoderError, match="no packaged"):
        load_image_encoder(EncoderConfig("mobilenet_v4"))


def test_broken_or_missing_weights_raise_encoder_error(tmp_path: Path) -> None:
    garbage = tmp_path / "garbage.pth"
    garbage.write_bytes(b"not a checkpoint" * 100)
    with pytest.raises(EncoderError, match="garbage.pth"):
        load_image_encoder(EncoderConfig("mobilenet_v2", str(garbage)))
    with pytest.raises(EncoderError, match="missing.pth"):
        load_image_encoder(EncoderConfig("mobilenet_v2", str(tmp_path / "missing.pth")))
    wrong = tmp_path / "wrong.pth"
    torch.save(
        {"features.0.0.weight": torch.zeros(3, 3, 3, 3), "classifier.1.weight": torch.zeros(5, 5)},
        wrong,
    )
    with pytest.raises(EncoderError, match="wrong.pth"):
        load_image_encoder(EncoderConfig("mobilenet_v2", str(wrong)))
    with pytest.raises(EncoderError, match="image encoder kind"):
        load_image_encoder(EncoderConfig("yamnet"))


def test_half_precision_checkpoint_is_loaded_as_float32(tmp_path: Path) -> None:
    state = {
        k: v.half() if v.is_floating_point() else v
        for k, v in randomised(MobileNetV2(0.35)).items()
    }
    torch.save(state, tmp_path / "half.pth")
    reference = MobileNetV2(0.35).eval()
    reference.load_state_dict(state)  # copies (and casts) into float32 parameters
    feats = load_image_encoder(EncoderConfig("mobilenet_v2", str(tmp_path / "half.pth"))).encode(
        images()
    )
    with torch.no_grad():
        want, _ = reference(torch.from_numpy(preprocess_images(images())))
    assert feats.embedding.dtype == np.float32
    np.testing.assert_allclose(feats.embedding, want.numpy(), rtol=1e-4, atol=1e-4)
