"""Which modalities each head's training labels came with.

A head only learns to read the modalities its labelled rows had: in the default recipe the
arousal labels come from CatSound-10 sounds alone, so the head has never been taught what a
photo says about arousal (on the catfaces3 validation photos it calls angry cats "low" and
happy ones "high", at 38-48 %). Training records this per head; the export copies it into the
bundle manifest (``head_evidence``) and the runtime leaves out a head whose labels never came
with any of the modalities a window was read from (``runtime.analyzer``).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING

from purrsight_model.schema import MODALITIES

if TYPE_CHECKING:
    from purrsight_model.align.data import AlignArrays


def head_evidence(rows: AlignArrays) -> dict[str, list[str]]:
    """Head -> the modalities present in at least one of its labelled rows (heads without a
    label are left unrecorded)."""
    present = {"image": rows.image_mask.any(axis=1), "audio": rows.audio_mask.any(axis=1)}  # [N]
    return {head: [m for m in MODALITIES if bool((present[m] & (y >= 0)).any())]
            for head, y in rows.targets.items() if bool((y >= 0).any())}


def run_evidence(rows: AlignArrays, base: str | Path | None) -> dict[str, list[str]]:
    """Evidence of a run: its own labels', plus, when it started from ``base`` (fine-tuning,
    whose heads keep what the base learnt), the base run's per head. A base that recorded
    none leaves nothing claimed (older runs: every head stays on)."""
    own = head_evidence(rows)
    if not base:
        return own
    try:
        prior = json.loads((Path(base) / "metrics.json").read_text("utf-8")).get("evidence")
    except (OSError, ValueError, AttributeError):
        prior = None
    if not isinstance(prior, dict):
        return {}
    return {h: [m for m in MODALITIES if m in own.get(h, ()) or m in prior.get(h, ())]
            for h in sorted(set(own) | set(prior))}
