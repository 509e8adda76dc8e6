"""Reading events at the edge: Powertools' event source data classes in, typed values for logic out.

The handlers receive `EventBridgeEvent` (via `@event_source`) and `SQSRecord` (from the batch processor); this module
checks the fields each trigger needs and hands logic a `Trigger`, a `DeploymentEvent` or a `SyncMessage`. Anything it
cannot use raises MalformedEvent naming the JSON path, so a bad event fails the invocation (and, after EventBridge's or
SQS's retries, ends in the DLQ) without anything being written.

Why the data classes and not Powertools' parser (pydantic, which the public layer ships): importing the parser adds
about 95 ms (a quarter) to every handler's cold start, for checks of a field or two per event that cost microseconds
either way (docs/PERFORMANCE.md, "Event parsing").
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from aws_lambda_powertools.utilities.data_classes import EventBridgeEvent, SQSEvent
from aws_lambda_powertools.utilities.data_classes.sqs_event import SQSRecord

from housekeeper.core.errors import InvalidInput, MalformedEvent
from housekeeper.core.jsonio import load_json
from housekeeper.core.names import is_account_id, is_region
from housekeeper.logic import plan
from housekeeper.logic.outcomes import TriggerKind
from housekeeper.logic.tagging import COMPLETED, DeploymentEvent
from housekeeper.logic.worker import SyncMessage

ECS_DEPLOYMENT = "ECS Deployment State Change"
PARAMETER_STORE_CHANGE = "Parameter Store Change"
ECR_IMAGE_ACTION = "ECR Image Action"
SCHEDULED = "Scheduled Event"


def _detail(event: EventBridgeEvent) -> Mapping[str, Any]:
    """The event's `detail` object, after checking the event itself is an object."""
    if not isinstance(event.raw_event, Mapping):
        raise MalformedEvent(f"expected an EventBridge event object, got {type(event.raw_event).__name__}")
    detail = event.get("detail")
    if not isinstance(detail, Mapping):
        raise MalformedEvent(
            f"expected an EventBridge event with a 'detail' object (detail-type {event.get('detail-type')!r})",
            "$.detail",
        )
    return detail


def _text(detail: Mapping[str, Any], key: str, what: str) -> str:
    value = detail.get(key)
    if not isinstance(value, str) or not value:
        raise MalformedEvent(f"{what} needs detail.{key}", f"$.detail.{key}")
    return value


def sync_trigger(event: EventBridgeEvent, config_parameter: str | None) -> plan.Trigger:
    """What plan_sync is asked to do: a config change, a push or the daily sweep."""
    if isinstance(event.raw_event, Mapping) and (
        event.get("detail-type") == SCHEDULED or event.get("source") == "aws.scheduler"
    ):
        return plan.SWEEP
    detail = _detail(event)
    detail_type = event.get("detail-type")
    if detail_type == PARAMETER_STORE_CHANGE:
        name = _text(detail, "name", "a Parameter Store Change")
        operation = _text(detail, "operation", "a Parameter Store Change")
        return plan.config_change(name, operation, config_parameter)
    if detail_type == ECR_IMAGE_ACTION:
        repository = _text(detail, "repository-name", "an ECR Image Action")
        account, region = _where(event)
        return plan.image_pushed(repository, detail.get("action-type"), detail.get("result"), account, region)
    raise MalformedEvent(f"unsupported event: detail-type {detail_type!r}", "$.detail-type")


def deployment(event: EventBridgeEvent) -> DeploymentEvent:
    """An `ECS Deployment State Change`. Only a completed deployment needs its service ARN (`resources[0]`) and
    `detail.deploymentId`; other event names come back as they are so that the handler can ignore them."""
    detail = _detail(event)
    if event.get("detail-type") != ECS_DEPLOYMENT:
        raise MalformedEvent(
            f"expected detail-type '{ECS_DEPLOYMENT}', got {event.get('detail-type')!r}", "$.detail-type"
        )
    event_name = _text(detail, "eventName", "a deployment event")
    event_id = str(event.get("id") or "")
    if event_name != COMPLETED:
        return DeploymentEvent(event_id=event_id, event_name=event_name)
    resources = event.get("resources")
    if not isinstance(resources, list) or not resources or not isinstance(resources[0], str):
        raise MalformedEvent("the event names no service: 'resources[0]' (the service ARN) is missing", "$.resources")
    cluster, service = _cluster_and_service(resources[0])
    deployment_id = _text(detail, "deploymentId", "a completed deployment")
    account, region = _where(event)
    return DeploymentEvent(event_id, event_name, resources[0], cluster, service, deployment_id, account, region)


def _where(event: EventBridgeEvent) -> tuple[str | None, str | None]:
    """The event's `account` and `region`: where it happened (absent in hand-made test events: the home place)."""
    account, region = event.get("account"), event.get("region")
    if account is not None and not (isinstance(account, str) and is_account_id(account)):
        raise MalformedEvent(f"'account' must be a 12-digit account id, got {account!r}", "$.account")
    if region is not None and not (isinstance(region, str) and is_region(region)):
        raise MalformedEvent(f"'region' must be an AWS region name, got {region!r}", "$.region")
    return account, region


def _cluster_and_service(service_arn: str) -> tuple[str, str]:
    """`arn:aws:ecs:region:account:service/<cluster>/<service>` -> (cluster, service)."""
    parts = service_arn.split(":", 5)
    resource = parts[5] if len(parts) == 6 and parts[0] == "arn" and parts[2] == "ecs" else ""
    segments = resource.split("/")
    if len(segments) != 3 or segments[0] != "service" or not segments[1] or not segments[2]:
        raise MalformedEvent(
            f"'resources[0]' is not a service ARN with its cluster (service/<cluster>/<service>): {service_arn!r}",
            "$.resources[0]",
        )
    return segments[1], segments[2]


def sync_message(record: SQSRecord) -> SyncMessage:
    """One worker message, read with the strict JSON reader (duplicate keys, NaN and the like are refused)."""
    body: Any = record.get("body")
    if isinstance(body, str | bytes):
        try:
            body = load_json(body, "sync message")
        except InvalidInput as exc:
            problem = exc.problems[0]
            raise MalformedEvent(f"the message body is not usable JSON: {problem.message}", problem.path) from None
    return SyncMessage.from_body(body)


def asks_for_fresh_config(event: SQSEvent) -> bool:
    """Messages queued by an SSM edit must see the new config, not the copy a warm worker cached before it."""
    records = event.get("Records") if isinstance(event.raw_event, Mapping) else None
    for raw in records if isinstance(records, list) else ():
        try:
            if isinstance(raw, dict) and sync_message(SQSRecord(raw)).trigger == TriggerKind.CONFIG_CHANGE:
                return True
        except MalformedEvent:
            continue
    return False
