"""Lambda: on `ECS Deployment State Change` SERVICE_DEPLOYMENT_COMPLETED, tag what the deployment runs.

Events come from the registry account's own bus, and from workload accounts through the hub's event bus (the spoke
stack forwards them, keeping the workload account's id in `account`); the service is read there through the
account's reader role.

With HOUSEKEEPER_SYNC_QUEUE_URL set, it then queues a policy sync of each repository the deployment runs an image of:
a rollback's image is protected by the stored lifecycle policy within seconds, not at the next daily sweep.

Failures: a malformed event or a vanished service raises (the event goes to the DLQ after retries); a transient
AWS error raises so that it is retried; an image that could not be tagged does not stop the others, and the
handler raises at the end so the failure is retried and, if it persists, lands in the DLQ. Retries are safe:
tagging is idempotent.
"""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools.logging import correlation_paths
from aws_lambda_powertools.utilities.data_classes import EventBridgeEvent, event_source
from aws_lambda_powertools.utilities.typing import LambdaContext

from housekeeper import observability as obs
from housekeeper.handlers import events
from housekeeper.handlers._metrics import record_tagging
from housekeeper.handlers._runtime import config_parameter_name, places, sqs_gateway, ssm_gateway, sync_queue_url
from housekeeper.logic.config_source import read_config
from housekeeper.logic.tagging import DeploymentResult, TaggingIncomplete, resync_requests, tag_deployment
from housekeeper.observability import logger, metrics, tracer


@logger.inject_lambda_context(correlation_id_path=correlation_paths.EVENT_BRIDGE, clear_state=True)
@tracer.capture_lambda_handler
@metrics.log_metrics
@event_source(data_class=EventBridgeEvent)
def handler(event: EventBridgeEvent, context: LambdaContext) -> dict[str, Any]:
    deployment = events.deployment(event)
    if not deployment.completed:
        logger.debug("ignored: not a completed deployment", extra={"eventName": deployment.event_name})
        obs.count(obs.EVENTS_IGNORED)
        return DeploymentResult(deployment, [], ignored=True).summary()
    # `service` is Powertools' own key (the product); the ECS service goes under its own name.
    logger.append_keys(account=deployment.account, cluster=deployment.cluster, ecsService=deployment.service)
    config = read_config(ssm_gateway(), config_parameter_name())
    result = tag_deployment(deployment, config, places(config.estate))
    record_tagging(result)
    queue = sync_queue_url()
    if queue:  # sync what the deployment runs now, so a rollback's image is protected within seconds
        sqs_gateway().send_messages(queue, resync_requests(result))
    failures = result.failures
    if failures:
        logger.error(
            "some images could not be tagged; raising so the event is retried",
            extra={"failed": [f.to_dict() for f in failures], "retryable": any(f.retryable for f in failures)},
        )
        raise TaggingIncomplete(failures)
    return result.summary()
