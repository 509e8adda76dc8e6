"""Lambda: on `ECS Deployment State Change` SERVICE_DEPLOYMENT_COMPLETED, tag what the deployment runs.

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
from aws_lambda_powertools.metrics import MetricUnit, single_metric
from aws_lambda_powertools.utilities.typing import LambdaContext

from housekeeper import observability as obs
from housekeeper.handlers._runtime import (
    config_parameter_name,
    ecr_gateway,
    ecs_gateway,
    sqs_gateway,
    ssm_gateway,
    sync_queue_url,
)
from housekeeper.logic.config_source import read_config
from housekeeper.logic.tagging import (
    ALREADY_PRESENT,
    CONFLICT,
    FAILED,
    SKIPPED,
    TAGGED,
    DeploymentResult,
    TaggingIncomplete,
    parse_deployment_event,
    resync_requests,
    tag_deployment,
)
from housekeeper.observability import logger, metrics, tracer


@logger.inject_lambda_context(correlation_id_path=correlation_paths.EVENT_BRIDGE)
@tracer.capture_lambda_handler
@metrics.log_metrics
def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    deployment = parse_deployment_event(event)
    if not deployment.completed:
        logger.debug("ignored: not a completed deployment", extra={"eventName": deployment.event_name})
        obs.count(obs.EVENTS_IGNORED)
        return DeploymentResult(deployment, [], ignored=True).summary()
    logger.append_keys(cluster=deployment.cluster, service=deployment.service)
    config = read_config(ssm_gateway(), config_parameter_name())
    result = tag_deployment(deployment, config, ecr_gateway(), ecs_gateway())
    record_metrics(result)
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


def record_metrics(result: DeploymentResult) -> None:
    """ImagesTagged, TagsAlreadyPresent, ImagesSkipped (also per `reason` dimension), TaggingFailed."""
    for outcome in result.outcomes:
        if outcome.status == TAGGED:
            obs.count(obs.IMAGES_TAGGED)
        elif outcome.status == ALREADY_PRESENT:
            obs.count(obs.TAGS_ALREADY_PRESENT)
        elif outcome.status == SKIPPED:
            obs.count(obs.IMAGES_SKIPPED)
            _count_by_reason(obs.IMAGES_SKIPPED, outcome.reason or "unknown")
        elif outcome.status in (CONFLICT, FAILED):
            obs.count(obs.TAGGING_FAILED)
            _count_by_reason(obs.TAGGING_FAILED, outcome.reason or "error")


def _count_by_reason(name: str, reason: str) -> None:
    """A separate EMF record with a `reason` dimension, so alarms and dashboards can split by reason."""
    with single_metric(
        name=name,
        unit=MetricUnit.Count,
        value=1,
        namespace=obs.NAMESPACE,
        default_dimensions={"service": obs.SERVICE},
    ) as metric:
        metric.add_dimension(name="reason", value=reason)
