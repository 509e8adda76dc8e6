"""Shared CLI output: `--output json|table`, plain tables, errors, and a progress bar on stderr."""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Iterable, Iterator, Sequence
from typing import Any, TextIO, TypeVar

from housekeeper.core.errors import HousekeeperError, InvalidInput

EXIT_OK = 0
EXIT_FAILURE = 1
EXIT_BAD_INPUT = 2

T = TypeVar("T")


def add_output_argument(parser: argparse.ArgumentParser, default: str = "table") -> None:
    parser.add_argument(
        "--output",
        choices=("json", "table"),
        default=default,
        help=f"json for scripts, table for people (default: {default})",
    )


def print_json(data: Any, stream: TextIO | None = None) -> None:
    json.dump(data, stream or sys.stdout, indent=2, sort_keys=False, default=str)
    (stream or sys.stdout).write("\n")


def render_table(headers: Sequence[str], rows: Iterable[Sequence[Any]]) -> str:
    """A plain aligned text table; no colours, so it pastes into tickets and logs."""
    text_rows = [["" if cell is None else str(cell) for cell in row] for row in rows]
    widths = [len(h) for h in headers]
    for row in text_rows:
        for index, cell in enumerate(row):
            widths[index] = max(widths[index], len(cell))
    line = "  ".join(h.ljust(widths[i]) for i, h in enumerate(headers)).rstrip()
    rule = "  ".join("-" * w for w in widths)
    body = ["  ".join(cell.ljust(widths[i]) for i, cell in enumerate(row)).rstrip() for row in text_rows]
    return "\n".join([line, rule, *body])


def print_table(headers: Sequence[str], rows: Iterable[Sequence[Any]], stream: TextIO | None = None) -> None:
    print(render_table(headers, rows), file=stream or sys.stdout)


def report_error(exc: HousekeeperError, args: argparse.Namespace) -> None:
    """Errors go to stderr; with --output json a machine-readable copy goes to stdout too."""
    print(f"error: {exc}", file=sys.stderr)
    if getattr(args, "output", None) == "json":
        payload: dict[str, Any] = {"error": str(exc).splitlines()[0]}
        if isinstance(exc, InvalidInput):
            payload["problems"] = [p.to_dict() for p in exc.problems]
        print_json(payload)


def progress(items: Sequence[T], label: str, stream: TextIO | None = None) -> Iterator[T]:
    """Yield items while drawing `label [#####.....] 12/40` on stderr (only when stderr is a terminal)."""
    out = stream or sys.stderr
    total = len(items)
    interactive = out.isatty()
    width = 30
    for index, item in enumerate(items, start=1):
        yield item
        if interactive and total:
            filled = int(width * index / total)
            out.write(f"\r{label} [{'#' * filled}{'.' * (width - filled)}] {index}/{total}")
            out.flush()
    if interactive and total:
        out.write("\n")
        out.flush()
