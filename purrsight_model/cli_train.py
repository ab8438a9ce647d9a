"""``purrsight-model train 1|2``: run Phase 1 (alignment) or Phase 2 (instruction tuning).

The CLI maps onto ``train_align(cfg, out)`` / ``train_instruct(cfg, out)``; the app's
fine-tuning panel drives the same functions. ``--set key=value`` overrides any config field.
"""

from __future__ import annotations

import argparse
import signal
import sys
import time
from pathlib import Path

import yaml

from purrsight_model.progress import Progress, StopFlag, TrainingError


def add_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("train", help="train Phase 1 (align) or Phase 2 (instruct)")
    p.add_argument("phase", choices=["1", "2"], help="1 = alignment, 2 = instruction tuning")
    p.add_argument("--config", type=Path, help="YAML recipe (sections `align:` / `instruct:`)")
    p.add_argument("--out", type=Path, help="run folder (default: <data dir>/runs/<phase>-<time>)")
    p.add_argument("--data", help="dataset JSONL (overrides the recipe)")
    p.add_argument("--cache", help="feature cache folder (overrides the recipe)")
    p.add_argument("--align-run", help="Phase 2: Phase 1 run folder (default: the latest run)")
    p.add_argument("--set", action="append", default=[], metavar="KEY=VALUE",
                   help="override a config field (YAML value syntax), repeatable")
    p.add_argument("--json", action="store_true", help="print progress as JSON lines")
    p.set_defaults(func=run)


def parse_overrides(items: list[str]) -> dict:
    out = {}
    for item in items:
        key, sep, value = item.partition("=")
        if not sep:
            raise SystemExit(f"--set expects KEY=VALUE, got {item!r}")
        out[key.strip().replace("-", "_")] = yaml.safe_load(value)
    return out


def build_config(args: argparse.Namespace):
    from purrsight_model.align.config import AlignConfig, load_config
    from purrsight_model.instruct.config import InstructConfig

    cls = AlignConfig if args.phase == "1" else InstructConfig
    overrides = {"data": args.data, "cache": args.cache, **parse_overrides(args.set)}
    if args.phase == "2":
        overrides["align_run"] = args.align_run
    return load_config(cls, args.config, **overrides)


def print_progress(event: Progress, as_json: bool) -> None:
    if as_json:
        print(event.to_json(), flush=True)
        return
    if event.metrics or event.message or event.done:
        extra = " ".join(f"{k}={v:.3f}" for k, v in event.metrics.items()
                         if isinstance(v, float))
        print(f"[{event.phase} {event.step}/{event.total}] {event.message} {extra}", flush=True)
    elif event.step % 20 == 0 and event.loss is not None:
        print(f"[{event.phase} {event.step}/{event.total}] loss={event.loss:.4f}", flush=True)


def stop_on_signals() -> StopFlag:
    """A StopFlag set by SIGTERM/SIGINT, so a parent process can cancel a run cleanly."""
    stop = StopFlag()

    def handler(signum: int, frame: object) -> None:
        stop.set()

    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, handler)
    return stop


def run(args: argparse.Namespace) -> int:
    from purrsight_model.userdirs import runs_dir

    cfg = build_config(args)
    name = "align" if args.phase == "1" else "instruct"
    out = args.out or runs_dir() / f"{name}-{time.strftime('%Y%m%d-%H%M%S')}"
    start = time.perf_counter()
    try:
        if args.phase == "1":
            from purrsight_model.align.train import train_align as train
        else:
            from purrsight_model.instruct.train import train_instruct as train
        for event in train(cfg, out, stop=stop_on_signals()):
            print_progress(event, args.json)
    except TrainingError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    print(f"run folder: {out}  ({time.perf_counter() - start:.1f} s)")
    return 0
