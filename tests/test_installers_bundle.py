"""The installer's model bundle (installers/model_bundle.py, build.sh, the spec) and the
library de-duplication (installers/slim_bundle.py). Nothing here runs PyInstaller."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from installer_modules import INST, ROOT
from installer_modules import load as _load

mb = _load("model_bundle")
slim = _load("slim_bundle")


def _bundle(folder: Path, src_bytes: int = 0) -> Path:
    """A folder shaped like an exported bundle (contents are not real graphs)."""
    (folder / "tokenizer").mkdir(parents=True)
    (folder / "manifest.json").write_text('{"bundle_id": "test-1"}', encoding="utf-8")
    (folder / "aligner.onnx").write_bytes(b"\0" * 100)
    (folder / "tokenizer" / "llm_tokenizer.json").write_text("{}", encoding="utf-8")
    (folder / "__pycache__").mkdir()
    (folder / "__pycache__" / "x.cpython-311.pyc").write_bytes(b"junk")
    if src_bytes:
        (folder / "src" / "align").mkdir(parents=True)
        (folder / "src" / "align" / "model.pt").write_bytes(b"\0" * src_bytes)
    return folder


# --- which bundle ---------------------------------------------------------------------------

def test_choose_order_explicit_then_env_then_assembled_default(tmp_path: Path) -> None:
    root = tmp_path / "repo"
    a, b = _bundle(tmp_path / "a"), _bundle(tmp_path / "b")
    assert mb.choose(None, {}, root)[0] is None  # nothing anywhere: build without a model
    default = _bundle(root / mb.DEFAULT_SOURCE)
    assert mb.choose(None, {}, root) == (default.resolve(), "assembled default model")
    assert mb.choose(None, {mb.ENV: str(b)}, root)[0] == b.resolve()
    assert mb.choose(str(a), {mb.ENV: str(b)}, root)[0] == a.resolve()
    assert mb.choose("none", {mb.ENV: str(b)}, root)[0] is None
    assert mb.choose(None, {mb.ENV: "none"}, root)[0] is None


def test_choose_refuses_a_named_folder_without_manifest(tmp_path: Path) -> None:
    with pytest.raises(mb.BundleChoiceError, match="no manifest.json"):
        mb.choose(str(tmp_path), {}, tmp_path)
    with pytest.raises(mb.BundleChoiceError, match=mb.ENV):
        mb.choose(None, {mb.ENV: str(tmp_path / "missing")}, tmp_path)


def test_data_files_land_where_the_runtime_looks(tmp_path: Path, monkeypatch) -> None:
    """The frozen app's default_bundle() must find what the spec ships (_MEIPASS + DEST)."""
    from purrsight_model.runtime import bundle as runtime_bundle

    src = _bundle(tmp_path / "src-bundle")
    entries, _notes = mb.data_files(src)
    meipass = tmp_path / "_internal"
    for file, dest in entries:  # what PyInstaller's COLLECT does with datas
        (meipass / dest).mkdir(parents=True, exist_ok=True)
        shutil.copy2(file, meipass / dest)
    monkeypatch.setattr(sys, "_MEIPASS", str(meipass), raising=False)
    monkeypatch.delenv(runtime_bundle.ENV_DEFAULT_BUNDLE, raising=False)
    assert runtime_bundle.default_bundle() == meipass / mb.DEST
    assert (meipass / mb.DEST / "tokenizer" / "llm_tokenizer.json").is_file()
    assert not list(meipass.rglob("__pycache__"))


def test_src_weights_shipped_only_below_the_limit(tmp_path: Path) -> None:
    bundle = _bundle(tmp_path / "b", src_bytes=2_000_000)
    entries, notes = mb.data_files(bundle, src_limit_mb=20)
    assert any(dest.endswith("bundle/src/align") for _, dest in entries)
    assert "shipped" in notes[0]
    entries, notes = mb.data_files(bundle, src_limit_mb=1)
    assert not any("/src" in dest for _, dest in entries)
    assert "left out" in notes[0] and "2.0 MB" in notes[0]
    assert any(dest == mb.DEST for _, dest in entries)  # the rest still ships


def test_cli_is_what_build_sh_calls(tmp_path: Path) -> None:
    bundle = _bundle(tmp_path / "b")
    env = {k: v for k, v in os.environ.items() if k != mb.ENV}
    run = subprocess.run([sys.executable, str(INST / "model_bundle.py"), "--bundle", str(bundle),
                          "--json"], capture_output=True, text=True, env=env)
    assert run.returncode == 0 and json.loads(run.stdout)["bundle_id"] == "test-1"
    bad = subprocess.run([sys.executable, str(INST / "model_bundle.py"), "--bundle",
                          str(tmp_path)], capture_output=True, text=True, env=env)
    assert bad.returncode == 2 and "not a model bundle" in bad.stderr


