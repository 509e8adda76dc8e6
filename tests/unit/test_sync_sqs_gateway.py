"""The SQS gateway sends ten messages per batch and never loses a partially failed batch silently."""

from __future__ import annotations

import json
from typing import Any

import boto3
import pytest
from botocore.stub import ANY, Stubber
from housekeeper.aws.errors import AwsError, Throttled
from housekeeper.aws.sqs import Boto3SqsGateway

QUEUE = "https://sqs.us-east-1.amazonaws.com/123456789012/sync"


def _gateway() -> tuple[Boto3SqsGateway, Stubber, list[float]]:
    sqs = boto3.client("sqs", region_name="us-east-1")
    sleeps: list[float] = []
    return Boto3SqsGateway(sqs, sleep=sleeps.append), Stubber(sqs), sleeps


def _ok(ids: list[str]) -> dict[str, Any]:
    return {"Successful": [{"Id": i, "MessageId": f"m-{i}", "MD5OfMessageBody": "x"} for i in ids], "Failed": []}


def test_sends_twenty_five_messages_in_three_batches_in_order() -> None:
    gateway, stubber, _ = _gateway()
    bodies = [{"repositoryName": f"r{i}", "trigger": "sweep"} for i in range(25)]
    for start in (0, 10, 20):
        chunk = bodies[start : start + 10]
        entries = [{"Id": str(i), "MessageBody": json.dumps(b, sort_keys=True)} for i, b in enumerate(chunk)]
        stubber.add_response(
            "send_message_batch", _ok([e["Id"] for e in entries]), {"QueueUrl": QUEUE, "Entries": entries}
        )
    with stubber:
        assert gateway.send_messages(QUEUE, iter(bodies)) == 25
    stubber.assert_no_pending_responses()


def test_retries_only_the_entries_that_failed_then_succeeds() -> None:
    gateway, stubber, sleeps = _gateway()
    stubber.add_response(
        "send_message_batch",
        {
            "Successful": [{"Id": "0", "MessageId": "m0", "MD5OfMessageBody": "x"}],
            "Failed": [{"Id": "1", "SenderFault": False, "Code": "InternalError", "Message": "try again"}],
        },
        {"QueueUrl": QUEUE, "Entries": ANY},
    )
    stubber.add_response(
        "send_message_batch",
        _ok(["1"]),
        {"QueueUrl": QUEUE, "Entries": [{"Id": "1", "MessageBody": json.dumps({"repositoryName": "b"})}]},
    )
    with stubber:
        assert gateway.send_messages(QUEUE, [{"repositoryName": "a"}, {"repositoryName": "b"}]) == 2
    assert len(sleeps) == 1


def test_raises_when_entries_keep_failing() -> None:
    gateway, stubber, _ = _gateway()
    failure = {"Successful": [], "Failed": [{"Id": "0", "SenderFault": False, "Code": "InternalError"}]}
    for _ in range(4):
        stubber.add_response("send_message_batch", failure, {"QueueUrl": QUEUE, "Entries": ANY})
    with stubber, pytest.raises(Throttled):
        gateway.send_messages(QUEUE, [{"repositoryName": "a"}])


def test_a_sender_fault_is_not_retried() -> None:
    gateway, stubber, sleeps = _gateway()
    failure = {"Successful": [], "Failed": [{"Id": "0", "SenderFault": True, "Code": "InvalidMessageContents"}]}
    stubber.add_response("send_message_batch", failure, {"QueueUrl": QUEUE, "Entries": ANY})
    with stubber, pytest.raises(AwsError, match="InvalidMessageContents"):
        gateway.send_messages(QUEUE, [{"repositoryName": "a"}])
    assert sleeps == []


def test_a_throttled_call_becomes_a_project_exception() -> None:
    gateway, stubber, _ = _gateway()
    stubber.add_client_error("send_message_batch", "ThrottlingException", http_status_code=400)
    with stubber, pytest.raises(Throttled):
        gateway.send_messages(QUEUE, [{"repositoryName": "a"}])


def test_sends_nothing_for_no_repositories() -> None:
    gateway, stubber, _ = _gateway()
    with stubber:
        assert gateway.send_messages(QUEUE, []) == 0
