"""Sources: file pacing/end/skip/loop on synthetic media; camera and mic failure paths via fakes."""

from __future__ import annotations

import sys
import threading
import time
import types
import wave
from pathlib import Path

import av
import cv2
import numpy as np
import pytest

from purrsight_app.capture import (
    AudioRing,
    CameraConfig,
    CameraSource,
    DemoSource,
    FileSource,
    FileSourceConfig,
    FrameRing,
    MicConfig,
    MicSource,
    SourceStatus,
    StreamResampler,
    list_media,
)

SR = 16_000


# --- synthetic media -------------------------------------------------------------------
def write_mp4(path: Path, seconds: float = 1.0, fps: int = 10, audio: bool = True) -> Path:
    """mpeg4 video (frame i is filled with 10*i) + mono AAC 440 Hz tone."""
    with av.open(str(path), "w") as out:
        v = out.add_stream("mpeg4", rate=fps)
        v.width, v.height, v.pix_fmt = 64, 48, "yuv420p"
        a = out.add_stream("aac", rate=SR) if audio else None
        if a is not None:
            a.layout = "mono"
        for i in range(int(seconds * fps)):
            img = np.full((48, 64, 3), (10 * i) % 250, np.uint8)  # [H, W, 3]
            for packet in v.encode(av.VideoFrame.from_ndarray(img, format="rgb24")):
                out.mux(packet)
        for packet in v.encode():
            out.mux(packet)
        if a is not None:
            n = int(seconds * SR)
            wave_ = (0.3 * np.sin(2 * np.pi * 440 * np.arange(n) / SR)).astype(np.float32)
            for s in range(0, n, 1024):
                fr = av.AudioFrame.from_ndarray(wave_[None, s:s + 1024], format="fltp",
                                                layout="mono")
                fr.sample_rate, fr.pts = SR, s
                for packet in a.encode(fr):
                    out.mux(packet)
            for packet in a.encode():
                out.mux(packet)
    return path


