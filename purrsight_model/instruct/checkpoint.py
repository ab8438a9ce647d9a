"""Phase 2 run folders: config, projector + LoRA weights (never the LM), metrics, log.

Layout::

    config.yaml     InstructConfig + the Phase 1 run and LM it used
    adapter.pt      projector state dict + LoRA adapter tensors + the LoRA layer names
    metrics.json    held-out report metrics
    log.jsonl       one line per step
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import torch
import yaml

from purrsight_model.align.config import config_to_dict
from purrsight_model.align.packed_weights import expand
from purrsight_model.instruct.config import InstructConfig
from purrsight_model.instruct.lora import LoRALinear, lora_state
from purrsight_model.progress import TrainingError

RUN_MARKER = "adapter.pt"


def write_config(cfg: InstructConfig, out: Path, align_run: str, llm: Any) -> None:
    out.mkdir(parents=True, exist_ok=True)
    doc = {"instruct": {**config_to_dict(cfg), "align_run": align_run},
           "llm": {"name": llm.name, "folder": str(llm.folder)}}
    (out / "config.yaml").write_text(yaml.safe_dump(doc, sort_keys=False), encoding="utf-8")


def save_weights(model: torch.nn.Module, out: Path) -> None:
    """Projector + adapters only, written atomically."""
    lora_names = [n.removeprefix("lm.") for n, m in model.named_modules()
                  if isinstance(m, LoRALinear)]
    blob = {"projector": model.projector.state_dict(),
            "projector_shape": {"in_dim": model.projector.in_dim,
                                "d_model": model.projector.d_model,
                                "k_tokens": model.projector.k},
            "lora": {k.removeprefix("lm."): v for k, v in lora_state(model).items()},
            "lora_names": lora_names}
    tmp = out / (RUN_MARKER + ".tmp")
    torch.save(blob, tmp)
    os.replace(tmp, out / RUN_MARKER)


def load_weights(run: str | Path) -> dict[str, Any]:
    path = Path(run) / RUN_MARKER
    if not path.exists():
        raise TrainingError(f"{run} is not a Phase 2 run folder (no {RUN_MARKER})")
    blob = torch.load(path, map_location="cpu", weights_only=False)
    blob["projector"] = expand(blob["projector"])  # the default model stores int8 matrices
    return blob


def read_config(run: str | Path) -> dict[str, Any]:
    return yaml.safe_load((Path(run) / "config.yaml").read_text(encoding="utf-8"))


def append_log(out: Path, record: dict[str, Any]) -> None:
    with (out / "log.jsonl").open("a", encoding="utf-8") as fh:
        fh.write(json.dumps(record) + "\n")


def write_metrics(out: Path, metrics: dict[str, Any]) -> None:
    (out / "metrics.json").write_text(json.dumps(metrics, indent=2, default=float), "utf-8")
