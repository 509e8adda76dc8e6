"""ECR's and Docker's grammars for the names housekeeper reads: repository names, tags, digests. Pure.

Every check is a full match: Python's `$` also matches before a trailing newline, so `^...$` with `re.match` would
let `Prod\\n` through. Input that breaks a grammar (a CLI argument, an image detail, a config value) is refused
before it reaches AWS, a policy or a terminal.
"""

from __future__ import annotations

import re

# Docker's tag grammar: a word character, then word characters, dots and dashes; 128 characters at most.
TAG_PATTERN = r"^[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}$"
# ECR's repositoryName: lowercase components separated by '/', each [a-z0-9] runs joined by '.', '_' or '-';
# 2 to 256 characters (CreateRepository API reference).
REPOSITORY_PATTERN = r"^(?:[a-z0-9]+(?:[._-][a-z0-9]+)*/)*[a-z0-9]+(?:[._-][a-z0-9]+)*$"
REPOSITORY_MIN, REPOSITORY_MAX = 2, 256
# OCI's digest grammar: algorithm ':' hex; ECR uses sha256 (64 hex digits). 128 covers sha512.
DIGEST_PATTERN = r"^[a-z0-9]+(?:[.+_-][a-z0-9]+)*:[a-fA-F0-9]{32,128}$"

TAG_RE = re.compile(TAG_PATTERN)
REPOSITORY_RE = re.compile(REPOSITORY_PATTERN)
DIGEST_RE = re.compile(DIGEST_PATTERN)


def is_tag(text: str) -> bool:
    return TAG_RE.fullmatch(text) is not None


def is_repository_name(text: str) -> bool:
    return REPOSITORY_MIN <= len(text) <= REPOSITORY_MAX and REPOSITORY_RE.fullmatch(text) is not None


def is_digest(text: str) -> bool:
    return DIGEST_RE.fullmatch(text) is not None


def has_control_characters(text: str) -> bool:
    """Characters that would break a table, a log line or a terminal: C0/C1 controls, DEL, lone surrogates."""
    return not text.isprintable() or any("\ud800" <= char <= "\udfff" for char in text)


# AWS account ids, region names and IAM role names (CreateRole: [\w+=,.@-], 64 characters at most).
ACCOUNT_ID_RE = re.compile(r"[0-9]{12}")
REGION_RE = re.compile(r"[a-z]{2,4}(?:-[a-z]+)+-[0-9]{1,2}")
ROLE_NAME_RE = re.compile(r"[\w+=,.@-]{1,64}", re.ASCII)


def is_account_id(text: str) -> bool:
    return ACCOUNT_ID_RE.fullmatch(text) is not None


def is_region(text: str) -> bool:
    return REGION_RE.fullmatch(text) is not None


def is_role_name(text: str) -> bool:
    return ROLE_NAME_RE.fullmatch(text) is not None
