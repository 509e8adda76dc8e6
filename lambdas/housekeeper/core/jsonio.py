"""The one way housekeeper reads JSON: strict, so hostile input is refused with its place, never half-read. Pure.

Python's `json` module is lenient where that silently changes meaning or crashes later:
- a duplicate key keeps the last value (`"mode": "preview", "mode": "enforce"` reads as enforce);
- `NaN`, `Infinity` and `1e309` become floats that are not numbers or not finite;
- a 5,000-digit integer cannot even be converted to text again (Python's digit limit);
- `"\\ud800"` becomes a string no terminal or file can encode;
- deep nesting ends in RecursionError.
`load_json` refuses each of these with InvalidInput naming the input and the place (a JSON path, or a line and
column), so every reader (config, policies, describe-images and batch-get-image output, SQS message bodies) follows
one rule.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Iterator
from typing import Any

from housekeeper.core.errors import InvalidInput, Problem

# Nesting a config, a policy or an event never needs; deeper input is refused before anything walks it.
MAX_DEPTH = 64
# No number housekeeper reads needs more digits (ECR's counts are 32-bit, sizes and times fit in 19 digits).
MAX_INTEGER_DIGITS = 19
# A JSON escape of a surrogate code point; only a high one followed by a low one is a character.
_SURROGATE_ESCAPE = re.compile(r"\\u[dD][89a-fA-F][0-9a-fA-F]{2}")


class _Refused(ValueError):
    """Raised inside the decoder's hooks; turned into InvalidInput with the input's name."""


class _Duplicates(dict[str, Any]):
    """An object that had a duplicate key: marked so the path can be found once the document is read."""

    duplicate: str = ""


def load_json(text: str | bytes, what: str, *, max_depth: int | None = MAX_DEPTH) -> Any:
    """Parse `text` strictly; raises InvalidInput(what, [Problem(place, reason)]).

    `max_depth` limits nesting (None: only the decoder's own limit, for large documents of a known shape).
    """
    if isinstance(text, bytes):
        try:
            text = text.decode("utf-8")
        except UnicodeDecodeError as exc:
            raise InvalidInput(what, [Problem("$", f"not UTF-8 text: byte {exc.start} cannot be decoded")]) from None
    found_duplicate = False

    def checked_object(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
        nonlocal found_duplicate
        obj = dict(pairs)
        if len(obj) == len(pairs):
            return obj
        found_duplicate = True
        marked = _Duplicates(obj)
        seen: set[str] = set()
        marked.duplicate = next(key for key, _ in pairs if key in seen or seen.add(key))  # type: ignore[func-returns-value]
        return marked

    try:
        document = json.loads(
            text,
            object_pairs_hook=checked_object,
            parse_constant=_refuse_constant,
            parse_float=_finite_float,
            parse_int=_bounded_int,
        )
    except json.JSONDecodeError as exc:
        raise InvalidInput(
            what, [Problem(f"line {exc.lineno} column {exc.colno}", f"not valid JSON: {exc.msg}")]
        ) from None
    except _Refused as exc:
        raise InvalidInput(what, [Problem("$", str(exc))]) from None
    except RecursionError:
        raise InvalidInput(what, [Problem("$", "nested too deeply to read")]) from None
    if found_duplicate:
        path, key = next(_duplicates(document, "$"))
        raise InvalidInput(what, [Problem(path, f"duplicate key '{_printable(key)}': JSON keys must be unique")])
    if _SURROGATE_ESCAPE.search(text):
        _refuse_lone_surrogates(document, what)
    if max_depth is not None:
        _check_depth(document, max_depth, what)
    return document


def _refuse_constant(name: str) -> Any:
    raise _Refused(f"{name} is not a JSON number")


def _finite_float(text: str) -> float:
    value = float(text)
    if not math.isfinite(value):
        raise _Refused(f"the number {text[:30]} is out of range")
    return value


def _bounded_int(text: str) -> int:
    if len(text.lstrip("-")) > MAX_INTEGER_DIGITS:
        raise _Refused(f"the integer {text[:20]}... has {len(text)} digits; at most {MAX_INTEGER_DIGITS} are read")
    return int(text)


def _children(value: Any, path: str) -> Iterator[tuple[str, Any]]:
    if isinstance(value, dict):
        for key, item in value.items():
            yield f"{path}.{_printable(key)}", item
    elif isinstance(value, list):
        for index, item in enumerate(value):
            yield f"{path}[{index}]", item


def _duplicates(value: Any, path: str) -> Iterator[tuple[str, str]]:
    """(path of the object, duplicate key) for each marked object, depth first."""
    stack = [(path, value)]
    while stack:
        where, item = stack.pop()
        if isinstance(item, _Duplicates):
            yield where, item.duplicate
        stack.extend(reversed(list(_children(item, where))))


def _refuse_lone_surrogates(document: Any, what: str) -> None:
    stack: list[tuple[str, Any]] = [("$", document)]
    while stack:
        where, item = stack.pop()
        texts = [item] if isinstance(item, str) else list(item) if isinstance(item, dict) else []
        for text in texts:
            try:
                text.encode("utf-8")
            except UnicodeEncodeError:
                raise InvalidInput(
                    what, [Problem(where, "holds a lone surrogate (\\ud800-\\udfff), not a character")]
                ) from None
        stack.extend(_children(item, where))


def _check_depth(document: Any, limit: int, what: str) -> None:
    stack: list[tuple[str, Any, int]] = [("$", document, 0)]
    while stack:
        where, item, depth = stack.pop()
        if depth > limit:
            raise InvalidInput(what, [Problem(where, f"nested deeper than {limit} levels")])
        stack.extend((child_path, child, depth + 1) for child_path, child in _children(item, where))


def _printable(text: str) -> str:
    """A key as a path shows it: control characters and lone surrogates escaped, so one line stays one line."""
    return text if text.isprintable() and text.isascii() else ascii(text)[1:-1]
