"""Test helpers: tiny synthetic clips in a data dir, stored with labels through the writer."""

from __future__ import annotations

import os
import sys
from pathlib import Path

import av
import numpy as np

from purrsight_app.storage import ClipRecord, LabelRecord, StoreWriter
from purrsight_model.schema import AFFECTIVE_STATE

HERE = Path(__file__).parent
CHILD_ENV = {"PYTHONPATH": os.pathsep.join([str(HERE), *sys.path])}
"""Environment that lets ``python -m finetune_child`` import the stand-in and the repo."""


def tiny_clip(path: Path, seconds: float = 1.0, fps: int = 10, level: int = 200,
              size: tuple[int, int] = (64, 48)) -> Path:
    """A small MP4 (H.264/mpeg4 + AAC): flat frames of brightness ``level`` and a 440 Hz tone."""
    w, h = size
    sr = 16_000
    with av.open(str(path), "w") as out:
        video = out.add_stream("mpeg4", rate=fps)
        video.width, video.height, video.pix_fmt = w, h, "yuv420p"
        audio = out.add_stream("aac", rate=sr)
        audio.layout = "mono"
        for i in range(int(seconds * fps)):
            img = np.full((h, w, 3), level, np.uint8)  # [H, W, 3]
            img[: h // 4, : (i + 1) * w // int(seconds * fps)] = 90
            for packet in video.encode(av.VideoFrame.from_ndarray(img, format="rgb24")):
                out.mux(packet)
        for packet in video.encode():
            out.mux(packet)
        t = np.arange(int(seconds * sr)) / sr
        wave = (0.2 * np.sin(2 * np.pi * 440 * t)).astype(np.float32)  # [n]
        for s in range(0, wave.size, 1024):
            frame = av.AudioFrame.from_ndarray(wave[None, s:s + 1024], format="fltp",
                                               layout="mono")
            frame.sample_rate, frame.pts = sr, s
            for packet in audio.encode(frame):
                out.mux(packet)
        for packet in audio.encode():
            out.mux(packet)
    return path


def add_clips(writer: StoreWriter, data_dir: Path, n: int, *, labelled: bool = True,
              seconds: float = 1.0) -> list[ClipRecord]:
    """``n`` one-second MP4 clips under ``data_dir/clips/test``; labelled with moods in turn."""
    folder = data_dir / "clips" / "test"
    folder.mkdir(parents=True, exist_ok=True)
    template = tiny_clip(folder / "template.mp4", seconds=seconds)
    data = template.read_bytes()
    records = []
    for i in range(n):
        path = folder / f"clip{i:03d}.mp4"
        path.write_bytes(data)
        rec = ClipRecord(path=str(path.relative_to(data_dir)), ts=1_700_000_000.0 + 60 * i,
                         source="test", duration=seconds, uncertainty=0.1 * (i % 7),
                         prediction={"affective_state": "content",
                                     "affective_conf": 0.5})
        writer.put(rec)
        if labelled:
            state = AFFECTIVE_STATE[i % len(AFFECTIVE_STATE)]
            writer.put(LabelRecord(rec.id, {"affective_state": state, "vocalization": "meow"},
                                   description=f"clip number {i}"))
        records.append(rec)
    template.unlink()
    assert writer.flush(10)
    return records
