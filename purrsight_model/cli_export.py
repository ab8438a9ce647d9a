"""``purrsight-model export RUN --out DIR [--instruct-run RUN2]``: write a model bundle.

Exports the frozen encoders, the Phase 1 aligner + heads and (with ``--instruct-run``) the
Phase 2 report model to ONNX, checks every graph against torch, keeps INT8 only where it
measures faster without losing accuracy, and writes a verified bundle folder.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path


def add_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("export", help="export a trained run to an ONNX model bundle")
    p.add_argument("run", type=Path, help="Phase 1 (alignment) run folder")
    p.add_argument("--out", type=Path, required=True, help="new bundle folder")
    p.add_argument("--instruct-run", type=Path, help="Phase 2 run folder (adds the Reporter)")
    p.add_argument("--calibration", type=Path,
                   help="data folder with real photos/videos for INT8 calibration "
                        "(e.g. shared/data; default: synthetic frames)")
    p.add_argument("--no-quantize", action="store_true", help="ship fp32 graphs only")
    p.add_argument("--int8-all", action="store_true",
                   help="ship every INT8 variant even where it measured worse (for benchmarks)")
    p.add_argument("--threads", type=int, default=2, help="threads for the speed measurements")
    p.set_defaults(func=run)


def summary(bundle: Path) -> str:
    """One line per file and per quantization decision."""
    manifest = json.loads((bundle / "manifest.json").read_text(encoding="utf-8"))
    lines = [f"bundle {manifest['bundle_id']} at {bundle}"]
    for name, meta in manifest["files"].items():
        lines.append(f"  {name:24s} {meta['bytes'] / 1e6:8.2f} MB  {meta.get('precision', '')}")
    for graph, q in manifest.get("quantization", {}).items():
        lines.append(f"  {graph}: {q.get('chosen')} ({q.get('reason', '')})")
    return "\n".join(lines)


def quantize_arg(args: argparse.Namespace) -> str:
    if args.no_quantize and getattr(args, "int8_all", False):
        raise SystemExit("--no-quantize and --int8-all exclude each other")
    return "off" if args.no_quantize else ("all" if getattr(args, "int8_all", False) else "auto")


def run(args: argparse.Namespace) -> int:
    from purrsight_model.export import ExportError, export_bundle

    start = time.perf_counter()
    try:
        out = export_bundle(args.run, args.instruct_run, args.out, calibration=args.calibration,
                            quantize=quantize_arg(args), threads=args.threads)
    except ExportError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    print(summary(out))
    print(f"done in {time.perf_counter() - start:.1f} s")
    return 0
