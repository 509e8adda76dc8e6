"""`housekeeper`: the operator CLI. Each command lives in its own module and registers itself here.

Exit codes: 0 ok; 1 a failure, a blocked guard or an in-use image at risk; 2 bad input (invalid config, policy,
event or arguments).
"""

from __future__ import annotations

import argparse
import importlib
import os
import sys
from collections.abc import Sequence
from importlib import metadata

from housekeeper.cli.output import EXIT_BAD_INPUT, EXIT_FAILURE, report_error
from housekeeper.core.errors import HousekeeperError, InvalidInput

# Order is the order of `housekeeper --help`. Each module has `register(subparsers)` that sets `func`.
COMMAND_MODULES = (
    "validate",
    "policy",
    "simulate",
    "tag",
    "backfill",
    "plan",
    "inventory",
    "report",
)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="housekeeper",
        description=(
            "Keep ECR repositories clean: env tags on the digests ECS runs, and lifecycle policies kept in step "
            "with one central config. Exit codes: 0 ok, 1 failure, blocked by the safety guard or an in-use image at "
            "risk, 2 bad input."
        ),
    )
    parser.add_argument("--version", action="version", version=f"%(prog)s {_installed_version()}")
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    for name in COMMAND_MODULES:
        module = importlib.import_module(f"housekeeper.cli.{name}")
        module.register(subparsers)
    return parser


def _installed_version() -> str:
    try:
        return metadata.version("ecr-housekeeper")
    except metadata.PackageNotFoundError:  # running from a source tree that was not pip-installed
        return "(not installed)"


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        return _run(args)
    except BrokenPipeError:
        # `housekeeper ... | head` closed the pipe (on success or while reporting an error): no traceback.
        _silence_stdout()
        return EXIT_FAILURE


def _run(args: argparse.Namespace) -> int:
    try:
        code: int = args.func(args)
    except InvalidInput as exc:
        report_error(exc, args)
        return EXIT_BAD_INPUT
    except HousekeeperError as exc:
        report_error(exc, args)
        return EXIT_FAILURE
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130
    return code


def _silence_stdout() -> None:
    """Point stdout at /dev/null so the interpreter's final flush does not raise again."""
    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, sys.stdout.fileno())


if __name__ == "__main__":
    sys.exit(main())
