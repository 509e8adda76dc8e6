"""Infra tests synthesize the real stack; each module synthesizes once (module-scoped fixtures)."""

from __future__ import annotations

import os

import pytest

os.environ.setdefault("JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION", "20")
os.environ.setdefault("CDK_DISABLE_CLI_TELEMETRY", "true")


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Keep each infra module on one xdist worker (`--dist loadgroup`), so its one synth is shared."""
    for item in items:
        if item.path.parent.name == "infra" and item.path.parent.parent.name == "tests":
            item.add_marker(pytest.mark.xdist_group(f"infra-{item.path.stem}"))
