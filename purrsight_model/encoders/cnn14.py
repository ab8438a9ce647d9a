"""PANNs CNN14 (Kong et al., 2020) as our own module, with the PANNs release's key names.

The released checkpoint is ``{'model': state_dict}`` with keys ``spectrogram_extractor.stft.
conv_real/conv_imag.weight`` (STFT as a strided conv1d), ``logmel_extractor.melW`` (Slaney mel
bank), ``bn0``, ``conv_block1..6.{conv1,conv2,bn1,bn2}``, ``fc1`` and ``fc_audioset``. The
extractor tensors are also computed here (so a checkpoint without them still loads), from the
release's settings: 32 kHz, 1024-point periodic Hann STFT, hop 320, centred with reflect
padding, power spectrogram, 64 Slaney mel bins 50-14000 Hz, ``10 log10(max(x, 1e-10))``.
"""

from __future__ import annotations

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

SAMPLE_RATE = 32000
N_FFT = 1024
HOP = 320
N_MELS = 64
FMIN, FMAX = 50.0, 14000.0
EMBED_DIM = 2048
NUM_CLASSES = 527
CHANNELS = (64, 128, 256, 512, 1024, 2048)


def _slaney_hz_to_mel(f: np.ndarray) -> np.ndarray:
    """Slaney's auditory toolbox scale: linear below 1 kHz, logarithmic above."""
    f = np.asarray(f, dtype=np.float64)
    lin = f / (200.0 / 3)
    log = 15.0 + np.log(np.maximum(f, 1e-10) / 1000.0) / (np.log(6.4) / 27.0)
    return np.where(f >= 1000.0, log, lin)


def _slaney_mel_to_hz(m: np.ndarray) -> np.ndarray:
    m = np.asarray(m, dtype=np.float64)
    lin = m * (200.0 / 3)
    log = 1000.0 * np.exp((np.log(6.4) / 27.0) * (m - 15.0))
    return np.where(m >= 15.0, log, lin)


