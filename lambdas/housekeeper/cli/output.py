"""Shared CLI output: `--output json|table`, plain tables, errors, and a progress bar on stderr.

The exit-code contract, for every command: 0 ok; 1 a failure (an AWS error, a tag conflict, a repository blocked
by the safety guard, an in-use image at risk); 2 bad input (an invalid config, policy, image list, event or
argument), reported as ONE line on stderr naming the input and the place (a JSON path, a line and column, or a
flag), checked before any AWS call, with nothing written. Never a traceback.
"""

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
    """JSON in one write. Indented for a person at a terminal; compact (and through json's C encoder, which is
    many times faster on large outputs such as a 100,000-image preview) when piped or redirected."""
    out = stream or sys.stdout
    pretty = out.isatty()
    out.write(json.dumps(data, indent=2 if pretty else None, default=str) + "\n")


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


def error_line(exc: HousekeeperError) -> str:
    """The error as one line: for bad input, what it is and each problem's place and reason, joined by '; '."""
    if isinstance(exc, InvalidInput):
        text = f"{exc.what}: " + "; ".join(str(problem) for problem in exc.problems)
    else:
        text = str(exc)
    return one_line(text)


def one_line(text: str, limit: int = 2000) -> str:
    """Folded to a single printable line (control characters escaped), so hostile input cannot break a terminal."""
    folded = " ".join(text.split())
    if not folded.isprintable():
        folded = "".join(char if char.isprintable() else ascii(char)[1:-1] for char in folded)
    return folded if len(folded) <= limit else folded[: limit - 1] + "…"


def report_error(exc: HousekeeperError, args: argparse.Namespace) -> None:
    """One line on stderr; with --output json a machine-readable copy goes to stdout too."""
    print(f"error: {error_line(exc)}", file=sys.stderr)
    if getattr(args, "output", None) == "json":
        payload: dict[str, Any] = {"error": error_line(exc)}
        if isinstance(exc, InvalidInput):
            payload["problems"] = [{"path": one_line(p.path), "message": one_line(p.message)} for p in exc.problems]
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
