"""Places in memory: the registry's FakeEcr per region, and each account's and region's inventory sources."""

from __future__ import annotations

from collections.abc import Mapping

from housekeeper.aws.errors import AwsError
from housekeeper.aws.ports import EcsGateway, InventorySources
from housekeeper.core.places import Place

from tests.fakes.accounts import ACCOUNT, REGION
from tests.fakes.ecr import FakeEcr
from tests.fakes.inventory import fake_sources

HOME = Place(ACCOUNT, REGION)


class FakePlaces:
    """housekeeper.aws.ports.Places in memory. A place in `fail` raises from `sources` and `ecs`, as a reader role
    that cannot be assumed does; `entered` records each workload place entered (the AssumeRole calls a boto3
    implementation would make, before its cache)."""

    def __init__(
        self,
        home: Place = HOME,
        registries: Mapping[str, FakeEcr] | None = None,
        sources: Mapping[Place, InventorySources] | None = None,
    ) -> None:
        self._home = home
        self.registries: dict[str, FakeEcr] = dict(registries or {})
        self.views: dict[Place, InventorySources] = dict(sources or {})
        self.fail: dict[Place, AwsError] = {}
        self.entered: list[Place] = []

    @property
    def home(self) -> Place:
        return self._home

    def registry(self, region: str) -> FakeEcr:
        if region not in self.registries:
            self.registries[region] = FakeEcr(self._home.account, region)
        return self.registries[region]

    def sources(self, place: Place) -> InventorySources:
        if place in self.fail:
            raise self.fail[place]
        if place.account != self._home.account:
            self.entered.append(place)
        if place not in self.views:
            self.views[place] = fake_sources()
        return self.views[place]

    def ecs(self, place: Place) -> EcsGateway:
        ecs = self.sources(place).ecs
        assert ecs is not None
        return ecs


def one_place(ecr: FakeEcr, sources: InventorySources | None = None) -> FakePlaces:
    """The single-account, single-region estate: `ecr` is the registry, `sources` what runs beside it."""
    home = Place(ecr.account, ecr.region())
    return FakePlaces(home, {home.region: ecr}, {home: sources or fake_sources()})
