"""Architecture rules from DEVELOPERS.md, checked on every run."""

from __future__ import annotations

import ast
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
#: The only purrsight_model modules the app may import (the small public API).
APP_ALLOWED = {
    "purrsight_model",
    "purrsight_model.schema",
    "purrsight_model.media",
    "purrsight_model.runtime",
}
#: Modules the torch-free runtime path is built from.
TORCH_FREE = [
    "purrsight_model.schema",
    "purrsight_model.frontends",
    "purrsight_model.media",
    "purrsight_model.decoding",
    "purrsight_model.runtime",
]


def _imports(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.update(a.name for a in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module)
    return names


def test_app_imports_only_public_model_api() -> None:
    offenders = []
    for path in sorted((ROOT / "purrsight_app").rglob("*.py")):
        for name in _imports(path):
            if name.startswith("purrsight_model") and name not in APP_ALLOWED:
                offenders.append(f"{path.relative_to(ROOT)} imports {name}")
    assert not offenders, "\n".join(offenders)


def test_model_package_never_imports_qt() -> None:
    offenders = [
        f"{p.relative_to(ROOT)} imports {n}"
        for p in sorted((ROOT / "purrsight_model").rglob("*.py"))
        for n in _imports(p)
        if n.split(".")[0] in {"PySide6", "PyQt5", "PyQt6", "purrsight_app"}
    ]
    assert not offenders, "\n".join(offenders)


@pytest.mark.parametrize("module", TORCH_FREE)
def test_runtime_modules_do_not_load_torch(module: str) -> None:
    if not (ROOT / (module.replace(".", "/") + ".py")).exists() and not (
        ROOT / module.replace(".", "/")
    ).is_dir():
        pytest.skip(f"{module} not written yet")
    code = (
        f"import sys, {module}\n"
        "bad = sorted(m for m in ('torch', 'transformers', 'PySide6') if m in sys.modules)\n"
        "print(','.join(bad))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "", f"{module} pulled in {out.stdout.strip()}"


def test_import_linter_contracts() -> None:
    exe = shutil.which("lint-imports") or str(Path(sys.executable).with_name("lint-imports"))
    out = subprocess.run([exe], capture_output=True, text=True, cwd=ROOT)
    assert out.returncode == 0, out.stdout + out.stderr


def test_ruff_clean() -> None:
    exe = shutil.which("ruff") or str(Path(sys.executable).with_name("ruff"))
    dirs = [d for d in ("purrsight_app", "purrsight_model", "tests", "benchmarks", "installers")
            if (ROOT / d).exists()]
    out = subprocess.run([exe, "check", *dirs], capture_output=True, text=True, cwd=ROOT)
    assert out.returncode == 0, out.stdout + out.stderr
