"""Remove duplicate vendored libraries from a PyInstaller one-folder bundle, safely.

    python installers/slim_bundle.py dist/purrsight [--dry-run]

Wheels vendor their own copies of shared libraries into ``<package>.libs/`` (auditwheel), with
a hash in the name: opencv-python-headless and PyAV each bring FFmpeg (libavcodec & co., the
very same release), numpy and OpenCV each bring libgfortran, Pillow and PyAV libXau/libxcb.
The copies differ only in the hash, so the process would even load both. For every group of
vendored libraries with the same name and the same version suffix (``libavcodec-*.so.62.28.102``)
one copy is kept when its exported dynamic symbols (with their version tags) include every
other copy's; the others become relative symlinks to it. Nothing is replaced otherwise.
Equal exports do not mean equal features, though: PyAV's FFmpeg links x264, x265, opus,
mp3lame, ... (the clip writer encodes through PyAV), OpenCV's only vpx and dav1d. So copies in
``PREFER`` folders are kept first (the app decodes and encodes media only through PyAV; it
uses OpenCV's FFmpeg nowhere: ``cv2.VideoCapture(index)`` opens cameras through V4L2), then
the copy with the most dependencies (the fuller build), then the smallest.

Because a symlinked library is still found (and its ``$ORIGIN`` computed) in the folder of the
copy it replaces, the kept copy's own vendored dependencies are linked into that folder too.
Vendored libraries nothing needs any more (e.g. OpenCV's libvpx, dav1d and OpenSSL 1.1 that
only its FFmpeg used) are then deleted, with the top-level symlinks PyInstaller made to them.
Only ``*.libs`` folders are touched: auditwheel grafts nothing there but ``DT_NEEDED``
dependencies, so a library no ELF file needs is never ``dlopen``-ed either.

Finally every ELF file whose dependencies changed is checked with ``ldd`` (no "not found");
a failure exits 1. Needs binutils (readelf) and ldd, like strip_bundle.py.
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import subprocess
import sys
from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path

VENDORED = re.compile(r"^(?P<stem>lib[\w+.-]*?)(?:-[0-9a-f]{8})+(?P<ver>\.so(?:\.[0-9a-z]+)*)$")
"""auditwheel's renamed copies: ``libavcodec-57aca189.so.62.28.102``, ``libgfortran-040039e1-
0352e75f.so.5.0.0`` -> stem ``libavcodec`` / ``libgfortran``, version ``.so.62.28.102``."""
PREFER = ("av.libs",)
"""Vendored folders whose copy wins when it can stand in for the others (see above)."""


@dataclass
class Elf:
    path: Path
    needed: list[str] = field(default_factory=list)
    soname: str | None = None


def is_elf(path: Path) -> bool:
    try:
        with path.open("rb") as fh:
            return fh.read(4) == b"\x7fELF"
    except OSError:
        return False


def read_dynamic(path: Path) -> Elf:
    out = subprocess.run(["readelf", "-d", "-W", str(path)], capture_output=True,
                         text=True).stdout
    elf = Elf(path)
    for kind, value in re.findall(r"\((NEEDED|SONAME)\)\s+[^\[]*\[([^\]]+)\]", out):
        if kind == "NEEDED":
            elf.needed.append(value)
        else:
            elf.soname = value
    return elf


def exported_symbols(path: Path) -> frozenset[str]:
    """Defined global/weak dynamic symbols as ``name@version`` (``@@`` folded to ``@``)."""
    out = subprocess.run(["readelf", "--dyn-syms", "-W", str(path)], capture_output=True,
                         text=True).stdout
    symbols = set()
    for line in out.splitlines():
        cols = line.split()
        # Num: Value Size Type Bind Vis Ndx Name [(version index)]
        if len(cols) < 8 or not cols[0].endswith(":") or cols[6] == "UND":
            continue
        if cols[4] not in ("GLOBAL", "WEAK"):
            continue
        symbols.add(re.sub(r"@@?", "@", cols[7]))
    return frozenset(symbols)


def vendored_groups(internal: Path) -> dict[tuple[str, str], list[Path]]:
    """Real (non-symlink) vendored libraries in ``*.libs`` folders, grouped by (stem,
    version); only groups with more than one copy."""
    groups: dict[tuple[str, str], list[Path]] = defaultdict(list)
    for libs in sorted(p for p in internal.rglob("*.libs") if p.is_dir()):
        for path in sorted(libs.iterdir()):
            m = VENDORED.match(path.name)
            if m and path.is_file() and not path.is_symlink() and is_elf(path):
                groups[(m["stem"], m["ver"])].append(path)
    return {k: v for k, v in groups.items() if len(v) > 1}


def pick_keeper(paths: list[Path], prefer: tuple[str, ...] = PREFER) -> Path | None:
    """Among the copies whose exports include every other copy's: the one in the first
    ``prefer`` folder, else the one with the most dependencies, else the smallest. None when
    no copy can stand in for all the others."""
    exports = {p: exported_symbols(p) for p in paths}
    able = [p for p in paths if all(exports[o] <= exports[p] for o in paths)]

    def rank(p: Path) -> tuple[int, int, int, str]:
        where = prefer.index(p.parent.name) if p.parent.name in prefer else len(prefer)
        return where, -len(read_dynamic(p).needed), p.stat().st_size, str(p)

    return min(able, key=rank) if able else None


def vendored_closure(lib: Path) -> list[str]:
    """Names of the vendored libraries ``lib`` loads from its own folder, transitively."""
    seen: list[str] = []
    todo = [lib]
    while todo:
        for name in read_dynamic(todo.pop()).needed:
            dep = lib.parent / name
            if VENDORED.match(name) and name not in seen and dep.exists():
                seen.append(name)
                todo.append(dep)
    return seen


def relative_link(link: Path, target: Path, dry: bool) -> None:
    if dry:
        return
    if link.exists() or link.is_symlink():
        link.unlink()
    link.symlink_to(os.path.relpath(target, link.parent))


@dataclass
class Report:
    replaced: list[tuple[Path, Path]] = field(default_factory=list)
    companions: list[Path] = field(default_factory=list)
    removed: list[Path] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)
    saved: int = 0


def dedupe(internal: Path, dry: bool = False) -> Report:
    report = Report()
    for (stem, ver), paths in sorted(vendored_groups(internal).items()):
        keeper = pick_keeper(paths)
        if keeper is None:
            report.skipped.append(f"{stem}{ver}: no copy exports all the others' symbols")
            continue
        keeper_needs = vendored_closure(keeper)
        for other in paths:
            if other == keeper:
                continue
            report.saved += other.stat().st_size
            relative_link(other, keeper, dry)
            report.replaced.append((other, keeper))
            for dep in keeper_needs:  # found through $ORIGIN of the replaced copy's folder
                src, dest = keeper.parent / dep, other.parent / dep
                if not (dest.exists() or dest.is_symlink()):
                    relative_link(dest, src, dry)
                    report.companions.append(dest)
    return report


def remove_orphans(internal: Path, report: Report, dry: bool = False) -> None:
    """Delete vendored libraries (and symlinks to them) that no remaining ELF file needs."""
    while True:
        elves = [read_dynamic(p) for p in internal.rglob("*")
                 if p.is_file() and not p.is_symlink() and is_elf(p)]
        needed = {n for e in elves for n in e.needed}
        # a kept copy may be needed only under the names of the links that replaced others
        linked = {p.resolve() for p in internal.rglob("*")
                  if p.is_symlink() and p.name in needed and p.exists()}
        orphans = []
        for libs in (p for p in internal.rglob("*.libs") if p.is_dir()):
            for path in libs.iterdir():
                if not VENDORED.match(path.name) or path.name in needed:
                    continue
                if not path.is_symlink() and path.resolve() in linked:
                    continue
                soname = read_dynamic(path).soname if path.is_file() else None
                if soname and soname in needed:
                    continue
                orphans.append(path)
        if not orphans:
            break
        for path in orphans:
            if not path.is_symlink():
                report.saved += path.stat().st_size
            report.removed.append(path)
            if not dry:
                path.unlink()
        if dry:
            break
    if not dry:  # PyInstaller's top-level links into *.libs that now point nowhere
        for path in internal.rglob("*"):
            if path.is_symlink() and not path.exists():
                report.removed.append(path)
                path.unlink()


def ldd_problems(paths: list[Path]) -> list[str]:
    problems = []
    for path in paths:
        run = subprocess.run(["ldd", str(path)], capture_output=True, text=True)
        missing = [line.split()[0] for line in run.stdout.splitlines() if "not found" in line]
        if run.returncode != 0 or missing:
            problems.append(f"{path}: {', '.join(missing) or run.stderr.strip()}")
    return problems


def affected(internal: Path, report: Report) -> list[Path]:
    """Real ELF files that need one of the replaced or companion names."""
    names = {p.name for p, _ in report.replaced} | {p.name for p in report.companions}
    return sorted(p for p in internal.rglob("*")
                  if p.is_file() and not p.is_symlink() and is_elf(p)
                  and names & set(read_dynamic(p).needed))


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("bundle", type=Path, help="the one-folder bundle (dist/purrsight)")
    p.add_argument("--dry-run", action="store_true", help="only say what would change")
    args = p.parse_args(argv)
    if not shutil.which("readelf") or not shutil.which("ldd"):
        print("slim_bundle: readelf/ldd missing; bundle left as it is", file=sys.stderr)
        return 0
    internal = args.bundle / "_internal" if (args.bundle / "_internal").is_dir() else args.bundle
    report = dedupe(internal, args.dry_run)
    remove_orphans(internal, report, args.dry_run)
    rel = lambda q: q.relative_to(internal)  # noqa: E731
    for other, keeper in report.replaced:
        print(f"slim_bundle: {rel(other)} -> {rel(keeper)}")
    for path in report.removed:
        print(f"slim_bundle: removed {rel(path)}")
    for line in report.skipped:
        print(f"slim_bundle: kept both: {line}")
    print(f"slim_bundle: {'would save' if args.dry_run else 'saved'} {report.saved / 1e6:.1f} MB "
          f"({len(report.replaced)} duplicates linked, {len(report.companions)} companion links,"
          f" {len(report.removed)} orphans removed)")
    if args.dry_run:
        return 0
    problems = ldd_problems(affected(internal, report))
    for line in problems:
        print(f"slim_bundle: BROKEN {line}", file=sys.stderr)
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
