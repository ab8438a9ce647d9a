"""``purrsight --selftest``: check that an installed PurrSight can run here, without a display.

Each check exercises one layer an installer can break: the bundled Python packages import,
the PortAudio library loads, onnxruntime creates a session (a tiny graph built here, then the
model bundle if one is installed), SQLite with WAL and FTS5 is writable in the data folder,
Qt starts on its offscreen platform and has fonts (and the X11 plugin's libraries resolve),
and the bundled demo media decodes. It prints one line per check and returns 0 only if all
passed, so package scripts and CI can call it. Nothing it writes outlives it.
"""

from __future__ import annotations

import importlib
import math
import os
import shutil
import sqlite3
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TextIO

RUNTIME_MODULES = (
    "numpy", "onnxruntime", "cv2", "av", "PySide6.QtCore", "PySide6.QtGui", "PySide6.QtWidgets",
    "matplotlib", "sqlite_utils", "platformdirs", "tokenizers", "yaml", "pydantic",
    "purrsight_model.runtime", "purrsight_app.app",
)
"""What the installed app imports at start-up (or lazily, like the runtime)."""
ENV_DEFAULT_BUNDLE = "PURRSIGHT_DEFAULT_BUNDLE"


class CheckFailed(RuntimeError):
    """A self-test check found a real problem; the message says what to install or fix."""


@dataclass(frozen=True)
class CheckResult:
    name: str
    ok: bool
    detail: str
    seconds: float


# --- a tiny ONNX graph without the onnx package (not part of the runtime) ------------------

def _varint(n: int) -> bytes:
    out = bytearray()
    while True:
        byte, n = n & 0x7F, n >> 7
        out.append(byte | (0x80 if n else 0))
        if not n:
            return bytes(out)


def _field(number: int, value: int | bytes | str) -> bytes:
    """One protobuf field: varint for ints, length-delimited for bytes/str."""
    if isinstance(value, int):
        return _varint(number << 3) + _varint(value)
    raw = value.encode() if isinstance(value, str) else value
    return _varint(number << 3 | 2) + _varint(len(raw)) + raw


def _float_vector(name: str) -> bytes:
    """ValueInfoProto: float tensor of shape [N]."""
    shape = _field(1, _field(2, "N"))  # TensorShapeProto.dim { dim_param: "N" }
    tensor_type = _field(1, 1) + _field(2, shape)  # elem_type FLOAT, shape
    return _field(1, name) + _field(2, _field(1, tensor_type))


def tiny_add_model() -> bytes:
    """Serialized ModelProto computing ``y = a + b`` (opset 17, IR 8)."""
    node = _field(1, "a") + _field(1, "b") + _field(2, "y") + _field(4, "Add")
    graph = (_field(1, node) + _field(2, "selftest") + _field(11, _float_vector("a"))
             + _field(11, _float_vector("b")) + _field(12, _float_vector("y")))
    opset = _field(1, "") + _field(2, 17)
    return _field(1, 8) + _field(2, "purrsight-selftest") + _field(7, graph) + _field(8, opset)


# --- the checks: each returns a detail line or raises --------------------------------------

def check_imports() -> str:
    versions = []
    for name in RUNTIME_MODULES:
        try:
            module = importlib.import_module(name)
        except Exception as exc:  # noqa: BLE001 - any import failure is the finding
            raise CheckFailed(f"cannot import {name}: {type(exc).__name__}: {exc}") from exc
        if "." not in name:
            versions.append(f"{name} {getattr(module, '__version__', None) or _dist_version(name)}")
    if "torch" in sys.modules:
        versions.append("(torch present)")
    return ", ".join(versions)


def _dist_version(module: str) -> str:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version(module.replace("_", "-"))
    except PackageNotFoundError:
        return "?"


def check_audio() -> str:
    try:
        import sounddevice as sd
    except OSError as exc:
        raise CheckFailed(f"PortAudio missing ({exc}): install libportaudio2") from exc
    name = sd.get_portaudio_version()[1].split(",")[0]
    try:
        n = len(sd.query_devices())
    except Exception as exc:  # noqa: BLE001 - no devices is fine on a server
        return f"{name}; devices unavailable ({exc})"
    return f"{name}; {n} device(s)"


def check_onnxruntime() -> str:
    import numpy as np
    import onnxruntime as ort

    session = ort.InferenceSession(tiny_add_model(), providers=["CPUExecutionProvider"])
    a = np.arange(3, dtype=np.float32)  # [3]
    (y,) = session.run(None, {"a": a, "b": a})
    if not np.allclose(y, 2 * a):
        raise CheckFailed(f"onnxruntime computed {y} for {a} + {a}")
    return f"onnxruntime {ort.__version__} ({', '.join(ort.get_available_providers())})"


def check_bundle(bundle: str | None, models_dir: Path) -> str:
    import numpy as np

    from purrsight_app.pipeline.runtime_loader import find_bundle
    from purrsight_model.runtime import Analyzer

    path, reason = find_bundle(bundle, models_dir)
    shipped = os.environ.get(ENV_DEFAULT_BUNDLE)  # set by the installed binary's entry point
    if path is None and not bundle and shipped and (Path(shipped) / "manifest.json").is_file():
        path = Path(shipped)
    if path is None:
        if bundle:
            raise CheckFailed(reason)
        return f"skipped: {reason}"
    obs = Analyzer.load(path, threads=1).analyze(
        np.zeros((224, 224, 3), np.uint8), np.zeros(15_360, np.float32))  # [H, W, 3], [T]
    probs = [p for head in obs.heads.values() for p in head.values()]
    if not probs or not all(math.isfinite(p) for p in probs):
        raise CheckFailed(f"{path}: analyze() gave no finite head probabilities")
    return f"{path.name}: {len(obs.heads)} heads in {obs.latency_ms:.0f} ms"


