"""Plain helpers several unit test modules call directly (in parametrized tests and inside their own helpers):
the problems a config is rejected with, and JSON files read and written for the CLI."""

from __future__ import annotations

import json
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import pytest
from housekeeper.core.config import load_config
from housekeeper.core.errors import ConfigInvalid


def problems_of(source: str | bytes | Mapping[str, Any]) -> dict[str, str]:
    """path -> message of every problem load_config reports (the test fails if it loads)."""
    with pytest.raises(ConfigInvalid) as caught:
        load_config(source)
    return {problem.path: problem.message for problem in caught.value.problems}


def read_json(path: Path) -> dict[str, Any]:
    """A JSON object from a file, e.g. one of tests/fixtures/aws_examples."""
    data: dict[str, Any] = json.loads(path.read_text())
    return data


def write_text(tmp_path: Path, name: str, text: str) -> str:
    """Write `text` to `tmp_path/name`; returns the path as the CLI takes it."""
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return str(path)


def write_json(tmp_path: Path, name: str, data: Any) -> str:
    """Write `data` as JSON to `tmp_path/name`; returns the path as the CLI takes it."""
    return write_text(tmp_path, name, json.dumps(data))
