"""What the sync unit tests share: a fixed clock, the test config loaded, and a SyncRun on in-memory gateways
(one account, one region)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from housekeeper.core.config import Config, load_config
from housekeeper.logic.inventory import InventoryScanner
from housekeeper.logic.sync import SyncRun

from tests.fakes import FakeEcr, FakeEcs, config_json, fake_sources, one_place

NOW = datetime(2025, 6, 1, tzinfo=UTC)


def make_config(**changes: Any) -> Config:
    """tests.fakes.config_json with these top-level changes, loaded."""
    return load_config(config_json(**changes))


def run_for(ecr: FakeEcr, config: Config | None = None, ecs: FakeEcs | None = None, write: bool = True) -> SyncRun:
    """A run at NOW over `ecr`, with `ecs` (or nothing) in use and a fresh inventory scanner."""
    places = one_place(ecr, fake_sources(ecs))
    return SyncRun(config or make_config(), places, write=write, scanner=InventoryScanner(), now=NOW)
