"""The EventBridge Scheduler gateway: schedules that run ECS tasks, for the in-use inventory.

ListSchedules shows only each schedule's target ARN, so GetSchedule is called just for the schedules whose target
is an ECS cluster, to read the task definition they run.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from housekeeper.aws.errors import aws_call
from housekeeper.aws.ports import ScheduledTask
from housekeeper.aws.session import client as make_client


def is_ecs_cluster_arn(arn: str) -> bool:
    """`arn:aws:ecs:<region>:<account>:cluster/<name>`: the target of a schedule or rule that runs a task."""
    parts = arn.split(":", 5)
    return len(parts) == 6 and parts[2] == "ecs" and parts[5].startswith("cluster/")


class Boto3SchedulerGateway:
    """SchedulerGateway on boto3."""

    def __init__(self, scheduler_client: Any | None = None) -> None:
        self._scheduler = scheduler_client or make_client("scheduler")

    def iter_scheduled_tasks(self) -> Iterator[ScheduledTask]:
        """Every schedule, in every group, whose target runs an ECS task definition."""
        groups = self._scheduler.get_paginator("list_schedule_groups")
        with aws_call("scheduler:ListScheduleGroups"):
            names = [str(g["Name"]) for page in groups.paginate() for g in page.get("ScheduleGroups", [])]
        for group in names:
            schedules = self._scheduler.get_paginator("list_schedules")
            with aws_call("scheduler:ListSchedules", group):
                summaries = [s for page in schedules.paginate(GroupName=group) for s in page.get("Schedules", [])]
            for summary in summaries:
                if not is_ecs_cluster_arn(str((summary.get("Target") or {}).get("Arn", ""))):
                    continue
                name = str(summary["Name"])
                with aws_call("scheduler:GetSchedule", f"{group}/{name}"):
                    schedule = self._scheduler.get_schedule(Name=name, GroupName=group)
                task_definition = ((schedule.get("Target") or {}).get("EcsParameters") or {}).get("TaskDefinitionArn")
                if task_definition:
                    yield ScheduledTask(group, name, str(task_definition))
