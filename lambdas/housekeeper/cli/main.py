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
from typing import Any, NoReturn

from housekeeper.cli.commands import COMMANDS
from housekeeper.cli.output import EXIT_BAD_INPUT, EXIT_FAILURE, one_line, report_error
from housekeeper.core.errors import HousekeeperError, InvalidInput


class _Parser(argparse.ArgumentParser):
    """argparse, with a bad argument reported like any other bad input: one line on stderr, exit 2."""

    def error(self, message: str) -> NoReturn:
        sys.stderr.write(f"error: arguments: {one_line(message)} (see {self.prog} --help)\n")
        raise SystemExit(EXIT_BAD_INPUT)


class _VersionAction(argparse.Action):
    """--version, looked up only when asked for (package metadata is slow to import)."""

    def __init__(self, option_strings: Sequence[str], dest: str = argparse.SUPPRESS, **kwargs: Any) -> None:
        super().__init__(option_strings, dest, nargs=0, default=argparse.SUPPRESS, **kwargs)

    def __call__(self, parser: argparse.ArgumentParser, *_: Any, **__: Any) -> None:
        print(f"{parser.prog} {_installed_version()}")
        parser.exit()


def build_parser(argv: Sequence[str] | None = None) -> argparse.ArgumentParser:
    """The parser; only the module of the command named in `argv` is imported (all of them when `argv` is None)."""
    parser = _Parser(
        prog="housekeeper",
        description=(
            "Keep ECR repositories clean: env tags on the digests ECS runs, and lifecycle policies kept in step "
            "with one central config. Exit codes: 0 ok, 1 failure, blocked by the safety guard or an in-use image at "
            "risk, 2 bad input."
        ),
    )
    parser.add_argument("--version", action=_VersionAction, help="show the installed version and exit")
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    selected = _selected_command(argv)
    registered: set[str] = set()
    for name, module_name, help_text in COMMANDS:
        if selected is None or module_name == selected:
            if module_name not in registered:
                module: Any = importlib.import_module(f"housekeeper.cli.{module_name}")
                module.register(subparsers)
                registered.add(module_name)
        else:
            subparsers.add_parser(name, help=help_text)  # listed in --help; its module is not loaded
    return parser


def _selected_command(argv: Sequence[str] | None) -> str | None:
    """The module of the command `argv` names (its first word that is not an option), if it names a known one."""
    words = [word for word in (sys.argv[1:] if argv is None else argv) if not word.startswith("-")]
    modules = {name: module for name, module, _ in COMMANDS}
    return modules.get(words[0]) if words else None


def _installed_version() -> str:
    from importlib import metadata

    try:
        return metadata.version("ecr-housekeeper")
    except metadata.PackageNotFoundError:  # running from a source tree that was not pip-installed
        return "(not installed)"


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser(argv)
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
