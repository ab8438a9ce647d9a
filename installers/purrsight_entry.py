"""Entry point of the bundled ``purrsight`` binary (PyInstaller runs this file as ``__main__``).

It only adds what a frozen app needs before the normal command line takes over:

- ``--selftest [--data-dir DIR] [--bundle DIR]`` runs ``purrsight_app.selftest`` (works even
  before ``purrsight_app.__main__`` knows the flag; both call the same function);
- ``--version`` prints the version baked in at build time;
- the model bundle shipped inside the install folder is announced through
  ``$PURRSIGHT_DEFAULT_BUNDLE`` (read by the runtime's default-bundle lookup), so a bundle
  that the owner registered in the data folder still wins over it.
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

ENV_DEFAULT_BUNDLE = "PURRSIGHT_DEFAULT_BUNDLE"


def _install_dir() -> Path:
    """Where PyInstaller unpacked the bundle's data (``_internal/``), or the source tree."""
    return Path(getattr(sys, "_MEIPASS", Path(__file__).resolve().parents[1]))


#: Where build.sh puts the shipped model (installers/model_bundle.py DEST), and the folder
#: older builds used.
SHIPPED_BUNDLES = ("resources/models/default/bundle", "models/default")


def _announce_default_bundle(base: Path) -> None:
    for rel in SHIPPED_BUNDLES:
        default = base / rel
        if (default / "manifest.json").is_file():
            os.environ.setdefault(ENV_DEFAULT_BUNDLE, str(default))
            return


def _version(base: Path) -> str:
    stamp = base / "purrsight_version.txt"
    return stamp.read_text(encoding="utf-8").strip() if stamp.is_file() else "unknown"


def _selftest(argv: list[str]) -> int:
    p = argparse.ArgumentParser(prog="purrsight --selftest")
    p.add_argument("--selftest", action="store_true")
    p.add_argument("--data-dir", default=None)
    p.add_argument("--bundle", default=None)
    args, _unknown = p.parse_known_args(argv)
    from purrsight_app.selftest import run_selftest

    return run_selftest(args.data_dir, bundle=args.bundle)


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    base = _install_dir()
    _announce_default_bundle(base)
    if "--version" in argv:
        print(f"purrsight {_version(base)}")
        return 0
    if "--selftest" in argv:
        return _selftest(argv)
    from purrsight_app.__main__ import main as app_main

    return app_main(argv)


if __name__ == "__main__":
    sys.exit(main())
