"""Every source of the in-use inventory on moto: each consumer kind is found under its name, and the real sync
worker then keeps the image it uses, although the config's policy alone would expire it.

One repository, `shop` (shop_scenario.py), holds three tagged builds older than the 90-day catch-all (`98`, `99`,
`100`) and four recent ones (`101` .. `104`). The config's policy expires the three old builds; a consumer of `100`
(or `99`) must keep it, while `98`, which nothing uses, still expires.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from housekeeper import observability
from housekeeper.aws.session import client
from housekeeper.core.config import load_config

from tests.fakes import config_json
from tests.integration.moto_account import Account
from tests.integration.shop_scenario import (
    CLUSTER,
    CLUSTER_ARN,
    OLD_TAGS,
    ROLE_ARN,
    Expected,
    create_function,
    create_schedule,
    create_service,
    ensure_cluster,
    expired_by_stored_policy,
    image_uri,
    in_use_now,
    lambda_alias_on_an_older_version,
    register,
    scan_home,
    seed_shop,
    start_task,
    sync_now,
)

ALL_SOURCES = ["ecsTasks", "ecsServices", "lambdaFunctions", "schedulerSchedules", "eventRules"]


def config_with_in_use(in_use: dict[str, Any] | None = None, mode: str = "enforce") -> dict[str, Any]:
    """The test config (prod keep 2, catch-all 90 days) with these `safety.inUse` settings."""
    safety = {"protectInUse": True, "maxExpireFraction": 0.5, "inUse": in_use or {}}
    return config_json(mode=mode, safety=safety)


# --- consumers, one function per kind (the shared ones in shop_scenario.py) -----------------------------------


def ecs_running_task() -> Expected:
    return {"100": {f"ecs-task:{CLUSTER}/{start_task('100')}"}}


def ecs_service_scaled_to_zero() -> Expected:
    create_service()
    assert client("ecs").list_tasks(cluster=CLUSTER)["taskArns"] == []
    return {"100": {f"ecs-service:{CLUSTER}/web"}}


def ecs_service_mid_rollback() -> Expected:
    """The service names web:2 while a deployment still runs web:1: both revisions' images are needed."""
    ensure_cluster()
    ecs = client("ecs")
    first = register("web", "99")
    second = register("web", "100")
    ecs.create_service(cluster=CLUSTER, serviceName="web", taskDefinition=first, desiredCount=0)
    ecs.update_service(cluster=CLUSTER, service="web", taskDefinition=second)
    service = ecs.describe_services(cluster=CLUSTER, services=["web"])["services"][0]
    # moto moves service.taskDefinition and leaves the deployment on the old revision, as a rollout in flight does.
    assert service["taskDefinition"].endswith("web:2")
    assert [d["taskDefinition"] for d in service["deployments"]] == [first]
    return {"99": {f"ecs-service:{CLUSTER}/web"}, "100": {f"ecs-service:{CLUSTER}/web"}}


def lambda_latest() -> Expected:
    create_function("100")
    return {"100": {"lambda:api:$LATEST"}}


def scheduler_schedule() -> Expected:
    create_schedule()
    return {"100": {"schedule:batch/nightly"}}


def ecs_target(task_definition: str) -> dict[str, Any]:
    return {
        "Id": "run",
        "Arn": CLUSTER_ARN,
        "RoleArn": ROLE_ARN,
        "EcsParameters": {"TaskDefinitionArn": task_definition},
    }


def rule_on_a_custom_bus() -> Expected:
    ensure_cluster()
    task_definition = register("order-worker", "100")
    events = client("events")
    events.create_event_bus(Name="orders")
    events.put_rule(Name="on-order", EventBusName="orders", EventPattern='{"source": ["shop.orders"]}')
    events.put_targets(Rule="on-order", EventBusName="orders", Targets=[ecs_target(task_definition)])
    return {"100": {"rule:orders/on-order"}}


def rule_on_the_default_bus() -> Expected:
    ensure_cluster()
    task_definition = register("hourly-cleanup", "100")
    events = client("events")
    events.put_rule(Name="hourly", ScheduleExpression="rate(1 hour)")
    events.put_targets(Rule="hourly", Targets=[ecs_target(task_definition)])
    return {"100": {"rule:default/hourly"}}


