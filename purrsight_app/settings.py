"""The owner's settings: a plain JSON file in the platform config dir (no QSettings).

Plain JSON keeps settings readable, diffable and testable without Qt. Loading never fails:
unknown keys are ignored and a bad value falls back to its default with a warning the UI can
show, so a hand-edited file cannot stop the app from starting.
"""

from __future__ import annotations

import json
import logging
import os
from dataclasses import asdict, dataclass, fields, replace
from pathlib import Path
from typing import Any

import platformdirs

from purrsight_app.clips.config import ClipConfig
from purrsight_app.pipeline.analysis_loop import LoopConfig
from purrsight_app.pipeline.events import TrackerConfig
from purrsight_app.pipeline.live import PipelineConfig
from purrsight_app.pipeline.reports import ReportConfig

log = logging.getLogger(__name__)

APP_NAME = "purrsight"
FILE_NAME = "settings.json"


@dataclass(frozen=True)
class Settings:
    """Everything the owner can change; defaults suit a Raspberry Pi 5."""

    source: str = "auto"
    """Source spec: auto | demo | camera[:N] | mic[:N] | camera+mic | a file or folder."""
    bundle: str | None = None
    """Model bundle folder (None = the active one in the data dir)."""
    report_interval_s: float = 30.0
    """Seconds of cat activity between two reports."""
    analysis_rate_hz: float = 12.0
    """Most analysis windows per second."""
    event_on_threshold: float = 0.6
    """Cat score that opens an event (held for ``event_min_duration_s``)."""
    event_off_threshold: float = 0.4
    """Cat score under which the cat counts as gone."""
    event_min_duration_s: float = 1.0
    event_gap_s: float = 5.0
    """Seconds without a cat before an event closes."""
    overlay_stale_s: float = 6.0
    """Age at which the overlay has fully faded."""
    clip_pre_roll_s: float = 5.0
    """Seconds of video+audio before an event that its clip starts with."""
    clip_post_roll_s: float = 2.0
    """Seconds after the cat's last window that a clip keeps."""
    mix_data_dir: str | None = None
    """Folder of shipped real cat data mixed into fine-tunes (None = owner's clips only)."""

    def clip_config(self) -> ClipConfig:
        """Clip recording settings; the pre-roll buffer also covers the event's confirmation
        delay (``event_min_duration_s``)."""
        return ClipConfig(pre_roll_s=self.clip_pre_roll_s, post_roll_s=self.clip_post_roll_s,
                          buffer_extra_s=self.event_min_duration_s + 2.0)

    def pipeline_config(self) -> PipelineConfig:
        """The pipeline's view of these settings."""
        return PipelineConfig(
            loop=LoopConfig(rate_hz=self.analysis_rate_hz),
            tracker=TrackerConfig(
                on_threshold=self.event_on_threshold, off_threshold=self.event_off_threshold,
                min_duration_s=self.event_min_duration_s, gap_s=self.event_gap_s,
            ),
            reports=ReportConfig(interval_s=self.report_interval_s),
        )

    def validated(self) -> tuple[Settings, list[str]]:
        """A copy with out-of-range values reset to defaults, and what was reset."""
        default = Settings()
        out, warnings = self, []
        checks = {
            "report_interval_s": lambda v: 5.0 <= v <= 3600.0,
            "analysis_rate_hz": lambda v: 0.5 <= v <= 60.0,
            "event_on_threshold": lambda v: 0.0 <= v <= 1.0,
            "event_off_threshold": lambda v: 0.0 <= v <= self.event_on_threshold,
            "event_min_duration_s": lambda v: 0.0 <= v <= 60.0,
            "event_gap_s": lambda v: 0.0 <= v <= 600.0,
            "overlay_stale_s": lambda v: 1.0 <= v <= 120.0,
            "clip_pre_roll_s": lambda v: 0.0 <= v <= 30.0,
            "clip_post_roll_s": lambda v: 0.0 <= v <= 30.0,
        }
        for name, ok in checks.items():
            if not ok(getattr(self, name)):
                warnings.append(f"setting {name}={getattr(self, name)!r} is out of range; "
                                f"using {getattr(default, name)!r}")
                out = replace(out, **{name: getattr(default, name)})
        return out, warnings


def settings_path() -> Path:
    """``<user config dir>/purrsight/settings.json`` (honours XDG_CONFIG_HOME)."""
    return Path(platformdirs.user_config_dir(APP_NAME, appauthor=False)) / FILE_NAME


def _coerce(name: str, value: Any, default: Any) -> Any:
    if default is None or isinstance(default, str):
        if value is None or isinstance(value, str):
            return value
        raise TypeError(f"{name} must be text")
    if isinstance(default, float) and isinstance(value, int | float) and not isinstance(value, bool):
        return float(value)
    raise TypeError(f"{name} must be a number")


def load_settings(path: str | os.PathLike[str] | None = None) -> tuple[Settings, list[str]]:
    """Read settings (defaults when the file is missing); never raises."""
    p = Path(path) if path is not None else settings_path()
    if not p.exists():
        return Settings(), []
    try:
        data = json.loads(p.read_text(encoding="utf-8"))
        if not isinstance(data, dict):
            raise ValueError("not a JSON object")
    except (OSError, ValueError) as exc:
        return Settings(), [f"{p}: cannot read settings ({exc}); using defaults"]
    values: dict[str, Any] = {}
    warnings: list[str] = []
    for f in fields(Settings):
        if f.name not in data:
            continue
        try:
            values[f.name] = _coerce(f.name, data[f.name], f.default)
        except TypeError as exc:
            warnings.append(f"{p}: {exc}; using the default")
    settings, more = Settings(**values).validated()
    return settings, warnings + more


def save_settings(settings: Settings, path: str | os.PathLike[str] | None = None) -> Path:
    """Write atomically (temp file + rename) so a crash never leaves half a file."""
    p = Path(path) if path is not None else settings_path()
    p.parent.mkdir(parents=True, exist_ok=True)
    tmp = p.with_suffix(".json.tmp")
    tmp.write_text(json.dumps(asdict(settings), indent=2) + "\n", encoding="utf-8")
    os.replace(tmp, p)
    return p
