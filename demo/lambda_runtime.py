"""What the demo needs to play the Lambda service on the emulator: events, a context, SQS delivery, quiet logs.

moto cannot invoke a Lambda from an EventBridge rule (`put_events` to a Lambda target fails there), so the demo
delivers each event by calling the real handler with the JSON EventBridge would send. The handlers' structured
log lines go to a file, and the sync decisions they log are collected so the story can show them.
"""

from __future__ import annotations

import logging
import os
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, TextIO

import boto3

ACCOUNT_ID = "123456789012"
SERVICE_LOGGER = "ecr-housekeeper"

# Powertools settings a deployed function would have; metrics and traces have nowhere to go on a laptop.
LAMBDA_ENVIRONMENT = {
    "POWERTOOLS_SERVICE_NAME": SERVICE_LOGGER,
    "POWERTOOLS_METRICS_NAMESPACE": "EcrHousekeeper",
    "POWERTOOLS_METRICS_DISABLED": "true",
    "POWERTOOLS_TRACE_DISABLED": "true",
    "POWERTOOLS_LOG_LEVEL": "INFO",
}


@dataclass
class FakeLambdaContext:
    """The attributes Powertools reads from a Lambda context."""

    function_name: str
    memory_limit_in_mb: int = 256
    aws_request_id: str = field(default_factory=lambda: str(uuid.uuid4()))

    @property
    def invoked_function_arn(self) -> str:
        return f"arn:aws:lambda:{os.environ.get('AWS_REGION', 'us-east-1')}:{ACCOUNT_ID}:function:{self.function_name}"

    @staticmethod
    def get_remaining_time_in_millis() -> int:
        return 300_000


def _now() -> str:
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def eventbridge_event(
    detail_type: str,
    source: str,
    resources: list[str],
    detail: dict[str, Any],
    account: str | None = None,
    region: str | None = None,
) -> dict[str, Any]:
    """An event as EventBridge delivers it; `account` and `region` say where it happened (default: the hub's)."""
    return {
        "version": "0",
        "id": str(uuid.uuid4()),
        "detail-type": detail_type,
        "source": source,
        "account": account or ACCOUNT_ID,
        "time": _now(),
        "region": region or os.environ.get("AWS_REGION", "us-east-1"),
        "resources": resources,
        "detail": detail,
    }


def parameter_store_change(name: str, operation: str) -> dict[str, Any]:
    region = os.environ.get("AWS_REGION", "us-east-1")
    arn = f"arn:aws:ssm:{region}:{ACCOUNT_ID}:parameter/{name.lstrip('/')}"
    return eventbridge_event(
        "Parameter Store Change",
        "aws.ssm",
        [arn],
        {"operation": operation, "name": name, "type": "String", "description": ""},
    )


def scheduled_event() -> dict[str, Any]:
    """What an EventBridge schedule rule delivers (the daily drift sweep)."""
    region = os.environ.get("AWS_REGION", "us-east-1")
    return eventbridge_event(
        "Scheduled Event", "aws.events", [f"arn:aws:events:{region}:{ACCOUNT_ID}:rule/ecr-housekeeper-drift-sweep"], {}
    )


def deployment_completed(
    service_arn: str, deployment_id: str, account: str | None = None, region: str | None = None
) -> dict[str, Any]:
    """ECS's SERVICE_DEPLOYMENT_COMPLETED. From a workload account, the spoke's rule forwards it to the hub's bus and
    EventBridge keeps the workload account's id and region in `account` and `region`."""
    return eventbridge_event(
        "ECS Deployment State Change",
        "aws.ecs",
        [service_arn],
        {
            "eventType": "INFO",
            "eventName": "SERVICE_DEPLOYMENT_COMPLETED",
            "deploymentId": deployment_id,
            "updatedAt": _now(),
            "reason": f"ECS deployment {deployment_id} completed.",
        },
        account=account,
        region=region,
    )


class LogCollector(logging.Handler):
    """Keeps the structured fields the handlers log (e.g. `sync` for each repository decision)."""

    def __init__(self, stream: TextIO | None = None) -> None:
        super().__init__(level=logging.INFO)
        self.records: list[dict[str, Any]] = []
        self.stream = stream

    def write_lines(self, lines: list[str]) -> None:
        if self.stream is not None:
            self.stream.writelines(f"{line}\n" for line in lines)

    def reattach(self) -> None:
        """Point the Powertools handler back at the log file and INFO (a CLI command moves it to stderr)."""
        service_logger = logging.getLogger(SERVICE_LOGGER)
        service_logger.setLevel(logging.INFO)
        for handler in service_logger.handlers:
            if isinstance(handler, logging.StreamHandler) and self.stream is not None:
                handler.setStream(self.stream)

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append({"message": record.getMessage(), "level": record.levelname, **record.__dict__})

    def take(self, key: str) -> list[dict[str, Any]]:
        """The `key` field of every record that has it, then forget them all."""
        found = [record[key] for record in self.records if isinstance(record.get(key), dict)]
        self.records.clear()
        return found


@contextmanager
def handler_logs_to(path: Path) -> Iterator[LogCollector]:
    """Send the Powertools JSON log lines to `path` instead of the terminal, and collect their fields."""
    import housekeeper.observability  # noqa: F401  (builds the Powertools logger and its stdout handler)

    service_logger = logging.getLogger(SERVICE_LOGGER)
    path.parent.mkdir(parents=True, exist_ok=True)
    stream = path.open("a", encoding="utf-8")
    saved = [(handler, getattr(handler, "stream", None)) for handler in service_logger.handlers]
    for handler in service_logger.handlers:
        if isinstance(handler, logging.StreamHandler):
            handler.setStream(stream)
    collector = LogCollector(stream)
    service_logger.addHandler(collector)
    collector.reattach()
    try:
        yield collector
    finally:
        service_logger.removeHandler(collector)
        for handler, original in saved:
            if isinstance(handler, logging.StreamHandler) and original is not None:
                handler.setStream(original)
        stream.close()


def drain_queue(
    queue_url: str, function: Callable[[dict[str, Any], Any], dict[str, Any]], function_name: str
) -> tuple[int, int]:
    """Play the SQS event source mapping: batches of up to 10 to the handler; delete what succeeded.

    Returns (messages delivered, messages that failed). Failed messages are deleted too here, after being
    counted, so that the demo never loops; Lambda would retry them and then move them to the dead-letter queue.
    """
    sqs = boto3.client("sqs")
    delivered = failed = 0
    while True:
        response = sqs.receive_message(QueueUrl=queue_url, MaxNumberOfMessages=10, WaitTimeSeconds=0)
        messages = response.get("Messages", [])
        if not messages:
            return delivered, failed
        records = [
            {
                "messageId": message["MessageId"],
                "receiptHandle": message["ReceiptHandle"],
                "body": message["Body"],
                "attributes": {"ApproximateReceiveCount": "1", "SentTimestamp": "0"},
                "messageAttributes": {},
                "md5OfBody": message.get("MD5OfBody", ""),
                "eventSource": "aws:sqs",
                "eventSourceARN": f"arn:aws:sqs:{sqs.meta.region_name}:{ACCOUNT_ID}:{queue_url.rsplit('/', 1)[-1]}",
                "awsRegion": sqs.meta.region_name,
            }
            for message in messages
        ]
        result = function({"Records": records}, FakeLambdaContext(function_name))
        failed += len(result.get("batchItemFailures", []))
        delivered += len(records)
        for message in messages:
            sqs.delete_message(QueueUrl=queue_url, ReceiptHandle=message["ReceiptHandle"])