def slaney_mel_bank(
    sr: int = SAMPLE_RATE,
    n_fft: int = N_FFT,
    n_mels: int = N_MELS,
    fmin: float = FMIN,
    fmax: float = FMAX,
) -> np.ndarray:
    """[n_fft//2 + 1, n_mels] area-normalised triangles (librosa ``filters.mel`` defaults)."""
    fft_hz = np.linspace(0.0, sr / 2.0, n_fft // 2 + 1)
    mel_hz = _slaney_mel_to_hz(
        np.linspace(_slaney_hz_to_mel(fmin), _slaney_hz_to_mel(fmax), n_mels + 2)
    )
    width = np.diff(mel_hz)  # [n_mels + 1]
    ramps = mel_hz[:, None] - fft_hz[None, :]  # [n_mels + 2, bins]
    rising = -ramps[:-2] / width[:-1, None]
    falling = ramps[2:] / width[1:, None]
    weights = np.maximum(0.0, np.minimum(rising, falling))  # [n_mels, bins]
    weights *= (2.0 / (mel_hz[2:] - mel_hz[:-2]))[:, None]
    return weights.T.astype(np.float32)


def dft_kernels(n_fft: int = N_FFT) -> tuple[np.ndarray, np.ndarray]:
    """Windowed DFT rows as conv1d weights [bins, 1, n_fft] (real, imaginary)."""
    n = np.arange(n_fft)
    k = np.arange(n_fft // 2 + 1)
    window = 0.5 - 0.5 * np.cos(2.0 * np.pi * n / n_fft)  # periodic Hann
    phase = 2.0 * np.pi * np.outer(k, n) / n_fft  # [bins, n_fft]
    real = (np.cos(phase) * window)[:, None, :]
    imag = (-np.sin(phase) * window)[:, None, :]
    return real.astype(np.float32), imag.astype(np.float32)


class _Stft(nn.Module):
    """Holds ``conv_real``/``conv_imag`` so keys read ``spectrogram_extractor.stft.conv_*``."""

    def __init__(self) -> None:
        super().__init__()
        real, imag = dft_kernels()
        self.conv_real = nn.Conv1d(1, N_FFT // 2 + 1, N_FFT, HOP, bias=False)
        self.conv_imag = nn.Conv1d(1, N_FFT // 2 + 1, N_FFT, HOP, bias=False)
        with torch.no_grad():
            self.conv_real.weight.copy_(torch.from_numpy(real))
            self.conv_imag.weight.copy_(torch.from_numpy(imag))
        self.requires_grad_(False)


class Spectrogram(nn.Module):
    """Centred power spectrogram [B, 1, T, 513] from a waveform [B, S]."""

    def __init__(self) -> None:
        super().__init__()
        self.stft = _Stft()

    def forward(self, wav: torch.Tensor) -> torch.Tensor:
        x = F.pad(wav[:, None, :], (N_FFT // 2, N_FFT // 2), mode="reflect")  # [B, 1, S + n_fft]
        real, imag = self.stft.conv_real(x), self.stft.conv_imag(x)  # [B, 513, T]
        return (real**2 + imag**2).transpose(1, 2)[:, None]  # [B, 1, T, 513]


class LogMel(nn.Module):
    """``10 log10`` of the Slaney mel power, key ``melW`` [513, 64]."""

    def __init__(self) -> None:
        super().__init__()
        self.melW = nn.Parameter(torch.from_numpy(slaney_mel_bank()), requires_grad=False)

    def forward(self, spec: torch.Tensor) -> torch.Tensor:
        return 10.0 * torch.log10(torch.clamp(spec @ self.melW, min=1e-10))  # [B, 1, T, 64]


class ConvBlock(nn.Module):
    """Two 3x3 conv-BN-ReLU then average pooling."""

    def __init__(self, inp: int, out: int) -> None:
        super().__init__()
        self.conv1 = nn.Conv2d(inp, out, 3, 1, 1, bias=False)
        self.conv2 = nn.Conv2d(out, out, 3, 1, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(out)
        self.bn2 = nn.BatchNorm2d(out)

    def forward(self, x: torch.Tensor, pool: int) -> torch.Tensor:
        x = F.relu(self.bn2(self.conv2(F.relu(self.bn1(self.conv1(x))))))
        return F.avg_pool2d(x, pool) if pool > 1 else x


class Cnn14(nn.Module):
    """Waveform [B, S] at 32 kHz -> (embedding [B, 2048], clipwise probabilities [B, 527])."""

    def __init__(self, num_classes: int = NUM_CLASSES) -> None:
        super().__init__()
        self.spectrogram_extractor = Spectrogram()
        self.logmel_extractor = LogMel()
        self.bn0 = nn.BatchNorm2d(N_MELS)
        inp = 1
        for i, out in enumerate(CHANNELS, start=1):
            setattr(self, f"conv_block{i}", ConvBlock(inp, out))
            inp = out
        self.fc1 = nn.Linear(EMBED_DIM, EMBED_DIM)
        self.fc_audioset = nn.Linear(EMBED_DIM, num_classes)

    def forward(self, wav: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        x = self.logmel_extractor(self.spectrogram_extractor(wav))  # [B, 1, T, 64]
        x = self.bn0(x.transpose(1, 3)).transpose(1, 3)  # BN over mel bins
        for i in range(1, len(CHANNELS) + 1):
            x = getattr(self, f"conv_block{i}")(x, 2 if i < len(CHANNELS) else 1)
        x = x.mean(dim=3)  # [B, 2048, T']
        x = x.max(dim=2).values + x.mean(dim=2)  # [B, 2048]
        emb = F.relu(self.fc1(x))  # [B, 2048]
        return emb, torch.sigmoid(self.fc_audioset(emb))  # [B, 2048], [B, 527]
