"""Tagging a completed deployment and backfill, on in-memory gateways: resolution order, skips, idempotency."""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

import pytest
from aws_lambda_powertools.utilities.data_classes import EventBridgeEvent
from housekeeper.aws.errors import Throttled
from housekeeper.aws.ports import ContainerImageRef, ServiceDeployment
from housekeeper.core.config import Config, load_config
from housekeeper.core.errors import MalformedEvent
from housekeeper.handlers.events import deployment
from housekeeper.logic.tagging import (
    DigestSource,
    ServiceNotFound,
    TagStatus,
    clusters_in_environments,
    iter_backfill,
    tag_deployment,
)

from tests.fakes import (
    ACCOUNT,
    DOCKER_V2,
    REGION,
    FakeEcr,
    FakeEcs,
    ecr_image_uri,
    fake_sources,
    image_manifest,
    one_place,
)

EVENTS = Path(__file__).parent.parent / "fixtures" / "events"
CONFIG: Config = load_config(
    {
        "version": 1,
        "environments": [
            {"name": "prod", "tagPrefix": "Prod", "keep": 5, "clusters": ["prod-*"]},
            {"name": "staging", "tagPrefix": "Staging", "keep": 5, "clusters": ["staging-*"]},
            {"name": "dev", "tagPrefix": "Dev", "keep": 3, "clusters": ["dev-*"]},
        ],
        "buildTagPattern": "^[0-9]+$",
        "catchAll": {"expireAfterDays": 90},
    }
)
DEPLOYMENT = "ecs-svc/4242"


def event(name: str = "deployment_completed.json", cluster: str = "prod-main", service: str = "api") -> dict[str, Any]:
    loaded: dict[str, Any] = json.loads((EVENTS / name).read_text())
    loaded = copy.deepcopy(loaded)
    loaded["resources"] = [f"arn:aws:ecs:us-east-1:123456789012:service/{cluster}/{service}"]
    loaded["detail"]["deploymentId"] = DEPLOYMENT
    loaded["account"], loaded["region"] = ACCOUNT, REGION  # the sample's own account is not the test registry's
    return loaded


def account(cluster: str = "prod-main") -> tuple[FakeEcr, FakeEcs, str]:
    ecr, ecs = FakeEcr(), FakeEcs()
    digest = ecr.push("payments/api", image_manifest("1234"), DOCKER_V2, ["1234"])
    image = ecr_image_uri("payments/api", ":1234")
    ecs.add_service(cluster, "api", "api:7", [image], deployment_id=DEPLOYMENT)
    ecs.run_task(cluster, "api", [(image, digest)], started_by=DEPLOYMENT)
    return ecr, ecs, digest


def parse_deployment_event(raw: Any) -> Any:
    """What the tagger's handler hands logic: the event read at the edge with Powertools' data class."""
    return deployment(EventBridgeEvent(raw))


def run(raw: dict[str, Any], ecr: FakeEcr, ecs: FakeEcs) -> Any:
    return tag_deployment(parse_deployment_event(raw), CONFIG, one_place(ecr, fake_sources(ecs)))


def test_completed_deployment_tags_the_digest_its_tasks_run() -> None:
    ecr, ecs, digest = account()
    result = run(event(), ecr, ecs)
    [outcome] = result.outcomes
    assert (outcome.status, outcome.tag, outcome.env, outcome.build, outcome.source) == (
        TagStatus.TAGGED,
        "Prod-1234",
        "prod",
        "1234",
        DigestSource.DEPLOYMENT_TASKS,
    )
    assert ecr.tags_of_digest("payments/api", digest) == ("1234", "Prod-1234")


def test_a_duplicate_event_changes_nothing_and_succeeds() -> None:
    ecr, ecs, _ = account()
    run(event(), ecr, ecs)
    writes = list(ecr.put_image_calls)
    again = run(event(), ecr, ecs)
    assert [o.status for o in again.outcomes] == [TagStatus.ALREADY_PRESENT]
    assert ecr.put_image_calls == writes


@pytest.mark.parametrize(
    "name", ["deployment_in_progress.json", "deployment_failed.json", "deployment_rollback_in_progress.json"]
)
def test_other_event_names_tag_nothing(name: str) -> None:
    ecr, ecs, _ = account()
    result = run(event(name), ecr, ecs)
    assert result.ignored and result.outcomes == []
    assert ecr.put_image_calls == [] and ecs.calls == []


def test_an_unknown_cluster_is_skipped_with_a_reason() -> None:
    ecr, ecs, _ = account("qa-main")
    [outcome] = run(event(cluster="qa-main"), ecr, ecs).outcomes
    assert (outcome.status, outcome.reason) == (TagStatus.SKIPPED, "no-environment")
    assert ecr.put_image_calls == []


