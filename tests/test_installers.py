"""Fast checks of the installer sources: spec, build script, Debian metadata, desktop files,
icons, and the pure helpers of deb_depends.py / smoke_test.py. Nothing here runs PyInstaller."""

from __future__ import annotations

import ast
import configparser
import json
import re
import shutil
import sqlite3
import struct
import subprocess
import sys
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest
from installer_modules import INST, ROOT
from installer_modules import load as _load

DEB = INST / "deb"



deb_depends = _load("deb_depends")
smoke = _load("smoke_test")


def _spec_list(name: str) -> list[str]:
    tree = ast.parse((INST / "purrsight.spec").read_text(encoding="utf-8"))
    for node in tree.body:
        if isinstance(node, ast.Assign) and getattr(node.targets[0], "id", None) == name:
            return ast.literal_eval(node.value)
    raise AssertionError(f"{name} not in purrsight.spec")


def test_spec_parses_and_excludes_the_training_stack() -> None:
    text = (INST / "purrsight.spec").read_text(encoding="utf-8")
    tree = ast.parse(text)
    calls = {n.func.id for n in ast.walk(tree) if isinstance(n, ast.Call)
             and isinstance(n.func, ast.Name)}
    assert {"Analysis", "PYZ", "EXE", "COLLECT"} <= calls
    stack = _spec_list("TRAINING_STACK")
    assert {"torch", "transformers", "torchvision", "onnxscript"} <= set(stack)
    assert "exclude_binaries=True" in text  # one-folder, not one-file
    assert "purrsight_app/demo" in text  # where find_demo_dir() looks inside the bundle


def test_spec_drops_unused_qt_but_keeps_the_platforms_the_app_needs() -> None:
    ns: dict = {}
    text = (INST / "purrsight.spec").read_text(encoding="utf-8")
    block = text[text.index("DROP_DATA"):text.index("def _keep")]
    exec(compile("import re\n" + block, "spec-excerpt", "exec"), ns)
    drop = lambda p: bool(ns["DROP_DATA"].search(p) or ns["DROP_PLUGINS"].search(p))  # noqa: E731
    assert drop("PySide6/Qt/translations/qt_de.qm")
    assert drop("PySide6/Qt/plugins/platforms/libqvnc.so")
    for keep in ("libqxcb.so", "libqoffscreen.so", "libqwayland.so", "libqminimal.so"):
        assert not drop(f"PySide6/Qt/plugins/platforms/{keep}"), keep
    assert not drop("PySide6/Qt/plugins/imageformats/libqjpeg.so")


def test_build_script_is_strict_and_arch_neutral() -> None:
    text = (INST / "build.sh").read_text(encoding="utf-8")
    assert "set -euo pipefail" in text
    code = "\n".join(line for line in text.splitlines() if not line.lstrip().startswith("#"))
    assert not re.search(r"amd64|x86_64|aarch64|arm64", code)
    assert "dpkg --print-architecture" in code
    assert "-Zxz" in code and "installers/.build-venv" in code
    assert subprocess.run(["bash", "-n", str(INST / "build.sh")]).returncode == 0


def test_control_template_has_the_required_fields() -> None:
    text = (DEB / "control.in").read_text(encoding="utf-8")
    fields = dict(re.findall(r"^([A-Za-z-]+): (.*)$", text, re.M))
    for key in ("Package", "Version", "Architecture", "Maintainer", "Depends", "Description",
                "Installed-Size"):
        assert key in fields, key
    assert fields["Package"] == "purrsight"
    assert fields["Version"] == "@VERSION@" and fields["Architecture"] == "@ARCH@"
    desc = text[text.index("Description:"):].splitlines()[1:]
    assert desc and all(line.startswith(" ") for line in desc)


