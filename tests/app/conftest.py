"""Fixtures for the app tests: synthetic media made with PyAV, an opened store.

Fixture names carry an ``app_``/``cat_`` prefix so storage tests' own fixtures never clash."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from pathlib import Path

import av
import numpy as np
import pytest

from purrsight_app.storage import Store, StoreWriter, WriterConfig

SR = 16_000


def write_clip(
    path: Path,
    seconds: float = 6.0,
    fps: int = 30,
    cat_spans: Sequence[tuple[float, float]] = ((1.0, 4.0),),
    size: tuple[int, int] = (160, 120),
) -> Path:
    """MP4 (mpeg4 + AAC) where a cat is 'present' (bright frame, loud tone) in ``cat_spans``."""

    def cat_at(t: float) -> bool:
        return any(a <= t < b for a, b in cat_spans)

    w, h = size
    with av.open(str(path), "w") as out:
        video = out.add_stream("mpeg4", rate=fps)
        video.width, video.height, video.pix_fmt = w, h, "yuv420p"
        audio = out.add_stream("aac", rate=SR)
        audio.layout = "mono"
        for i in range(int(seconds * fps)):
            img = np.full((h, w, 3), 210 if cat_at(i / fps) else 12, np.uint8)  # [H, W, 3]
            img[: h // 8, : w * ((i % fps) + 1) // fps] = 128  # a moving bar: frames differ
            for packet in video.encode(av.VideoFrame.from_ndarray(img, format="rgb24")):
                out.mux(packet)
        for packet in video.encode():
            out.mux(packet)
        n = int(seconds * SR)
        t = np.arange(n) / SR
        amp = np.where([cat_at(x) for x in t[::160]], 0.3, 0.001).repeat(160)[:n]
        wave = (amp * np.sin(2 * np.pi * 440 * t)).astype(np.float32)  # [n]
        for s in range(0, n, 1024):
            frame = av.AudioFrame.from_ndarray(wave[None, s:s + 1024], format="fltp",
                                               layout="mono")
            frame.sample_rate, frame.pts = SR, s
            for packet in audio.encode(frame):
                out.mux(packet)
        for packet in audio.encode():
            out.mux(packet)
    return path


@pytest.fixture
def cat_clip(tmp_path: Path) -> Path:
    return write_clip(tmp_path / "cat.mp4")


@pytest.fixture
def app_store(tmp_path: Path) -> Store:
    return Store.open(tmp_path / "data" / "purrsight.db")


@pytest.fixture
def app_writer(app_store: Store) -> Iterator[StoreWriter]:
    w = app_store.writer(WriterConfig(max_latency_s=0.05))
    yield w
    w.close()


@pytest.fixture
def make_app(qtbot, tmp_path: Path):
    """Factory for a started PurrSightApp in ``tmp_path`` (shut down after the test)."""
    from purrsight_app.app import AppOptions, build_app
    from purrsight_app.capture import FileSourceConfig
    from purrsight_app.settings import Settings, save_settings

    apps = []

    def make(source: str | None = "mic", size=(1280, 720), load_model: bool = False,
             settings: Settings | None = None, speed: float = 2.0, bundle: str | None = None):
        settings_file = tmp_path / "settings.json"
        save_settings(settings or Settings(event_min_duration_s=0.2, event_gap_s=0.5),
                      settings_file)
        app = build_app(AppOptions(
            data_dir=str(tmp_path / "data"), source=source, size=size, load_model=load_model,
            bundle=bundle,
            settings_file=str(settings_file),
            file_config=FileSourceConfig(speed=speed, max_fps=30),
        ))
        qtbot.addWidget(app.window)
        app.start()
        apps.append(app)
        return app

    yield make
    for app in apps:
        app.shutdown()
