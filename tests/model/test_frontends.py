"""Front ends: YAMNet log-mel vs an independent direct computation, resampling, images."""

from __future__ import annotations

import numpy as np
import pytest

from purrsight_model import frontends as fe

SR = fe.TARGET_SR


def tone(freq: float, seconds: float, sr: int = SR, amp: float = 0.5) -> np.ndarray:
    t = np.arange(int(round(seconds * sr))) / sr
    return (amp * np.sin(2 * np.pi * freq * t)).astype(np.float32)


def reference_mel_bank() -> np.ndarray:
    """HTK-mel triangles written out bin by bin, from the YAMNet parameters."""

    def mel(f: float) -> float:
        return 1127.0 * np.log(1.0 + f / 700.0)

    lo, hi = mel(125.0), mel(7500.0)
    edges = [lo + i * (hi - lo) / 65 for i in range(66)]
    bank = np.zeros((257, 64))
    for b in range(1, 257):  # the DC bin never contributes
        m = mel(b * 8000.0 / 256)
        for k in range(64):
            left, mid, right = edges[k], edges[k + 1], edges[k + 2]
            bank[b, k] = max(0.0, min((m - left) / (mid - left), (right - m) / (right - mid)))
    return bank


def reference_log_mel(x: np.ndarray, frames: list[int]) -> np.ndarray:
    """Direct DFT (explicit sums, no FFT) of chosen frames, then mel + log offset."""
    n = np.arange(400)
    window = 0.5 - 0.5 * np.cos(2 * np.pi * n / 400)
    k = np.arange(257)[:, None]
    basis = np.exp(-2j * np.pi * k * n[None, :] / 512)  # 400 samples zero-padded to 512
    rows = []
    for f in frames:
        seg = x[f * 160 : f * 160 + 400].astype(np.float64) * window
        rows.append(np.log(np.abs(basis @ seg) @ reference_mel_bank() + 0.001))
    return np.array(rows)


def test_mel_bank_matches_reference() -> None:
    np.testing.assert_allclose(fe.mel_matrix(), reference_mel_bank(), atol=1e-6)


