"""Fixtures the integration tests share. Plain helpers they call live in moto_account.py and shop_scenario.py."""

from __future__ import annotations

import json
from collections.abc import Iterator

import pytest
from housekeeper import observability
from housekeeper.aws.session import client, reset_clients
from housekeeper.handlers import _metrics
from housekeeper.logic import sync
from housekeeper.logic.inventory import shared_scanner
from moto import mock_aws

from tests.fakes import CONFIG_PARAMETER
from tests.integration.moto_account import Account


@pytest.fixture
def mocked_aws() -> Iterator[None]:
    """Every AWS call of the test goes to moto; the cached boto3 clients are dropped before and after it."""
    with mock_aws():
        reset_clients()
        yield
    reset_clients()


@pytest.fixture
def account(monkeypatch: pytest.MonkeyPatch, mocked_aws: None) -> Iterator[Account]:
    """A moto account with the config parameter, the queue and its DLQ; the handlers' records are collected."""
    shared_scanner.clear()
    sqs = client("sqs")
    dlq_url = sqs.create_queue(QueueName="sync-dlq")["QueueUrl"]
    dlq_arn = sqs.get_queue_attributes(QueueUrl=dlq_url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    queue_url = sqs.create_queue(
        QueueName="sync",
        Attributes={
            "RedrivePolicy": json.dumps({"deadLetterTargetArn": dlq_arn, "maxReceiveCount": "3"}),
        },
    )["QueueUrl"]
    account = Account(queue_url, dlq_url)
    monkeypatch.setenv("HOUSEKEEPER_CONFIG_PARAMETER", CONFIG_PARAMETER)
    monkeypatch.setenv("HOUSEKEEPER_SYNC_QUEUE_URL", queue_url)
    original_record = _metrics.record_sync_result
    original_count = observability.count

    def record(result: sync.SyncResult) -> None:
        account.results.append(result)
        original_record(result)

    def count(name: str, value: float = 1) -> None:
        account.metrics.append((name, value))
        original_count(name, value)

    monkeypatch.setattr(_metrics, "record_sync_result", record)
    monkeypatch.setattr(observability, "count", count)
    yield account
    shared_scanner.clear()