def check_sqlite(data_dir: Path) -> str:
    with tempfile.TemporaryDirectory(prefix=".selftest-", dir=data_dir) as tmp:
        conn = sqlite3.connect(Path(tmp) / "selftest.db")
        try:
            mode = conn.execute("PRAGMA journal_mode=WAL").fetchone()[0]
            conn.execute("CREATE VIRTUAL TABLE t USING fts5(body)")
            conn.execute("INSERT INTO t VALUES ('a purring cat')")
            conn.commit()
            hits = conn.execute("SELECT count(*) FROM t WHERE t MATCH 'purring'").fetchone()[0]
        finally:
            conn.close()
    if mode != "wal" or hits != 1:
        raise CheckFailed(f"journal_mode={mode}, fts5 hits={hits}")
    return f"SQLite {sqlite3.sqlite_version} (WAL, FTS5) writable in {data_dir}"


def _qt_plugin_problems() -> list[str]:
    """Libraries the X11 platform plugin needs but cannot find (what Qt misreports)."""
    from PySide6.QtCore import QLibraryInfo

    plugin = Path(QLibraryInfo.path(QLibraryInfo.LibraryPath.PluginsPath)) / "platforms"
    plugin = plugin / "libqxcb.so"
    if not sys.platform.startswith("linux") or not plugin.is_file() or not shutil.which("ldd"):
        return []
    out = subprocess.run(["ldd", str(plugin)], capture_output=True, text=True, timeout=30)
    return [line.split()[0] for line in out.stdout.splitlines() if "not found" in line]


def check_qt() -> str:
    os.environ["QT_QPA_PLATFORM"] = "offscreen"
    from PySide6.QtGui import QFontDatabase
    from PySide6.QtWidgets import QApplication, QLabel

    from purrsight_app.ui.qt_check import broken_binding_message

    broken = broken_binding_message()
    if broken:
        raise CheckFailed(broken)
    app = QApplication.instance() or QApplication(sys.argv[:1])
    if app.platformName() != "offscreen":
        return f"skipped: a QApplication on {app.platformName()} already exists"
    families = QFontDatabase.families()
    if not families:
        raise CheckFailed("Qt found no fonts: install fonts-dejavu-core")
    label = QLabel("PurrSight self-test")
    label.resize(240, 40)
    image = label.grab().toImage()
    if image.isNull() or image.width() < 240:
        raise CheckFailed("offscreen rendering returned no image")
    missing = _qt_plugin_problems()
    if missing:
        raise CheckFailed("the X11 plugin cannot load; missing " + ", ".join(missing))
    from PySide6 import __version__ as qt_version

    return f"PySide6 {qt_version}, {len(families)} font families, xcb plugin libraries resolve"


def check_demo() -> str:
    from purrsight_app.pipeline.sources import find_demo_dir
    from purrsight_model.media import load_video, media_kind

    folder = find_demo_dir()
    if folder is None:
        raise CheckFailed("no demo media installed")
    videos = sorted(p for p in folder.iterdir() if p.is_file() and _is_video(p, media_kind))
    if not videos:
        raise CheckFailed(f"{folder}: no video file")
    clip = load_video(videos[0], fps=1.0, max_frames=2)
    if clip.audio is None or clip.audio.size == 0:
        raise CheckFailed(f"{videos[0]}: no audio decoded")
    h, w = clip.frames.shape[1:3]
    return f"{videos[0].name}: {w}x{h}, {clip.duration:.1f} s, audio {clip.audio.size} samples"


def _is_video(path: Path, media_kind: Callable[[Path], str]) -> bool:
    try:
        return media_kind(path) == "video"
    except ValueError:
        return False


# --- driver --------------------------------------------------------------------------------

def _run_check(name: str, fn: Callable[[], str]) -> CheckResult:
    start = time.perf_counter()
    try:
        detail, ok = fn(), True
    except Exception as exc:  # noqa: BLE001 - every failure becomes a reported line
        detail, ok = (str(exc) if isinstance(exc, CheckFailed)
                      else f"{type(exc).__name__}: {exc}"), False
    return CheckResult(name, ok, detail, time.perf_counter() - start)


def run_selftest(data_dir: str | os.PathLike[str] | None = None, *, bundle: str | None = None,
                 out: TextIO | None = None) -> int:
    """Run every check, print one line each to ``out`` (stdout); 0 if all passed, else 1."""
    from purrsight_app.paths import resolve_paths

    out = out or sys.stdout
    paths = resolve_paths(data_dir)
    checks: list[tuple[str, Callable[[], str]]] = [
        ("imports", check_imports),
        ("audio", check_audio),
        ("onnxruntime", check_onnxruntime),
        ("model bundle", lambda: check_bundle(bundle, paths.models_dir)),
        ("sqlite", lambda: check_sqlite(paths.data_dir)),
        ("qt offscreen", check_qt),
        ("demo media", check_demo),
    ]
    frozen = " (bundled)" if getattr(sys, "frozen", False) else ""
    print(f"PurrSight self-test{frozen}: {sys.executable}", file=out)
    results = [_run_check(name, fn) for name, fn in checks]
    for r in results:
        print(f"  {'ok  ' if r.ok else 'FAIL'} {r.name:13s} {r.detail} ({r.seconds:.2f} s)",
              file=out)
    failed = [r.name for r in results if not r.ok]
    print("self-test " + (f"FAILED: {', '.join(failed)}" if failed else "passed"), file=out)
    return 1 if failed else 0
