"""``purrsight-model finetune`` and ``estimate``: the owner's fine-tuning job (see
``purrsight_model.finetune``). Progress goes to stdout as JSON lines with ``--json``."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from purrsight_model.cli_train import parse_overrides, print_progress, stop_on_signals
from purrsight_model.progress import TrainingError

#: Seconds per unit measured on the 2-core development CPU (see benchmarks/train.py).
COST = {"features_per_clip": 0.06, "align_per_row_epoch": 0.005, "align_epochs": 30,
        "instruct_per_row_epoch": 1.2, "instruct_per_report": 3.0, "export": 150.0}


def add_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("finetune", help="fine-tune on labelled clips, export, compare")
    p.add_argument("--data", required=True, help="alignment JSONL of labelled clips")
    p.add_argument("--instruct", default="", help="instruction JSONL (default: from labels)")
    p.add_argument("--out", required=True, help="run folder")
    p.add_argument("--base-bundle", default="", help="bundle to start from")
    p.add_argument("--phases", choices=["1", "12"], default="12")
    p.add_argument("--mix-data", default="", help="folder like shared/data to mix in")
    p.add_argument("--cache", default="", help="feature cache folder (default: <out>/cache)")
    p.add_argument("--set", action="append", default=[], metavar="SECTION.KEY=VALUE")
    p.add_argument("--json", action="store_true", help="progress as JSON lines")
    p.set_defaults(func=run)
    e = sub.add_parser("estimate", help="estimate how long a fine-tune will take here")
    e.add_argument("--data", required=True)
    e.add_argument("--phases", choices=["1", "12"], default="12")
    e.add_argument("--mix-rows", type=int, default=0)
    e.add_argument("--json", action="store_true")
    e.set_defaults(func=run_estimate)


def estimate(n_rows: int, phases: str, mix_rows: int = 0, max_train_rows: int = 400,
             epochs: int = 2, eval_rows: int = 60) -> dict:
    """Seconds per stage for ``n_rows`` labelled clips (+ mixed-in rows)."""
    rows = n_rows + mix_rows
    seconds = {"features": rows * COST["features_per_clip"],
               "align": rows * COST["align_per_row_epoch"] * COST["align_epochs"],
               "export": COST["export"]}
    if phases == "12":
        train_rows = min(rows, max_train_rows)
        seconds["instruct"] = (train_rows * epochs * COST["instruct_per_row_epoch"]
                               + min(eval_rows, rows) * COST["instruct_per_report"])
    seconds = {k: round(v) for k, v in seconds.items()}
    return {"seconds": seconds, "total": sum(seconds.values())}


def run_estimate(args: argparse.Namespace) -> int:
    n = sum(1 for line in Path(args.data).read_text("utf-8").splitlines() if line.strip())
    print(json.dumps(estimate(n, args.phases, args.mix_rows)))
    return 0


def run(args: argparse.Namespace) -> int:
    from purrsight_model.finetune import FinetuneConfig, finetune

    cfg = FinetuneConfig(data=args.data, out=args.out, instruct=args.instruct,
                         base_bundle=args.base_bundle, phases=args.phases,
                         mix_data=args.mix_data, cache=args.cache,
                         overrides=parse_overrides(args.set))
    try:
        for event in finetune(cfg, stop=stop_on_signals()):
            print_progress(event, args.json)
    except (TrainingError, FileNotFoundError, ValueError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    return 0
