"""``purrsight-model evaluate BUNDLE --data DIR``: metrics of a bundle on a data folder."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path


def add_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("evaluate", help="evaluate a model bundle on a folder like shared/data")
    p.add_argument("bundle", type=Path, help="model bundle folder")
    p.add_argument("--data", type=Path, required=True,
                   help="folder with <set>/manifest.csv (catmeows, catsound10, catfaces3)")
    p.add_argument("--split", default="all",
                   help="'all' (a folder the model never saw) or one of train/val/test")
    p.add_argument("--max-reports", type=int, default=60,
                   help="clips that also get an LLM report (evenly spread; 0 = none)")
    p.add_argument("--out", type=Path, help="write the metrics JSON here")
    p.add_argument("--plots", type=Path, help="write confusion-matrix PNGs into this folder")
    p.add_argument("--threads", type=int, default=None)
    p.set_defaults(func=run)


def summary_lines(result: dict) -> list[str]:
    lines = [f"{result['evaluated']}/{result['rows']} clips, split={result['split']}, "
             f"{result['seconds']} s"]
    for name, r in result["heads"].items():
        lines.append(f"  {name:18s} n={r['n']:5d} acc={r['accuracy']:.3f} "
                     f"macro-F1={r['macro_f1']:.3f}")
    for key in ("catmeows_grouped_by_cat", "call_type"):
        r = result.get(key)
        if r:
            lines.append(f"  {key:18s} n={r['n']:5d} acc={r['accuracy']:.3f} "
                         f"macro-F1={r['macro_f1']:.3f}")
    if result.get("cat_detected_rate") is not None:
        lines.append(f"  cat detected (score>=0.5): {result['cat_detected_rate']:.3f}")
    rep = result.get("reports")
    if rep:
        affect = rep["field_accuracy"].get("affective_state", {})
        lines.append(f"  reports n={rep['n']} validity={rep['validity']:.3f} "
                     f"affective_state agreement={affect.get('accuracy', float('nan')):.3f} "
                     f"(n={affect.get('n', 0)})")
    return lines


def run(args: argparse.Namespace) -> int:
    from purrsight_model.evaluate import evaluate
    from purrsight_model.metrics import save_confusion_png

    try:
        result = evaluate(args.bundle, args.data, split=args.split,
                          max_reports=args.max_reports, threads=args.threads)
    except Exception as exc:  # bundle/data errors: one clear line, non-zero exit
        print(f"error: {exc}", file=sys.stderr)
        return 2
    for line in summary_lines(result):
        print(line)
    if args.plots:
        for name, r in result["heads"].items():
            save_confusion_png(r, name, args.plots / f"confusion_{name}.png")
    if args.out:
        args.out.parent.mkdir(parents=True, exist_ok=True)
        args.out.write_text(json.dumps(result, indent=2, default=float), encoding="utf-8")
    return 0