def test_log_mel_matches_direct_computation_for_a_tone() -> None:
    x = tone(1000.0, 1.0) + 0.01 * np.random.default_rng(0).standard_normal(SR).astype(np.float32)
    got = fe.log_mel(x)
    assert got.shape == (1 + (SR - 400) // 160, 64) == (98, 64)
    frames = [0, 17, 97]
    np.testing.assert_allclose(got[frames], reference_log_mel(x, frames), atol=2e-3)


@pytest.mark.parametrize("freq", [300.0, 1000.0, 3000.0, 6000.0])
def test_tone_energy_lands_in_the_right_mel_bin(freq: float) -> None:
    mel = lambda f: 1127.0 * np.log(1.0 + f / 700.0)  # noqa: E731
    centers = np.linspace(mel(125.0), mel(7500.0), 66)[1:-1]
    expected = int(np.argmin(np.abs(centers - mel(freq))))
    got = fe.log_mel(tone(freq, 0.5)).mean(axis=0)
    assert abs(int(np.argmax(got)) - expected) <= 1
    assert got.max() - np.median(got) > 5.0  # a tone, not a flat spectrum


def test_silence_is_the_log_offset() -> None:
    np.testing.assert_allclose(fe.log_mel(np.zeros(SR, np.float32)), np.log(0.001), atol=1e-6)


def test_patches_count_and_hop() -> None:
    x = np.random.default_rng(1).standard_normal(3 * SR).astype(np.float32) * 0.1
    patches = fe.log_mel_patches(x)
    # YAMNet padding: 0.975 s minimum, then whole 0.48 s hops (the tail gets a patch)
    assert patches.shape == (1 + int(np.ceil((3 * SR - 15600) / 7680)), 96, 64) == (6, 96, 64)
    frames = fe.log_mel(np.pad(x, (0, fe.padded_length(x.size) - x.size)))
    np.testing.assert_array_equal(patches[1], frames[48:144])
    assert (
        fe.log_mel_patches(x, hop_seconds=0.96).shape[0]
        == 1 + int(np.ceil((3 * SR - 15600) / 15360))
        == 4
    )


@pytest.mark.parametrize("seconds", [0.01, 0.3, 0.96, 0.975])
def test_short_clip_is_padded_to_one_patch(seconds: float) -> None:
    x = tone(440.0, seconds)
    patches = fe.log_mel_patches(x)
    assert patches.shape == (1, 96, 64)
    if seconds < 0.5:  # the padded tail is pure silence
        np.testing.assert_allclose(patches[0, -40:], np.log(0.001), atol=1e-6)


def test_log_mel_rejects_bad_input() -> None:
    with pytest.raises(fe.FrontendError):
        fe.log_mel_patches(np.zeros((2, 16000), np.float32))
    with pytest.raises(fe.FrontendError):
        fe.log_mel_patches(np.full(16000, np.nan, np.float32))
    assert fe.log_mel(np.zeros(100, np.float32)).shape == (0, 64)


def dominant_hz(x: np.ndarray, sr: int) -> float:
    spec = np.abs(np.fft.rfft(x * np.hanning(x.size)))
    return float(np.argmax(spec) * sr / x.size)


@pytest.mark.parametrize("sr_in", [8000, 11025, 22050, 32000, 44100, 48000])
def test_resample_preserves_tone_frequency_and_level(sr_in: int) -> None:
    x = tone(1000.0, 1.0, sr=sr_in)
    y = fe.resample(x, sr_in, SR)
    assert y.dtype == np.float32
    assert y.size == int(np.ceil(x.size * SR / sr_in))
    assert abs(dominant_hz(y, SR) - 1000.0) <= 2.0
    ideal = 0.5 * np.sin(2 * np.pi * 1000.0 * np.arange(y.size) / SR)
    np.testing.assert_allclose(y[500:-500], ideal[500:-500], atol=1e-3)


def test_resample_removes_content_above_the_new_nyquist() -> None:
    y = fe.resample(tone(10000.0, 1.0, sr=44100), 44100, SR)
    assert np.sqrt(np.mean(y[500:-500] ** 2)) < 1e-3


def test_resample_up_and_identity_and_int16() -> None:
    x = tone(500.0, 0.5)
    up = fe.resample(x, SR, 32000)
    assert up.size == 2 * x.size and abs(dominant_hz(up, 32000) - 500.0) <= 2.0
    same = fe.resample(x, SR, SR)
    np.testing.assert_array_equal(same, x)
    pcm = (x * 32767).astype(np.int16)
    np.testing.assert_allclose(fe.resample(pcm, SR, SR), x, atol=1e-4)
    with pytest.raises(fe.FrontendError):
        fe.resample(x, 0, SR)


def test_preprocess_image_shape_and_normalisation() -> None:
    mean_rgb = np.round(fe.IMAGENET_MEAN * 255).astype(np.uint8)
    img = np.broadcast_to(mean_rgb, (300, 500, 3)).copy()
    out = fe.preprocess_image(img)
    assert out.shape == (3, 224, 224) and out.dtype == np.float32
    assert np.abs(out).max() < 0.01
    white = fe.preprocess_image(np.full((50, 80, 3), 255, np.uint8))  # upscaled
    np.testing.assert_allclose(
        white[:, 100, 100], (1 - fe.IMAGENET_MEAN) / fe.IMAGENET_STD, atol=1e-5
    )


def test_preprocess_image_crops_the_centre_in_rgb_order() -> None:
    img = np.zeros((256, 456, 3), np.uint8)  # short side already 256: no resize
    left = (456 - 224) // 2
    img[:, left, 0] = 255  # red column at the crop's left edge
    img[:, left + 223, 2] = 255  # blue column at its right edge
    out = (
        fe.preprocess_image(img) * fe.IMAGENET_STD[:, None, None] + fe.IMAGENET_MEAN[:, None, None]
    )
    assert out[0, :, 0].min() > 0.99 and out[2, :, 0].max() < 0.01
    assert out[2, :, 223].min() > 0.99 and out[0, :, 223].max() < 0.01
    assert out[0, :, 1].max() < 0.01


def test_preprocess_images_batch_and_bad_input() -> None:
    batch = fe.preprocess_images([np.zeros((64, 64, 3), np.uint8), np.zeros((480, 640), np.uint8)])
    assert batch.shape == (2, 3, 224, 224)
    assert fe.preprocess_images([]).shape == (0, 3, 224, 224)
    assert fe.preprocess_image(np.zeros((40, 40, 4), np.uint8)).shape == (3, 224, 224)
    with pytest.raises(fe.FrontendError):
        fe.preprocess_image(np.zeros((40, 40, 3), np.float32))
    with pytest.raises(fe.FrontendError):
        fe.preprocess_image(np.zeros((40, 40, 2), np.uint8))


def test_frontends_do_not_import_torch() -> None:
    import subprocess
    import sys

    code = "import sys, purrsight_model.frontends; assert 'torch' not in sys.modules"
    subprocess.run([sys.executable, "-c", code], check=True)
