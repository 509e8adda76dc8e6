"""The `shop` repository of the in-use inventory tests on moto, the consumers that use its builds, and the real sync
handlers run against it.

`shop` (no '/': moto's Lambda resolves an image tag in moto's ECR only for such names) holds three tagged builds
older than the 90-day catch-all (`98`, `99`, `100`) and four recent ones (`101` .. `104`), so the config's policy
expires the three old builds unless something uses them.
"""

from __future__ import annotations

import contextlib
import time
from typing import Any

from housekeeper.aws.ecr import Boto3EcrGateway
from housekeeper.aws.places import Boto3Places
from housekeeper.aws.session import client
from housekeeper.core.config import Config, load_config
from housekeeper.core.evaluator import evaluate
from housekeeper.logic import sync
from housekeeper.logic.inventory import Inventory, scan_places, shared_scanner

from demo.emulator import backdate_images
from tests.fakes import ACCOUNT, DAY, DOCKER_V2, REGION, REGISTRY, image_manifest, parameter_change, push_to_moto
from tests.integration.moto_account import Account

REPOSITORY = "shop"
CLUSTER = "prod-main"
OLD_TAGS = ("98", "99", "100")  # older than the catch-all's 90 days
NEW_TAGS = ("101", "102", "103", "104")
ROLE_ARN = f"arn:aws:iam::{ACCOUNT}:role/runner"
CLUSTER_ARN = f"arn:aws:ecs:{REGION}:{ACCOUNT}:cluster/{CLUSTER}"

# What a consumer uses: build tag -> the consumer names the inventory must report for that image.
Expected = dict[str, set[str]]


# --- the repository and the run -------------------------------------------------------------------------------


def seed_shop(repository: str = REPOSITORY, region: str | None = None) -> dict[str, str]:
    """The old and new builds, in `region` (default: the configured one); returns tag -> digest (the sha256 of
    each manifest, so the same in every region)."""
    ecr = client("ecr", region)
    ecr.create_repository(repositoryName=repository)
    now = time.time()
    digests: dict[str, str] = {}
    pushed: dict[str, float] = {}
    for offset, tag in enumerate(OLD_TAGS):
        digests[tag] = push_to_moto(ecr, repository, image_manifest(f"{repository}-{tag}"), DOCKER_V2, tag)
        pushed[digests[tag]] = now - (200 - offset) * DAY
    for offset, tag in enumerate(NEW_TAGS):
        digests[tag] = push_to_moto(ecr, repository, image_manifest(f"{repository}-{tag}"), DOCKER_V2, tag)
        pushed[digests[tag]] = now - (len(NEW_TAGS) - offset) * DAY
    backdate_images(repository, pushed, region or REGION)
    return digests


def image_uri(tag: str, repository: str = REPOSITORY) -> str:
    return f"{REGISTRY}/{repository}:{tag}"


def scan_home(config: Config) -> Inventory:
    """The inventory the sync worker reads, with the real gateways, of every place of the config (here: home)."""
    places = Boto3Places(config.estate)
    return scan_places(config.safety.in_use, places, config.estate.places(places.home))


def in_use_now(config: dict[str, Any], repository: str = REPOSITORY) -> dict[str, set[str]]:
    """digest -> consumers, as a fresh scan with the real gateways sees the repository now."""
    inventory = scan_home(load_config(config))
    images = list(Boto3EcrGateway().iter_images(repository))
    return {digest: set(consumers) for digest, consumers in inventory.in_repository(repository, images).items()}


def sync_now(account: Account, config: dict[str, Any], repository: str = REPOSITORY) -> sync.SyncResult:
    """Store the config and let the real plan_sync and sync worker handlers run, as after an SSM edit a minute
    after the last run (so the warm worker's inventory has expired); returns the repository's decision."""
    account.put_config(config)
    shared_scanner.clear()
    account.results.clear()
    account.plan(parameter_change())
    assert account.work() == []
    return next(r for r in account.results if r.repository == repository)


def expired_by_stored_policy(account: Account, repository: str = REPOSITORY) -> set[str]:
    """The tags (or digests, for untagged images) of what the policy ECR now holds expires or archives today."""
    policy = account.policy(repository)
    assert policy is not None, "no lifecycle policy was written"
    images = list(Boto3EcrGateway().iter_images(repository))
    evaluation = evaluate(policy, images, time.time())
    acted = evaluation.expiring_digests | evaluation.transitioning_digests
    return {",".join(image.tags) or image.digest for image in images if image.digest in acted}


# --- consumers ------------------------------------------------------------------------------------------------


def register(family: str, tag: str, repository: str = REPOSITORY) -> str:
    """A task definition revision running `<repository>:<tag>`; returns its ARN."""
    response = client("ecs").register_task_definition(
        family=family,
        networkMode="bridge",
        containerDefinitions=[{"name": "app", "image": image_uri(tag, repository), "memory": 128}],
    )
    return str(response["taskDefinition"]["taskDefinitionArn"])


def ensure_cluster(name: str = CLUSTER) -> None:
    client("ecs").create_cluster(clusterName=name)


def start_task(tag: str, cluster: str = CLUSTER) -> str:
    """A running task of `shop:<tag>` (FARGATE: moto needs no container instance); returns its task id."""
    ensure_cluster(cluster)
    arn = register(f"{cluster}-job", tag)
    task = client("ecs").run_task(cluster=cluster, taskDefinition=arn, launchType="FARGATE")["tasks"][0]
    return str(task["taskArn"]).rsplit("/", 1)[-1]


def create_service(name: str = "web", tag: str = "100", cluster: str = CLUSTER) -> None:
    """A service scaled to zero: no task runs, yet its images are needed the moment it scales up."""
    ensure_cluster(cluster)
    arn = register(name, tag)
    client("ecs").create_service(cluster=cluster, serviceName=name, taskDefinition=arn, desiredCount=0)


def create_function(tag: str, *, publish: bool = False) -> None:
    iam = client("iam")
    with contextlib.suppress(iam.exceptions.EntityAlreadyExistsException):
        iam.create_role(RoleName="lambda-runner", AssumeRolePolicyDocument="{}")
    client("lambda").create_function(
        FunctionName="api",
        Role=f"arn:aws:iam::{ACCOUNT}:role/lambda-runner",
        PackageType="Image",
        Code={"ImageUri": image_uri(tag)},
        Publish=publish,
    )


def lambda_alias_on_an_older_version() -> Expected:
    """`live` points at version 1 (build 100); `$LATEST` has moved on to build 101."""
    create_function("100", publish=True)
    lambdas = client("lambda")
    lambdas.create_alias(FunctionName="api", Name="live", FunctionVersion="1")
    lambdas.update_function_code(FunctionName="api", ImageUri=image_uri("101"))
    return {"100": {"lambda:api:live"}, "101": {"lambda:api:$LATEST"}}


def create_schedule(group: str = "batch", name: str = "nightly", tag: str = "100") -> None:
    ensure_cluster()
    task_definition = register("nightly-report", tag)
    scheduler = client("scheduler")
    scheduler.create_schedule_group(Name=group)
    scheduler.create_schedule(
        Name=name,
        GroupName=group,
        ScheduleExpression="cron(0 3 * * ? *)",
        FlexibleTimeWindow={"Mode": "OFF"},
        Target={"Arn": CLUSTER_ARN, "RoleArn": ROLE_ARN, "EcsParameters": {"TaskDefinitionArn": task_definition}},
    )
