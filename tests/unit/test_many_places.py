"""Sync, planning and tagging across accounts and regions, on in-memory places: what each place protects, what an
unreadable place stops, where a deployment's tag goes, and which messages a sweep queues."""

from __future__ import annotations

import json
from typing import Any

import pytest
from aws_lambda_powertools.utilities.data_classes import EventBridgeEvent
from housekeeper.aws.errors import AccessDenied
from housekeeper.core.config import Config, load_config
from housekeeper.core.evaluator import evaluate
from housekeeper.core.places import Place
from housekeeper.handlers.events import deployment, sync_trigger
from housekeeper.logic.inventory import InventoryScanner
from housekeeper.logic.plan import plan_sync
from housekeeper.logic.sync import SyncRun, sync_repository
from housekeeper.logic.tagging import TagStatus, tag_deployment

from tests.fakes import (
    ACCOUNT,
    CONFIG_PARAMETER,
    DOCKER_V2,
    FakeEcs,
    FakePlaces,
    FakeSqs,
    FakeSsm,
    config_json,
    deployment_event,
    ecr_image_uri,
    fake_sources,
    image_manifest,
    image_push,
    parameter_change,
)
from tests.unit.sync_helpers import NOW

SPOKE = "222233334444"
STRANGER = "999988887777"
HOME = Place(ACCOUNT, "us-east-1")
REPLICA = "eu-west-1"
DAY = 86_400.0
QUEUE = "https://sqs.us-east-1.amazonaws.com/123456789012/sync"


def estate_config(**changes: Any) -> Config:
    """Prod runs in the workload account (keep 2), dev in the registry's dev-* clusters; two registry regions."""
    estate: dict[str, Any] = {
        "environments": [
            {"name": "prod", "tagPrefix": "Prod", "keep": 2, "accounts": [SPOKE]},
            {"name": "dev", "tagPrefix": "Dev", "keep": 2, "clusters": ["dev-*"]},
        ],
        "accounts": [{"id": SPOKE, "regions": [REPLICA]}],
        "regions": [HOME.region, REPLICA],
        "safety": {"protectInUse": True, "maxExpireFraction": 0.9},
    }
    return load_config(config_json(**{**estate, **changes}))


def seeded_places() -> tuple[FakePlaces, dict[str, str]]:
    """The registry in two regions, each holding the same five Prod builds of shop/api (replicas: same digests)."""
    places = FakePlaces(HOME)
    digests: dict[str, str] = {}
    for region in (HOME.region, REPLICA):
        ecr = places.registry(region)
        base = NOW.timestamp() - 30 * DAY
        for n in range(1, 6):
            manifest = image_manifest(f"shop/api-{n}")
            digests[f"Prod-{n}"] = ecr.push("shop/api", manifest, DOCKER_V2, [f"Prod-{n}"], pushed_at=base + n * DAY)
    return places, digests


def spoke_runs(places: FakePlaces, tag: str, digest: str, region: str = REPLICA) -> FakeEcs:
    """A task in the workload account runs `tag` of shop/api, pulled from the registry's `region`."""
    ecs = FakeEcs(SPOKE, region)
    ecs.run_task("prod-main", "api", [(ecr_image_uri("shop/api", f":{tag}", region=region), digest)])
    places.views[Place(SPOKE, region)] = fake_sources(ecs)
    return ecs


def run(places: FakePlaces, config: Config | None = None, write: bool = True) -> SyncRun:
    return SyncRun(config or estate_config(), places, write=write, scanner=InventoryScanner(), now=NOW)


def expired(places: FakePlaces, region: str) -> set[str]:
    ecr = places.registry(region)
    policy = ecr.get_lifecycle_policy("shop/api")
    assert policy is not None
    evaluation = evaluate(policy, list(ecr.iter_images("shop/api")), NOW)
    return {
        tag
        for image in ecr.iter_images("shop/api")
        if image.digest in evaluation.expiring_digests
        for tag in image.tags
    }


