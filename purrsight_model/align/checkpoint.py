"""Phase 1 run folders: config, weights, training state, metrics and plots.

Layout of a run folder::

    config.yaml      the AlignConfig used
    model.pt         best weights + head specs + feature dims (what later stages load)
    state.pt         latest weights + optimizer + epoch (resume after a stop)
    metrics.json     final validation metrics
    log.jsonl        one JSON line per epoch
    plots/           loss curve and confusion matrices
"""

from __future__ import annotations

import json
import os
from dataclasses import asdict
from pathlib import Path
from typing import Any

import torch
import yaml

from purrsight_model.align.config import AlignConfig, HeadSpec, config_to_dict, load_config
from purrsight_model.align.model import AlignModel, FeatureDims
from purrsight_model.align.packed_weights import expand
from purrsight_model.progress import TrainingError

RUN_MARKER = "model.pt"


def _atomic_save(obj: Any, path: Path) -> None:
    tmp = path.with_suffix(path.suffix + ".tmp")
    torch.save(obj, tmp)
    os.replace(tmp, path)


def write_config(cfg: AlignConfig, out: Path) -> None:
    out.mkdir(parents=True, exist_ok=True)
    text = yaml.safe_dump({"align": config_to_dict(cfg)}, sort_keys=False)
    (out / "config.yaml").write_text(text, encoding="utf-8")


def save_model(model: AlignModel, out: Path, extra: dict[str, Any] | None = None) -> None:
    """Best weights with what is needed to rebuild the module."""
    _atomic_save(
        {
            "state_dict": model.state_dict(),
            "heads": [asdict(h) for h in model.head_specs],
            "dims": asdict(model.dims),
            "config": config_to_dict(model.cfg),
            **(extra or {}),
        },
        out / RUN_MARKER,
    )


def save_state(out: Path, model: AlignModel, optimizer: torch.optim.Optimizer, **state: Any) -> None:
    _atomic_save(
        {"state_dict": model.state_dict(), "optimizer": optimizer.state_dict(), **state},
        out / "state.pt",
    )


def load_state(out: Path) -> dict[str, Any] | None:
    path = out / "state.pt"
    if not path.exists():
        return None
    try:
        return torch.load(path, map_location="cpu", weights_only=False)
    except Exception as exc:  # a torn or foreign file: start over rather than crash
        raise TrainingError(f"cannot resume from {path}: {exc}") from exc


def load_align_run(run: str | Path, cfg: AlignConfig | None = None) -> AlignModel:
    """Rebuild the best Phase 1 model of a run folder (eval mode).

    With ``cfg`` the module is built from it rather than from the saved config (the run's
    own ``_finish`` does this): weights it adds that the checkpoint lacks may only be
    unfitted linear probes, which start neutral."""
    return model_from_blob(read_model_blob(run), cfg, run)


def model_from_blob(blob: dict[str, Any], cfg: AlignConfig | None = None,
                    run: str | Path = "checkpoint") -> AlignModel:
    """``load_align_run`` on a ``model.pt`` dict already read (``run`` names it in errors)."""
    cfg = cfg or load_config(AlignConfig, None, **blob["config"])
    heads = tuple(HeadSpec(h["name"], h["source"], tuple(h["classes"])) for h in blob["heads"])
    model = AlignModel(cfg, FeatureDims(**blob["dims"]), heads)
    missing, unexpected = model.load_state_dict(upgrade_state_dict(blob["state_dict"]),
                                                strict=False)
    wrong = [k for k in missing if not k.startswith("probes.")] + list(unexpected)
    if wrong:
        raise TrainingError(f"{run}: checkpoint does not match its model (e.g. {wrong[:3]})")
    return model.eval()


#: ``model.pt`` keys written by ``save_model`` itself (the rest are a run's extras).
MODEL_KEYS = ("state_dict", "heads", "dims", "config")


def run_extras(blob: dict[str, Any]) -> dict[str, Any]:
    """What a run saved beside the weights (``save_model``'s ``extra``: val score, epoch...)."""
    return {k: v for k, v in blob.items() if k not in MODEL_KEYS}


def read_model_blob(run: str | Path) -> dict[str, Any]:
    """The saved ``model.pt`` dict of a run folder (weights, heads, dims, config, extras)."""
    path = Path(run) / RUN_MARKER
    if not path.exists():
        raise TrainingError(f"{run} is not a Phase 1 run folder (no {RUN_MARKER})")
    blob = torch.load(path, map_location="cpu", weights_only=False)
    blob["state_dict"] = expand(blob["state_dict"])  # the default model stores int4 matrices
    return blob


def upgrade_state_dict(state: dict[str, Any]) -> dict[str, Any]:
    """Map a single-model checkpoint (before ensembles) onto member 0 of today's layout."""
    if any(k.startswith("members.") for k in state):
        return state
    out = {}
    for key, value in state.items():
        if key.startswith("text_proj."):
            out["text_proj.parts.0." + key[len("text_proj."):]] = value
        else:
            out["members.0." + key] = value
    return out


def append_log(out: Path, record: dict[str, Any]) -> None:
    with (out / "log.jsonl").open("a", encoding="utf-8") as fh:
        fh.write(json.dumps(record, default=float) + "\n")


def write_metrics(out: Path, metrics: dict[str, Any]) -> None:
    (out / "metrics.json").write_text(json.dumps(metrics, indent=2, default=float), "utf-8")


def latest_run(root: Path, marker: str = RUN_MARKER) -> Path | None:
    """The most recently finished run below ``root`` (by the marker file's mtime)."""
    found = [p.parent for p in root.glob(f"*/{marker}")] if root.exists() else []
    return max(found, key=lambda p: (p / marker).stat().st_mtime, default=None)
