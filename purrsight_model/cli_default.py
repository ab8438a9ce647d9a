"""``purrsight-model build-default`` and ``assemble-default``: the shipped default model.

``build-default --data DIR`` trains, exports, evaluates and writes the small committed parts
(``resources/models/default``); ``assemble-default`` rebuilds the runnable bundle from those
parts and the installed weight packages (what set-up runs), checked against the build record.
"""

from __future__ import annotations

import argparse
import logging
from pathlib import Path

from purrsight_model.cli_train import print_progress, stop_on_signals
from purrsight_model.progress import TrainingError

log = logging.getLogger(__name__)


def add_parser(sub: argparse._SubParsersAction) -> None:
    b = sub.add_parser("build-default", help="train, export and evaluate the default model")
    b.add_argument("--data", required=True, help="folder laid out like shared/data")
    b.add_argument("--work", default="runs/build-default", help="scratch folder (resumable)")
    b.add_argument("--dest", default="", help="source folder (default resources/models/default)")
    b.add_argument("--recipe", default="", help="YAML recipe (default: the shipped one)")
    b.add_argument("--eval-reports", type=int, default=120)
    b.add_argument("--llm-decoder", default="int8-matmulnbits",
                   choices=["measured", "fp32", "int8-matmulnbits"],
                   help="LM decoder precision (measured = the exporter's probe decision)")
    b.add_argument("--json", action="store_true", help="progress as JSON lines")
    b.set_defaults(func=run_build)
    a = sub.add_parser("assemble-default",
                       help="rebuild the default bundle from the committed parts")
    a.add_argument("--src", type=Path, default=None, help="parts folder (default: shipped)")
    a.add_argument("--out", type=Path, default=None, help="bundle folder (default <src>/bundle)")
    a.add_argument("--force", action="store_true", help="rebuild even when up to date")
    a.add_argument("--no-verify", action="store_true", help="skip the sha256 check")
    a.add_argument("--if-built", action="store_true",
                   help="do nothing (exit 0) when no default model has been built yet")
    a.set_defaults(func=run_assemble)


def run_build(args: argparse.Namespace) -> int:
    from purrsight_model.default_model.build import RECIPE, BuildConfig, build_default

    cfg = BuildConfig(data=args.data, work=args.work, dest=args.dest,
                      recipe=args.recipe or str(RECIPE), eval_reports=args.eval_reports,
                      llm_decoder=args.llm_decoder)
    stop = stop_on_signals()
    try:
        for event in build_default(cfg, stop):
            print_progress(event, args.json)
    except KeyboardInterrupt as exc:
        log.error("build-default: %s; re-run the same command to resume", exc)
        return 130
    except (TrainingError, OSError, ValueError) as exc:
        log.error("build-default failed: %s", exc)
        return 1
    return 0


def run_assemble(args: argparse.Namespace) -> int:
    from purrsight_model.default_model.assemble import RECORD, AssembleError, assemble, source_dir

    src = args.src or source_dir()
    if args.if_built and not (src / RECORD).is_file():
        print(f"no default model in {src} yet; nothing to assemble")
        return 0
    try:
        out = assemble(src, args.out, verify=not args.no_verify, force=args.force)
    except AssembleError as exc:
        log.error("%s", exc)
        return 1
    print(f"default bundle: {out}")
    return 0
