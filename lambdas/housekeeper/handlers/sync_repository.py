"""Lambda: the SQS worker. Syncs each message's repository; a failed repository fails only its own message.

The config is read once per invocation (and cached across warm invocations by Powertools Parameters); the ECS
in-use scan runs at most once per invocation and is shared for a short TTL.
"""

from __future__ import annotations

import os
from functools import partial
from typing import Any

from aws_lambda_powertools.utilities.batch import BatchProcessor, EventType, process_partial_response
from aws_lambda_powertools.utilities.data_classes.sqs_event import SQSRecord
from aws_lambda_powertools.utilities.typing import LambdaContext

from housekeeper.aws.ecr import Boto3EcrGateway
from housekeeper.aws.ecs import Boto3EcsGateway
from housekeeper.aws.session import client
from housekeeper.aws.ssm import Boto3SsmGateway
from housekeeper.logic.in_use import shared_scanner
from housekeeper.logic.sync import ConfigFailure, SyncRun, handle_sync_message, prepare_run, record_config_failure
from housekeeper.observability import logger, metrics, tracer

processor = BatchProcessor(event_type=EventType.SQS, raise_on_entire_batch_failure=False)
_ssm_gateway: tuple[Any, Boto3SsmGateway] | None = None


def config_gateway() -> Boto3SsmGateway:
    """One SSM gateway per warm container, so the Powertools Parameters cache outlives the invocation."""
    global _ssm_gateway
    ssm_client = client("ssm")
    if _ssm_gateway is None or _ssm_gateway[0] is not ssm_client:
        _ssm_gateway = (ssm_client, Boto3SsmGateway(ssm_client))
    return _ssm_gateway[1]


def _record_handler(prepared: SyncRun | ConfigFailure, record: SQSRecord) -> dict[str, Any]:
    return handle_sync_message(record.body, prepared).to_dict()


@logger.inject_lambda_context(correlation_id_path="Records[0].messageId")
@tracer.capture_lambda_handler
@metrics.log_metrics
def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    parameter = os.environ["HOUSEKEEPER_CONFIG_PARAMETER"]
    prepared = prepare_run(
        ssm=config_gateway(),
        config_parameter=parameter,
        ecr=Boto3EcrGateway(),
        ecs=Boto3EcsGateway(),
        scanner=shared_scanner,
    )
    if isinstance(prepared, ConfigFailure):
        record_config_failure(prepared.reason, prepared.problems, parameter)
    response = process_partial_response(
        event=event, record_handler=partial(_record_handler, prepared), processor=processor, context=context
    )
    return dict(response)
