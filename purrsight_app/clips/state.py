"""What the clip recorder keeps about the recording in progress, and its counters."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from purrsight_app.clips.encoder import ClipEncoder
from purrsight_app.clips.prediction import PredictionTally
from purrsight_app.storage import new_id


@dataclass
class Recording:
    """One clip being written (mutable; only the recorder thread touches it)."""

    t0: float
    """Wall time of the clip's first instant (event start minus pre-roll)."""
    encoder: ClipEncoder
    path: Path
    id: str = field(default_factory=new_id)
    events: set[str] = field(default_factory=set)
    """Open events this clip belongs to (it ends once none is left and not manual)."""
    first_event: str | None = None
    manual: bool = False
    last_active: float = 0.0
    end: float | None = None
    """Known end (last cat window + post-roll, or the manual stop); None while open."""
    tally: PredictionTally = field(default_factory=PredictionTally)
    thumb_after: float = 0.0
    """The thumbnail is the first frame at or after this time (the cat's first window)."""
    thumb: np.ndarray | None = None  # [H, W, 3]


@dataclass(frozen=True)
class RecorderStats:
    """Counters for the status line and tests."""

    saved: int = 0
    dropped: int = 0
    """Recordings shorter than ``min_clip_s`` (discarded)."""
    errors: int = 0
    last_error: str = ""
    last_clip: str = ""
