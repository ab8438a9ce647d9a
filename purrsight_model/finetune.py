"""Fine-tune the current model on an owner's labelled clips: the job the app launches.

Stages (each yields ``Progress`` with its own ``phase``): features -> align -> instruct
(optional) -> export -> evaluate (old bundle vs new bundle on the owner's held-out clips).
A bundle carries the torch weights it was exported from (``src/align``, ``src/instruct``),
so fine-tuning starts from the model the owner uses now, not from scratch.
"""

from __future__ import annotations

import json
import logging
import shutil
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from purrsight_model.progress import Progress, StopFlag, TrainingError

log = logging.getLogger(__name__)

RECIPE = Path(__file__).resolve().parents[1] / "resources" / "recipes" / "default.yaml"
SRC_ALIGN, SRC_INSTRUCT = "src/align", "src/instruct"


@dataclass(frozen=True)
class FinetuneConfig:
    """One fine-tuning job."""

    data: str
    """Alignment JSONL of the owner's labelled clips (split train/val/test)."""
    out: str
    """Run folder: cache/, align/, instruct/, bundle/, result.json."""
    instruct: str = ""
    """Instruction JSONL (needed for phase 2; default: derived from ``data``)."""
    base_bundle: str = ""
    """Bundle to start from (its src/ weights); empty = train from scratch."""
    phases: str = "12"
    """"1" = alignment + overlay heads only; "12" = then instruction tuning."""
    mix_data: str = ""
    """Optional folder like shared/data whose train rows are mixed in against forgetting."""
    mix_rows: int = 600
    """At most this many mixed-in rows."""
    cache: str = ""
    """Feature cache to use (default: <out>/cache)."""
    recipe: str = str(RECIPE)
    """YAML recipe with align:/instruct: sections."""
    overrides: dict[str, Any] = field(default_factory=dict)
    """Config overrides, keys "align.lr", "instruct.epochs", ..."""


def attach_sources(bundle: Path, align_run: Path, instruct_run: Path | None) -> None:
    """Copy the small torch weights a bundle came from into ``bundle/src`` (for fine-tuning)."""
    for run, sub, names in ((align_run, SRC_ALIGN, ("model.pt", "config.yaml", "metrics.json")),
                            (instruct_run, SRC_INSTRUCT, ("adapter.pt", "config.yaml",
                                                          "metrics.json"))):
        if run is None:
            continue
        dest = bundle / sub
        dest.mkdir(parents=True, exist_ok=True)
        for name in names:
            if (run / name).exists():
                shutil.copy2(run / name, dest / name)


def _section(cfg: FinetuneConfig, name: str) -> dict[str, Any]:
    return {k.split(".", 1)[1]: v for k, v in cfg.overrides.items() if k.startswith(name + ".")}