CONSUMERS: dict[str, Callable[[], Expected]] = {
    "ecs-running-task": ecs_running_task,
    "ecs-service-desired-0": ecs_service_scaled_to_zero,
    "ecs-service-mid-rollback": ecs_service_mid_rollback,
    "lambda-latest": lambda_latest,
    "lambda-alias-older-version": lambda_alias_on_an_older_version,
    "scheduler-schedule-other-group": scheduler_schedule,
    "rule-custom-bus": rule_on_a_custom_bus,
    "rule-default-bus": rule_on_the_default_bus,
}


# --- each consumer kind ---------------------------------------------------------------------------------------


@pytest.mark.parametrize("kind", list(CONSUMERS))
def test_each_consumer_kind_is_found_by_name_and_its_old_image_is_protected_by_the_worker(
    account: Account, kind: str
) -> None:
    digests = seed_shop()
    expected = CONSUMERS[kind]()
    config = config_with_in_use()

    found = in_use_now(config)
    assert found == {digests[tag]: names for tag, names in expected.items()}

    result = sync_now(account, config)
    protected_old = {tag for tag in expected if tag in OLD_TAGS}
    assert (result.action, result.reason) == ("updated", "POLICY_MISSING")
    assert result.protected == len(protected_old)
    assert result.at_risk == ()
    # The policy ECR now holds keeps what the consumer uses; the old build nothing uses still goes.
    assert expired_by_stored_policy(account) == set(OLD_TAGS) - protected_old


def test_without_any_consumer_the_config_alone_expires_every_old_build(account: Account) -> None:
    """The baseline the tests above differ from: nothing in use, nothing protected."""
    seed_shop()
    config = config_with_in_use()
    assert in_use_now(config) == {}
    result = sync_now(account, config)
    assert (result.action, result.protected) == ("updated", 0)
    assert expired_by_stored_policy(account) == set(OLD_TAGS)


# --- taskDefinitionRevisions ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("revisions", "protected"),
    [(2, {"99": {"task-definition:batch-job:2"}, "100": {"task-definition:batch-job:3"}}), (0, {})],
    ids=["newest-two", "none"],
)
def test_task_definition_revisions_protect_the_newest_n_of_each_family(
    account: Account, revisions: int, protected: dict[str, set[str]]
) -> None:
    digests = seed_shop()
    for tag in OLD_TAGS:  # batch-job:1 runs 98, :2 runs 99, :3 runs 100
        register("batch-job", tag)
    for _ in range(3):  # a longer family name that `familyPrefix=batch-job` also matches
        register("batch-jobs", "104")
    config = config_with_in_use({"taskDefinitionRevisions": revisions})

    found = in_use_now(config)
    assert {d: c for d, c in found.items() if d in {digests[t] for t in OLD_TAGS}} == {
        digests[tag]: names for tag, names in protected.items()
    }
    if revisions:
        assert found[digests["104"]] == {"task-definition:batch-jobs:3", "task-definition:batch-jobs:2"}
    else:
        assert found == {}

    sync_now(account, config)
    assert expired_by_stored_policy(account) == set(OLD_TAGS) - set(protected)


# --- safety.inUse.clusters ------------------------------------------------------------------------------------


def test_in_use_clusters_narrow_the_ecs_scan_to_matching_clusters(account: Account) -> None:
    digests = seed_shop()
    prod_task = start_task("99", cluster="prod-main")
    start_task("100", cluster="dev-main")
    create_service("dev-web", tag="98", cluster="dev-main")
    config = config_with_in_use({"clusters": ["prod-*"]})

    assert in_use_now(config) == {digests["99"]: {f"ecs-task:prod-main/{prod_task}"}}
    every_cluster = in_use_now(config_with_in_use())
    assert set(every_cluster) == {digests["98"], digests["99"], digests["100"]}

    result = sync_now(account, config)
    assert result.protected == 1
    assert expired_by_stored_policy(account) == {"98", "100"}


