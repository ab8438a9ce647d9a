"""``purrsight-model convert``: build align/instruct JSONL from a shared-data-style folder."""

from __future__ import annotations

import argparse
import json
import logging

from purrsight_model.data.converters import ConvertError, convert, write_conversion
from purrsight_model.data.splits import SplitConfig

log = logging.getLogger(__name__)


def add_parser(subparsers: argparse._SubParsersAction) -> None:
    p = subparsers.add_parser(
        "convert", help="convert dataset folders (manifest.csv per set) to JSONL",
        description="Writes align.jsonl, instruct.jsonl, <set>_align.jsonl, "
                    "<set>_instruct.jsonl and summary.json into --out.")
    p.add_argument("--data", required=True, help="folder holding catmeows/, catsound10/, ...")
    p.add_argument("--out", required=True, help="output folder")
    p.add_argument("--sets", nargs="*", default=None, help="only these sets (default: all found)")
    p.add_argument("--val-frac", type=float, default=SplitConfig.val_frac)
    p.add_argument("--test-frac", type=float, default=SplitConfig.test_frac)
    p.add_argument("--split-seed", type=int, default=SplitConfig.seed,
                   help="seed of the held-out cat choice (CatMeows)")
    p.add_argument("--caption-seed", type=int, default=0, help="seed of caption phrasing")
    p.set_defaults(func=run)


def _print_summary(summary: dict) -> None:
    for name, info in summary["sets"].items():
        print(f"{name}: {info['rows']} rows  " +
              "  ".join(f"{k}={v}" for k, v in info["splits"].items()))
        for cls, counts in info["classes"].items():
            print(f"    {cls:<18} " + "  ".join(f"{k}={v}" for k, v in counts.items()))
    for key in ("duplicate_copies_dropped", "conflicting_duplicates_dropped",
                "missing_files_dropped"):
        if summary[key]:
            print(f"{key}: {len(summary[key])}: {', '.join(summary[key])}")


def run(args: argparse.Namespace) -> int:
    try:
        cfg = SplitConfig(val_frac=args.val_frac, test_frac=args.test_frac, seed=args.split_seed)
        conv = convert(args.data, cfg, caption_seed=args.caption_seed, sets=args.sets)
    except (ConvertError, ValueError) as exc:
        log.error("%s", exc)
        return 2
    paths = write_conversion(conv, args.out)
    summary = conv.summary()
    with open(paths["align"].parent / "summary.json", "w", encoding="utf-8") as f:
        json.dump(summary, f, indent=2)
    _print_summary(summary)
    print(f"wrote {', '.join(str(p) for p in paths.values())}")
    return 0
