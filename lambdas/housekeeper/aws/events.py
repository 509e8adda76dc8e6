"""The EventBridge gateway: rules whose targets run ECS tasks, for the in-use inventory (every event bus)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from housekeeper.aws.errors import aws_call
from housekeeper.aws.ports import ScheduledTask
from housekeeper.aws.scheduler import is_ecs_cluster_arn
from housekeeper.aws.session import client as make_client


class Boto3EventsGateway:
    """EventsGateway on boto3."""

    def __init__(self, events_client: Any | None = None) -> None:
        self._events = events_client or make_client("events")

    def iter_rule_tasks(self) -> Iterator[ScheduledTask]:
        """Every rule, on every event bus, with a target that runs an ECS task definition."""
        rules = self._events.get_paginator("list_rules")
        targets = self._events.get_paginator("list_targets_by_rule")
        for bus in self._event_buses():
            with aws_call("events:ListRules", bus):
                names = [str(r["Name"]) for page in rules.paginate(EventBusName=bus) for r in page.get("Rules", [])]
            for rule in names:
                with aws_call("events:ListTargetsByRule", f"{bus}/{rule}"):
                    found = [
                        t for page in targets.paginate(Rule=rule, EventBusName=bus) for t in page.get("Targets", [])
                    ]
                for target in found:
                    task_definition = (target.get("EcsParameters") or {}).get("TaskDefinitionArn")
                    if task_definition and is_ecs_cluster_arn(str(target.get("Arn", ""))):
                        yield ScheduledTask(bus, rule, str(task_definition))

    def _event_buses(self) -> list[str]:
        """ListEventBuses has no boto3 paginator, so its NextToken is followed here."""
        names: list[str] = []
        token: str | None = None
        while True:
            with aws_call("events:ListEventBuses"):
                response = self._events.list_event_buses(**({"NextToken": token} if token else {}))
            names.extend(str(bus["Name"]) for bus in response.get("EventBuses", []))
            token = response.get("NextToken")
            if not token:
                return names