@pytest.mark.skipif(not shutil.which("dpkg-deb"), reason="dpkg-deb not installed")
def test_rendered_control_builds_a_package(tmp_path: Path) -> None:
    stage = tmp_path / "pkg"
    (stage / "DEBIAN").mkdir(parents=True)
    control = (DEB / "control.in").read_text(encoding="utf-8")
    for key, value in {"VERSION": "0.1.0", "ARCH": "all", "INSTALLED_SIZE": "1",
                       "DEPENDS": "libc6 (>= 2.36), libportaudio2"}.items():
        control = control.replace(f"@{key}@", value)
    (stage / "DEBIAN" / "control").write_text(control, encoding="utf-8")
    for script in ("postinst", "postrm"):
        shutil.copy2(DEB / script, stage / "DEBIAN" / script)
    out = tmp_path / "p.deb"
    subprocess.run(["dpkg-deb", "--root-owner-group", "--build", str(stage), str(out)],
                   check=True, capture_output=True)
    info = subprocess.run(["dpkg-deb", "-f", str(out), "Package", "Depends"],
                          capture_output=True, text=True, check=True).stdout
    assert "Package: purrsight" in info and "libportaudio2" in info


def test_maintainer_scripts_never_touch_user_data() -> None:
    for script in ("postinst", "postrm"):
        text = (DEB / script).read_text(encoding="utf-8")
        assert text.startswith("#!/bin/sh") and "set -e" in text
        code = [line for line in text.splitlines() if not line.lstrip().startswith("#")]
        joined = "\n".join(code)
        assert not re.search(r"\brm\b|\$HOME|/home|\.local|XDG_DATA_HOME", joined), script
        assert subprocess.run(["sh", "-n", str(DEB / script)]).returncode == 0


def _desktop(name: str) -> configparser.SectionProxy:
    cp = configparser.ConfigParser(interpolation=None)
    cp.optionxform = str
    cp.read(DEB / name, encoding="utf-8")
    return cp["Desktop Entry"]


def test_desktop_entries() -> None:
    main = _desktop("purrsight.desktop")
    assert main["Exec"].split()[0] == "purrsight" and main["Icon"] == "purrsight"
    assert main["Type"] == "Application" and main["Terminal"] == "false"
    kiosk = _desktop("purrsight-kiosk.desktop")
    assert "--kiosk" in kiosk["Exec"].split() and kiosk["NoDisplay"] == "true"


@pytest.mark.skipif(not shutil.which("desktop-file-validate"), reason="desktop-file-utils absent")
@pytest.mark.parametrize("name", ["purrsight.desktop", "purrsight-kiosk.desktop"])
def test_desktop_files_validate(name: str) -> None:
    run = subprocess.run(["desktop-file-validate", str(DEB / name)], capture_output=True,
                         text=True)
    assert run.returncode == 0 and "error" not in run.stdout.lower(), run.stdout


def test_icons_exist_at_their_declared_sizes() -> None:
    icons = ROOT / "resources" / "icons"
    root = ET.parse(icons / "purrsight.svg").getroot()
    assert root.tag.endswith("svg") and root.get("viewBox") == "0 0 256 256"
    for n in (16, 32, 48, 128, 256, 512):
        head = (icons / f"purrsight-{n}.png").read_bytes()[:24]
        assert head[:8] == b"\x89PNG\r\n\x1a\n"
        assert struct.unpack(">II", head[16:24]) == (n, n)


# --- deb_depends helpers ------------------------------------------------------------------

def test_parse_ldd_splits_found_and_missing() -> None:
    text = ("\tlinux-vdso.so.1 (0x00007ffd)\n"
            "\tlibxcb-cursor.so.0 => /lib/x86_64-linux-gnu/libxcb-cursor.so.0 (0x00007f12)\n"
            "\tlibQt6Gui.so.6 => /opt/p/_internal/libQt6Gui.so.6 (0x00007f00)\n"
            "\tlibfoo.so.2 => not found\n"
            "\t/lib64/ld-linux-x86-64.so.2 (0x00007f34)\n")
    found, missing = deb_depends.parse_ldd(text)
    assert found == {"libxcb-cursor.so.0": "/lib/x86_64-linux-gnu/libxcb-cursor.so.0",
                     "libQt6Gui.so.6": "/opt/p/_internal/libQt6Gui.so.6"}
    assert missing == {"libfoo.so.2"}


