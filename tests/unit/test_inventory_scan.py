"""The in-use scan over many places: read several at a time with the same answer as one at a time, and kept for
its TTL counted from when the scan ended, so a long scan is not stale the moment it is stored."""

from __future__ import annotations

from housekeeper.core.config import InUseSettings
from housekeeper.core.places import Place
from housekeeper.logic.inventory import InventoryScanner, scan_places

from tests.fakes import FakeEcs, FakePlaces, ecr_image_uri, fake_sources, sha256_digest

HOME = Place("123456789012", "us-east-1")


def estate(accounts: int) -> tuple[FakePlaces, list[Place]]:
    places = FakePlaces(HOME)
    targets = [HOME]
    for n in range(accounts):
        place = Place(f"{200000000000 + n}", "eu-west-1")
        ecs = FakeEcs(place.account, place.region)
        digest = sha256_digest(f"build-{n}")
        ecs.run_task("prod", "web", [(ecr_image_uri("shop/web", f"@{digest}"), digest)], task_id=f"t{n}")
        places.views[place] = fake_sources(ecs)
        targets.append(place)
    return places, targets


def test_reading_many_places_at_once_finds_exactly_what_reading_them_in_turn_finds() -> None:
    places, targets = estate(24)
    one_by_one = scan_places(InUseSettings(), places, targets, now=0, parallelism=1)
    together = scan_places(InUseSettings(), places, targets, now=0, parallelism=8)
    assert together == one_by_one
    assert [u.consumer for u in together.uses][:2] == [
        "ecs-task:prod/t0@200000000000/eu-west-1",
        "ecs-task:prod/t1@200000000001/eu-west-1",
    ]
    assert len(together.uses) == 24


def test_the_ttl_of_a_scan_runs_from_its_end() -> None:
    clock = [0.0]

    class SlowPlaces(FakePlaces):
        def sources(self, place: Place):  # type: ignore[no-untyped-def]
            clock[0] += 10.0  # ten seconds per place, on the scanner's clock
            return super().sources(place)

    places = SlowPlaces(HOME)
    targets = [HOME, *(Place(f"{300000000000 + n}", "eu-west-1") for n in range(9))]
    scanner = InventoryScanner(ttl_seconds=60, clock=lambda: clock[0], parallelism=1)
    first = scanner.scan(InUseSettings(), places, targets)  # takes 100 s, longer than the TTL
    assert scanner.scan(InUseSettings(), places, targets) is first  # still fresh: kept from the scan's end
    clock[0] += 61
    assert scanner.scan(InUseSettings(), places, targets) is not first