def test_an_image_running_only_in_a_workload_account_is_protected_in_every_registry_region() -> None:
    places, digests = seeded_places()
    spoke_runs(places, "Prod-1", digests["Prod-1"])
    sync = run(places)
    for region in (HOME.region, REPLICA):
        result = sync_repository("shop/api", sync, region=region)
        assert (result.action, result.region, result.protected) == ("updated", region, 1)
        # keep 2 would expire Prod-1..3; Prod-1 runs in the workload account, so only 2 and 3 go, in both regions
        assert expired(places, region) == {"Prod-2", "Prod-3"}
    assert places.entered.count(Place(SPOKE, REPLICA)) == 1  # one scan serves both regions
    assert places.registry(HOME.region).repository_policy_reads == 0  # everything read: no policy needed


def test_an_unreadable_workload_account_stops_only_the_repositories_it_could_pull_from() -> None:
    places, _ = seeded_places()
    places.fail[Place(SPOKE, REPLICA)] = AccessDenied("sts:AssumeRole", "AccessDenied", "not trusted")
    sync = run(places)

    private = sync_repository("shop/api", sync)  # no repository policy: no other account can pull from it
    assert private.action == "updated"

    shared = places.registry(HOME.region)
    shared.push("shop/web", image_manifest("web"), DOCKER_V2, ["Prod-1"])
    shared.repositories["shop/web"].repository_policy = {
        "Statement": [{"Effect": "Allow", "Principal": {"AWS": f"arn:aws:iam::{SPOKE}:root"}, "Action": "ecr:*"}]
    }
    result = sync_repository("shop/web", sync)
    assert (result.action, result.reason) == ("failed", "INVENTORY_INCOMPLETE")
    assert f"sts:AssumeRole in {SPOKE}/{REPLICA}" in result.detail
    assert [name for name, _ in shared.put_policy_calls] == ["shop/api"]  # nothing written for shop/web
    assert shared.repository_policy_reads == 2  # once per repository, and only because a place was unreadable


def test_an_unreadable_registry_place_stops_every_repository() -> None:
    places, _ = seeded_places()
    home_ecs = FakeEcs()
    home_ecs.fail["ListClusters"] = AccessDenied("ecs:ListClusters", "AccessDeniedException", "denied")
    places.views[HOME] = fake_sources(home_ecs)
    result = sync_repository("shop/api", run(places))
    assert (result.action, result.reason) == ("failed", "INVENTORY_INCOMPLETE")
    assert places.registry(HOME.region).put_policy_calls == []


def test_a_region_that_is_not_a_registry_region_is_left_alone() -> None:
    places, _ = seeded_places()
    result = sync_repository("shop/api", run(places, estate_config(regions=[HOME.region])), region=REPLICA)
    assert (result.action, result.reason) == ("skipped", "NOT_IN_SCOPE")
    assert places.registry(REPLICA).put_policy_calls == []


# --- planning ---------------------------------------------------------------------------------------------------


def planned(event: dict[str, Any], places: FakePlaces) -> tuple[str, list[dict[str, Any]]]:
    sqs = FakeSqs()
    ssm = FakeSsm({CONFIG_PARAMETER: json.dumps(config_json(accounts=[{"id": SPOKE}], regions=[HOME.region, REPLICA]))})
    trigger = sync_trigger(EventBridgeEvent(event), CONFIG_PARAMETER)
    outcome = plan_sync(
        trigger, config_parameter=CONFIG_PARAMETER, queue_url=QUEUE, ssm=ssm, places_for=lambda _: places, sqs=sqs
    )
    return outcome.reason, sqs.queues.get(QUEUE, [])


