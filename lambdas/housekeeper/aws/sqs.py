"""The SQS gateway: the sync queue's producer side (plan_sync) and a small consumer side (tests, the demo).

SendMessageBatch succeeds as a call even when some entries fail, so every response is checked: failed entries
that were not the sender's fault (throttling, an internal error) are sent again with a short back-off; if any
entry still fails, or fails by the sender's fault (which no retry fixes), the call raises, so plan_sync fails
loudly and EventBridge retries it rather than silently leaving repositories unsynced.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Iterable, Iterator, Mapping
from itertools import islice
from typing import Any

from housekeeper.aws.errors import AwsError, Throttled, aws_call
from housekeeper.aws.session import client

# SendMessageBatch takes at most ten entries.
MAX_BATCH = 10
# Attempts per entry, counting the first one.
MAX_ATTEMPTS = 4
BASE_DELAY_SECONDS = 0.2


def _batches(bodies: Iterable[Mapping[str, Any]], size: int) -> Iterator[list[Mapping[str, Any]]]:
    iterator = iter(bodies)
    while batch := list(islice(iterator, size)):
        yield batch


class Boto3SqsGateway:
    """SQS through boto3 with adaptive retries."""

    def __init__(self, sqs_client: Any | None = None, sleep: Callable[[float], None] = time.sleep) -> None:
        self._client = sqs_client
        self._sleep = sleep

    @property
    def _sqs(self) -> Any:
        return self._client if self._client is not None else client("sqs")

    def send_messages(self, queue_url: str, bodies: Iterable[Mapping[str, Any]]) -> int:
        """Send each body as one JSON message, ten per SendMessageBatch; returns how many were sent."""
        sent = 0
        for batch in _batches(bodies, MAX_BATCH):
            entries = {str(index): json.dumps(body, sort_keys=True) for index, body in enumerate(batch)}
            self._send_batch(queue_url, entries)
            sent += len(entries)
        return sent

    def _send_batch(self, queue_url: str, entries: dict[str, str]) -> None:
        pending = dict(entries)
        for attempt in range(1, MAX_ATTEMPTS + 1):
            with aws_call("sqs:SendMessageBatch", queue_url):
                response = self._sqs.send_message_batch(
                    QueueUrl=queue_url,
                    Entries=[{"Id": entry_id, "MessageBody": body} for entry_id, body in pending.items()],
                )
            failed = response.get("Failed") or []
            if not failed:
                return
            permanent = [f for f in failed if f.get("SenderFault")]
            if permanent or attempt == MAX_ATTEMPTS:
                worst = (permanent or failed)[0]
                error = Throttled if not permanent else AwsError
                raise error(
                    "sqs:SendMessageBatch",
                    str(worst.get("Code", "Unknown")),
                    f"{len(failed)} of {len(pending)} message(s) not sent after {attempt} attempt(s): "
                    f"{worst.get('Message', '')}",
                    queue_url,
                )
            pending = {f["Id"]: pending[f["Id"]] for f in failed if f.get("Id") in pending}
            self._sleep(BASE_DELAY_SECONDS * 2 ** (attempt - 1))
