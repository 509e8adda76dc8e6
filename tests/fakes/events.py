"""EventsGateway (EventBridge rules) in memory."""

from __future__ import annotations

from collections.abc import Iterator

from housekeeper.aws.ports import (
    ScheduledTask,
)


class FakeEvents:
    """EventsGateway in memory."""

    def __init__(self) -> None:
        self.tasks: list[ScheduledTask] = []
        self.fail: Exception | None = None

    def iter_rule_tasks(self) -> Iterator[ScheduledTask]:
        if self.fail is not None:
            raise self.fail
        yield from list(self.tasks)
