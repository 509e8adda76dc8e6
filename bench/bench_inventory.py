"""In-use inventory benchmark: 50 clusters x 40 services, 500 Lambda image functions, 200 schedules, on the moto server.

The scan of one place, as the sync worker runs it for each place (housekeeper.logic.inventory.scan_inventory: the
same per-place reading as scan_places, with the real boto3 gateways, over HTTP)
is measured three ways in one run:
- cold: fresh gateways, as in a new Lambda container (every task definition, function version and schedule read);
- warm: the same gateways again, as in a warm container (immutable task definition revisions and function
  versions, and unmodified schedules, come from the gateways' caches);
- bare: exactly the calls the cold scan made, replayed with boto3 and nothing else (the floor for this account).
Figures: API calls by operation for each scan, seconds, and the ratios cold / bare and warm / cold.
"""

from __future__ import annotations

import contextlib
import copy
import hashlib
import json
import logging
import time
from collections import Counter
from collections.abc import Iterator
from typing import Any

from botocore import xform_name

from demo.emulator import EmulatedAccount, emulated_account_environment

CLUSTERS = 50
SERVICES_PER_CLUSTER = 40
FUNCTIONS = 500
SCHEDULES = 200
SCHEDULE_GROUPS = 4
RULES = 20
REPOSITORY = "benchapp"  # no '/': the emulated Lambda resolves only such repository names in its ECR
BUILDS = 40
SERVICES = ("ecr", "ecs", "lambda", "scheduler", "events", "iam")
DOCKER_V2 = "application/vnd.docker.distribution.manifest.v2+json"


def _manifest(build: int) -> str:
    digest = "sha256:" + hashlib.sha256(f"{REPOSITORY}:{build}".encode()).hexdigest()
    layer = "sha256:" + hashlib.sha256(f"{REPOSITORY}:{build}:layer".encode()).hexdigest()
    return json.dumps(
        {
            "schemaVersion": 2,
            "mediaType": DOCKER_V2,
            "config": {"mediaType": "application/vnd.docker.container.image.v1+json", "size": 1, "digest": digest},
            "layers": [{"mediaType": "application/vnd.docker.image.rootfs.diff.tar.gzip", "size": 1, "digest": layer}],
        }
    )


def _seed() -> dict[str, int]:
    """The account: images, clusters with services and a running task each, functions with an alias, schedules."""
    from housekeeper.aws.session import client

    ecr, ecs, lambdas, scheduler, events, iam = (client(name) for name in SERVICES)
    ecr.create_repository(repositoryName=REPOSITORY)
    registry = f"123456789012.dkr.ecr.{ecr.meta.region_name}.amazonaws.com/{REPOSITORY}"
    for build in range(1, BUILDS + 1):
        manifest = _manifest(build)
        digest = "sha256:" + hashlib.sha256(manifest.encode()).hexdigest()
        ecr.put_image(
            repositoryName=REPOSITORY,
            imageManifest=manifest,
            imageManifestMediaType=DOCKER_V2,
            imageTag=str(build),
            imageDigest=digest,
        )
    task_definitions: list[str] = []
    for c in range(CLUSTERS):
        cluster = f"cluster-{c:02d}"
        ecs.create_cluster(clusterName=cluster)
        for s in range(SERVICES_PER_CLUSTER):
            family = f"{cluster}-svc-{s:02d}"
            image = f"{registry}:{1 + (c * SERVICES_PER_CLUSTER + s) % BUILDS}"
            arn = ecs.register_task_definition(
                family=family, containerDefinitions=[{"name": "app", "image": image, "memory": 128}]
            )["taskDefinition"]["taskDefinitionArn"]
            task_definitions.append(arn)
            deployment = ecs.create_service(cluster=cluster, serviceName=family, taskDefinition=arn, desiredCount=1)
            ecs.run_task(
                cluster=cluster,
                taskDefinition=arn,
                launchType="FARGATE",
                startedBy=deployment["service"]["deployments"][0]["id"],
                group=f"service:{family}",
            )
    role = iam.create_role(RoleName="bench", AssumeRolePolicyDocument="{}")["Role"]["Arn"]
    for f in range(FUNCTIONS):
        name = f"fn-{f:03d}"
        lambdas.create_function(
            FunctionName=name, PackageType="Image", Role=role, Code={"ImageUri": f"{registry}:{1 + f % BUILDS}"}
        )
        version = lambdas.publish_version(FunctionName=name)["Version"]
        lambdas.create_alias(FunctionName=name, Name="live", FunctionVersion=version)
    for g in range(SCHEDULE_GROUPS):
        scheduler.create_schedule_group(Name=f"group-{g}")
    for n in range(SCHEDULES):
        scheduler.create_schedule(
            Name=f"schedule-{n:03d}",
            GroupName=f"group-{n % SCHEDULE_GROUPS}",
            ScheduleExpression="rate(1 hour)",
            FlexibleTimeWindow={"Mode": "OFF"},
            Target={
                "Arn": f"arn:aws:ecs:us-east-1:123456789012:cluster/cluster-{n % CLUSTERS:02d}",
                "RoleArn": role,
                "EcsParameters": {"TaskDefinitionArn": task_definitions[n]},
            },
        )
    for r in range(RULES):
        events.put_rule(Name=f"rule-{r:02d}", ScheduleExpression="rate(1 day)")
        events.put_targets(
            Rule=f"rule-{r:02d}",
            Targets=[
                {
                    "Id": "1",
                    "Arn": f"arn:aws:ecs:us-east-1:123456789012:cluster/cluster-{r:02d}",
                    "RoleArn": role,
                    "EcsParameters": {"TaskDefinitionArn": task_definitions[-1 - r]},
                }
            ],
        )
    return {"task definitions": len(task_definitions)}


