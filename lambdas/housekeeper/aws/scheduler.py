"""The EventBridge Scheduler gateway: schedules that run ECS tasks, for the in-use inventory.

ListSchedules shows only each schedule's target ARN, so GetSchedule is called just for the schedules whose target
is an ECS cluster, to read the task definition they run; its answer is kept per gateway (one per warm Lambda) until
ListSchedules shows the schedule modified.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from housekeeper.aws.errors import aws_call
from housekeeper.aws.ports import ScheduledTask
from housekeeper.aws.session import client as make_client

# ListSchedules and ListScheduleGroups return at most 100 items per page.
LIST_SCHEDULES_PAGE = 100


def is_ecs_cluster_arn(arn: str) -> bool:
    """`arn:aws:ecs:<region>:<account>:cluster/<name>`: the target of a schedule or rule that runs a task."""
    parts = arn.split(":", 5)
    return len(parts) == 6 and parts[2] == "ecs" and parts[5].startswith("cluster/")


class Boto3SchedulerGateway:
    """SchedulerGateway on boto3."""

    def __init__(
        self,
        scheduler_client: Any | None = None,
        task_definitions: dict[tuple[str, str, str], str | None] | None = None,
    ) -> None:
        self._scheduler = scheduler_client or make_client("scheduler")
        # (group, name, last modified) -> its task definition; shared across gateways when the caller passes it.
        self._task_definitions: dict[tuple[str, str, str], str | None] = (
            {} if task_definitions is None else task_definitions
        )

    def iter_scheduled_tasks(self) -> Iterator[ScheduledTask]:
        """Every schedule, in every group, whose target runs an ECS task definition."""
        groups = self._scheduler.get_paginator("list_schedule_groups")
        with aws_call("scheduler:ListScheduleGroups"):
            names = [str(g["Name"]) for page in groups.paginate() for g in page.get("ScheduleGroups", [])]
        for group in names:
            schedules = self._scheduler.get_paginator("list_schedules")
            with aws_call("scheduler:ListSchedules", group):
                pages = schedules.paginate(GroupName=group, PaginationConfig={"PageSize": LIST_SCHEDULES_PAGE})
                summaries = [s for page in pages for s in page.get("Schedules", [])]
            for summary in summaries:
                if not is_ecs_cluster_arn(str((summary.get("Target") or {}).get("Arn", ""))):
                    continue
                name = str(summary["Name"])
                task_definition = self._task_definition(group, name, str(summary.get("LastModificationDate", "")))
                if task_definition:
                    yield ScheduledTask(group, name, task_definition)

    def _task_definition(self, group: str, name: str, modified: str) -> str | None:
        key = (group, name, modified)
        if key not in self._task_definitions:
            with aws_call("scheduler:GetSchedule", f"{group}/{name}"):
                schedule = self._scheduler.get_schedule(Name=name, GroupName=group)
            found = ((schedule.get("Target") or {}).get("EcsParameters") or {}).get("TaskDefinitionArn")
            self._task_definitions[key] = str(found) if found else None
        return self._task_definitions[key]