def _mixed_rows(cfg: FinetuneConfig, out: Path) -> Path:
    """The owner's rows plus (optionally) shipped real rows, written as one JSONL."""
    from purrsight_model.data.converters import convert
    from purrsight_model.data.jsonl import write_jsonl

    rows = [json.loads(line) for line in Path(cfg.data).read_text("utf-8").splitlines()
            if line.strip()]
    base = Path(cfg.data).resolve().parent
    for r in rows:  # make media paths absolute: the merged file lives elsewhere
        for key in ("image", "audio", "video"):
            if key in r and not Path(r[key]).is_absolute():
                r[key] = str(base / r[key])
    if cfg.mix_data:
        extra = [r for rs in convert(cfg.mix_data).align.values() for r in rs
                 if r["split"] == "train"]
        step = max(1, len(extra) // cfg.mix_rows)
        rows += [{**r, "split": "train"} for r in extra[::step][: cfg.mix_rows]]
    path = out / "data" / "align.jsonl"
    write_jsonl(path, rows)
    return path


def _instruct_rows(align_jsonl: Path) -> Path:
    """Instruction rows derived from labels (reports only claim what the labels say)."""
    from purrsight_model.data.converters import instruct_record
    from purrsight_model.data.jsonl import write_jsonl

    rows = [json.loads(line) for line in align_jsonl.read_text("utf-8").splitlines()
            if line.strip()]
    path = align_jsonl.with_name("instruct.jsonl")
    write_jsonl(path, (instruct_record(r) for r in rows))
    return path


def _features(jsonl: Path, cache: Path) -> Iterator[Progress]:
    from purrsight_model.data.feature_cache import FeatureConfig, build_cache
    from purrsight_model.data.jsonl import JsonlDataset
    from purrsight_model.encoders import (
        EncoderConfig,
        load_audio_encoder,
        load_image_encoder,
        load_text_encoder,
    )

    rows = list(JsonlDataset(jsonl))
    yield Progress("features", 0, len(rows), message=f"encoding {len(rows)} clips")
    encoders = {"image": load_image_encoder(EncoderConfig("mobilenet_v2")),
                "audio": load_audio_encoder(EncoderConfig("yamnet")),
                "text": load_text_encoder(EncoderConfig("minilm"))}
    result = build_cache(rows, cache, cfg=FeatureConfig(), progress=False, **encoders)
    yield Progress("features", len(rows), len(rows), done=True,
                   message=f"computed {dict(result.computed)}, cached {dict(result.cached)}, "
                           f"errors {len(result.errors)}")


def finetune(cfg: FinetuneConfig, stop: StopFlag | None = None) -> Iterator[Progress]:
    """Run every stage; the final event carries old-vs-new metrics and the bundle path."""
    from purrsight_model.align.config import AlignConfig, load_config
    from purrsight_model.align.train import train_align
    from purrsight_model.instruct.config import InstructConfig
    from purrsight_model.instruct.train import train_instruct

    out, seconds = Path(cfg.out), {}
    check_enough(Path(cfg.data))
    out.mkdir(parents=True, exist_ok=True)
    cache = Path(cfg.cache) if cfg.cache else out / "cache"
    t0 = time.perf_counter()
    data = _mixed_rows(cfg, out)
    yield from _features(data, cache)
    seconds["features"] = time.perf_counter() - t0
    base = Path(cfg.base_bundle) if cfg.base_bundle else None
    base_align = base / SRC_ALIGN if base and (base / SRC_ALIGN / "model.pt").exists() else None
    # No augmented feature copies for an owner's fine-tune by default: they multiply the
    # encoder time on a Pi (override with --set align.augment_copies=K).
    align_over = {"augment_copies": 0, "augment_image_copies": 0, **_section(cfg, "align")}
    align_cfg = load_config(AlignConfig, cfg.recipe, data=str(data), cache=str(cache),
                            base=str(base_align or ""), **align_over)
    t0 = time.perf_counter()
    if (yield from _stage(train_align(align_cfg, out / "align", stop=stop))):
        return
    seconds["align"] = time.perf_counter() - t0
    instruct_run = None
    if cfg.phases == "12":
        t0 = time.perf_counter()
        base_instruct = base / SRC_INSTRUCT if base and (
            base / SRC_INSTRUCT / "adapter.pt").exists() else None  # keep what it knew
        instruct_cfg = load_config(
            InstructConfig, cfg.recipe, data=cfg.instruct or str(_instruct_rows(data)),
            cache=str(cache), align_run=str(out / "align"), base=str(base_instruct or ""),
            **_section(cfg, "instruct"))
        if (yield from _stage(train_instruct(instruct_cfg, out / "instruct", stop=stop))):
            return
        instruct_run = out / "instruct"
        seconds["instruct"] = time.perf_counter() - t0
    elif base is not None and (base / SRC_INSTRUCT / "adapter.pt").exists():
        instruct_run = base / SRC_INSTRUCT  # keep reporting with the current report model
    yield from _export_and_compare(cfg, out, instruct_run, base, data, seconds)


def _stage(events: Iterator[Progress]) -> Iterator[Progress]:
    """Forward a training stage's events; return True if it was stopped on request."""
    stopped = False
    for event in events:
        stopped = event.done and event.message.startswith("stopped")
        yield event
    return stopped


def _export_and_compare(cfg: FinetuneConfig, out: Path, instruct_run: Path | None,
                        base: Path | None, data: Path, seconds: dict) -> Iterator[Progress]:
    from purrsight_model.evaluate import evaluate_rows
    from purrsight_model.export.bundle import export_bundle

    t0 = time.perf_counter()
    yield Progress("export", 0, 1, message="exporting and quantizing the new model")
    bundle = export_bundle(out / "align", instruct_run, out / "bundle")
    attach_sources(bundle, out / "align", instruct_run)
    seconds["export"] = time.perf_counter() - t0
    yield Progress("export", 1, 1, done=True, message=f"bundle {bundle}")
    t0 = time.perf_counter()
    test_rows = [json.loads(x) for x in data.read_text("utf-8").splitlines() if x.strip()]
    test_rows = [r for r in test_rows if r.get("split") == "test"]
    yield Progress("evaluate", 0, len(test_rows), message="comparing old and new model")
    new = evaluate_rows(bundle, test_rows)
    old = evaluate_rows(base, test_rows) if base is not None else {}
    seconds["evaluate"] = time.perf_counter() - t0
    result = {"bundle": str(bundle), "old": old, "new": new, "n_test": len(test_rows),
              "phases": cfg.phases, "seconds": {k: round(v, 1) for k, v in seconds.items()}}
    (out / "result.json").write_text(json.dumps(result, indent=2, default=float), "utf-8")
    yield Progress("evaluate", len(test_rows), len(test_rows), metrics=result, done=True,
                   message="finished")


def check_enough(data: Path, minimum: int = 8) -> None:
    """Refuse a job that cannot learn anything (too few labelled rows)."""
    rows = [x for x in data.read_text("utf-8").splitlines() if x.strip()]
    if len(rows) < minimum:
        raise TrainingError(f"{data}: {len(rows)} labelled clips; label at least {minimum}")