def _build_sh(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess:
    return subprocess.run(["bash", str(INST / "build.sh"), *args], capture_output=True,
                          text=True, env=env, timeout=60)


def test_build_sh_selects_the_model_it_ships(tmp_path: Path) -> None:
    """--which-model runs build.sh's real option parsing and selection, then stops."""
    bundle = _bundle(tmp_path / "b")
    env = {k: v for k, v in os.environ.items() if k != mb.ENV}
    run = _build_sh("--no-deb", "--bundle", str(bundle), "--which-model", env=env)
    assert run.returncode == 0, run.stderr
    assert f"PURRSIGHT_BUNDLE_DIR={bundle.resolve()}" in run.stdout
    run = _build_sh(f"--bundle={bundle}", "--which-model", env=env)
    assert f"PURRSIGHT_BUNDLE_DIR={bundle.resolve()}" in run.stdout
    run = _build_sh("--which-model", env={**env, mb.ENV: str(bundle)})
    assert f"PURRSIGHT_BUNDLE_DIR={bundle.resolve()}" in run.stdout
    run = _build_sh("--no-bundle", "--which-model", env=env)
    assert "PURRSIGHT_BUNDLE_DIR=none" in run.stdout and "WITHOUT a model" in run.stderr
    run = _build_sh("--no-bundle", "--require-model", "--which-model", env=env)
    assert run.returncode == 1 and "--require-model" in run.stderr
    run = _build_sh("--bundle", str(bundle), "--require-model", "--which-model", env=env)
    assert run.returncode == 0
    assert _build_sh("--bundle", str(tmp_path), "--which-model", env=env).returncode == 2
    assert _build_sh("--bundle", env=env).returncode == 2
    assert _build_sh("--bogus", env=env).returncode == 2


def test_spec_ships_the_chosen_bundle_through_model_bundle() -> None:
    spec = (INST / "purrsight.spec").read_text(encoding="utf-8")
    assert "model_bundle.choose()" in spec and "model_bundle.data_files(bundle)" in spec
    entry = (INST / "purrsight_entry.py").read_text(encoding="utf-8")
    assert f'"{mb.DEST}"' in entry  # the entry point announces the same folder
    smoke = (INST / "smoke_test.py").read_text(encoding="utf-8")
    assert f'"{mb.DEST}"' in smoke  # and the smoke test expects it there


# --- slim_bundle ----------------------------------------------------------------------------

def test_vendored_names() -> None:
    m = slim.VENDORED.match
    assert (m("libavcodec-57aca189.so.62.28.102")["stem"], m(
        "libavcodec-57aca189.so.62.28.102")["ver"]) == ("libavcodec", ".so.62.28.102")
    assert m("libgfortran-040039e1-0352e75f.so.5.0.0")["stem"] == "libgfortran"
    assert m("libopencore-amrnb-d72c52e2.so.0.0.5")["stem"] == "libopencore-amrnb"
    assert m("libssl-8248cfc9.so.1.1.1k")["ver"] == ".so.1.1.1k"
    for system in ("libz.so.1", "libQt6Core.so.6", "libpython3.11.so.1.0"):
        assert m(system) is None


CC = shutil.which("cc") or shutil.which("gcc")


def _so(out: Path, soname: str, code: str, needs: list[str] = ()) -> Path:
    src = out.with_suffix(".c")
    src.write_text(code, encoding="utf-8")
    cmd = [CC, "-shared", "-fPIC", "-o", str(out), str(src), f"-Wl,-soname,{soname}",
           "-Wl,-rpath,$ORIGIN", f"-L{out.parent}"]
    cmd += [f"-l:{n}" for n in needs]
    subprocess.run(cmd, check=True, capture_output=True)
    src.unlink()
    return out


@pytest.mark.skipif(not (CC and shutil.which("readelf") and shutil.which("ldd")),
                    reason="needs a C compiler, readelf and ldd")
def test_slim_links_a_duplicate_only_to_a_superset_and_keeps_it_loadable(tmp_path) -> None:
    """Two wheels vendor 'libcodec' (same version, different hash). The preferred folder's copy
    exports more and depends on a helper; the other copy becomes a link, the helper is linked
    beside it, its now-unused own helper is removed, the kept copy survives although only the
    link's name is needed, and the consumer still loads."""
    internal = tmp_path / "_internal"
    pref, other, pkg = internal / "av.libs", internal / "cv.libs", internal / "cv"
    for d in (pref, other, pkg):
        d.mkdir(parents=True)
    helper = "libhelp-11111111.so.1.0"
    _so(pref / helper, helper, "int help(void){return 2;}")
    keep = "libcodec-aaaaaaaa.so.1.2.3"
    _so(pref / keep, keep, "int help(void);int enc(void){return help();}int dec(void){return 1;}",
        [helper])
    old_helper = "libold-22222222.so.3"
    _so(other / old_helper, old_helper, "int old(void){return 3;}")
    dup = "libcodec-bbbbbbbb.so.1.2.3"
    _so(other / dup, dup, "int old(void);int dec(void){return old();}", [old_helper])
    # an unrelated group where neither copy can stand in for the other: left alone
    _so(pref / "libx-33333333.so.1", "libx-33333333.so.1", "int a(void){return 1;}")
    _so(other / "libx-44444444.so.1", "libx-44444444.so.1", "int b(void){return 1;}")
    consumer = pkg / "consumer.so"
    subprocess.run([CC, "-shared", "-fPIC", "-o", str(consumer), "-x", "c", "-",
                    f"-L{other}", f"-l:{dup}", "-l:libx-44444444.so.1",
                    "-Wl,-rpath,$ORIGIN/../cv.libs"],
                   input="int dec(void);int b(void);int use(void){return dec() * b();}",
                   text=True, check=True, capture_output=True)
    (internal / "av").mkdir()
    subprocess.run([CC, "-shared", "-fPIC", "-o", str(internal / "av" / "c2.so"), "-x", "c", "-",
                    f"-L{pref}", "-l:libx-33333333.so.1", "-Wl,-rpath,$ORIGIN/../av.libs"],
                   input="int a(void);int go(void){return a();}",
                   text=True, check=True, capture_output=True)

    assert slim.main([str(tmp_path)]) == 0
    assert (other / dup).is_symlink() and (other / dup).resolve() == (pref / keep).resolve()
    assert (other / helper).is_symlink()  # companion: found through $ORIGIN of cv.libs
    assert not (other / old_helper).exists()  # orphan: only the replaced copy needed it
    for lib in (pref / "libx-33333333.so.1", other / "libx-44444444.so.1", pref / keep,
                pref / helper):
        assert lib.is_file() and not lib.is_symlink(), lib
    ldd = subprocess.run(["ldd", str(consumer)], capture_output=True, text=True).stdout
    assert "not found" not in ldd, ldd
    probe = subprocess.run([sys.executable, "-c", "import ctypes,sys; "
                            "print(ctypes.CDLL(sys.argv[1]).use())", str(consumer)],
                           capture_output=True, text=True)
    assert probe.stdout.strip() == "1", probe.stderr  # the kept copy's dec(), not old()'s 3


def _site_packages() -> Path | None:
    try:
        import av
        import cv2
    except ImportError:
        return None
    sp = Path(cv2.__file__).resolve().parents[1]
    ok = all((sp / d).is_dir() for d in ("cv2", "opencv_python_headless.libs", "av", "av.libs"))
    return sp if ok and Path(av.__file__).resolve().parents[1] == sp else None


@pytest.mark.slow
@pytest.mark.skipif(_site_packages() is None or not shutil.which("readelf"),
                    reason="needs the opencv-python-headless and av wheels, and binutils")
def test_slim_gives_opencv_pyavs_ffmpeg_and_both_still_work(tmp_path: Path) -> None:
    """The real wheels: after slimming a copy of them, one process imports cv2 first, reads
    and writes video through OpenCV's FFmpeg backend, then decodes and encodes (libx264)
    through PyAV, with a single libavcodec mapped."""
    sp = _site_packages()
    copy = tmp_path / "sp"
    for d in ("cv2", "opencv_python_headless.libs", "av", "av.libs"):
        shutil.copytree(sp / d, copy / d, symlinks=True)
    assert slim.main([str(copy)]) == 0
    demo = ROOT / "resources" / "demo" / "demo_cat.mp4"
    if not demo.is_file():
        pytest.skip("no demo clip")
    script = f"""
import sys; sys.path.insert(0, {str(copy)!r})
import cv2, av, numpy as np
assert cv2.__file__.startswith({str(copy)!r}) and av.__file__.startswith({str(copy)!r})
cap = cv2.VideoCapture({str(demo)!r}, cv2.CAP_FFMPEG)
assert all(cap.read()[0] for _ in range(10)), "cv2 cannot read through FFmpeg"
w = cv2.VideoWriter({str(tmp_path / 'cv.mp4')!r}, cv2.VideoWriter_fourcc(*"mp4v"), 10, (64, 48))
for i in range(5): w.write(np.full((48, 64, 3), 40 * i, np.uint8))
w.release()
assert cv2.VideoCapture({str(tmp_path / 'cv.mp4')!r}, cv2.CAP_FFMPEG).read()[0]
with av.open({str(demo)!r}) as f:
    assert next(f.decode(video=0)).to_ndarray(format="rgb24").shape[2] == 3
with av.open({str(tmp_path / 'av.mp4')!r}, "w") as out:
    s = out.add_stream("libx264", rate=10); s.width, s.height, s.pix_fmt = 64, 48, "yuv420p"
    for i in range(5):
        out.mux(s.encode(av.VideoFrame.from_ndarray(np.full((48, 64, 3), 40 * i, np.uint8),
                                                    format="rgb24")))
    out.mux(s.encode())
maps = {{l.split()[-1] for l in open("/proc/self/maps") if "libavcodec" in l}}
print(len(maps))
"""
    run = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True,
                         timeout=120)
    assert run.returncode == 0, run.stderr[-2000:]
    assert run.stdout.strip().splitlines()[-1] == "1"  # one FFmpeg in memory, not two