def test_non_ecr_and_foreign_images_are_skipped_and_the_ecr_one_is_tagged() -> None:
    ecr, ecs, _ = account()
    ecs.run_task(
        "prod-main",
        "api",
        [
            ("nginx:1.27", "sha256:" + "1" * 64),
            ("public.ecr.aws/aws-observability/aws-otel-collector:v0.40", "sha256:" + "2" * 64),
            ("210987654321.dkr.ecr.us-east-1.amazonaws.com/shared/base:7", "sha256:" + "3" * 64),
            ("123456789012.dkr.ecr.eu-west-1.amazonaws.com/payments/api:9", "sha256:" + "4" * 64),
        ],
        started_by=DEPLOYMENT,
        task_id="task-2",
    )
    outcomes = run(event(), ecr, ecs).outcomes
    by_reason = sorted((o.status, o.reason or "") for o in outcomes)
    assert by_reason == [
        (TagStatus.SKIPPED, "not-ecr-image"),
        (TagStatus.SKIPPED, "not-ecr-image"),
        (TagStatus.SKIPPED, "other-region"),  # the registry's account, outside the registry regions
        (TagStatus.SKIPPED, "other-registry"),  # another account's registry
        (TagStatus.TAGGED, ""),
    ]


def test_build_from_ecr_tags_when_the_service_deploys_latest() -> None:
    ecr, ecs = FakeEcr(), FakeEcs()
    digest = ecr.push("web", image_manifest("w"), DOCKER_V2, ["latest", "88"])
    ecs.add_service("dev-1", "web", "web:1", [ecr_image_uri("web", ":latest")], deployment_id=DEPLOYMENT)
    ecs.run_task("dev-1", "web", [(ecr_image_uri("web", ":latest"), digest)], started_by=DEPLOYMENT)
    [outcome] = run(event(cluster="dev-1", service="web"), ecr, ecs).outcomes
    assert (outcome.status, outcome.tag) == (TagStatus.TAGGED, "Dev-88")


def test_no_build_means_no_tag() -> None:
    ecr, ecs = FakeEcr(), FakeEcs()
    digest = ecr.push("web", image_manifest("w"), DOCKER_V2, ["latest"])
    ecs.add_service("dev-1", "web", "web:1", [ecr_image_uri("web", ":latest")], deployment_id=DEPLOYMENT)
    ecs.run_task("dev-1", "web", [(ecr_image_uri("web", ":latest"), digest)], started_by=DEPLOYMENT)
    [outcome] = run(event(cluster="dev-1", service="web"), ecr, ecs).outcomes
    assert (outcome.status, outcome.reason) == (TagStatus.SKIPPED, "no-build")
    assert ecr.tags_of_digest("web", digest) == ("latest",)


def test_the_pinned_digest_wins_over_a_re_pushed_tag() -> None:
    """ECS pinned the digest at deployment; the tag `1234` has since been pushed onto another image."""
    ecr, ecs, deployed = account()
    newer = ecr.push("payments/api", image_manifest("re-push"), DOCKER_V2, ["1234"])
    run(event(), ecr, ecs)
    assert "Prod-1234" in ecr.tags_of_digest("payments/api", deployed)
    assert "Prod-1234" not in ecr.tags_of_digest("payments/api", newer)


def test_service_revision_is_used_when_the_tasks_are_gone() -> None:
    ecr, ecs = FakeEcr(), FakeEcs()
    digest = ecr.push("api", image_manifest("r"), DOCKER_V2, ["51"])
    image = ecr_image_uri("api", ":51")
    arn = "arn:aws:ecs:us-east-1:123456789012:service-deployment/prod-main/api/x"
    ecs.add_service("prod-main", "api", "api:2", [image], deployment_id=DEPLOYMENT, service_deployment_arn=arn)
    ecs.deployments[arn] = ServiceDeployment(arn, "svc", "cluster", "SUCCESSFUL", "rev-1")
    ecs.revisions["rev-1"] = [ContainerImageRef("app", image, digest)]
    [outcome] = run(event(service="api"), ecr, ecs).outcomes
    assert (outcome.status, outcome.source, outcome.digest) == (TagStatus.TAGGED, DigestSource.SERVICE_REVISION, digest)


def test_task_definition_is_the_last_resort() -> None:
    ecr, ecs = FakeEcr(), FakeEcs()
    digest = ecr.push("api", image_manifest("t"), DOCKER_V2, ["60"])
    ecs.add_service("prod-main", "api", "api:3", [ecr_image_uri("api", ":60")], deployment_id=DEPLOYMENT)
    [outcome] = run(event(), ecr, ecs).outcomes
    assert (outcome.status, outcome.source, outcome.digest) == (TagStatus.TAGGED, DigestSource.TASK_DEFINITION, digest)


def test_a_superseded_deployment_without_task_digests_tags_nothing() -> None:
    ecr, ecs = FakeEcr(), FakeEcs()
    ecr.push("api", image_manifest("s"), DOCKER_V2, ["70"])
    ecs.add_service("prod-main", "api", "api:4", [ecr_image_uri("api", ":70")], deployment_id="ecs-svc/newer")
    [outcome] = run(event(), ecr, ecs).outcomes
    assert (outcome.status, outcome.reason) == (TagStatus.SKIPPED, "deployment-superseded")
    assert ecr.put_image_calls == []