@contextlib.contextmanager
def _recorded() -> Iterator[list[tuple[str, str, dict[str, Any]]]]:
    """Every API call the shared clients make: (service, operation, the caller's parameters)."""
    from housekeeper.aws.session import client

    calls: list[tuple[str, str, dict[str, Any]]] = []
    clients = {name: client(name) for name in SERVICES}

    def recorder(service: str) -> Any:
        def record(params: dict[str, Any], model: Any, **_: Any) -> None:
            calls.append((service, model.name, copy.deepcopy(params)))

        return record

    for name, each in clients.items():
        each.meta.events.register("provide-client-params", recorder(name), unique_id=f"bench-inventory-{name}")
    try:
        yield calls
    finally:
        for name, each in clients.items():
            each.meta.events.unregister("provide-client-params", unique_id=f"bench-inventory-{name}")


def _by_operation(calls: list[tuple[str, str, dict[str, Any]]]) -> dict[str, int]:
    return dict(sorted(Counter(f"{service}:{operation}" for service, operation, _ in calls).items()))


def _replay(calls: list[tuple[str, str, dict[str, Any]]]) -> float:
    """The same calls with boto3 and nothing else: the floor for reading this account."""
    from housekeeper.aws.session import client

    started = time.perf_counter()
    for service, operation, params in calls:
        getattr(client(service), xform_name(operation))(**params)
    return time.perf_counter() - started


def _scan(sources: Any) -> tuple[float, list[tuple[str, str, dict[str, Any]]], int]:
    from housekeeper.core.config import InUseSettings
    from housekeeper.logic.inventory import scan_inventory

    with _recorded() as calls:
        started = time.perf_counter()
        inventory = scan_inventory(InUseSettings(), sources)
        seconds = time.perf_counter() - started
    return seconds, calls, len(inventory.uses)


def run() -> dict[str, Any]:
    from housekeeper.aws.ecs import Boto3EcsGateway
    from housekeeper.aws.events import Boto3EventsGateway
    from housekeeper.aws.lambda_functions import Boto3LambdaGateway
    from housekeeper.aws.ports import InventorySources
    from housekeeper.aws.scheduler import Boto3SchedulerGateway
    from housekeeper.aws.session import client, reset_clients

    logging.getLogger("werkzeug").setLevel(logging.ERROR)
    account = EmulatedAccount().start()
    try:
        with emulated_account_environment(account):
            reset_clients()
            started = time.perf_counter()
            seeded = _seed()
            seed_seconds = time.perf_counter() - started
            sources = InventorySources(
                ecs=Boto3EcsGateway(client("ecs")),
                lambdas=Boto3LambdaGateway(client("lambda")),
                scheduler=Boto3SchedulerGateway(client("scheduler")),
                events=Boto3EventsGateway(client("events")),
            )
            cold_seconds, cold_calls, uses = _scan(sources)
            warm_seconds, warm_calls, warm_uses = _scan(sources)
            bare_seconds = _replay(cold_calls)
            reset_clients()
    finally:
        account.stop()
    assert uses == warm_uses, "a warm scan must find what a cold one finds"
    return {
        "clusters x services": f"{CLUSTERS} x {SERVICES_PER_CLUSTER} (one running task each)",
        "Lambda image functions (each with an alias)": FUNCTIONS,
        "Scheduler schedules running ECS tasks": SCHEDULES,
        "EventBridge rules running ECS tasks": RULES,
        "seed seconds": round(seed_seconds, 1),
        "task definitions": seeded["task definitions"],
        "image uses found": uses,
        "cold scan: API calls": len(cold_calls),
        "cold scan: seconds": round(cold_seconds, 2),
        "bare replay of the cold scan's calls: seconds": round(bare_seconds, 2),
        "ratio cold scan / bare calls": round(cold_seconds / bare_seconds, 2),
        "warm scan: API calls": len(warm_calls),
        "warm scan: seconds": round(warm_seconds, 2),
        "ratio warm / cold seconds": round(warm_seconds / cold_seconds, 2),
        "cold scan: calls by operation": _by_operation(cold_calls),
        "warm scan: calls by operation": _by_operation(warm_calls),
    }


if __name__ == "__main__":
    for key, value in run().items():
        print(f"{key}: {value}")
