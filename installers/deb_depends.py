"""Compute the .deb's ``Depends:`` from what the bundle's shared libraries really load.

PyInstaller copies most libraries into the bundle but leaves some to the system (libc, libGL,
libEGL, libxcb, ...), and Qt's platform plugins need a few more. Guessing that list by hand
goes wrong (Qt even names the wrong library when the X11 plugin fails), so this script asks
``ldd`` about every ELF file in the bundle, keeps the libraries resolved *outside* the bundle,
and maps them to Debian packages with ``dpkg -S``. It runs on the build machine, so an aarch64
build gets aarch64 answers.

    python installers/deb_depends.py dist/purrsight --extra libportaudio2 fonts-dejavu-core
"""

from __future__ import annotations

import argparse
import os
import re
import subprocess
import sys
from collections.abc import Iterable, Iterator
from pathlib import Path

ELF_MAGIC = b"\x7fELF"
LDD_LINE = re.compile(r"^\s*(\S+)\s+=>\s+(\S+)\s+\(0x[0-9a-f]+\)\s*$")
LDD_MISSING = re.compile(r"^\s*(\S+)\s+=>\s+not found\s*$")
BASE_PACKAGES = {"libc6", "libgcc-s1", "libstdc++6"}
"""Listed with a version floor (libc6) or implied by it; always installed on Debian."""


def elf_files(root: Path) -> Iterator[Path]:
    """Every regular ELF file under ``root`` (libraries, plugins, the executable)."""
    for path in sorted(root.rglob("*")):
        if path.is_file() and not path.is_symlink():
            with path.open("rb") as fh:
                if fh.read(4) == ELF_MAGIC:
                    yield path


def parse_ldd(text: str) -> tuple[dict[str, str], set[str]]:
    """``ldd`` output -> ({soname: resolved path}, {sonames not found})."""
    found: dict[str, str] = {}
    missing: set[str] = set()
    for line in text.splitlines():
        if m := LDD_LINE.match(line):
            found[m.group(1)] = m.group(2)
        elif m := LDD_MISSING.match(line):
            missing.add(m.group(1))
    return found, missing


def system_libraries(root: Path, files: Iterable[Path]) -> tuple[set[str], set[str]]:
    """Paths outside ``root`` that the bundle's ELF files load, and sonames nobody provides.

    LD_LIBRARY_PATH points at the bundle's top library folder, like PyInstaller's bootloader.
    """
    root = root.resolve()
    internal = root / "_internal" if (root / "_internal").is_dir() else root
    env = {**os.environ, "LD_LIBRARY_PATH": str(internal)}
    outside: set[str] = set()
    missing: set[str] = set()
    provided = {p.name for p in root.rglob("*.so*")}
    for path in files:
        run = subprocess.run(["ldd", str(path)], capture_output=True, text=True, env=env)
        found, lost = parse_ldd(run.stdout)
        missing |= {name for name in lost if name not in provided}
        for target in found.values():
            if not Path(target).resolve().is_relative_to(root):
                outside.add(target)
    return outside, missing


def parse_dpkg_search(text: str) -> dict[str, str]:
    """``dpkg -S`` output -> {path: package} (arch qualifier dropped, diversions skipped)."""
    owners: dict[str, str] = {}
    for line in text.splitlines():
        if line.startswith("diversion ") or ": " not in line:
            continue
        pkgs, path = line.split(": ", 1)
        owners[path.strip()] = pkgs.split(",")[0].strip().split(":")[0]
    return owners


def _candidates(path: str) -> list[str]:
    """The spellings dpkg may have registered (merged /usr: /lib vs /usr/lib, symlinks)."""
    real = str(Path(path).resolve())
    names = [path, real]
    for p in (path, real):
        if p.startswith("/usr/lib/"):
            names.append(p[len("/usr"):])
        elif p.startswith("/lib/"):
            names.append("/usr" + p)
    return list(dict.fromkeys(names))


def packages_for(paths: Iterable[str]) -> tuple[set[str], set[str]]:
    """Debian packages owning ``paths``; and the paths no package owns."""
    packages: set[str] = set()
    unowned: set[str] = set()
    for path in sorted(paths):
        names = _candidates(path)
        run = subprocess.run(["dpkg", "-S", *names], capture_output=True, text=True)
        owners = parse_dpkg_search(run.stdout)
        owner = next((owners[n] for n in names if n in owners), None)
        if owner is None:
            unowned.add(path)
        else:
            packages.add(owner)
    return packages, unowned


def policy_package(soname: str) -> str | None:
    """Debian's shared-library package name for a soname: libfoo.so.1 -> libfoo1,
    libfoo2.so.1 -> libfoo2-1 (Debian Policy 8.1); None for names it does not cover."""
    m = re.fullmatch(r"(lib[A-Za-z0-9_+.-]+?)\.so\.(\d+)", soname)
    if not m:
        return None
    name, major = m.group(1).lower().replace("_", "-"), m.group(2)
    return f"{name}-{major}" if name[-1].isdigit() else f"{name}{major}"


def resolve_missing(sonames: Iterable[str]) -> tuple[set[str], set[str]]:
    """Packages for sonames not installed on the build machine, confirmed with apt-cache;
    and the sonames left unresolved."""
    packages: set[str] = set()
    unresolved: set[str] = set()
    for soname in sorted(sonames):
        pkg = policy_package(soname)
        known = pkg is not None and subprocess.run(
            ["apt-cache", "show", pkg], capture_output=True).returncode == 0
        if known:
            packages.add(pkg)
        else:
            unresolved.add(soname)
    return packages, unresolved


def glibc_version() -> str:
    """The build machine's glibc (the bundle's floor: it was linked here)."""
    out = subprocess.run(["ldd", "--version"], capture_output=True, text=True).stdout
    m = re.search(r"(\d+\.\d+)\s*$", out.splitlines()[0]) if out else None
    return m.group(1) if m else "2.31"


def depends_line(packages: Iterable[str], extra: Iterable[str], glibc: str) -> str:
    """Sorted, de-duplicated Depends value with a libc6 floor first."""
    rest = sorted((set(packages) | set(extra)) - BASE_PACKAGES)
    return ", ".join([f"libc6 (>= {glibc})", *rest])


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("bundle", type=Path, help="PyInstaller one-folder output (dist/purrsight)")
    p.add_argument("--extra", nargs="*", default=[],
                   help="packages loaded with dlopen (ldd cannot see them)")
    args = p.parse_args(argv)
    outside, missing = system_libraries(args.bundle, elf_files(args.bundle))
    packages, unowned = packages_for(outside)
    guessed, unresolved = resolve_missing(missing)
    for pkg in sorted(guessed):
        print(f"deb_depends: {pkg} is not installed here; added from the archive's index",
              file=sys.stderr)
    for name in sorted(unresolved):
        print(f"deb_depends: WARNING no package found for {name} (needed by a bundled "
              "plugin, which will not load without it)", file=sys.stderr)
    for path in sorted(unowned):
        print(f"deb_depends: WARNING {path} belongs to no Debian package", file=sys.stderr)
    print(depends_line(packages | guessed, args.extra, glibc_version()))
    return 0


if __name__ == "__main__":
    sys.exit(main())