def test_a_service_that_no_longer_exists_raises_naming_it() -> None:
    ecr, ecs = FakeEcr(), FakeEcs()
    with pytest.raises(ServiceNotFound, match="'api' in cluster 'prod-main'"):
        run(event(), ecr, ecs)


def test_a_tag_on_another_digest_is_a_conflict_and_is_not_moved() -> None:
    ecr, ecs, _ = account()
    other = ecr.push("payments/api", image_manifest("other"), DOCKER_V2, ["Prod-1234"])
    [outcome] = run(event(), ecr, ecs).outcomes
    assert (outcome.status, outcome.reason) == (TagStatus.CONFLICT, "tag-conflict")
    assert ecr.tags_of_digest("payments/api", other) == ("Prod-1234",)


def test_one_failing_container_does_not_stop_the_others() -> None:
    ecr, ecs, _ = account()
    second = ecr.push("payments/worker", image_manifest("wk"), DOCKER_V2, ["1234"])
    ecs.run_task("prod-main", "api", [(ecr_image_uri("payments/worker", ":1234"), second)], DEPLOYMENT, "task-3")
    ecr.fail_retag[("payments/api", "Prod-1234")] = Throttled("ecr:PutImage", "ThrottlingException", "slow down")
    outcomes = run(event(), ecr, ecs).outcomes
    assert sorted((o.repository, o.status) for o in outcomes) == [
        ("payments/api", TagStatus.FAILED),
        ("payments/worker", TagStatus.TAGGED),
    ]
    assert next(o for o in outcomes if o.status == TagStatus.FAILED).retryable


@pytest.mark.parametrize(
    ("mutate", "missing"),
    [
        (lambda e: e.pop("resources"), "resources"),
        (lambda e: e["detail"].pop("deploymentId"), "deploymentId"),
        (lambda e: e["detail"].pop("eventName"), "eventName"),
        (lambda e: e.update({"resources": ["arn:aws:ecs:us-east-1:123456789012:service/api"]}), "cluster"),
        (lambda e: e.update({"detail-type": "ECS Task State Change"}), "detail-type"),
        (lambda e: e.pop("detail"), "detail"),
    ],
)
def test_malformed_events_raise_naming_what_is_missing(mutate: Any, missing: str) -> None:
    raw = event()
    mutate(raw)
    with pytest.raises(MalformedEvent, match=missing):
        parse_deployment_event(raw)


def test_backfill_plans_then_applies_for_every_configured_cluster() -> None:
    ecr, ecs = FakeEcr(), FakeEcs()
    api = ecr.push("api", image_manifest("a"), DOCKER_V2, ["10"])
    web = ecr.push("web", image_manifest("b"), DOCKER_V2, ["20", "Staging-20"])
    ecs.run_task("prod-main", "api", [(ecr_image_uri("api", ":10"), api)], task_id="t1")
    ecs.run_task("prod-eu", "api", [(ecr_image_uri("api", ":10"), api)], task_id="t2")
    ecs.run_task("staging-1", "web", [(ecr_image_uri("web", ":20"), web), ("nginx:1", None)], task_id="t3")
    ecs.run_task("sandbox", "x", [(ecr_image_uri("api", ":10"), api)], task_id="t4")

    places = one_place(ecr, fake_sources(ecs))
    clusters = clusters_in_environments(CONFIG, places, [places.home])
    assert [target.cluster for target in clusters] == ["prod-eu", "prod-main", "staging-1"]
    plan = list(iter_backfill(CONFIG, places, clusters, apply=False))
    assert sorted((o.repository or o.image, o.tag, o.status) for o in plan) == [
        ("api", "Prod-10", TagStatus.WOULD_TAG),
        ("nginx:1", None, TagStatus.SKIPPED),
        ("web", "Staging-20", TagStatus.ALREADY_PRESENT),
    ]
    assert ecr.put_image_calls == []

    applied = list(iter_backfill(CONFIG, places, clusters, apply=True))
    assert [o.status for o in applied if o.repository == "api"] == [TagStatus.TAGGED]
    assert ecr.tags_of_digest("api", api) == ("10", "Prod-10")


def test_a_deployment_asks_to_resync_only_the_repositories_of_this_registry_it_runs() -> None:
    from housekeeper.logic.tagging import ContainerOutcome, DeploymentEvent, DeploymentResult, resync_requests

    event = DeploymentEvent("e", "SERVICE_DEPLOYMENT_COMPLETED", "arn", "prod-main", "api", "d")
    outcomes = [
        ContainerOutcome(image="a", status="tagged", repository="shop/api"),
        ContainerOutcome(image="b", status="already_present", repository="shop/api"),
        ContainerOutcome(image="c", status="skipped", repository="shop/web", reason="no-build"),
        ContainerOutcome(image="d", status="skipped", repository="other/app", reason="other-registry"),
        ContainerOutcome(image="nginx:1", status="skipped", reason="not-ecr-image"),
    ]
    assert resync_requests(DeploymentResult(event, outcomes)) == [
        {"repositoryName": "shop/api", "trigger": "deployment"},
        {"repositoryName": "shop/web", "trigger": "deployment"},
    ]
