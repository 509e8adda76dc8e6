"""SchedulerGateway in memory."""

from __future__ import annotations

from collections.abc import Iterator

from housekeeper.aws.ports import (
    ScheduledTask,
)


class FakeScheduler:
    """SchedulerGateway in memory."""

    def __init__(self) -> None:
        self.tasks: list[ScheduledTask] = []
        self.fail: Exception | None = None

    def iter_scheduled_tasks(self) -> Iterator[ScheduledTask]:
        if self.fail is not None:
            raise self.fail
        yield from list(self.tasks)
