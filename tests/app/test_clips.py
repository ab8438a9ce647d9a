"""Clips without Qt: the streaming MP4 encoder, the recorder's pre-roll, import, predictions."""

from __future__ import annotations

import math
import subprocess
import sys
import threading
import time
from pathlib import Path

import av
import numpy as np
import pytest
from fakes import FakeAnalyzer, ListSink, make_observation
from labelled_data import tiny_clip

from purrsight_app.capture import AudioRing, FrameRing
from purrsight_app.clips import (
    ClipConfig,
    ClipEncoder,
    ClipRecorder,
    PredictionTally,
    import_media,
    probe,
    window_margin,
)
from purrsight_app.clips.preview import load_preview
from purrsight_app.paths import AppPaths
from purrsight_app.storage import ClipRecord
from purrsight_model import media

SR = 16_000


def streams(path: Path) -> dict[str, int]:
    """Decoded frames per stream type."""
    out = {}
    for kind in ("video", "audio"):
        with av.open(str(path)) as c:
            chosen = [s for s in c.streams if s.type == kind]
            out[kind] = sum(1 for _ in c.decode(*chosen)) if chosen else 0
    return out


def test_encoder_is_constant_rate_and_drops_the_held_tail(tmp_path) -> None:
    cfg = ClipConfig(fps=10.0)
    enc = ClipEncoder(tmp_path / "c.mp4", 100.0, frame_size=(64, 48), audio_rate=SR, config=cfg)
    for k in range(60):  # 30 fps source for 2 s: resampled to 10 fps
        enc.add_frame(100.0 + k / 30, np.full((48, 64, 3), k * 4, np.uint8))
    enc.add_audio(np.zeros(2 * SR, np.float32), 100.0)
    enc.release(100.5)  # muxes the first half second only
    duration = enc.close(101.0)  # the clip ends at 1 s: the second second is never written
    assert duration == pytest.approx(1.0, abs=0.15)
    counts = streams(tmp_path / "c.mp4")
    assert 9 <= counts["video"] <= 11
    assert counts["audio"] * 1024 == pytest.approx(SR, abs=2 * 1024)


