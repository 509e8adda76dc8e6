"""A consumer that names a task definition which no longer exists runs nothing: the scan skips it, with a warning.

The alternative, failing the inventory closed, would stop every repository's sync for one stale schedule.
"""

from __future__ import annotations

import json

import boto3
import pytest
from housekeeper.aws.ecs import Boto3EcsGateway
from housekeeper.aws.errors import AccessDenied
from housekeeper.aws.events import Boto3EventsGateway
from housekeeper.aws.lambda_functions import Boto3LambdaGateway
from housekeeper.aws.scheduler import Boto3SchedulerGateway
from housekeeper.core.config import InUseSettings
from housekeeper.logic.inventory import InventoryIncomplete, InventorySources, scan_inventory

REGISTRY = "123456789012.dkr.ecr.us-east-1.amazonaws.com"
CLUSTER_ARN = "arn:aws:ecs:us-east-1:123456789012:cluster/prod-main"


@pytest.fixture
def account(mocked_aws: None) -> dict[str, str]:
    iam = boto3.client("iam")
    role = iam.create_role(RoleName="scheduler", AssumeRolePolicyDocument=json.dumps({}))["Role"]["Arn"]
    ecs = boto3.client("ecs")
    ecs.create_cluster(clusterName="prod-main")
    live = ecs.register_task_definition(
        family="report", containerDefinitions=[{"name": "app", "image": f"{REGISTRY}/shop/report:7", "memory": 64}]
    )["taskDefinition"]["taskDefinitionArn"]
    scheduler = boto3.client("scheduler")
    for name, task_definition in (("nightly", live), ("stale", f"{live.rsplit(':', 1)[0]}:42")):
        scheduler.create_schedule(
            Name=name,
            ScheduleExpression="rate(1 day)",
            FlexibleTimeWindow={"Mode": "OFF"},
            Target={"Arn": CLUSTER_ARN, "RoleArn": role, "EcsParameters": {"TaskDefinitionArn": task_definition}},
        )
    return {"live": live}


def sources() -> InventorySources:
    return InventorySources(
        ecs=Boto3EcsGateway(boto3.client("ecs")),
        lambdas=Boto3LambdaGateway(boto3.client("lambda")),
        scheduler=Boto3SchedulerGateway(boto3.client("scheduler")),
        events=Boto3EventsGateway(boto3.client("events")),
    )


def test_a_schedule_naming_a_missing_revision_is_skipped_and_the_rest_is_found(account: dict[str, str]) -> None:
    inventory = scan_inventory(InUseSettings(), sources())
    assert [(u.consumer, u.image) for u in inventory.uses] == [
        ("schedule:default/nightly", f"{REGISTRY}/shop/report:7")
    ]
    assert "schedulerSchedules" in inventory.sources


def test_access_denied_on_a_task_definition_still_fails_closed(
    account: dict[str, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    gateway = Boto3EcsGateway(boto3.client("ecs"))

    def denied(task_definition: str) -> list[object]:
        raise AccessDenied("ecs:DescribeTaskDefinition", "AccessDeniedException", "denied", task_definition)

    monkeypatch.setattr(gateway, "task_definition_images", denied)
    with pytest.raises(InventoryIncomplete, match="schedulerSchedules"):
        scan_inventory(
            InUseSettings(),
            InventorySources(
                ecs=gateway, lambdas=sources().lambdas, scheduler=sources().scheduler, events=sources().events
            ),
        )
