"""Is a user's regular expression safe to run? `buildTagPattern` is matched against every deployed image's tags.

Python's regex engine backtracks. A pattern with a quantifier inside another quantifier (`^(a+)+$`, `(\\d*)*`,
`(x|y+)*`) can take exponential time on a string that almost matches: resolving one 30-character tag with `^(a+)+$`
takes minutes. Such patterns are refused when the config is validated, with the reason, so a config can never make
the tagger hang. Tags are at most 128 characters, so patterns without nested repetition stay fast.
"""

from __future__ import annotations

import importlib
import re
from typing import Any

from housekeeper.core.names import has_control_characters

# The parser behind `re.compile` (re._parser and re._constants since Python 3.11, stable through 3.13).
sre_parse: Any = importlib.import_module("re._parser")
sre_constants: Any = importlib.import_module("re._constants")

MAX_PATTERN_LENGTH = 256
# Bounded repetitions nest safely while the work they multiply stays small (`(?:[a-z]{1,3}\.){2}` is fine).
MAX_BOUNDED_PRODUCT = 64
_REPEATS = {sre_constants.MAX_REPEAT, sre_constants.MIN_REPEAT, getattr(sre_constants, "POSSESSIVE_REPEAT", None)}
_NESTED = {sre_constants.SUBPATTERN, sre_constants.ATOMIC_GROUP if hasattr(sre_constants, "ATOMIC_GROUP") else None}


def regex_problem(pattern: str) -> str | None:
    """Why `pattern` cannot be used (not a regex, control characters, too long, nested quantifiers), or None."""
    if has_control_characters(pattern):
        return f"{ascii(pattern)[:60]} holds a control character; write \\n or \\t as escapes if you mean them"
    if len(pattern) > MAX_PATTERN_LENGTH:
        return f"is {len(pattern)} characters; at most {MAX_PATTERN_LENGTH}"
    try:
        re.compile(pattern)
        parsed = sre_parse.parse(pattern)
    except (re.error, RecursionError, OverflowError) as exc:
        return f"not a valid regular expression: {exc}"
    nested = _nested_repeat(list(parsed), outer_high=1)
    if nested:
        return (
            f"'{pattern}' repeats {nested} inside another repetition: such a pattern can backtrack catastrophically "
            "(minutes for one tag); write it without a quantifier inside a repeated group, e.g. '^[0-9]+$'"
        )
    return None


def _nested_repeat(items: list[tuple[Any, Any]], outer_high: int | None) -> str | None:
    """The first quantified element found inside a repeated one, when the two together can multiply without bound.

    `outer_high` is the product of the enclosing repetitions' maxima (None: unbounded; 1: not repeated).
    """
    for op, value in items:
        if op in _REPEATS:
            _, high, body = value
            high = None if high is sre_constants.MAXREPEAT else int(high)
            if _dangerous(outer_high, high):
                return "a quantified element"
            combined = None if high is None or outer_high is None else outer_high * high
            found = _nested_repeat(list(body), combined)
            if found:
                return found
        elif op in _NESTED:
            found = _nested_repeat(list(value[-1]), outer_high)
            if found:
                return found
        elif op == sre_constants.BRANCH:
            if outer_high != 1 and _overlapping(value[1]):
                return "alternatives that can match the same text"
            for branch in value[1]:
                found = _nested_repeat(list(branch), outer_high)
                if found:
                    return found
    return None


_DIGITS = frozenset(range(48, 58))
_WORD = frozenset([*range(48, 58), *range(65, 91), *range(97, 123), 95])
_CATEGORIES = {"CATEGORY_DIGIT": _DIGITS, "CATEGORY_WORD": _WORD}


def _overlapping(branches: list[Any]) -> bool:
    """Whether two alternatives of a repeated group can start with the same character (`(a|aa)*` backtracks
    exponentially just like nested quantifiers). An alternative whose first character cannot be told counts as
    overlapping."""
    seen: set[int] = set()
    for branch in branches:
        first = _first_characters(list(branch))
        if first is None or seen & first:
            return True
        seen |= first
    return False


def _first_characters(items: list[tuple[Any, Any]]) -> frozenset[int] | None:
    """The characters an element sequence can start with, or None when that is not simple to tell."""
    for op, value in items:
        if op == sre_constants.AT:
            continue  # an anchor matches no character
        if op == sre_constants.LITERAL:
            return frozenset([value])
        if op == sre_constants.IN:
            return _class_characters(value)
        if op in _NESTED:
            return _first_characters(list(value[-1]))
        if op in _REPEATS and value[0] >= 1:
            return _first_characters(list(value[2]))
        return None
    return None


def _class_characters(members: list[tuple[Any, Any]]) -> frozenset[int] | None:
    found: set[int] = set()
    for op, value in members:
        if op == sre_constants.LITERAL:
            found.add(value)
        elif op == sre_constants.RANGE:
            found.update(range(value[0], value[1] + 1))
        elif op == sre_constants.CATEGORY and str(value) in _CATEGORIES:
            found |= _CATEGORIES[str(value)]
        else:
            return None  # a negated class or another category: anything
    return frozenset(found)


def _dangerous(outer_high: int | None, high: int | None) -> bool:
    if outer_high == 1 or high == 1:
        return False  # not nested in a repetition, or not repeating itself
    if outer_high is None or high is None:
        return True  # unbounded repetition inside repetition: exponential backtracking
    return outer_high * high > MAX_BOUNDED_PRODUCT