def test_parse_dpkg_search_and_depends_line() -> None:
    text = ("libxcb-cursor0:amd64: /lib/x86_64-linux-gnu/libxcb-cursor.so.0\n"
            "diversion by foo from: /usr/lib/x\n"
            "libc6:amd64: /lib/x86_64-linux-gnu/libc.so.6\n")
    owners = deb_depends.parse_dpkg_search(text)
    assert owners["/lib/x86_64-linux-gnu/libxcb-cursor.so.0"] == "libxcb-cursor0"
    assert "/usr/lib/x" not in owners
    line = deb_depends.depends_line(owners.values(), ["libportaudio2"], "2.36")
    assert line == "libc6 (>= 2.36), libportaudio2, libxcb-cursor0"


def test_candidates_cover_merged_usr() -> None:
    names = deb_depends._candidates("/lib/x86_64-linux-gnu/libz.so.1")
    assert "/usr/lib/x86_64-linux-gnu/libz.so.1" in names


# --- smoke_test helpers ---------------------------------------------------------------------

def test_parse_summary_takes_the_app_summary() -> None:
    out = 'noise {"x": 1}\n{\n  "frames_painted": 3,\n  "errors": []\n}\ntrailing\n'
    assert smoke.parse_summary(out) == {"frames_painted": 3, "errors": []}
    assert smoke.parse_summary("no json here") is None


def _fake_run(tmp_path: Path, observations: int, reports: int, status: list[str],
              from_model: bool = True):
    """A data folder like the app leaves it: observation rows (with the model's head
    probabilities + embedding, or without, as 'no model' rows would be) and reports."""
    data = tmp_path / "data"
    (data / "logs").mkdir(parents=True)
    (data / "logs" / "purrsight.log").write_text("2024 INFO x: fine\n", encoding="utf-8")
    conn = sqlite3.connect(data / "purrsight.db")
    conn.execute("CREATE TABLE observations (ts REAL, head_probs BLOB, embedding BLOB)")
    conn.execute("CREATE TABLE events (id TEXT)")
    conn.execute("CREATE TABLE reports (id TEXT, ts REAL, json TEXT)")
    probs, emb = (bytes([10, 200, 45]), bytes(1024)) if from_model else (None, None)
    conn.executemany("INSERT INTO observations VALUES (?, ?, ?)",
                     [(float(i), probs, emb) for i in range(observations)])
    conn.execute("INSERT INTO events VALUES ('e1')")
    report = {f: "unknown" for f in smoke.REPORT_FIELDS}
    conn.executemany("INSERT INTO reports VALUES (?, ?, ?)",
                     [(f"r{i}", float(i), json.dumps(report)) for i in range(reports)])
    conn.commit()
    conn.close()
    summary = {"frames_painted": 10, "windows_analysed": 5, "errors": [], "exceptions": [],
               "status_lines": status, "analysis_errors": 0}
    return data, json.dumps(summary, indent=2)


def test_judge_is_strict_with_a_bundle(tmp_path: Path) -> None:
    data, out = _fake_run(tmp_path, observations=12, reports=0, status=[])
    verdict = smoke.judge(0, out, data, bundle=tmp_path)
    assert not verdict.ok and any("reports from the model" in f for f in verdict.failures)
    data2, out2 = _fake_run(tmp_path / "b", observations=12, reports=1, status=[])
    assert smoke.judge(0, out2, data2, bundle=tmp_path).ok, smoke.judge(0, out2, data2,
                                                                          tmp_path).failures


def test_judge_wants_rows_only_a_loaded_model_writes(tmp_path: Path) -> None:
    data, out = _fake_run(tmp_path, observations=12, reports=1, status=[], from_model=False)
    verdict = smoke.judge(0, out, data, bundle=tmp_path)
    assert any("observations from the model" in f for f in verdict.failures)
    data, out = _fake_run(tmp_path / "b", 12, 1, ["reports not available: no LLM"])
    assert any("model loaded" in f for f in smoke.judge(0, out, data, tmp_path).failures)
    conn = sqlite3.connect(data / "purrsight.db")
    conn.execute("UPDATE reports SET json = '{\"summary\": \"x\"}'")  # not a full report
    conn.commit()
    conn.close()
    data_ok, out_ok = _fake_run(tmp_path / "c", 12, 0, [])
    assert any("reports from the model" in f
               for f in smoke.judge(0, out, data, tmp_path).failures)
    summary = json.loads(out_ok)
    summary["model_bundle"] = str(tmp_path / "elsewhere")  # an app that says which it used
    assert any("the app used" in f
               for f in smoke.judge(0, json.dumps(summary), data_ok, tmp_path).failures)


