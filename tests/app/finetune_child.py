"""A stand-in for ``purrsight-model finetune`` / ``estimate`` that follows the job contract
(``/work/helpers/finetune_contract.md``) without torch: reads the exported JSONL with the
model package's own reader (fails like the real job on bad rows), prints Progress lines per
phase, writes a tiny bundle folder, and ends with the contract's final "evaluate" event.
SIGTERM -> a final "stopped" event, partial state kept, exit 0.

Environment knobs: FT_STEPS (steps per training phase, default 4), FT_DELAY (seconds per
step, default 0.03).
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import sys
import time
from pathlib import Path

from purrsight_model.data.jsonl import JsonlDataset
from purrsight_model.progress import Progress

stop = {"flag": False}
signal.signal(signal.SIGTERM, lambda *a: stop.update(flag=True))


def emit(p: Progress) -> None:
    print(p.to_json(), flush=True)


def parse(argv: list[str]) -> argparse.Namespace:
    p = argparse.ArgumentParser()
    p.add_argument("command", choices=["finetune", "estimate"])
    p.add_argument("--data", required=True)
    p.add_argument("--instruct")
    p.add_argument("--out")
    p.add_argument("--base-bundle")
    p.add_argument("--phases", default="12")
    p.add_argument("--mix-data")
    p.add_argument("--set", action="append", default=[])
    p.add_argument("--json", action="store_true")
    return p.parse_args(argv)


def check(path: str) -> JsonlDataset:
    ds = JsonlDataset(path)
    if ds.skipped or len(ds) == 0:
        print(f"bad dataset {path}: {ds.skipped or 'empty'}", file=sys.stderr, flush=True)
        sys.exit(2)
    return ds


def stopped(phase: str, step: int, total: int, out: Path) -> None:
    (out / "partial.json").write_text(json.dumps({"phase": phase, "step": step}))
    emit(Progress(phase, step, total, done=True, message="stopped on request"))
    sys.exit(0)


def train(phase: str, steps: int, delay: float, out: Path) -> None:
    for i in range(1, steps + 1):
        if stop["flag"]:
            stopped(phase, i, steps, out)
        emit(Progress(phase, i, steps, loss=2.0 / i))
        time.sleep(delay)


def main(argv: list[str]) -> int:
    args = parse(argv)
    ds = check(args.data)
    if args.command == "estimate":
        secs = {"features": 2.0, "align": 30.0, "instruct": 90.0 if args.phases == "12" else 0,
                "export": 5.0}
        print(json.dumps({"seconds": secs, "total": sum(secs.values())}), flush=True)
        return 0
    if args.instruct:
        check(args.instruct)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    (out / "args.json").write_text(json.dumps(vars(args)))
    steps, delay = int(os.environ.get("FT_STEPS", "4")), float(os.environ.get("FT_DELAY", "0.03"))
    emit(Progress("features", len(ds), len(ds), message="features cached"))
    train("align", steps, delay, out)
    if args.phases == "12":
        train("instruct", steps, delay, out)
    bundle = out / "bundle"
    bundle.mkdir(exist_ok=True)
    (bundle / "manifest.json").write_text(json.dumps({"format": "stand-in"}))
    emit(Progress("export", 1, 1, message="bundle written"))
    n_test = sum(1 for r in ds if r.split == "test")
    metrics = {
        "bundle": str(bundle), "n_test": n_test, "phases": args.phases,
        "old": {"affective_state": {"accuracy": 0.4, "macro_f1": 0.3, "n": n_test}},
        "new": {"affective_state": {"accuracy": 0.8, "macro_f1": 0.7, "n": n_test}},
        "seconds": {"align": 1.0, "instruct": 2.0},
    }
    emit(Progress("evaluate", 1, 1, metrics=metrics, done=True, message="finished"))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
