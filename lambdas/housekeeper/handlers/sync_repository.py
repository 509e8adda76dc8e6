"""Lambda: the SQS worker. Syncs each message's repository; a failed repository fails only its own message.

The config is read once per invocation and cached across warm invocations by Powertools Parameters; a batch that a
config change queued reads it afresh, so a warm worker never applies the config from before the edit. The in-use
inventory is scanned at most once per invocation and shared for a short TTL.
"""

from __future__ import annotations

from functools import partial
from typing import Any

from aws_lambda_powertools.utilities.batch import BatchProcessor, EventType, process_partial_response
from aws_lambda_powertools.utilities.data_classes import SQSEvent
from aws_lambda_powertools.utilities.data_classes.sqs_event import SQSRecord
from aws_lambda_powertools.utilities.typing import LambdaContext

from housekeeper.handlers import _metrics, events
from housekeeper.handlers._runtime import config_parameter_name, places, ssm_gateway
from housekeeper.logic.inventory import shared_scanner
from housekeeper.logic.sync import SyncRun
from housekeeper.logic.worker import ConfigFailure, prepare_run, process
from housekeeper.observability import logger, metrics, tracer

processor = BatchProcessor(event_type=EventType.SQS, raise_on_entire_batch_failure=False)


def _record_handler(prepared: SyncRun | ConfigFailure, record: SQSRecord) -> dict[str, Any]:
    return process(events.sync_message(record), prepared, _metrics.record_sync_result).to_dict()


@logger.inject_lambda_context(correlation_id_path="Records[0].messageId")
@tracer.capture_lambda_handler
@metrics.log_metrics
def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    parameter = config_parameter_name()
    prepared = prepare_run(
        ssm=ssm_gateway(),
        config_parameter=parameter,
        places_for=places,
        scanner=shared_scanner,
        force_fetch=events.asks_for_fresh_config(SQSEvent(event)),
    )
    if isinstance(prepared, ConfigFailure):
        _metrics.record_config_failure(prepared.reason, prepared.problems, parameter)
    response = process_partial_response(
        event=event, record_handler=partial(_record_handler, prepared), processor=processor, context=context
    )
    return dict(response)