def write_wav(path: Path, seconds: float = 0.5, value: float = 0.25) -> Path:
    pcm = np.full(int(seconds * SR), int(value * 32767), np.int16)
    with wave.open(str(path), "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(SR)
        w.writeframes(pcm.tobytes())
    return path


def write_png(path: Path) -> Path:
    rgb = np.zeros((30, 40, 3), np.uint8)
    rgb[..., 0] = 200  # red
    assert cv2.imwrite(str(path), cv2.cvtColor(rgb, cv2.COLOR_RGB2BGR))
    return path


class Recorder:
    """Collects (status, message) from on_status callbacks."""

    def __init__(self) -> None:
        self.states: list[tuple[SourceStatus, str]] = []

    def __call__(self, source, state) -> None:
        self.states.append((state.status, state.message))

    @property
    def statuses(self) -> list[SourceStatus]:
        return [s for s, _ in self.states]

    def wait_for(self, status: SourceStatus, timeout: float = 5.0, count: int = 1) -> bool:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.statuses.count(status) >= count:
                return True
            time.sleep(0.01)
        return False


# --- FileSource ------------------------------------------------------------------------
def test_file_source_plays_video_with_audio_at_real_time(tmp_path: Path):
    clip = write_mp4(tmp_path / "clip.mp4", seconds=1.0, fps=10)
    frames, audio, rec = FrameRing(64), AudioRing(seconds=5), Recorder()
    src = FileSource(clip, frames, audio, on_status=rec)
    t0 = time.monotonic()
    src.start()
    time.sleep(0.45)
    midway = frames.seq
    assert src.wait(5)
    elapsed = time.monotonic() - t0
    assert 0.9 < elapsed < 1.8  # paced, not dumped at decode speed
    assert 2 <= midway <= 7  # ~4-5 frames by 0.45 s
    assert src.status is SourceStatus.ENDED and "played 1" in src.message
    assert rec.statuses[:1] == [SourceStatus.RUNNING]
    got = frames.since(0)
    assert len(got) == 10
    gaps = np.diff([f.ts for f in got])
    assert np.allclose(gaps, 0.1, atol=0.02)  # stamped with media time
    assert abs(int(got[3].image.mean()) - 30) <= 3  # frame 3 is the 4th picture, RGB kept
    assert abs(audio.total_samples - SR) < 0.1 * SR
    x = audio.read_last(0.5)
    assert 0.15 < np.abs(x).max() < 0.4  # the tone arrived, at its level
    assert abs(audio.end_ts - got[-1].ts) < 0.25  # audio and video share the clock


def test_folder_plays_in_order_skips_bad_files_and_ends(tmp_path: Path):
    write_wav(tmp_path / "a.wav", seconds=0.5, value=0.25)
    write_png(tmp_path / "b.png")
    (tmp_path / "c_broken.mp4").write_bytes(b"\x00garbage" * 100)
    (tmp_path / "notes.txt").write_text("not media")
    assert [p.name for p in list_media(tmp_path)] == ["a.wav", "b.png", "c_broken.mp4"]
    frames, audio, rec = FrameRing(64), AudioRing(seconds=5), Recorder()
    cfg = FileSourceConfig(speed=4.0, image_seconds=1.0, image_fps=5.0)
    src = FileSource(tmp_path, frames, audio, config=cfg, on_status=rec)
    src.start()
    assert src.wait(5)
    assert src.status is SourceStatus.ENDED and "1 skipped" in src.message
    assert any("c_broken.mp4" in m for _, m in rec.states)
    assert abs(audio.total_samples - 8000) < 200
    assert np.allclose(audio.read_last(0.1), 0.25, atol=0.01)
    assert frames.seq == 5  # 1 s of a still image at 5 fps
    assert tuple(frames.latest().image[0, 0]) == (200, 0, 0)  # RGB, not BGR


def test_loop_keeps_running_until_stopped(tmp_path: Path):
    clip = write_mp4(tmp_path / "short.mp4", seconds=0.5, fps=10, audio=False)
    frames, rec = FrameRing(8), Recorder()
    src = FileSource(clip, frames, None, config=FileSourceConfig(loop=True, speed=5.0),
                     on_status=rec)
    src.start()
    deadline = time.monotonic() + 5
    while frames.seq < 12 and time.monotonic() < deadline:  # more than two laps of 5 frames
        time.sleep(0.01)
    assert frames.seq >= 12 and src.status is SourceStatus.RUNNING
    src.stop()
    assert src.status is SourceStatus.STOPPED
    assert SourceStatus.ENDED not in rec.statuses


def test_demo_source_loops_by_default(tmp_path: Path):
    write_wav(tmp_path / "purr.wav", seconds=0.2)
    audio = AudioRing(seconds=5)
    demo = DemoSource(tmp_path, None, audio, config=FileSourceConfig(loop=True, speed=4.0))
    assert demo.name == "Demo" and demo.config.loop
    assert DemoSource(tmp_path).config.loop
    demo.start()
    deadline = time.monotonic() + 5
    while audio.total_samples < 3 * 3200 and time.monotonic() < deadline:
        time.sleep(0.01)
    demo.stop()
    assert audio.total_samples >= 3 * 3200


@pytest.mark.parametrize("make", ["missing", "empty_dir", "only_broken"])
def test_nothing_playable_is_an_error_status_not_an_exception(tmp_path: Path, make: str):
    target = tmp_path / "x"
    if make == "empty_dir":
        target.mkdir()
        (target / "readme.md").write_text("hi")
    elif make == "only_broken":
        target = tmp_path / "broken.mp4"
        target.write_bytes(b"nope")
    src = FileSource(target, FrameRing(), AudioRing())
    src.start()
    assert src.wait(5)
    assert src.status is SourceStatus.ERROR and src.message


def test_stop_interrupts_pacing_quickly(tmp_path: Path):
    write_wav(tmp_path / "long.wav", seconds=5.0)
    src = FileSource(tmp_path / "long.wav", None, AudioRing(seconds=10))
    src.start()
    time.sleep(0.2)
    t0 = time.monotonic()
    src.stop()
    assert time.monotonic() - t0 < 0.5 and src.status is SourceStatus.STOPPED


# --- CameraSource ----------------------------------------------------------------------
class FakeCapture:
    """cv2.VideoCapture stand-in: delivers ``good`` BGR frames per opening, then fails."""

    opened: list[FakeCapture] = []
    plan: list[bool] = []  # per opening: does it open?
    good = 5

    def __init__(self, device) -> None:
        self.device = device
        self.ok = FakeCapture.plan.pop(0) if FakeCapture.plan else True
        self.reads = 0
        self.released = False
        FakeCapture.opened.append(self)

    def isOpened(self) -> bool:  # noqa: N802 - OpenCV's name
        return self.ok

    def set(self, prop, value) -> bool:
        return True

    def read(self):
        self.reads += 1
        if self.reads > FakeCapture.good:
            return False, None  # unplugged
        bgr = np.zeros((24, 32, 3), np.uint8)
        bgr[..., 0], bgr[..., 1], bgr[..., 2] = 10, 20, 30
        return True, bgr

    def release(self) -> None:
        self.released = True


@pytest.fixture
def fake_cv2(monkeypatch: pytest.MonkeyPatch):
    FakeCapture.opened, FakeCapture.plan, FakeCapture.good = [], [], 5
    monkeypatch.setattr(cv2, "VideoCapture", FakeCapture)
    return FakeCapture


FAST_CAM = CameraConfig(max_fps=200, max_failed_reads=3, retry_interval_s=0.05)


def test_camera_loss_then_reconnect(fake_cv2):
    frames, rec = FrameRing(64), Recorder()
    cam = CameraSource(frames, 0, config=FAST_CAM, on_status=rec)
    cam.start()
    assert rec.wait_for(SourceStatus.RUNNING, count=2)
    deadline = time.monotonic() + 3
    while frames.seq < 10 and time.monotonic() < deadline:  # 5 per opening
        time.sleep(0.01)
    cam.stop()
    seq = rec.statuses
    i = seq.index(SourceStatus.LOST)
    assert seq[0] is SourceStatus.RUNNING
    assert seq[i + 1:i + 3] == [SourceStatus.RECONNECTING, SourceStatus.RUNNING]
    assert seq[-1] is SourceStatus.STOPPED
    assert "stopped delivering" in rec.states[i][1]
    assert frames.seq >= 10  # frames from before and after the reconnect
    assert tuple(frames.latest().image[0, 0]) == (30, 20, 10)  # BGR -> RGB
    assert all(c.released for c in fake_cv2.opened)


def test_camera_that_never_opens_is_unavailable_and_retried(fake_cv2):
    fake_cv2.plan = [False] * 100
    rec = Recorder()
    cam = CameraSource(FrameRing(), 3, config=FAST_CAM, on_status=rec)
    cam.start()
    time.sleep(0.3)
    assert cam.status is SourceStatus.UNAVAILABLE and "no camera" in cam.message
    assert len(fake_cv2.opened) >= 3  # kept trying
    t0 = time.monotonic()
    cam.stop()
    assert time.monotonic() - t0 < 0.5


def test_camera_backend_exception_is_contained(monkeypatch: pytest.MonkeyPatch):
    def explode(device):
        raise RuntimeError("backend exploded")

    monkeypatch.setattr(cv2, "VideoCapture", explode)
    cam = CameraSource(FrameRing(), "rtsp://nowhere", config=FAST_CAM)
    cam.start()
    time.sleep(0.1)
    assert cam.status is SourceStatus.UNAVAILABLE
    cam.stop()


# --- MicSource -------------------------------------------------------------------------
class FakeStream:
    """sounddevice.InputStream stand-in: a thread calls back with [n, 1] float32 blocks."""

    instances: list[FakeStream] = []

    def __init__(self, *, samplerate, channels, dtype, device, blocksize, callback, **kw):
        if samplerate not in FakeSD.rates:
            raise FakeSD.PortAudioError("Invalid sample rate")
        self.samplerate, self.blocksize, self.callback = samplerate, blocksize, callback
        self.active = False
        self.deliver = threading.Event()
        self.deliver.set()
        FakeStream.instances.append(self)

    def start(self) -> None:
        self.active = True
        threading.Thread(target=self._pump, daemon=True).start()

    def _pump(self) -> None:
        block = np.full((self.blocksize, 1), 0.5, np.float32)
        while self.active:
            if self.deliver.is_set():
                self.callback(block, self.blocksize, None, None)
            time.sleep(self.blocksize / self.samplerate / 4)

    def stop(self) -> None:
        self.active = False

    def close(self) -> None:
        self.active = False


class FakeSD(types.ModuleType):
    rates = {16000, 48000}

    class PortAudioError(Exception):
        pass

    def __init__(self, has_device: bool = True) -> None:
        super().__init__("sounddevice")
        self.has_device = has_device
        self.InputStream = FakeStream

    def query_devices(self, device=None, kind=None):
        if not self.has_device:
            raise FakeSD.PortAudioError("Error querying device -1")
        return {"name": "fake mic", "default_samplerate": 48000.0}


FAST_MIC = MicConfig(block_seconds=0.01, watchdog_s=0.2, retry_interval_s=0.05)


def test_mic_without_portaudio_is_unavailable(monkeypatch: pytest.MonkeyPatch):
    class NoPortAudio:
        def find_spec(self, name, path=None, target=None):
            if name == "sounddevice":
                raise OSError("PortAudio library not found")
            return None

    monkeypatch.delitem(sys.modules, "sounddevice", raising=False)
    monkeypatch.setattr(sys, "meta_path", [NoPortAudio(), *sys.meta_path])
    mic = MicSource(AudioRing())
    mic.start()
    assert mic.wait(2)  # gives up for good: a library will not appear by itself
    assert mic.status is SourceStatus.UNAVAILABLE and "no audio backend" in mic.message


def test_mic_without_sounddevice_package(monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setitem(sys.modules, "sounddevice", None)
    mic = MicSource(AudioRing())
    mic.start()
    assert mic.wait(2)
    assert mic.status is SourceStatus.UNAVAILABLE and "sounddevice" in mic.message


def test_mic_without_device_is_unavailable_and_retries(monkeypatch: pytest.MonkeyPatch):
    sd = FakeSD(has_device=False)
    monkeypatch.setitem(sys.modules, "sounddevice", sd)
    mic = MicSource(AudioRing(), config=FAST_MIC)
    mic.start()
    time.sleep(0.2)
    assert mic.status is SourceStatus.UNAVAILABLE and "no microphone" in mic.message
    sd.has_device = True  # plugged in
    deadline = time.monotonic() + 3
    while mic.status is not SourceStatus.RUNNING and time.monotonic() < deadline:
        time.sleep(0.01)
    assert mic.status is SourceStatus.RUNNING
    mic.stop()


def test_mic_streams_detects_loss_and_reconnects(monkeypatch: pytest.MonkeyPatch):
    FakeStream.instances = []
    monkeypatch.setitem(sys.modules, "sounddevice", FakeSD())
    audio, rec = AudioRing(seconds=2), Recorder()
    mic = MicSource(audio, config=FAST_MIC, on_status=rec)
    mic.start()
    assert rec.wait_for(SourceStatus.RUNNING)
    time.sleep(0.1)
    assert audio.total_samples > 0 and np.allclose(audio.read_last(0.01), 0.5)
    FakeStream.instances[0].deliver.clear()  # the device goes silent (unplugged)
    assert rec.wait_for(SourceStatus.RUNNING, count=2, timeout=3)
    mic.stop()
    seq = rec.statuses
    i = seq.index(SourceStatus.LOST)
    assert seq[i + 1:i + 3] == [SourceStatus.RECONNECTING, SourceStatus.RUNNING]
    assert "no audio" in rec.states[i][1]
    assert not FakeStream.instances[0].active  # the dead stream was closed


def test_mic_falls_back_to_native_rate_and_resamples(monkeypatch: pytest.MonkeyPatch):
    FakeStream.instances = []
    sd = FakeSD()
    monkeypatch.setattr(FakeSD, "rates", {48000})  # the device refuses 16 kHz
    monkeypatch.setitem(sys.modules, "sounddevice", sd)
    audio = AudioRing(seconds=2)
    mic = MicSource(audio, config=FAST_MIC)
    mic.start()
    deadline = time.monotonic() + 3
    while audio.total_samples < 1600 and time.monotonic() < deadline:
        time.sleep(0.01)
    mic.stop()
    assert FakeStream.instances[-1].samplerate == 48000
    assert audio.total_samples >= 1600 and np.allclose(audio.read_last(0.05), 0.5)


# --- StreamResampler -------------------------------------------------------------------
@pytest.mark.parametrize("rate", [48000, 44100, 22050])
def test_stream_resampler_blocks_match_one_shot_and_keep_pitch(rate: int):
    t = np.arange(rate) / rate
    x = np.sin(2 * np.pi * 1000 * t).astype(np.float32)  # 1 s, 1 kHz
    whole = StreamResampler(rate, SR).process(x)
    rs = StreamResampler(rate, SR)
    cuts = np.sort(np.random.default_rng(1).integers(0, x.size, 40))
    parts = [rs.process(p) for p in np.split(x, cuts)]
    joined = np.concatenate(parts)
    assert abs(joined.size - SR) <= 2
    np.testing.assert_allclose(joined[: whole.size - 2], whole[: joined.size][: whole.size - 2],
                               atol=1e-5)
    spectrum = np.abs(np.fft.rfft(joined[:SR // 2] * np.hanning(SR // 2)))
    assert abs(np.argmax(spectrum) * SR / (SR // 2) - 1000) < 4
