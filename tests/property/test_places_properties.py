"""Properties of a sync across accounts and regions, over random estates, random uses in random places, random
unreadable places and random repository policies, with the real sync on in-memory places: whatever a readable
place uses is never expired by the policy ECR stores, in any registry region; and when a place that could pull
from the repository was not read, nothing is written for it."""

from __future__ import annotations

from typing import Any

from housekeeper.aws.errors import AccessDenied
from housekeeper.core.config import load_config
from housekeeper.core.evaluator import evaluate
from housekeeper.core.places import Place
from housekeeper.core.repository_access import may_use
from housekeeper.logic.inventory import InventoryScanner
from housekeeper.logic.sync import SyncRun, sync_repository
from hypothesis import given, settings
from hypothesis import strategies as st

from tests.fakes import DOCKER_V2, FakeEcs, FakePlaces, config_json, ecr_image_uri, fake_sources, image_manifest
from tests.unit.sync_helpers import NOW

HUB = "123456789012"
ACCOUNTS = ("222233334444", "333344445555", "444455556666")
REGIONS = ("us-east-1", "eu-west-1")
DAY = 86_400.0
BUILDS = 8


@st.composite
def estates(draw: st.DrawFn) -> dict[str, Any]:
    accounts = draw(st.lists(st.sampled_from(ACCOUNTS), unique=True, max_size=3))
    return {
        "accounts": [
            {"id": a, "regions": draw(st.lists(st.sampled_from(REGIONS), unique=True, max_size=2))} for a in accounts
        ],
        "regions": draw(st.sampled_from([[], ["us-east-1"], list(REGIONS)])),
        "keep": draw(st.integers(1, 4)),
        "policy_accounts": draw(st.sampled_from([None, ["*"], *([a] for a in ACCOUNTS)])),
    }


@given(estate=estates(), data=st.data())
@settings(max_examples=60, deadline=None)
def test_nothing_a_readable_place_uses_is_expired_and_nothing_is_written_past_an_unreadable_one(
    estate: dict[str, Any], data: st.DataObject
) -> None:
    config = load_config(
        config_json(
            environments=[{"name": "prod", "tagPrefix": "Prod", "keep": estate["keep"], "clusters": ["*"]}],
            accounts=estate["accounts"],
            regions=estate["regions"],
            safety={"protectInUse": True, "maxExpireFraction": 1.0},
        )
    )
    home = Place(HUB, "us-east-1")
    places = FakePlaces(home)
    regions = config.estate.registry_regions(home.region)
    digests = []
    for region in regions:  # the same builds in every registry region: replicas
        ecr = places.registry(region)
        for n in range(1, BUILDS + 1):
            pushed = NOW.timestamp() - (40 - n) * DAY
            digest = ecr.push("shop/api", image_manifest(f"b{n}"), DOCKER_V2, [f"Prod-{n}"], pushed_at=pushed)
            if region == regions[0]:
                digests.append(digest)
        if estate["policy_accounts"] is not None:
            principal = "*" if estate["policy_accounts"] == ["*"] else {"AWS": estate["policy_accounts"]}
            ecr.repositories["shop/api"].repository_policy = {
                "Statement": [{"Effect": "Allow", "Principal": principal}]
            }

    used: set[str] = set()
    unreadable: list[Place] = []
    for place in config.estate.places(home):
        if data.draw(st.booleans(), label=f"unreadable {place}"):
            unreadable.append(place)
            places.fail[place] = AccessDenied("sts:AssumeRole", "AccessDenied", "injected")
            continue
        runs = data.draw(st.lists(st.integers(0, BUILDS - 1), unique=True, max_size=3), label=f"runs in {place}")
        ecs = FakeEcs(place.account, place.region)
        pulled_from = data.draw(st.sampled_from(regions), label=f"pulls from, {place}")
        ecs.run_task(
            "c", "s", [(ecr_image_uri("shop/api", f"@{digests[i]}", region=pulled_from), digests[i]) for i in runs]
        )
        places.views[place] = fake_sources(ecs)
        used.update(digests[i] for i in runs)

    run = SyncRun(config, places, write=True, scanner=InventoryScanner(), now=NOW)
    policy = places.registry(regions[0]).repositories["shop/api"].repository_policy
    blocked = any(p.account == HUB or may_use(policy, p.account) for p in unreadable)
    for region in regions:
        ecr = places.registry(region)
        result = sync_repository("shop/api", run, region=region)
        if blocked:
            assert (result.action, result.reason) == ("failed", "INVENTORY_INCOMPLETE")
            assert ecr.put_policy_calls == [] and ecr.put_image_calls == []
            continue
        assert result.action in ("updated", "in_sync"), result
        stored = ecr.get_lifecycle_policy("shop/api")
        assert stored is not None
        expiring = evaluate(stored, list(ecr.iter_images("shop/api")), NOW).expiring_digests
        assert not (expiring & used), f"in use and expired in {region}: {sorted(expiring & used)}"
