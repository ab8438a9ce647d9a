"""Label-preserving augmentation of raw media, applied BEFORE the frozen encoders.

The encoders are frozen, so the only way to show the trainable heads new views of a clip is
to change the waveform or the pixels and encode again. ``build_augmented`` (feature_cache)
stores ``copies`` such views per training file, keyed by content hash + recipe id + copy
number, and Phase 1 samples among the original and its copies every epoch.

Every transform is drawn from a generator seeded by (recipe seed, file sha, copy number), so
a copy is reproducible and an interrupted build resumes with identical results.

Audio: random speed (pitch and tempo together, a few percent), time shift by a fraction of
the encoder's 0.48 s hop (the patch grid then falls elsewhere: a finer effective hop), mixing
in another clip with the same labels at a lower level, gain (incl. clipping, as web audio
often is) and additive noise at a random SNR. Images: random resized crop, horizontal flip,
brightness/contrast/saturation jitter. A video's frames share one image transform.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import asdict, dataclass

import numpy as np

SR = 16000


@dataclass(frozen=True)
class AugmentConfig:
    """One augmentation recipe. Changing any field but the copy counts gives a new recipe id."""

    copies: int = 4
    """Augmented copies stored per training audio file or video (the original is kept too)."""
    image_copies: int = 0
    """Copies per still image (a photo encodes ~30x faster than a clip, so more are cheap);
    0 = ``copies``."""
    speed: tuple[float, float] = (0.94, 1.06)
    """Playback-rate range (resampling: pitch and tempo change together)."""
    speed_prob: float = 0.5
    """Probability of changing the speed."""
    max_shift_s: float = 0.48
    """Time shift range in seconds (+: drop the start, -: pad silence before)."""
    mix_prob: float = 0.3
    """Probability of mixing in another clip with the same labels (needs a partner)."""
    mix_db: tuple[float, float] = (-18.0, -6.0)
    """Level of the mixed-in clip relative to the clip, in dB RMS."""
    gain_db: tuple[float, float] = (-12.0, 6.0)
    """Gain range in dB; the result is clipped to [-1, 1]."""
    noise_prob: float = 0.5
    """Probability of adding Gaussian noise."""
    noise_snr_db: tuple[float, float] = (10.0, 35.0)
    """Signal-to-noise ratio range of the added noise."""
    crop_scale: tuple[float, float] = (0.55, 1.0)
    """Area fraction of the random crop of an image."""
    flip_prob: float = 0.5
    """Probability of a horizontal flip."""
    color_jitter: float = 0.25
    """Max relative change of brightness, contrast and saturation."""
    seed: int = 0
    """Base seed of the recipe."""

    def recipe_id(self) -> str:
        """Short hash of every field except the copy counts (more copies extend a recipe)."""
        fields = {k: v for k, v in asdict(self).items() if k not in ("copies", "image_copies")}
        blob = json.dumps(fields, sort_keys=True, default=list).encode()
        return "aug-" + hashlib.sha256(blob).hexdigest()[:10]

    def copies_for(self, kind: str) -> int:
        """Copies stored per file of ``kind`` ("image", "audio" or "video")."""
        return (self.image_copies or self.copies) if kind == "image" else self.copies

    def variant(self, copy: int) -> str:
        """Cache variant name of copy ``copy`` (1-based)."""
        return f"{self.recipe_id()}/{copy}"

    def to_dict(self) -> dict:
        return {k: list(v) if isinstance(v, tuple) else v for k, v in asdict(self).items()}

    @classmethod
    def from_dict(cls, d: dict) -> AugmentConfig:
        known = {k: tuple(v) if isinstance(v, list) else v for k, v in d.items()
                 if k in cls.__dataclass_fields__}
        return cls(**known)


def copy_rng(cfg: AugmentConfig, sha: str, copy: int) -> np.random.Generator:
    """Generator for copy ``copy`` of the file with content hash ``sha``."""
    return np.random.default_rng([cfg.seed, int(sha[:15], 16), copy])


def _uniform(rng: np.random.Generator, lo_hi: tuple[float, float]) -> float:
    return float(rng.uniform(lo_hi[0], lo_hi[1]))


def _rms(x: np.ndarray) -> float:
    return float(np.sqrt(np.mean(np.square(x, dtype=np.float64)))) if x.size else 0.0


def change_speed(x: np.ndarray, rate: float) -> np.ndarray:
    """Resample by linear interpolation: ``rate`` > 1 is faster and higher."""
    n_out = max(1, int(round(x.size / rate)))
    pos = np.arange(n_out, dtype=np.float64) * rate  # [n_out] positions in x
    return np.interp(pos, np.arange(x.size), x).astype(np.float32)


def time_shift(x: np.ndarray, shift_s: float, min_keep_s: float = 0.5) -> np.ndarray:
    """Drop ``shift_s`` seconds from the start (>0) or pad that much silence before (<0)."""
    n = int(round(abs(shift_s) * SR))
    if shift_s < 0:
        return np.concatenate([np.zeros(n, np.float32), x])
    if x.size - n < min_keep_s * SR:  # too short to lose its start: pad instead
        return np.concatenate([np.zeros(n, np.float32), x])
    return x[n:]


def mix_in(x: np.ndarray, other: np.ndarray, level_db: float,
           rng: np.random.Generator) -> np.ndarray:
    """Add ``other`` (looped/cropped to x's length at a random offset) ``level_db`` below x."""
    if other.size == 0 or x.size == 0:
        return x
    if other.size < x.size:
        other = np.tile(other, -(-x.size // other.size))
    start = int(rng.integers(0, other.size - x.size + 1))
    part = other[start : start + x.size]
    ref, level = _rms(x), _rms(part)
    if ref == 0.0 or level == 0.0:
        return x
    return (x + part * (ref / level) * 10.0 ** (level_db / 20.0)).astype(np.float32)


def augment_audio(x: np.ndarray, rng: np.random.Generator, cfg: AugmentConfig,
                  partner: np.ndarray | None = None) -> np.ndarray:
    """One random label-preserving view of a mono 16 kHz waveform ``x`` ([T] float32)."""
    y = np.asarray(x, dtype=np.float32)
    if rng.random() < cfg.speed_prob:
        y = change_speed(y, _uniform(rng, cfg.speed))
    y = time_shift(y, float(rng.uniform(-cfg.max_shift_s, cfg.max_shift_s)))
    if partner is not None and rng.random() < cfg.mix_prob:
        y = mix_in(y, np.asarray(partner, np.float32), _uniform(rng, cfg.mix_db), rng)
    y = y * np.float32(10.0 ** (_uniform(rng, cfg.gain_db) / 20.0))
    if rng.random() < cfg.noise_prob:
        sigma = _rms(y) * 10.0 ** (-_uniform(rng, cfg.noise_snr_db) / 20.0)
        y = y + rng.standard_normal(y.size).astype(np.float32) * np.float32(sigma)
    return np.clip(y, -1.0, 1.0).astype(np.float32)


@dataclass(frozen=True)
class ImageView:
    """One drawn image transform (shared by every frame of a video)."""

    box: tuple[float, float, float, float]  # top, left, height, width as fractions
    flip: bool
    brightness: float
    contrast: float
    saturation: float


def draw_image_view(rng: np.random.Generator, cfg: AugmentConfig) -> ImageView:
    """Random resized crop (aspect 3/4..4/3), flip and colour jitter."""
    area = _uniform(rng, cfg.crop_scale)
    aspect = float(np.exp(rng.uniform(np.log(3 / 4), np.log(4 / 3))))
    h = min(1.0, float(np.sqrt(area / aspect)))
    w = min(1.0, float(np.sqrt(area * aspect)))
    top, left = float(rng.uniform(0, 1 - h)), float(rng.uniform(0, 1 - w))
    j = cfg.color_jitter
    return ImageView((top, left, h, w), bool(rng.random() < cfg.flip_prob),
                     *(float(rng.uniform(1 - j, 1 + j)) for _ in range(3)))


def apply_image_view(img: np.ndarray, view: ImageView) -> np.ndarray:
    """uint8 RGB [H, W, 3] -> transformed uint8 RGB crop (the encoder resizes it)."""
    h, w = img.shape[:2]
    top, left, bh, bw = view.box
    y0, x0 = int(top * h), int(left * w)
    y1, x1 = max(y0 + 1, int((top + bh) * h)), max(x0 + 1, int((left + bw) * w))
    out = img[y0:y1, x0:x1, :3].astype(np.float32)  # [h', w', 3]
    if view.flip:
        out = out[:, ::-1]
    gray = out @ np.array([0.299, 0.587, 0.114], np.float32)  # [h', w']
    out = gray[..., None] + (out - gray[..., None]) * view.saturation
    out = (out - gray.mean()) * view.contrast + gray.mean()
    out = out * view.brightness
    return np.ascontiguousarray(np.clip(out, 0, 255).astype(np.uint8))


def augment_image(img: np.ndarray, rng: np.random.Generator, cfg: AugmentConfig) -> np.ndarray:
    """One random view of a uint8 RGB image."""
    return apply_image_view(img, draw_image_view(rng, cfg))


def augment_frames(frames: np.ndarray, rng: np.random.Generator,
                   cfg: AugmentConfig) -> list[np.ndarray]:
    """The same random view applied to every frame of a video ([F, H, W, 3] uint8)."""
    view = draw_image_view(rng, cfg)
    return [apply_image_view(f, view) for f in frames]
