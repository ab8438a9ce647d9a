"""Augmentation before the frozen encoders: transforms, determinism, recipe ids."""

from __future__ import annotations

import numpy as np
import pytest

from purrsight_model.data.augment import (
    SR,
    AugmentConfig,
    ImageView,
    apply_image_view,
    augment_audio,
    augment_frames,
    augment_image,
    change_speed,
    copy_rng,
    mix_in,
    time_shift,
)

SHA = "ab" * 32


def sine(freq: float, seconds: float, amp: float = 0.5) -> np.ndarray:
    t = np.arange(int(seconds * SR)) / SR
    return (amp * np.sin(2 * np.pi * freq * t)).astype(np.float32)


def zero_crossings(x: np.ndarray) -> int:
    return int(np.sum(np.signbit(x[1:]) != np.signbit(x[:-1])))


def test_recipe_id_ignores_copies_but_not_transforms() -> None:
    base = AugmentConfig(copies=2)
    assert base.recipe_id() == AugmentConfig(copies=8).recipe_id()
    assert base.recipe_id() != AugmentConfig(copies=2, gain_db=(-3.0, 3.0)).recipe_id()
    assert base.recipe_id() != AugmentConfig(seed=1).recipe_id()
    assert base.variant(3) == f"{base.recipe_id()}/3"
    assert AugmentConfig.from_dict(base.to_dict()) == base


def test_copies_are_reproducible_and_differ_from_each_other() -> None:
    cfg = AugmentConfig()
    x = sine(440, 2.0)
    a = augment_audio(x, copy_rng(cfg, SHA, 1), cfg)
    b = augment_audio(x, copy_rng(cfg, SHA, 1), cfg)
    c = augment_audio(x, copy_rng(cfg, SHA, 2), cfg)
    assert np.array_equal(a, b)
    assert a.shape != c.shape or not np.allclose(a, c)
    assert a.dtype == np.float32 and np.abs(a).max() <= 1.0


def test_time_shift_drops_or_pads_the_start() -> None:
    x = np.arange(SR, dtype=np.float32)  # 1 s ramp
    assert np.array_equal(time_shift(x, 0.25), x[SR // 4:])
    padded = time_shift(x, -0.25)
    assert padded.size == SR + SR // 4 and not padded[: SR // 4].any()
    short = np.ones(SR // 2, np.float32)  # too short to lose its start: padded instead
    assert time_shift(short, 0.25).size == SR // 2 + SR // 4


def test_speed_changes_length_and_pitch_together() -> None:
    x = sine(200, 1.0)
    fast = change_speed(x, 1.25)
    assert fast.size == round(x.size / 1.25)
    per_second = zero_crossings(fast) / (fast.size / SR)
    assert per_second == pytest.approx(1.25 * zero_crossings(x), rel=0.02)


def test_mix_in_is_added_at_the_asked_level() -> None:
    x, other = sine(300, 1.0, 0.5), sine(1234, 0.3, 0.9)  # partner shorter: looped
    out = mix_in(x, other, -20.0, np.random.default_rng(0))
    added = out - x
    rms = lambda v: np.sqrt(np.mean(v.astype(np.float64) ** 2))  # noqa: E731
    assert rms(added) == pytest.approx(0.1 * rms(x), rel=0.05)
    assert zero_crossings(added) > 3 * zero_crossings(x)  # it is the partner's tone
    assert np.array_equal(mix_in(x, np.zeros(100, np.float32), -6, np.random.default_rng(0)), x)


def test_gain_only_recipe_scales_within_range() -> None:
    cfg = AugmentConfig(speed_prob=0, max_shift_s=0, mix_prob=0, noise_prob=0,
                        gain_db=(-6.0, -6.0))
    x = sine(500, 1.0, 0.5)
    out = augment_audio(x, copy_rng(cfg, SHA, 1), cfg, partner=sine(900, 1.0))
    assert np.allclose(out, x * 10 ** (-6 / 20), atol=1e-6)


def test_loud_copies_are_clipped_like_real_recordings() -> None:
    cfg = AugmentConfig(speed_prob=0, max_shift_s=0, noise_prob=0, gain_db=(12.0, 12.0))
    out = augment_audio(sine(500, 0.5, 0.9), copy_rng(cfg, SHA, 1), cfg)
    assert out.max() == pytest.approx(1.0) and out.min() == pytest.approx(-1.0)


def test_noise_reaches_the_asked_snr() -> None:
    cfg = AugmentConfig(speed_prob=0, max_shift_s=0, mix_prob=0, gain_db=(0.0, 0.0),
                        noise_prob=1.0, noise_snr_db=(20.0, 20.0))
    x = sine(500, 2.0, 0.3)
    noise = augment_audio(x, copy_rng(cfg, SHA, 1), cfg) - x
    snr = 10 * np.log10(np.mean(x.astype(np.float64) ** 2) / np.mean(noise ** 2))
    assert snr == pytest.approx(20.0, abs=0.3)


def image() -> np.ndarray:
    img = np.zeros((40, 60, 3), np.uint8)
    img[:, :30, 0] = 200  # red left half
    img[:, 30:, 2] = 120  # blue right half
    return img


def test_identity_view_and_flip() -> None:
    same = ImageView((0.0, 0.0, 1.0, 1.0), False, 1.0, 1.0, 1.0)
    assert np.array_equal(apply_image_view(image(), same), image())
    flipped = apply_image_view(image(), ImageView((0.0, 0.0, 1.0, 1.0), True, 1.0, 1.0, 1.0))
    assert np.array_equal(flipped, image()[:, ::-1])


def test_crop_takes_the_box_and_brightness_scales() -> None:
    left = apply_image_view(image(), ImageView((0.0, 0.0, 0.5, 0.5), False, 1.0, 1.0, 1.0))
    assert left.shape == (20, 30, 3) and (left[..., 0] == 200).all()
    dim = apply_image_view(image(), ImageView((0.0, 0.0, 1.0, 1.0), False, 0.5, 1.0, 1.0))
    assert dim[0, 0, 0] == 100


def test_random_views_are_valid_images() -> None:
    cfg = AugmentConfig()
    for k in range(1, 6):
        out = augment_image(image(), copy_rng(cfg, SHA, k), cfg)
        assert out.dtype == np.uint8 and out.ndim == 3 and out.shape[2] == 3
        assert out.shape[0] * out.shape[1] >= 0.3 * 40 * 60


def test_video_frames_share_one_view() -> None:
    frames = np.stack([image(), image()])
    out = augment_frames(frames, copy_rng(AugmentConfig(), SHA, 1), AugmentConfig())
    assert len(out) == 2 and np.array_equal(out[0], out[1])