def test_encoder_fills_audio_gaps_and_skips_overlap(tmp_path) -> None:
    enc = ClipEncoder(tmp_path / "a.m4a", 0.0, frame_size=None, audio_rate=SR)
    enc.add_audio(np.full(SR // 2, 0.1, np.float32), 0.0)
    enc.add_audio(np.full(SR // 2, 0.1, np.float32), 0.25)  # overlaps by 0.25 s
    enc.add_audio(np.full(SR // 4, 0.1, np.float32), 1.0)  # 0.25 s gap -> silence
    assert enc._apos + enc._abuf.size == int(1.25 * SR)
    enc.close(1.25)
    audio = media.load_audio(tmp_path / "a.m4a")
    assert audio.size / SR == pytest.approx(1.25, abs=0.1)


class Feeder:
    """Pushes frames (brightness = a counter) and a tone into rings at wall-clock time."""

    def __init__(self, frames: FrameRing, audio: AudioRing | None, fps: float = 20.0) -> None:
        self.frames, self.audio, self.fps = frames, audio, fps
        self.stop = threading.Event()
        self.thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        k = 0
        while not self.stop.is_set():
            now = time.time()
            if self.frames is not None:
                self.frames.push(np.full((96, 128, 3), (k * 3) % 250, np.uint8), now)
            if self.audio is not None:
                n = int(SR / self.fps)
                self.audio.write((0.2 * np.sin(np.arange(n) / SR * 2 * np.pi * 440))
                                 .astype(np.float32), now)
            k += 1
            time.sleep(1 / self.fps)

    def __enter__(self) -> Feeder:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop.set()
        self.thread.join()


def recorder(tmp_path, frames, audio, **cfg) -> tuple[ClipRecorder, ListSink, AppPaths]:
    paths = AppPaths(tmp_path / "data").ensure()
    sink = ListSink()
    config = ClipConfig(pre_roll_s=1.0, post_roll_s=0.5, buffer_extra_s=1.0, poll_s=0.05, **cfg)
    rec = ClipRecorder(frames, audio, sink, paths, config=config, source_name="test")
    rec.start()
    return rec, sink, paths


def test_event_clip_has_pre_roll_post_roll_and_prediction(tmp_path) -> None:
    frames, audio = FrameRing(), AudioRing(seconds=30)
    rec, sink, paths = recorder(tmp_path, frames, audio)
    with Feeder(frames, audio):
        time.sleep(1.8)  # more than the pre-roll is buffered
        start = time.time()
        rec.window(start - 0.5, make_observation(state="anxious", conf=0.4))  # pre-roll window
        rec.event_started("ev1", start)
        for _ in range(5):
            time.sleep(0.1)
            rec.event_updated("ev1", time.time(), True)
            rec.window(time.time(), make_observation(state="anxious", conf=0.5))
        end = time.time()
        time.sleep(1.0)  # the tracker's gap: frames after end + post-roll are not kept
        rec.event_ended("ev1", end)
        deadline = time.time() + 5
        while not sink.of(ClipRecord) and time.time() < deadline:
            time.sleep(0.05)
    rec.close()
    (clip,) = sink.of(ClipRecord)
    assert clip.ts == pytest.approx(start - 1.0, abs=0.1)  # the pre-roll
    assert clip.duration == pytest.approx(end + 0.5 - clip.ts, abs=0.2)
    assert clip.event_id == "ev1" and clip.source == "test"
    assert clip.path.startswith("clips/") and clip.path.endswith(".mp4")
    path = paths.data_dir / clip.path
    assert probe(path).has_video and probe(path).has_audio
    assert (paths.data_dir / clip.thumbnail_path).stat().st_size > 0
    assert clip.prediction["affective_state"] == "anxious"
    assert clip.prediction["windows"] == 6
    assert clip.uncertainty == pytest.approx(np.mean([0.4 - 0.12] + [0.5 - 0.1] * 5), abs=1e-3)
    assert rec.stats.saved == 1 and not rec.recording


def test_manual_audio_only_clip_and_short_ones_dropped(tmp_path) -> None:
    audio = AudioRing(seconds=30)
    rec, sink, _ = recorder(tmp_path, None, audio)
    with Feeder(None, audio):
        time.sleep(0.5)
        rec.manual_start()
        time.sleep(0.8)
        rec.manual_stop()
        time.sleep(0.6)
    rec.close()
    (clip,) = sink.of(ClipRecord)
    assert clip.path.endswith(".m4a") and clip.thumbnail_path is None
    assert clip.duration == pytest.approx(0.5 + 0.8, abs=0.3)  # pre-roll capped by the input
    assert rec.stats.errors == 0


def test_too_short_recordings_are_dropped(tmp_path) -> None:
    audio = AudioRing(seconds=30)
    rec, sink, _ = recorder(tmp_path, None, audio)
    with Feeder(None, audio):
        time.sleep(0.2)  # only 0.2 s of input exists: pre-roll cannot reach further back
        rec.manual_start()
        rec.manual_stop()
        time.sleep(0.5)
    rec.close()
    assert sink.of(ClipRecord) == [] and rec.stats.dropped == 1


def test_no_input_means_no_recording(tmp_path) -> None:
    rec, sink, _ = recorder(tmp_path, FrameRing(), AudioRing())
    rec.event_started("e", time.time())
    time.sleep(0.3)
    assert not rec.recording
    rec.event_ended("e", time.time())
    rec.close()
    assert sink.of(ClipRecord) == []


def test_prediction_tally_and_margin_fallback() -> None:
    tally = PredictionTally()
    assert tally.prediction() is None and tally.uncertainty() is None
    tally.add(make_observation(state="playful", conf=0.7))
    tally.add(make_observation(state="content", conf=0.5))
    pred = tally.prediction()
    assert pred["affective_state"] == "playful" and pred["windows"] == 2
    assert sum(pred["probs"]["affective_state"].values()) == pytest.approx(1.0, abs=1e-3)

    class Bare:  # no margin() method: computed from the heads
        heads = {"affective_state": {"content": 0.6, "anxious": 0.3, "neutral": 0.1}}
    assert window_margin(Bare()) == pytest.approx(0.3)
    assert window_margin(type("NoHeads", (), {"heads": {}})()) is None


def test_import_copies_thumbnails_predicts_and_skips(tmp_path) -> None:
    src = tmp_path / "src"
    src.mkdir()
    tiny_clip(src / "a.mp4")
    (src / "broken.mp4").write_bytes(b"not a video")
    (src / "notes.txt").write_text("ignored: not media")
    paths = AppPaths(tmp_path / "data").ensure()
    sink = ListSink()
    result = import_media([src], paths, sink, analyzer=FakeAnalyzer(state="playful"))
    (clip,) = result.clips
    assert sink.of(ClipRecord) == [clip]
    assert (paths.data_dir / clip.path).is_file() and clip.path.startswith("clips/imported/")
    assert (paths.data_dir / clip.thumbnail_path).is_file()
    assert clip.duration == pytest.approx(1.0, abs=0.15)
    assert clip.prediction["affective_state"] == "playful" and clip.uncertainty is not None
    assert any("broken.mp4" in s for s in result.skipped)
    again = import_media([src], paths, sink, known={clip.source})
    assert again.clips == [] and any("already imported" in s for s in again.skipped)


def test_probe_and_preview_errors_name_the_file(tmp_path) -> None:
    bad = tmp_path / "bad.mp4"
    bad.write_bytes(b"\x00" * 100)
    with pytest.raises(media.MediaError, match="bad.mp4"):
        probe(bad)
    with pytest.raises(media.MediaError, match="bad.mp4"):
        load_preview(bad)


def test_preview_frames_audio_and_strip(tmp_path) -> None:
    p = load_preview(tiny_clip(tmp_path / "c.mp4", seconds=2.0), max_width=32, fps=4)
    assert p.kind == "video" and 7 <= len(p.frames) <= 9 and p.frames[0].shape[1] == 32
    assert p.audio is not None and p.audio.size == pytest.approx(2 * SR, abs=2048)
    assert p.strip.shape == (96, 640, 3) and p.strip.std() > 5  # a tone paints something
    assert p.frame_at(1.0) is p.frames[int(np.searchsorted(p.times, 1.0, "right")) - 1]
    assert math.isclose(p.duration, 2.0, abs_tol=0.15)


def test_clip_label_finetune_packages_import_neither_qt_nor_torch() -> None:
    """They run on worker threads and in the packaged (torch-free) app."""
    code = ("import sys, purrsight_app.clips, purrsight_app.clips.preview, "
            "purrsight_app.clips.playback, purrsight_app.labels, purrsight_app.labels.transfer, "
            "purrsight_app.finetune\n"
            "print(','.join(m for m in ('PySide6', 'torch', 'transformers') "
            "if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         cwd=Path(__file__).resolve().parents[2], timeout=60)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == ""
