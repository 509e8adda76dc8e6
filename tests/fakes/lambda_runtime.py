"""What the Lambda runtime hands a handler in tests: sample events, in the envelope AWS sends them in, and a context."""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from tests.fakes.accounts import ACCOUNT, CONFIG_PARAMETER, REGION, sha256_digest

EVENT_TIME = "2025-06-01T00:00:00Z"
SYNC_QUEUE_ARN = f"arn:aws:sqs:{REGION}:{ACCOUNT}:sync"


def deployment_event(
    name: str, cluster: str, service: str, deployment_id: str, event_id: str = "ddca6449-b258-46c0-8653-e0e3a6EXAMPLE"
) -> dict[str, Any]:
    """A sample event from tests/fixtures/events, pointed at a service and deployment of the test account."""
    event: dict[str, Any] = json.loads((Path(__file__).parents[1] / "fixtures" / "events" / name).read_text())
    event["id"] = event_id
    event["account"], event["region"] = ACCOUNT, REGION
    event["resources"] = [f"arn:aws:ecs:{REGION}:{ACCOUNT}:service/{cluster}/{service}"]
    event["detail"]["deploymentId"] = deployment_id
    return event


def forwarded_deployment_event(
    account: str,
    region: str,
    cluster: str,
    service: str,
    deployment_id: str,
    name: str = "deployment_completed.json",
    event_id: str = "5b1c8e2a-7f3d-4e9b-9c41-2d6a0f8e3b17",
) -> dict[str, Any]:
    """A deployment event of a workload account as the hub's bus receives it from the spoke's forwarding rule:
    EventBridge keeps the workload account's id in `account` and its region in `region`, and `resources[0]` is the
    service's ARN there."""
    event = deployment_event(name, cluster, service, deployment_id, event_id)
    event["account"], event["region"] = account, region
    event["resources"] = [f"arn:aws:ecs:{region}:{account}:service/{cluster}/{service}"]
    return event


def _eventbridge(
    event_id: str, source: str, detail_type: str, resources: Sequence[str], detail: Mapping[str, Any]
) -> dict[str, Any]:
    """The envelope every EventBridge event comes in, from the test account and region."""
    return {
        "version": "0",
        "id": event_id,
        "detail-type": detail_type,
        "source": source,
        "account": ACCOUNT,
        "time": EVENT_TIME,
        "region": REGION,
        "resources": list(resources),
        "detail": dict(detail),
    }


def parameter_change(operation: str = "Update", name: str = CONFIG_PARAMETER) -> dict[str, Any]:
    """SSM's `Parameter Store Change` for a String parameter (`operation`: Create, Update, Delete, ...)."""
    return _eventbridge(
        "1c5a3e2f-9d2b-4c0e-8a11-6f0b3c2d4e01",
        "aws.ssm",
        "Parameter Store Change",
        [f"arn:aws:ssm:{REGION}:{ACCOUNT}:parameter/{name.lstrip('/')}"],
        {"operation": operation, "name": name, "type": "String"},
    )


def image_push(repository: str, result: str = "SUCCESS", action: str = "PUSH", tag: str = "1") -> dict[str, Any]:
    """ECR's `ECR Image Action` for `<repository>:<tag>` (`action`: PUSH or DELETE; `result`: SUCCESS or FAILED)."""
    return _eventbridge(
        "13cde686-328b-6117-af20-0e5566167482",
        "aws.ecr",
        "ECR Image Action",
        [],
        {
            "result": result,
            "repository-name": repository,
            "image-digest": sha256_digest(f"{repository}:{tag}"),
            "action-type": action,
            "image-tag": tag,
        },
    )


# The drift sweep: what the stack's scheduled rule sends (an empty detail).
SCHEDULED_EVENT = _eventbridge(
    "53dc4d37-cffa-4f76-80c9-8b7d4a4d2eaa",
    "aws.events",
    "Scheduled Event",
    [f"arn:aws:events:{REGION}:{ACCOUNT}:rule/ecr-housekeeper-drift-sweep"],
    {},
)


def sqs_event(messages: Sequence[Mapping[str, Any]]) -> dict[str, Any]:
    """The batch the Lambda poller hands the worker for messages as `sqs.receive_message` returned them."""
    return {
        "Records": [
            {
                "messageId": m["MessageId"],
                "receiptHandle": m["ReceiptHandle"],
                "body": m["Body"],
                "attributes": m.get("Attributes", {}),
                "messageAttributes": {},
                "md5OfBody": m.get("MD5OfBody", ""),
                "eventSource": "aws:sqs",
                "eventSourceARN": SYNC_QUEUE_ARN,
                "awsRegion": REGION,
            }
            for m in messages
        ]
    }


@dataclass
class FakeLambdaContext:
    function_name: str = "tag-deployment"
    memory_limit_in_mb: int = 256
    invoked_function_arn: str = f"arn:aws:lambda:{REGION}:{ACCOUNT}:function:tag-deployment"
    aws_request_id: str = "00000000-0000-0000-0000-000000000000"
