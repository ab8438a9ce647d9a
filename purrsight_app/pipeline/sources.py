"""Source specs ("auto", "demo", "camera:1", "mic", "camera+mic", or a path) -> capture sources.

One small grammar shared by ``--source``, the settings file and the UI's source picker, so the
three can never disagree about what "camera" means.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Literal

from purrsight_app.capture import (
    AudioRing,
    CameraSource,
    DemoSource,
    FileSource,
    FileSourceConfig,
    FrameRing,
    MicSource,
    Source,
)
from purrsight_app.capture.source import StatusCallback

SourceKind = Literal["auto", "demo", "camera", "mic", "camera+mic", "path"]
ENV_DEMO_DIR = "PURRSIGHT_DEMO_DIR"
_PACKAGE_DIR = Path(__file__).resolve().parents[1]


class SourceSpecError(ValueError):
    """A source spec that names neither a known device kind nor an existing path."""


@dataclass(frozen=True)
class SourceSpec:
    kind: SourceKind
    camera: int | str = 0
    mic: int | str | None = None
    path: Path | None = None

    def label(self) -> str:
        """Short text for the UI ("Camera 0 + Microphone", "clip.mp4")."""
        if self.kind == "path" and self.path is not None:
            return self.path.name or str(self.path)
        return {"auto": "Camera + Microphone (auto)", "demo": "Demo",
                "camera": f"Camera {self.camera}", "mic": "Microphone",
                "camera+mic": f"Camera {self.camera} + Microphone"}[self.kind]


def _device(text: str) -> int | str:
    return int(text) if text.isdigit() else text


def parse_source(text: str | os.PathLike[str] | None) -> SourceSpec:
    """Parse a spec; an unknown word that is not an existing path raises SourceSpecError."""
    if text is None or str(text).strip() == "":
        return SourceSpec("auto")
    raw = str(text).strip()
    head, _, arg = raw.partition(":")
    if head in ("auto", "demo", "camera+mic") and not arg:
        return SourceSpec(head)  # type: ignore[arg-type]
    if head == "camera" and not Path(raw).exists():
        return SourceSpec("camera", camera=_device(arg) if arg else 0)
    if head in ("mic", "microphone") and not Path(raw).exists():
        return SourceSpec("mic", mic=_device(arg) if arg else None)
    path = Path(raw).expanduser()
    if not path.exists():
        raise SourceSpecError(f"{raw}: no such file or folder (or use auto, demo, camera, "
                              "camera:N, mic, camera+mic)")
    return SourceSpec("path", path=path.resolve())


def find_demo_dir() -> Path | None:
    """The bundled demo media: ``$PURRSIGHT_DEMO_DIR`` or the package's ``demo`` folder."""
    candidates = [os.environ.get(ENV_DEMO_DIR), _PACKAGE_DIR / "demo",
                  _PACKAGE_DIR / "assets" / "demo",
                  _PACKAGE_DIR.parent / "resources" / "demo"]  # source checkout
    for c in candidates:
        if c and Path(c).is_dir() and any(Path(c).iterdir()):
            return Path(c)
    return None


def build_sources(
    spec: SourceSpec,
    frames: FrameRing,
    audio: AudioRing,
    *,
    on_status: StatusCallback | None = None,
    file_config: FileSourceConfig | None = None,
    demo_dir: Path | None = None,
) -> list[Source]:
    """The (unstarted) sources for a spec; raises SourceSpecError without demo media."""
    if spec.kind == "path":
        assert spec.path is not None
        return [FileSource(spec.path, frames, audio, config=file_config, on_status=on_status)]
    if spec.kind == "demo":
        folder = demo_dir or find_demo_dir()
        if folder is None:
            raise SourceSpecError("no demo media installed")
        demo_config = replace(file_config or FileSourceConfig(), loop=True)
        return [DemoSource(folder, frames, audio, config=demo_config, on_status=on_status)]
    out: list[Source] = []
    if spec.kind in ("auto", "camera", "camera+mic"):
        out.append(CameraSource(frames, spec.camera, on_status=on_status))
    if spec.kind in ("auto", "mic", "camera+mic"):
        out.append(MicSource(audio, spec.mic, on_status=on_status))
    return out