# --- a source switched off ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("source", "kind"),
    [
        ("ecsTasks", "ecs-running-task"),
        ("ecsServices", "ecs-service-desired-0"),
        ("lambdaFunctions", "lambda-latest"),
        ("schedulerSchedules", "scheduler-schedule-other-group"),
        ("eventRules", "rule-custom-bus"),
    ],
)
def test_a_source_switched_off_leaves_its_images_unprotected(account: Account, source: str, kind: str) -> None:
    digests = seed_shop()
    CONSUMERS[kind]()
    config = config_with_in_use({source: False})

    assert digests["100"] not in in_use_now(config)
    assert scan_home(load_config(config)).sources == tuple(s for s in ALL_SOURCES if s != source)

    result = sync_now(account, config)
    assert (result.action, result.protected) == ("updated", 0)
    assert expired_by_stored_policy(account) == set(OLD_TAGS)
    assert account.metric(observability.SAFETY_RELAXED) == 1  # the weaker safety is reported when configured


# --- a warm worker ----------------------------------------------------------------------------------------------


def test_a_warm_worker_follows_a_retargeted_schedule_and_an_updated_function(account: Account) -> None:
    """The worker's gateways live as long as its container and keep what they read; a schedule pointed at another
    task definition, or a function given a new image, must still be seen by the next run."""
    seed_shop()
    create_schedule(tag="100")
    create_function("99")
    config = config_with_in_use()
    assert sync_now(account, config).protected == 2
    assert expired_by_stored_policy(account) == {"98"}

    retargeted = register("nightly-report", "98")
    client("scheduler").update_schedule(
        Name="nightly",
        GroupName="batch",
        ScheduleExpression="cron(0 3 * * ? *)",
        FlexibleTimeWindow={"Mode": "OFF"},
        Target={"Arn": CLUSTER_ARN, "RoleArn": ROLE_ARN, "EcsParameters": {"TaskDefinitionArn": retargeted}},
    )
    client("lambda").update_function_code(FunctionName="api", ImageUri=image_uri("101"))
    result = sync_now(account, config)  # same clients, same gateways: only the scan's 60-second TTL has passed

    assert (result.action, result.protected) == ("updated", 1)
    assert expired_by_stored_policy(account) == {"99", "100"}


# --- gaps found: consumers the inventory does not see ---------------------------------------------------------


def test_a_weighted_alias_protects_both_versions_it_routes_to(account: Account) -> None:
    digests = seed_shop()
    create_function("99", publish=True)  # version 1
    lambdas = client("lambda")
    lambdas.update_function_code(FunctionName="api", ImageUri=image_uri("100"), Publish=True)  # version 2
    lambdas.update_function_code(FunctionName="api", ImageUri=image_uri("101"))  # $LATEST moves on
    lambdas.create_alias(
        FunctionName="api", Name="live", FunctionVersion="1", RoutingConfig={"AdditionalVersionWeights": {"2": 0.1}}
    )
    config = config_with_in_use()

    found = in_use_now(config)
    assert found[digests["99"]] == {"lambda:api:live"}
    assert digests["100"] in found, "version 2 takes 10% of live's traffic, yet its image is not in the inventory"

    sync_now(account, config)
    assert expired_by_stored_policy(account) == {"98"}


def test_a_service_with_task_sets_scaled_to_zero_protects_its_image(account: Account) -> None:
    digests = seed_shop()
    ensure_cluster()
    ecs = client("ecs")
    ecs.create_service(cluster=CLUSTER, serviceName="ext", desiredCount=0, deploymentController={"type": "EXTERNAL"})
    ecs.create_task_set(cluster=CLUSTER, service="ext", taskDefinition=register("ext", "100"))
    service = ecs.describe_services(cluster=CLUSTER, services=["ext"])["services"][0]
    assert [s["taskDefinition"].rsplit("/", 1)[-1] for s in service["taskSets"]] == ["ext:1"]
    assert ecs.list_tasks(cluster=CLUSTER)["taskArns"] == []
    config = config_with_in_use()

    assert in_use_now(config).get(digests["100"]) == {f"ecs-service:{CLUSTER}/ext"}
    sync_now(account, config)
    assert expired_by_stored_policy(account) == {"98", "99"}
