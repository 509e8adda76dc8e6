"""SqsGateway in memory."""

from __future__ import annotations

import json
from typing import Any


class FakeSqs:
    """SqsGateway in memory. `queues` holds the JSON bodies per queue URL; `batch_sizes` one entry per batch call."""

    def __init__(self) -> None:
        self.queues: dict[str, list[dict[str, Any]]] = {}
        self.batch_sizes: list[int] = []

    def send_messages(self, queue_url: str, bodies: Any) -> int:
        queue = self.queues.setdefault(queue_url, [])
        batch: list[dict[str, Any]] = []
        sent = 0
        for body in bodies:
            batch.append(json.loads(json.dumps(body)))
            if len(batch) == 10:
                queue.extend(batch)
                self.batch_sizes.append(len(batch))
                sent += len(batch)
                batch = []
        if batch:
            queue.extend(batch)
            self.batch_sizes.append(len(batch))
            sent += len(batch)
        return sent
