"""Decoding of synthetic audio, video and images, and the MediaError cases."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from purrsight_model.media import (
    MediaError,
    load_audio,
    load_image,
    load_video,
    media_kind,
)
from tests.model.test_data_fixtures import tone, write_audio, write_image, write_video


def dominant_hz(x: np.ndarray, sr: int) -> float:
    spectrum = np.abs(np.fft.rfft(x * np.hanning(x.size)))
    return float(np.argmax(spectrum) * sr / x.size)


@pytest.mark.parametrize(
    ("ext", "sr", "channels"),
    [(".wav", 8000, 1), (".wav", 44100, 2), (".mp3", 22050, 2), (".flac", 44100, 2),
     (".mp3", 44100, 1), (".m4a", 48000, 2)],
)
def test_load_audio_resamples_to_16k_mono(tmp_path: Path, ext: str, sr: int, channels: int):
    path = write_audio(tmp_path / f"tone{ext}", tone(440, sr, 1.5, channels), sr)
    x = load_audio(path)
    assert x.dtype == np.float32 and x.ndim == 1
    assert abs(x.size - 24000) < 400  # 1.5 s at 16 kHz (codec priming adds a little)
    assert abs(dominant_hz(x, 16000) - 440) < 3
    assert 0.4 < np.abs(x).max() <= 1.0


def test_load_audio_other_rate_and_downmix(tmp_path: Path):
    left_only = tone(1000, 22050, 1.0, 2)
    left_only[1] = 0.0  # mono downmix must average, not pick a channel
    path = write_audio(tmp_path / "half.wav", left_only, 22050)
    x = load_audio(path, sr=8000)
    assert abs(x.size - 8000) <= 1
    assert abs(dominant_hz(x, 8000) - 1000) < 5
    assert 0.2 < np.abs(x[100:-100]).max() < 0.3  # 0.5 amplitude halved by the average


def test_short_clip_is_fine(tmp_path: Path):
    path = write_audio(tmp_path / "blip.wav", tone(300, 16000, 0.2), 16000)
    x = load_audio(path)
    assert x.size == 3200
    np.testing.assert_allclose(x, tone(300, 16000, 0.2)[0], atol=1e-4)  # 16 kHz: no resampling


def test_truncated_mp3_keeps_decoded_part(tmp_path: Path):
    path = write_audio(tmp_path / "full.mp3", tone(440, 44100, 2.0, 2), 44100)
    data = path.read_bytes()
    cut = tmp_path / "cut.mp3"
    cut.write_bytes(data[: len(data) // 2] + b"\xff\xfb\x00garbage" + bytes(37))
    x = load_audio(cut)
    assert 10000 < x.size < 22000  # about half of 2 s survives
    assert abs(dominant_hz(x, 16000) - 440) < 5


def test_video_frames_and_audio(tmp_path: Path):
    path = write_video(tmp_path / "clip.mp4", seconds=2.0, fps=10)
    clip = load_video(path, fps=2.0)
    assert clip.frames.shape == (4, 64, 64, 3) and clip.frames.dtype == np.uint8
    np.testing.assert_allclose(clip.frame_times, [0.0, 0.5, 1.0, 1.5])
    # The square's x position encodes the source frame index (4 px per frame).
    xs = [int(np.argmax(f[24, :, 0] > 128)) for f in clip.frames]
    assert xs == [0, 20, 40, 4]  # frames 0, 5, 10, 15 (wraps at 56 px)
    assert clip.audio is not None and abs(clip.audio.size - 32000) < 1200
    assert abs(dominant_hz(clip.audio, 16000) - 440) < 5
    assert 1.9 < clip.duration < 2.2
    assert load_audio(path).size == clip.audio.size  # the audio track alone


def test_video_without_audio_and_max_frames(tmp_path: Path):
    path = write_video(tmp_path / "silent.avi", seconds=1.5, fps=10, with_audio=False)
    clip = load_video(path, fps=4, max_frames=3)
    assert clip.audio is None
    assert clip.frames.shape[0] == 3
    np.testing.assert_allclose(clip.frame_times, [0.0, 0.3, 0.5])
    with pytest.raises(MediaError, match="no audio stream"):
        load_audio(path)


def test_load_image_rgb(tmp_path: Path):
    rgb = load_image(write_image(tmp_path / "stripes.png"))
    assert rgb.shape == (32, 48, 3) and rgb.dtype == np.uint8
    assert rgb[5, 5].tolist() == [255, 0, 0] and rgb[5, 40].tolist() == [0, 0, 255]
    jpg = load_image(write_image(tmp_path / "stripes.jpg"))
    assert abs(int(jpg[5, 5, 0]) - 255) < 10 and jpg[5, 5, 2] < 40


def test_media_kind():
    assert media_kind("a/b.MP3") == "audio"
    assert media_kind("x.webp") == "image"
    assert media_kind("x.mkv") == "video"
    with pytest.raises(MediaError, match="unsupported"):
        media_kind("notes.txt")


def _garbage(path: Path) -> Path:
    path.write_bytes(np.random.default_rng(0).integers(0, 256, 4000, dtype=np.uint8).tobytes())
    return path


@pytest.mark.parametrize(
    ("make", "loader", "reason"),
    [
        (lambda d: d / "missing.wav", load_audio, "not found"),
        (lambda d: (d / "empty.mp3").write_bytes(b"") and None or d / "empty.mp3",
         load_audio, "empty"),
        (lambda d: _garbage(d / "noise.mp3"), load_audio, "cannot open|no decodable"),
        (lambda d: _garbage(d / "noise.png"), load_image, "corrupt"),
        (lambda d: _garbage(d / "noise.mp4"), load_video, "cannot open|no "),
        (lambda d: (d / "notes.txt").write_text("hi") and d / "notes.txt", load_audio,
         "unsupported"),
        (lambda d: d, load_audio, "not a regular file"),
    ],
)
def test_bad_files_raise_media_error_naming_file(tmp_path: Path, make, loader, reason):
    path = make(tmp_path)
    with pytest.raises(MediaError, match=reason) as info:
        loader(path)
    assert str(path) in str(info.value)


def test_wrong_loader_for_kind(tmp_path: Path):
    wav = write_audio(tmp_path / "a.wav", tone(440, 8000, 0.5), 8000)
    with pytest.raises(MediaError, match="not a video"):
        load_video(wav)
    with pytest.raises(MediaError, match="not an image"):
        load_image(wav)
