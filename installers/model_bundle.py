"""Which model bundle the installer ships, and which of its files (build.sh and the spec).

    python installers/model_bundle.py [--bundle DIR] [--json]

A bundle is a folder with ``manifest.json`` (``purrsight_model.runtime.bundle``). The one to
ship is, in this order: ``--bundle DIR`` (build.sh's option), ``$PURRSIGHT_BUNDLE_DIR``, then
the default model set-up assembles into ``resources/models/default/bundle``. ``none`` (as
option or variable) builds without a model on purpose. A folder named explicitly that holds
no manifest is an error; no bundle at all is not (the app runs and says "model not
available"), but build.sh prints a warning.

Inside the frozen app the bundle lands at ``resources/models/default/bundle`` under
``_internal/`` (= ``sys._MEIPASS``), where ``purrsight_model.runtime.default_bundle()`` looks.
Its ``src/`` subfolder (the small torch weights fine-tuning starts from) is shipped unless it
is larger than ``SRC_LIMIT_MB``; ``__pycache__`` and editor/lock files never are.

Standard library only: build.sh runs this with the system Python before the build venv
exists, and PyInstaller imports it from the spec.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from collections.abc import Mapping
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
MANIFEST = "manifest.json"
ENV = "PURRSIGHT_BUNDLE_DIR"
NONE = "none"
DEST = "resources/models/default/bundle"
"""Where the bundle goes inside the frozen app (relative to ``_internal/``)."""
DEFAULT_SOURCE = "resources/models/default/bundle"
"""Where ``purrsight-model assemble-default`` writes the default bundle (source tree)."""
SRC_DIR = "src"
SRC_LIMIT_MB = 20.0
SKIP_NAMES = frozenset({"__pycache__", ".DS_Store"})
SKIP_SUFFIXES = (".pyc", ".lock", ".tmp", "~")


class BundleChoiceError(ValueError):
    """A bundle was named explicitly but is not one."""


def choose(explicit: str | None = None, env: Mapping[str, str] | None = None,
           root: Path = ROOT) -> tuple[Path | None, str]:
    """(bundle folder or None, how it was chosen / why there is none)."""
    env = os.environ if env is None else env
    for value, what in ((explicit, "--bundle"), (env.get(ENV), f"${ENV}")):
        if not value:
            continue
        if value.strip().lower() == NONE:
            return None, f"{what}=none: building without a model on purpose"
        path = Path(value).expanduser()
        if not (path / MANIFEST).is_file():
            raise BundleChoiceError(f"{what} {path} is not a model bundle (no {MANIFEST})")
        return path.resolve(), what
    default = root / DEFAULT_SOURCE
    if (default / MANIFEST).is_file():
        return default.resolve(), "assembled default model"
    return None, (f"no model bundle: {default} has no {MANIFEST} (run `make setup` once the "
                  "default model is built, or pass --bundle DIR)")


def _tree_bytes(folder: Path) -> int:
    return sum(p.stat().st_size for p in folder.rglob("*") if p.is_file() and not p.is_symlink())


def _skipped(rel: Path) -> bool:
    return any(part in SKIP_NAMES for part in rel.parts) or rel.name.endswith(SKIP_SUFFIXES)


def data_files(bundle: Path, src_limit_mb: float = SRC_LIMIT_MB
               ) -> tuple[list[tuple[str, str]], list[str]]:
    """PyInstaller ``datas`` entries (file, destination folder) for every shipped file of
    ``bundle``, and notes on what was left out. Symlinks are followed (PyInstaller copies
    their targets)."""
    bundle = Path(bundle)
    notes: list[str] = []
    skip_src = False
    src = bundle / SRC_DIR
    if src.is_dir():
        mb = _tree_bytes(src) / 1e6
        skip_src = mb > src_limit_mb
        notes.append(f"{SRC_DIR}/ ({mb:.1f} MB) " + (
            f"left out (> {src_limit_mb:g} MB): fine-tuning the shipped model starts from "
            "scratch" if skip_src else "shipped (fine-tuning starts from it)"))
    entries: list[tuple[str, str]] = []
    for path in sorted(bundle.rglob("*")):
        if not path.is_file():
            continue
        rel = path.relative_to(bundle)
        if _skipped(rel) or (skip_src and rel.parts[0] == SRC_DIR):
            continue
        entries.append((str(path), str(Path(DEST, *rel.parts[:-1]).as_posix())))
    return entries, notes


def summary(bundle: Path | None, how: str) -> dict[str, object]:
    """What build.sh prints and the smoke test can compare against."""
    if bundle is None:
        return {"bundle": None, "why": how}
    manifest = json.loads((bundle / MANIFEST).read_text(encoding="utf-8"))
    entries, notes = data_files(bundle)
    shipped = sum(Path(src).stat().st_size for src, _ in entries)
    return {"bundle": str(bundle), "how": how, "bundle_id": manifest.get("bundle_id"),
            "files": len(entries), "mb": round(shipped / 1e6, 1), "notes": notes}


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--bundle", default=None, help="folder to ship, or 'none'")
    p.add_argument("--json", action="store_true", help="print the choice as JSON")
    args = p.parse_args(argv)
    try:
        bundle, how = choose(args.bundle)
    except BundleChoiceError as exc:
        print(f"model_bundle: {exc}", file=sys.stderr)
        return 2
    if args.json:
        print(json.dumps(summary(bundle, how)))
    else:
        print(bundle or "")
    return 0


if __name__ == "__main__":
    sys.exit(main())
