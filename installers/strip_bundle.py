"""Strip symbol tables from the bundle's shared libraries, keeping only copies that still load.

Stripping saves ~70 MB (libpython alone ~17 MB), but libraries that auditwheel/patchelf
rewrote come out of ``strip`` with PT_LOAD segments whose file offset no longer matches their
address modulo the alignment, and the loader refuses them ("ELF load command address/offset
not page-aligned": PyInstaller's ``strip=True`` broke numpy's OpenBLAS that way). So each
file is stripped into a temporary copy, its program headers are checked, and it replaces the
original only if they are sound.

    python installers/strip_bundle.py dist/purrsight
"""

from __future__ import annotations

import argparse
import shutil
import struct
import subprocess
import sys
import tempfile
from pathlib import Path

PT_LOAD = 1


def load_segments(data: bytes) -> list[tuple[int, int, int, int]] | None:
    """(offset, vaddr, filesz, align) of every PT_LOAD segment; None if not a valid ELF."""
    if data[:4] != b"\x7fELF" or data[4] not in (1, 2) or data[5] not in (1, 2):
        return None
    is64, end = data[4] == 2, "<" if data[5] == 1 else ">"
    if is64:
        phoff, = struct.unpack_from(end + "Q", data, 32)
        phentsize, phnum = struct.unpack_from(end + "HH", data, 54)
        fmt, fields = end + "IIQQQQQQ", (2, 3, 5, 7)  # type flags off vaddr paddr filesz memsz align
    else:
        phoff, = struct.unpack_from(end + "I", data, 28)
        phentsize, phnum = struct.unpack_from(end + "HH", data, 42)
        fmt, fields = end + "IIIIIIII", (1, 2, 4, 7)  # type off vaddr paddr filesz memsz flags align
    segments = []
    for i in range(phnum):
        at = phoff + i * phentsize
        if at + struct.calcsize(fmt) > len(data):
            return None
        ph = struct.unpack_from(fmt, data, at)
        if ph[0] == PT_LOAD:
            segments.append(tuple(ph[f] for f in fields))
    return segments


def loadable(path: Path) -> bool:
    """The checks the dynamic loader makes on PT_LOAD segments (alignment, bounds)."""
    data = path.read_bytes()
    segments = load_segments(data)
    if not segments:
        return False
    for offset, vaddr, filesz, align in segments:
        if align > 1 and (vaddr - offset) % align:
            return False
        if offset + filesz > len(data):
            return False
    return True


def has_symtab(path: Path) -> bool:
    out = subprocess.run(["readelf", "-S", "-W", str(path)], capture_output=True, text=True)
    return " .symtab " in out.stdout or " .debug_info " in out.stdout


def strip_one(path: Path, tmpdir: Path) -> int:
    """Bytes saved (0 when the file was already stripped or the stripped copy is unsafe)."""
    if not loadable(path) or not has_symtab(path):
        return 0
    tmp = tmpdir / path.name
    shutil.copy2(path, tmp)
    run = subprocess.run(["strip", "--strip-unneeded", str(tmp)], capture_output=True)
    saved = path.stat().st_size - tmp.stat().st_size
    if run.returncode != 0 or saved <= 0 or not loadable(tmp):
        tmp.unlink(missing_ok=True)
        return 0
    shutil.copymode(path, tmp)
    tmp.replace(path)
    return saved


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("bundle", type=Path)
    args = p.parse_args(argv)
    if not shutil.which("strip") or not shutil.which("readelf"):
        print("strip_bundle: binutils missing; bundle left unstripped", file=sys.stderr)
        return 0
    saved = kept = 0
    with tempfile.TemporaryDirectory() as tmp:
        for path in sorted(args.bundle.rglob("*")):
            if path.is_symlink() or not path.is_file():
                continue
            with path.open("rb") as fh:
                if fh.read(4) != b"\x7fELF":
                    continue
            n = strip_one(path, Path(tmp))
            saved += n
            kept += n == 0 and has_symtab(path)
    print(f"strip_bundle: saved {saved / 1e6:.0f} MB; {kept} file(s) kept unstripped "
          "(stripping would break them)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
