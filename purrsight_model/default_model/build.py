"""``build_default``: the shipped default model, from ``shared/data`` to committed parts.

Stages (each resumable: a finished stage's output is reused when the command is re-run)::

    convert   data dir -> JSONL (CatMeows split by cat, CatSound-10 by name ranges)
    features  frozen encoders -> cache, + augmented copies of train/val media
    align     Phase 1 on train (validation metrics), then a refit on train + val
    instruct  Phase 2 on the refit's aligned vectors
    export    measured export (which graphs INT8 wins on) -> pins
    pack      low-bit weights + configs into the source folder
    assemble  rebuild the bundle from the packed parts with pinned precisions
    evaluate  held-out test split of every set -> evaluation.json, model card numbers

The test split is read only by the last stage.
"""

from __future__ import annotations

import json
import logging
import shutil
import time
from collections.abc import Iterator
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from purrsight_model.default_model import card
from purrsight_model.default_model.assemble import RECORD, assemble, source_dir
from purrsight_model.default_model.pack import pack
from purrsight_model.progress import Progress, StopFlag

log = logging.getLogger(__name__)

RECIPE = Path(__file__).resolve().parents[2] / "resources" / "recipes" / "default.yaml"


@dataclass(frozen=True)
class BuildConfig:
    """One build of the default model."""

    data: str
    """Folder laid out like ``shared/data`` (a manifest.csv per set)."""
    work: str
    """Scratch folder: data/, cache/, runs/, bundle-measured/ (reused when re-run)."""
    dest: str = ""
    """Source folder to write (default: ``resources/models/default``)."""
    recipe: str = str(RECIPE)
    """YAML recipe with align:/instruct: sections."""
    augment: int = 4
    """Augmented copies per training/validation clip (before the frozen encoders)."""
    augment_images: int = 16
    """Augmented copies per training/validation photo."""
    eval_reports: int = 120
    """Held-out windows decoded into reports by the evaluation."""
    threads: int = 2
    """Threads for export and evaluation."""
    llm_decoder: str = "int8-matmulnbits"
    """LM decoder precision: "measured" (the exporter's probe decision), "fp32" or
    "int8-matmulnbits". 8-bit by default: on the held-out windows it changed 2 of 64
    affective_state fields vs fp32 and nothing else, and halves memory (the fp32 decoder alone
    holds ~640 MB: over the 600 MB budget) and bundle size (697 -> 310 MB)."""


def _convert(cfg: BuildConfig, out: Path) -> Path:
    from purrsight_model.data.converters import convert, write_conversion

    if not (out / "align.jsonl").is_file():
        conv = convert(cfg.data)
        write_conversion(conv, out)
        (out / "summary.json").write_text(json.dumps(conv.summary(), indent=2), "utf-8")
    return out / "align.jsonl"


def _features(cfg: BuildConfig, jsonl: Path, cache: Path) -> dict[str, Any]:
    from purrsight_model.data.augment import AugmentConfig
    from purrsight_model.data.feature_cache import build_augmented, build_cache
    from purrsight_model.data.jsonl import JsonlDataset
    from purrsight_model.encoders import (
        EncoderConfig,
        load_audio_encoder,
        load_image_encoder,
        load_text_encoder,
    )

    rows = list(JsonlDataset(jsonl))
    image = load_image_encoder(EncoderConfig("mobilenet_v2"))
    audio = load_audio_encoder(EncoderConfig("yamnet"))
    run = build_cache(rows, cache, image=image, audio=audio,
                      text=load_text_encoder(EncoderConfig("minilm")), progress=False)
    out = {"computed": dict(run.computed), "cached": dict(run.cached), "errors": len(run.errors)}
    if cfg.augment > 0:
        aug = AugmentConfig(copies=cfg.augment, image_copies=cfg.augment_images)
        extra = build_augmented(rows, cache, aug, image=image, audio=audio, progress=False,
                                splits=("train", "val", None))
        out["augmented"] = {"computed": dict(extra.computed), "cached": dict(extra.cached)}
    return out


#: Phase 1 runs of a build and the splits each is fitted on.
ALIGN_RUNS = (("align-val", ["train"]), ("align", ["train", "val"]))


def _finished(run: Path, *files: str) -> bool:
    """A run folder whose training ended (its metrics, plus ``files``, are written)."""
    return all((run / f).is_file() for f in (*files, "metrics.json"))


def _stage_events(name: str, events: Iterator[Progress]) -> Iterator[Progress]:
    for event in events:
        if event.done and event.message.startswith("stopped"):
            raise KeyboardInterrupt(f"{name} stopped on request")
        yield event


def _align(cfg: BuildConfig, jsonl: Path, cache: Path, runs: Path,
           stop: StopFlag | None) -> Iterator[Progress]:
    from purrsight_model.align.config import AlignConfig, load_config
    from purrsight_model.align.train import train_align

    for name, fit in ALIGN_RUNS:
        if _finished(runs / name, "model.pt"):
            continue
        shutil.rmtree(runs / name, ignore_errors=True)
        acfg = load_config(AlignConfig, cfg.recipe, data=str(jsonl), cache=str(cache),
                           fit_splits=fit)
        yield from _stage_events(name, train_align(acfg, runs / name, stop=stop))


