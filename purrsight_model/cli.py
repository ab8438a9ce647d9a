"""``purrsight-model``: the model command line. Each subcommand lives in its own module.

A subcommand module exposes ``add_parser(subparsers)`` which registers a parser whose
``func`` default takes the parsed namespace and returns an exit code.
"""

from __future__ import annotations

import argparse
import importlib
import logging
import sys

#: Modules that register subcommands, imported lazily so ``--help`` stays fast.
COMMAND_MODULES = (
    "purrsight_model.data.cli_convert",
    "purrsight_model.data.cli_features",
    "purrsight_model.cli_train",
    "purrsight_model.cli_evaluate",
    "purrsight_model.cli_finetune",
    "purrsight_model.cli_export",
    "purrsight_model.cli_default",
)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="purrsight-model", description=__doc__)
    parser.add_argument("-v", "--verbose", action="store_true", help="debug logging")
    sub = parser.add_subparsers(dest="command", required=True)
    for name in COMMAND_MODULES:
        importlib.import_module(name).add_parser(sub)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    logging.basicConfig(
        level=logging.DEBUG if args.verbose else logging.INFO,
        format="%(levelname)s %(name)s: %(message)s",
    )
    return int(args.func(args) or 0)


if __name__ == "__main__":
    sys.exit(main())
