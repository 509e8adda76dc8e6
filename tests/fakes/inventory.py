"""The in-use inventory's sources, all in memory."""

from __future__ import annotations

from housekeeper.aws.ports import InventorySources

from tests.fakes.ecs import FakeEcs
from tests.fakes.events import FakeEvents
from tests.fakes.lambdas import FakeLambda
from tests.fakes.scheduler import FakeScheduler


def fake_sources(ecs: FakeEcs | None = None) -> InventorySources:
    """Every inventory source, in memory; only `ecs` is usually given something to find."""
    return InventorySources(ecs=ecs or FakeEcs(), lambdas=FakeLambda(), scheduler=FakeScheduler(), events=FakeEvents())