def test_a_config_change_queues_one_message_per_region_and_repository() -> None:
    places, _ = seeded_places()
    places.registry(REPLICA).create_repository("replica/only")
    _, messages = planned(parameter_change(), places)
    assert sorted((m["region"], m["repositoryName"]) for m in messages) == [
        (REPLICA, "replica/only"),
        (REPLICA, "shop/api"),
        (HOME.region, "shop/api"),
    ]


def test_a_push_queues_its_repository_in_its_own_region_and_only_from_the_registry() -> None:
    places, _ = seeded_places()
    push = image_push("shop/api")
    _, messages = planned({**push, "region": REPLICA}, places)
    assert messages == [{"repositoryName": "shop/api", "region": REPLICA, "trigger": "push"}]
    reason, messages = planned({**push, "account": STRANGER}, places)
    assert (reason.startswith("IGNORED"), messages) == (True, [])
    reason, messages = planned({**push, "region": "ap-south-1"}, places)
    assert (reason, messages) == ("NOT_IN_SCOPE", [])


# --- tagging ----------------------------------------------------------------------------------------------------


def completed_in(account: str, region: str, cluster: str = "prod-main") -> Any:
    event = deployment_event("deployment_completed.json", cluster, "api", "ecs-svc/1")
    event["account"], event["region"] = account, region
    event["resources"] = [f"arn:aws:ecs:{region}:{account}:service/{cluster}/api"]
    return deployment(EventBridgeEvent(event))


def test_a_workload_account_deployment_is_tagged_in_the_registry_of_the_image_region() -> None:
    places, digests = seeded_places()
    ecs = FakeEcs(SPOKE, REPLICA)
    image = ecr_image_uri("shop/api", ":5", region=REPLICA)
    places.registry(REPLICA).retag("shop/api", digests["Prod-5"], "5")
    ecs.add_service("prod-main", "api", "api:1", [image], deployment_id="ecs-svc/1")
    ecs.run_task("prod-main", "api", [(image, digests["Prod-5"])], started_by="ecs-svc/1")
    places.views[Place(SPOKE, REPLICA)] = fake_sources(ecs)

    result = tag_deployment(completed_in(SPOKE, REPLICA), estate_config(), places)
    [outcome] = result.outcomes
    assert (outcome.status, outcome.tag, outcome.account, outcome.region) == (
        TagStatus.ALREADY_PRESENT,
        "Prod-5",
        SPOKE,
        REPLICA,
    )
    assert places.entered == [Place(SPOKE, REPLICA)]  # read in the workload account, through its role
    assert "DescribeServices:prod-main/api" in ecs.calls


def test_a_deployment_in_an_unlisted_account_is_skipped_with_a_reason() -> None:
    places, _ = seeded_places()
    [outcome] = tag_deployment(completed_in(STRANGER, REPLICA), estate_config(), places).outcomes
    assert (outcome.status, outcome.reason, outcome.account) == (TagStatus.SKIPPED, "unknown-account", STRANGER)
    assert places.entered == []  # no role was assumed


@pytest.mark.parametrize(
    ("account", "cluster", "env"),
    [(SPOKE, "anything", "prod"), (ACCOUNT, "dev-1", "dev"), (ACCOUNT, "prod-main", None)],
)
def test_the_environment_follows_the_deployment_account(account: str, cluster: str, env: str | None) -> None:
    places, digests = seeded_places()
    ecs = FakeEcs(account, HOME.region)
    image = ecr_image_uri("shop/api", ":9")
    places.registry(HOME.region).retag("shop/api", digests["Prod-5"], "9")
    ecs.add_service(cluster, "api", "api:1", [image], deployment_id="ecs-svc/1")
    ecs.run_task(cluster, "api", [(image, digests["Prod-5"])], started_by="ecs-svc/1")
    places.views[Place(account, HOME.region)] = fake_sources(ecs)
    [outcome] = tag_deployment(completed_in(account, HOME.region, cluster), estate_config(), places).outcomes
    assert outcome.env == env
    assert outcome.tag == (f"{env.capitalize()}-9" if env else None)
