"""Queues with the stack's common guarantees: encrypted at rest (SQS-managed SSE) and reachable over TLS only.

SQS-managed SSE rather than a customer KMS key: EventBridge can write dead letters to it without a key policy, the
Lambda roles need no kms:Decrypt/GenerateDataKey, and the messages hold only repository names and AWS events,
which are not secrets. A KMS key would add cost and a key policy to keep right, and no control anyone asked for.
"""

from __future__ import annotations

from aws_cdk import Duration
from aws_cdk import aws_sqs as sqs
from constructs import Construct

DEAD_LETTER_RETENTION = Duration.days(14)


def dead_letter_queue(scope: Construct, construct_id: str, *, queue_name: str) -> sqs.Queue:
    """A dead-letter queue that keeps failed events for SQS's maximum of 14 days, for inspection and redrive."""
    return sqs.Queue(
        scope,
        construct_id,
        queue_name=queue_name,
        encryption=sqs.QueueEncryption.SQS_MANAGED,
        enforce_ssl=True,
        retention_period=DEAD_LETTER_RETENTION,
    )


def work_queue(
    scope: Construct,
    construct_id: str,
    *,
    queue_name: str,
    visibility_timeout: Duration,
    dead_letters: sqs.IQueue,
    max_receive_count: int,
) -> sqs.Queue:
    """A work queue whose messages move to `dead_letters` after `max_receive_count` failed receives."""
    return sqs.Queue(
        scope,
        construct_id,
        queue_name=queue_name,
        encryption=sqs.QueueEncryption.SQS_MANAGED,
        enforce_ssl=True,
        visibility_timeout=visibility_timeout,
        dead_letter_queue=sqs.DeadLetterQueue(queue=dead_letters, max_receive_count=max_receive_count),
    )
