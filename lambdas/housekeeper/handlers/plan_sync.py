"""Lambda: plan a policy sync. SSM config change, ECR push or the daily sweep -> one SQS message per repository.

Without `HOUSEKEEPER_SYNC_QUEUE_URL` (a minimal install) the repositories are synced right here, one by one,
with exactly the worker's logic.
"""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools.logging import correlation_paths
from aws_lambda_powertools.utilities.data_classes import EventBridgeEvent, event_source
from aws_lambda_powertools.utilities.typing import LambdaContext

from housekeeper.handlers import events
from housekeeper.handlers._metrics import record_plan_outcome
from housekeeper.handlers._runtime import config_parameter_name, message_sink, places, ssm_gateway, sync_queue_url
from housekeeper.logic.plan import plan_sync
from housekeeper.observability import logger, metrics, tracer


@logger.inject_lambda_context(correlation_id_path=correlation_paths.EVENT_BRIDGE)
@tracer.capture_lambda_handler
@metrics.log_metrics
@event_source(data_class=EventBridgeEvent)
def handler(event: EventBridgeEvent, context: LambdaContext) -> dict[str, Any]:
    parameter = config_parameter_name()
    outcome = plan_sync(
        events.sync_trigger(event, parameter),
        config_parameter=parameter,
        queue_url=sync_queue_url() or "",
        ssm=ssm_gateway(),
        places_for=places,
        sqs=message_sink(parameter),
    )
    record_plan_outcome(outcome, parameter)
    return outcome.to_dict()