def test_judge_without_bundle_wants_the_model_not_available_line(tmp_path: Path) -> None:
    data, out = _fake_run(tmp_path, 0, 0, ["model not available: no model bundle found"])
    assert smoke.judge(0, out, data, bundle=None).ok
    (data / "logs" / "purrsight.log").write_text("2024 ERROR app: boom\n", encoding="utf-8")
    verdict = smoke.judge(0, out, data, bundle=None)
    assert not verdict.ok and any("log clean" in f for f in verdict.failures)
    assert not smoke.judge(1, out, data, bundle=None).ok


# --- strip_bundle: never keep a stripped copy the loader would refuse ----------------------

strip_bundle = _load("strip_bundle")


def _first_load_header(data: bytes) -> int:
    """Byte position of the first PT_LOAD program header of a little-endian ELF64."""
    phoff = struct.unpack_from("<Q", data, 32)[0]
    phentsize, phnum = struct.unpack_from("<HH", data, 54)
    for i in range(phnum):
        at = phoff + i * phentsize
        if struct.unpack_from("<I", data, at)[0] == strip_bundle.PT_LOAD:
            return at
    raise AssertionError("no PT_LOAD")


def test_loadable_detects_misaligned_segments(tmp_path: Path) -> None:
    real = Path(sys.executable).resolve()
    data = real.read_bytes()
    if data[4] != 2 or data[5] != 1:
        pytest.skip("not a little-endian ELF64 interpreter")
    good = tmp_path / "good"
    good.write_bytes(data)
    assert strip_bundle.loadable(good)
    at = _first_load_header(data) + 8  # p_offset of ELF64 Phdr
    broken = bytearray(data)
    offset = struct.unpack_from("<Q", broken, at)[0]
    struct.pack_into("<Q", broken, at, offset + 1)
    bad = tmp_path / "bad"
    bad.write_bytes(bytes(broken))
    assert not strip_bundle.loadable(bad)
    text = tmp_path / "text"
    text.write_text("#!/bin/sh\n", encoding="utf-8")
    assert not strip_bundle.loadable(text)


def test_enable_training_script_is_templated_by_build_sh() -> None:
    script = (DEB / "purrsight-enable-training").read_text(encoding="utf-8")
    assert "@VERSION@" in script and "@TORCH@" in script and "set -eu" in script
    assert subprocess.run(["sh", "-n", str(DEB / "purrsight-enable-training")]).returncode == 0
    build = (INST / "build.sh").read_text(encoding="utf-8")
    assert "s/@TORCH@/$TORCH/" in build and "purrsight-enable-training" in build


@pytest.mark.parametrize("where", ["resources/models/default/bundle", "models/default"])
def test_smoke_test_finds_the_bundle_behind_the_wrapper(tmp_path: Path, where: str) -> None:
    app = tmp_path / "opt" / "purrsight"
    shipped = app / "_internal" / where  # this build's place, and older builds'
    shipped.mkdir(parents=True)
    (shipped / "manifest.json").write_text("{}")
    binary = app / "purrsight"
    binary.write_bytes(b"\x7fELF fake")
    wrapper = tmp_path / "purrsight"
    wrapper.write_text((DEB / "purrsight.sh").read_text().replace("/opt/purrsight/purrsight",
                                                                  str(binary)))
    assert smoke.real_binary(wrapper) == binary.resolve()
    assert smoke.shipped_bundle(wrapper) == shipped.resolve()
    assert smoke.shipped_bundle(binary) is not None
    (shipped / "manifest.json").unlink()
    assert smoke.shipped_bundle(wrapper) is None
