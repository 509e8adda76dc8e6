"""Reading events at the edge (housekeeper.handlers.events): Powertools' data classes in, typed values out, and a
MalformedEvent naming the place for anything else."""

from __future__ import annotations

import json
from typing import Any

import pytest
from aws_lambda_powertools.utilities.data_classes import EventBridgeEvent, SQSEvent
from aws_lambda_powertools.utilities.data_classes.sqs_event import SQSRecord
from housekeeper.core.errors import MalformedEvent
from housekeeper.handlers import events
from housekeeper.logic.outcomes import TriggerKind

PARAMETER = "/ecr-housekeeper/config"
SERVICE_ARN = "arn:aws:ecs:us-east-1:123456789012:service/prod-main/api"


def completed(**detail: Any) -> dict[str, Any]:
    return {
        "id": "evt-1",
        "detail-type": "ECS Deployment State Change",
        "resources": [SERVICE_ARN],
        "detail": {"eventName": "SERVICE_DEPLOYMENT_COMPLETED", "deploymentId": "ecs-svc/1", **detail},
    }


@pytest.mark.parametrize("raw", [[], "text", 7, None])
def test_an_event_that_is_not_an_object_is_malformed_for_every_reader(raw: Any) -> None:
    with pytest.raises(MalformedEvent, match="object"):
        events.sync_trigger(EventBridgeEvent(raw), PARAMETER)
    with pytest.raises(MalformedEvent, match="object"):
        events.deployment(EventBridgeEvent(raw))


def test_a_completed_deployment_is_read_with_its_cluster_and_service() -> None:
    deployment = events.deployment(EventBridgeEvent(completed()))
    assert (deployment.completed, deployment.cluster, deployment.service, deployment.deployment_id) == (
        True,
        "prod-main",
        "api",
        "ecs-svc/1",
    )


def test_another_deployment_event_needs_no_service() -> None:
    raw = completed(eventName="SERVICE_DEPLOYMENT_IN_PROGRESS")
    del raw["resources"]
    assert not events.deployment(EventBridgeEvent(raw)).completed


@pytest.mark.parametrize(
    ("change", "path"),
    [
        ({"resources": ["arn:aws:ecs:us-east-1:123456789012:service/api"]}, r"\$\.resources\[0\]"),
        ({"resources": []}, r"\$\.resources"),
        ({"detail": {"eventName": "SERVICE_DEPLOYMENT_COMPLETED"}}, r"\$\.detail\.deploymentId"),
        ({"detail": {"eventName": 3}}, r"\$\.detail\.eventName"),
    ],
)
def test_a_completed_deployment_without_what_it_needs_names_the_place(change: dict[str, Any], path: str) -> None:
    with pytest.raises(MalformedEvent, match=path):
        events.deployment(EventBridgeEvent({**completed(), **change}))


def test_a_parameter_store_change_needs_a_name_and_an_operation() -> None:
    raw = {"detail-type": "Parameter Store Change", "detail": {"name": PARAMETER}}
    with pytest.raises(MalformedEvent, match=r"\$\.detail\.operation"):
        events.sync_trigger(EventBridgeEvent(raw), PARAMETER)


def test_a_parameter_named_by_arn_is_the_config_parameter() -> None:
    arn = f"arn:aws:ssm:us-east-1:123456789012:parameter{PARAMETER}"
    raw = {"detail-type": "Parameter Store Change", "detail": {"name": PARAMETER[1:], "operation": "Update"}}
    trigger = events.sync_trigger(EventBridgeEvent(raw), arn)
    assert (trigger.kind, trigger.ignore) == (TriggerKind.CONFIG_CHANGE, None)


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ("{not json", "not usable JSON"),
        ('{"repositoryName": "a", "x": NaN}', "not usable JSON"),
        (json.dumps(["shop/api"]), "JSON object"),
        (json.dumps({"repositoryName": "  "}), "repositoryName"),
        (json.dumps({"repositoryName": "shop/api", "trigger": 3}), "trigger"),
    ],
)
def test_a_sync_message_that_cannot_be_used_is_malformed(body: str, message: str) -> None:
    with pytest.raises(MalformedEvent, match=message):
        events.sync_message(SQSRecord({"body": body}))


def test_only_a_batch_queued_by_a_config_change_reads_the_config_afresh() -> None:
    def batch(*bodies: Any) -> SQSEvent:
        return SQSEvent({"Records": [{"messageId": str(i), "body": b} for i, b in enumerate(bodies)]})

    change = json.dumps({"repositoryName": "shop/api", "trigger": "config-change"})
    sweep = json.dumps({"repositoryName": "shop/api", "trigger": "sweep"})
    assert events.asks_for_fresh_config(batch("{broken", change))
    assert not events.asks_for_fresh_config(batch(sweep, "{broken"))
    assert not events.asks_for_fresh_config(SQSEvent({"Records": "not a list"}))
    assert not events.asks_for_fresh_config(SQSEvent([]))  # type: ignore[arg-type]
