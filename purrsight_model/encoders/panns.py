"""PANNs CNN14 behind the ``AudioEncoder`` protocol (32 kHz, per-patch like YAMNet).

The waveform is cut into the same 0.96 s windows every 0.48 s as YAMNet's patches (with the
same end padding), so both audio backbones give one row per patch and are interchangeable
for the aligner.
"""

from __future__ import annotations

import os

import numpy as np
import torch

from purrsight_model.encoders.base import AudioFeatures, EncoderError, sha256_file, version_id
from purrsight_model.encoders.cnn14 import (
    EMBED_DIM,
    NUM_CLASSES,
    SAMPLE_RATE,
    Cnn14,
    dft_kernels,
    slaney_mel_bank,
)
from purrsight_model.encoders.torch_io import load_state_dict, load_strict
from purrsight_model.frontends import PATCH_HOP_SECONDS, PATCH_SECONDS, TARGET_SR, padded_length

BATCH = 16


def windows(
    waveform: np.ndarray, sr: int = SAMPLE_RATE, hop_seconds: float = PATCH_HOP_SECONDS
) -> np.ndarray:
    """[P, 0.96*sr] windows aligned with ``frontends.log_mel_patches``'s patches."""
    x = np.asarray(waveform, dtype=np.float32)
    if x.ndim != 1:
        raise ValueError(f"expected a mono 1-D waveform, got shape {x.shape}")
    n16 = -(-x.size * TARGET_SR // sr)  # length at 16 kHz, for the shared padding rule
    total = padded_length(n16, hop_seconds) * sr // TARGET_SR
    x = np.pad(x, (0, max(0, total - x.size)))
    win, hop = int(round(PATCH_SECONDS * sr)), int(round(hop_seconds * sr))
    n = 1 + max(0, (x.size - win)) // hop
    return np.lib.stride_tricks.sliding_window_view(x, win)[::hop][:n].copy()  # [P, win]


class Cnn14Encoder:
    """32 kHz mono -> 2048-d embeddings + 527 AudioSet probabilities per 0.96 s window."""

    kind = "panns_cnn14"
    dim = EMBED_DIM
    sample_rate = SAMPLE_RATE

    def __init__(self, model: Cnn14, version: str) -> None:
        self.model = model.eval().requires_grad_(False)
        self.version = version

    @torch.inference_mode()
    def encode(self, waveform: np.ndarray) -> AudioFeatures:
        w = windows(waveform)  # [P, 30720]
        embs, scores = [], []
        for start in range(0, w.shape[0], BATCH):
            emb, prob = self.model(torch.from_numpy(w[start : start + BATCH]))
            embs.append(emb.numpy())
            scores.append(prob.numpy())
        return AudioFeatures(
            np.concatenate(embs).astype(np.float32), np.concatenate(scores).astype(np.float32)
        )


def load_cnn14(path: str | os.PathLike[str] | None) -> Cnn14Encoder:
    """PANNs release checkpoint (``{'model': state_dict}``) -> encoder; missing extractor tensors are filled in."""
    if path is None:
        raise EncoderError(
            "no packaged PANNs CNN14 weights: pass the path of a checkpoint such as Cnn14_mAP=0.431.pth"
        )
    state = load_state_dict(path, "PANNs CNN14 checkpoint")
    head = state.get("fc_audioset.weight")
    if head is None:
        raise EncoderError(f"PANNs CNN14 checkpoint {path} has no fc_audioset layer")
    with torch.device("meta"):
        model = Cnn14(num_classes=int(head.shape[0]) or NUM_CLASSES)
    real, imag = dft_kernels()
    state.setdefault("spectrogram_extractor.stft.conv_real.weight", torch.from_numpy(real))
    state.setdefault("spectrogram_extractor.stft.conv_imag.weight", torch.from_numpy(imag))
    state.setdefault("logmel_extractor.melW", torch.from_numpy(slaney_mel_bank()))
    load_strict(model, state, path, "PANNs CNN14 checkpoint")
    return Cnn14Encoder(model, version_id("panns_cnn14", sha256_file(path)))
