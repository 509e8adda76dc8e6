"""Lambda: plan a policy sync. SSM config change, ECR push or the daily sweep -> one SQS message per repository.

Without `HOUSEKEEPER_SYNC_QUEUE_URL` (a minimal install) the repositories are synced right here, one by one,
with exactly the worker's logic.
"""

from __future__ import annotations

import os
from typing import Any

from aws_lambda_powertools.logging import correlation_paths
from aws_lambda_powertools.utilities.typing import LambdaContext

from housekeeper.aws.ecr import Boto3EcrGateway
from housekeeper.aws.ecs import Boto3EcsGateway
from housekeeper.aws.sqs import Boto3SqsGateway
from housekeeper.handlers.sync_repository import config_gateway
from housekeeper.logic.in_use import shared_scanner
from housekeeper.logic.sync import InlineSync, plan_sync, prepare_run, record_plan_outcome, trigger_from_event
from housekeeper.observability import logger, metrics, tracer


@logger.inject_lambda_context(correlation_id_path=correlation_paths.EVENT_BRIDGE)
@tracer.capture_lambda_handler
@metrics.log_metrics
def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    parameter = os.environ["HOUSEKEEPER_CONFIG_PARAMETER"]
    queue_url = os.environ.get("HOUSEKEEPER_SYNC_QUEUE_URL", "")
    trigger = trigger_from_event(event, parameter)
    ssm, ecr = config_gateway(), Boto3EcrGateway()
    if queue_url:
        sink: Any = Boto3SqsGateway()
    else:
        sink = InlineSync(
            lambda: prepare_run(
                ssm=ssm, config_parameter=parameter, ecr=ecr, ecs=Boto3EcsGateway(), scanner=shared_scanner
            )
        )
    outcome = plan_sync(trigger, config_parameter=parameter, queue_url=queue_url, ssm=ssm, ecr=ecr, sqs=sink)
    record_plan_outcome(outcome, parameter)
    return outcome.to_dict()
