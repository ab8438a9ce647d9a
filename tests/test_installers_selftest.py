"""``purrsight --selftest`` (purrsight_app/selftest.py) and the bundle's entry script."""

from __future__ import annotations

import importlib.util
import io
import os
import sys
from pathlib import Path

import av
import numpy as np
import pytest

from purrsight_app import selftest

ROOT = Path(__file__).resolve().parents[1]


def _clip(path: Path, seconds: float = 2.0, fps: int = 10, sr: int = 16_000) -> Path:
    """A tiny mpeg4 + AAC clip (a moving bright square and a tone)."""
    with av.open(str(path), "w") as out:
        video = out.add_stream("mpeg4", rate=fps)
        video.width, video.height, video.pix_fmt = 64, 48, "yuv420p"
        audio = out.add_stream("aac", rate=sr)
        audio.layout = "mono"
        for i in range(int(seconds * fps)):
            img = np.zeros((48, 64, 3), np.uint8)  # [H, W, 3]
            img[10:30, i % 40:(i % 40) + 20] = 220
            out.mux(video.encode(av.VideoFrame.from_ndarray(img, format="rgb24")))
        out.mux(video.encode())
        t = np.arange(int(seconds * sr)) / sr
        wave = (0.2 * np.sin(2 * np.pi * 440 * t)).astype(np.float32)  # [T]
        for s in range(0, wave.size, 1024):
            frame = av.AudioFrame.from_ndarray(wave[None, s:s + 1024], format="fltp",
                                               layout="mono")
            frame.sample_rate, frame.pts = sr, s
            out.mux(audio.encode(frame))
        out.mux(audio.encode())
    return path


def test_tiny_onnx_graph_runs_in_onnxruntime() -> None:
    import onnxruntime as ort

    session = ort.InferenceSession(selftest.tiny_add_model(), providers=["CPUExecutionProvider"])
    a = np.array([1.5, -2.0, 4.0, 0.25], np.float32)  # [4]: the batch dim is dynamic
    (y,) = session.run(None, {"a": a, "b": np.ones(4, np.float32)})
    np.testing.assert_allclose(y, a + 1)


def test_varint_encoding() -> None:
    assert selftest._varint(1) == b"\x01"
    assert selftest._varint(300) == b"\xac\x02"


def test_selftest_passes_with_demo_media(tmp_path: Path, monkeypatch) -> None:
    demo = tmp_path / "demo"
    demo.mkdir()
    _clip(demo / "cat.mp4")
    monkeypatch.setenv("PURRSIGHT_DEMO_DIR", str(demo))
    out = io.StringIO()
    code = selftest.run_selftest(tmp_path / "data", out=out)
    text = out.getvalue()
    assert code == 0, text
    for name in ("imports", "onnxruntime", "sqlite", "qt offscreen", "demo media"):
        assert f"ok   {name}" in text
    assert "cat.mp4: 64x48" in text
    assert not list((tmp_path / "data").glob(".selftest-*"))  # nothing left behind


def test_selftest_fails_without_demo_and_with_a_bad_bundle(tmp_path: Path, monkeypatch) -> None:
    import purrsight_app.pipeline.sources as sources

    monkeypatch.setattr(sources, "find_demo_dir", lambda: None)
    out = io.StringIO()
    code = selftest.run_selftest(tmp_path / "data", bundle=str(tmp_path / "nowhere"), out=out)
    text = out.getvalue()
    assert code == 1
    assert "FAIL demo media" in text and "no demo media installed" in text
    assert "FAIL model bundle" in text
    assert "self-test FAILED: model bundle, demo media" in text


def _entry():
    spec = importlib.util.spec_from_file_location("purrsight_entry",
                                                  ROOT / "installers" / "purrsight_entry.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_entry_routes_selftest_and_version(tmp_path: Path, monkeypatch, capsys) -> None:
    entry = _entry()
    seen = {}

    def fake(data_dir, bundle=None):
        seen.update(data_dir=data_dir, bundle=bundle)
        return 7
    monkeypatch.setattr(selftest, "run_selftest", fake)
    assert entry.main(["--selftest", "--data-dir", str(tmp_path), "--bundle", "b"]) == 7
    assert seen == {"data_dir": str(tmp_path), "bundle": "b"}
    monkeypatch.setattr(sys, "_MEIPASS", str(tmp_path), raising=False)
    (tmp_path / "purrsight_version.txt").write_text("9.8.7\n", encoding="utf-8")
    assert entry.main(["--version"]) == 0
    assert capsys.readouterr().out.strip() == "purrsight 9.8.7"


@pytest.mark.parametrize("where", ["resources/models/default/bundle", "models/default"])
def test_entry_announces_a_shipped_bundle_only_if_it_has_a_manifest(tmp_path: Path,
                                                                    monkeypatch, where) -> None:
    entry = _entry()
    monkeypatch.delenv(entry.ENV_DEFAULT_BUNDLE, raising=False)
    default = tmp_path / where  # where build.sh ships it now, and where older builds did
    default.mkdir(parents=True)
    entry._announce_default_bundle(tmp_path)
    assert entry.ENV_DEFAULT_BUNDLE not in os.environ
    (default / "manifest.json").write_text("{}", encoding="utf-8")
    entry._announce_default_bundle(tmp_path)
    assert os.environ[entry.ENV_DEFAULT_BUNDLE] == str(default)
    os.environ.pop(entry.ENV_DEFAULT_BUNDLE)  # (monkeypatch restores the original: unset)


def test_selftest_qt_plugin_probe_without_ldd(monkeypatch) -> None:
    monkeypatch.setattr(selftest.shutil, "which", lambda name: None)
    assert selftest._qt_plugin_problems() == []


class _FakeObservation:
    def __init__(self, value: float) -> None:
        self.heads = {"affective_state": {"calm": value, "alert": 1 - value}}
        self.latency_ms = 3.0


def test_check_bundle_uses_the_shipped_default_and_rejects_nan(tmp_path: Path,
                                                               monkeypatch) -> None:
    import purrsight_model.runtime as runtime

    shipped = tmp_path / "default"
    shipped.mkdir()
    (shipped / "manifest.json").write_text("{}", encoding="utf-8")
    loaded = []
    value = {"p": 0.7}

    class FakeAnalyzer:
        @classmethod
        def load(cls, path, threads=None):
            loaded.append(Path(path))
            return cls()

        def analyze(self, frame, audio):
            assert frame.shape == (224, 224, 3) and audio.ndim == 1
            return _FakeObservation(value["p"])
    monkeypatch.setattr(runtime, "Analyzer", FakeAnalyzer)
    # the source tree's assembled default (resources/models/default/bundle, once set-up has
    # built it) must not answer for "nothing installed"
    monkeypatch.setattr(runtime, "default_bundle", lambda: None)
    monkeypatch.delenv(selftest.ENV_DEFAULT_BUNDLE, raising=False)
    models = tmp_path / "models"
    models.mkdir()
    assert selftest.check_bundle(None, models).startswith("skipped")
    monkeypatch.setenv(selftest.ENV_DEFAULT_BUNDLE, str(shipped))
    assert "1 heads" in selftest.check_bundle(None, models) and loaded == [shipped]
    value["p"] = float("nan")
    with pytest.raises(selftest.CheckFailed, match="no finite"):
        selftest.check_bundle(None, models)
