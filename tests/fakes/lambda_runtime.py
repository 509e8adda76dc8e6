"""What the Lambda runtime hands a handler in tests: sample events and a context."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from tests.fakes.accounts import ACCOUNT, REGION


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


@dataclass
class FakeLambdaContext:
    function_name: str = "tag-deployment"
    memory_limit_in_mb: int = 256
    invoked_function_arn: str = f"arn:aws:lambda:{REGION}:{ACCOUNT}:function:tag-deployment"
    aws_request_id: str = "00000000-0000-0000-0000-000000000000"