def _instruct(cfg: BuildConfig, jsonl: Path, cache: Path, runs: Path,
              stop: StopFlag | None) -> Iterator[Progress]:
    from purrsight_model.align.config import load_config
    from purrsight_model.instruct.config import InstructConfig
    from purrsight_model.instruct.train import train_instruct

    if _finished(runs / "instruct"):
        return
    shutil.rmtree(runs / "instruct", ignore_errors=True)
    icfg = load_config(InstructConfig, cfg.recipe, data=str(jsonl), cache=str(cache),
                       align_run=str(runs / "align"), threads=cfg.threads)
    yield from _stage_events("instruct", train_instruct(icfg, runs / "instruct", stop=stop))


def _pins(runs: Path, work: Path, threads: int) -> dict[str, str]:
    from purrsight_model.export.bundle import export_bundle, pins_of

    measured = work / "bundle-measured"
    if not (measured / "manifest.json").is_file():
        shutil.rmtree(measured, ignore_errors=True)
        export_bundle(runs / "align", runs / "instruct", measured, threads=threads)
    return pins_of(json.loads((measured / "manifest.json").read_text("utf-8")))


def _reused_runs(runs: Path) -> tuple[str, ...]:
    """Training stages whose finished runs are already in ``runs`` (not trained again)."""
    align = all(_finished(runs / name, "model.pt") for name, _ in ALIGN_RUNS)
    instruct = _finished(runs / "instruct")
    return tuple(n for n, done in (("align", align), ("instruct", instruct)) if done)


def _prior_seconds(dest: Path, reused: tuple[str, ...]) -> dict[str, Any]:
    """The training times of reused stages, from the build record that trained them."""
    try:
        prior = json.loads((dest / RECORD).read_text("utf-8")).get("seconds", {})
    except (OSError, json.JSONDecodeError):
        prior = {}
    return {name: prior.get(name) for name in reused} | {"reused": list(reused)}


def build_default(cfg: BuildConfig, stop: StopFlag | None = None) -> Iterator[Progress]:
    """Run every stage (see the module docstring); the last event carries the evaluation."""
    work, dest = Path(cfg.work), Path(cfg.dest) if cfg.dest else source_dir()
    runs, seconds = work / "runs", {}
    work.mkdir(parents=True, exist_ok=True)

    def timed(name: str, t0: float) -> None:
        seconds[name] = round(time.perf_counter() - t0, 1)

    t0 = time.perf_counter()
    jsonl = _convert(cfg, work / "data")
    timed("convert", t0)
    yield Progress("features", 0, 1, message="encoding media (+ augmented copies)")
    t0 = time.perf_counter()
    features = _features(cfg, jsonl, work / "cache")
    timed("features", t0)
    yield Progress("features", 1, 1, done=True, message=json.dumps(features))
    reused = _reused_runs(runs)
    t0 = time.perf_counter()
    yield from _align(cfg, jsonl, work / "cache", runs, stop)
    timed("align", t0)
    t0 = time.perf_counter()
    yield from _instruct(cfg, jsonl.with_name("instruct.jsonl"), work / "cache", runs, stop)
    timed("instruct", t0)
    seconds.update(_prior_seconds(dest, reused))
    yield Progress("export", 0, 2, message="measured export (choosing precisions)")
    t0 = time.perf_counter()
    pins = _pins(runs, work, cfg.threads)
    if cfg.llm_decoder != "measured":
        pins["llm_decoder"] = cfg.llm_decoder
    for sub in ("align", "instruct"):
        shutil.rmtree(dest / sub, ignore_errors=True)
    pack(runs / "align", runs / "instruct", dest)
    yield Progress("export", 1, 2, message=f"pins {pins}; assembling from the packed parts")
    bundle = work / "bundle"
    shutil.rmtree(bundle, ignore_errors=True)
    _write_record(dest, {"pins": pins})
    assemble(dest, bundle, verify=False, threads=cfg.threads)
    timed("export", t0)
    yield Progress("export", 2, 2, done=True, message=f"bundle {bundle}")
    yield from _evaluate(cfg, dest, bundle, runs, jsonl.parent, seconds, pins)


def _evaluate(cfg: BuildConfig, dest: Path, bundle: Path, runs: Path, data_out: Path,
              seconds: dict[str, float], pins: dict[str, str]) -> Iterator[Progress]:
    from purrsight_model.evaluate import evaluate

    yield Progress("evaluate", 0, 1, message="held-out test split")
    t0 = time.perf_counter()
    result = evaluate(bundle, cfg.data, split="test", max_reports=cfg.eval_reports,
                      threads=cfg.threads)
    seconds["evaluate"] = round(time.perf_counter() - t0, 1)
    (dest / "evaluation.json").write_text(json.dumps(result, indent=2, default=float) + "\n",
                                          "utf-8")
    manifest = json.loads((bundle / "manifest.json").read_text("utf-8"))
    record = {
        "pins": pins, "files": {n: {"sha256": f["sha256"], "bytes": f["bytes"]}
                                for n, f in manifest["files"].items()},
        "packages": manifest.get("packages", {}), "build": asdict(cfg),
        "validation": json.loads((runs / "align-val" / "metrics.json").read_text("utf-8")),
        "instruct_validation": json.loads((runs / "instruct" / "metrics.json").read_text()),
        "data": json.loads((data_out / "summary.json").read_text("utf-8")),
        "seconds": seconds, "test": card.summary(result)}
    _write_record(dest, record)
    card.update_card(dest / "MODEL_CARD.md", record)
    yield Progress("evaluate", 1, 1, done=True, metrics=record["test"], message="finished")


def _write_record(dest: Path, record: dict[str, Any]) -> None:
    dest.mkdir(parents=True, exist_ok=True)
    (dest / RECORD).write_text(json.dumps(record, indent=2, default=float) + "\n", "utf-8")
