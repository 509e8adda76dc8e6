"""What the handlers log and count for each decision logic returns. Logic itself records nothing, so the CLI can
run the same code without writing metric JSON to stdout.

Metric names live in housekeeper.observability; the alarms in infra/monitoring.py read the same names.
"""

from __future__ import annotations

from collections.abc import Sequence

from aws_lambda_powertools.metrics import MetricUnit, single_metric

from housekeeper import observability as obs
from housekeeper.core.errors import Problem
from housekeeper.core.guard import GuardReason
from housekeeper.logic.outcomes import Action, SyncReason
from housekeeper.logic.plan import PlanOutcome
from housekeeper.logic.sync import SyncResult
from housekeeper.logic.tagging import DeploymentResult, TagStatus

_RESULT_METRICS = {
    Action.IN_SYNC: obs.REPOS_IN_SYNC,
    Action.UPDATED: obs.POLICIES_UPDATED,
    Action.WOULD_UPDATE: obs.POLICIES_WOULD_UPDATE,
    Action.BLOCKED: obs.SYNC_BLOCKED,
    Action.FAILED: obs.SYNC_FAILED,
}


def record_sync_result(result: SyncResult) -> None:
    """One structured log line and the metrics for one repository decision."""
    fields = result.to_dict()
    if result.action in (Action.FAILED, Action.BLOCKED, Action.AT_RISK):
        obs.logger.warning("repository sync decision", extra={"sync": fields, "reason": result.reason})
    else:
        obs.logger.info("repository sync decision", extra={"sync": fields, "reason": result.reason})
    metric = _RESULT_METRICS.get(result.action)  # type: ignore[call-overload]
    if metric:
        obs.count(metric)
    if result.action in (Action.IN_SYNC, Action.UPDATED, Action.WOULD_UPDATE) and result.expiring:
        obs.count(obs.IMAGES_PROJECTED_TO_EXPIRE, result.expiring)
    if result.at_risk:
        _record_at_risk(result)
    if result.action == Action.UPDATED:
        if result.protected:
            obs.count(obs.IN_USE_IMAGES_PROTECTED, result.protected)
        if result.pinned:
            obs.count(obs.IMAGES_PINNED, len(result.pinned))
    if result.reason == SyncReason.INVENTORY_INCOMPLETE:
        obs.count(obs.INVENTORY_INCOMPLETE)


def _record_at_risk(result: SyncResult) -> None:
    for conflict in result.at_risk:
        obs.logger.warning(
            "in-use image at risk: the stored lifecycle policy expires or archives it",
            extra={
                "repository": result.repository,
                "digest": conflict.digest,
                "tags": list(conflict.tags),
                "consumers": list(conflict.consumers),
                "reason": GuardReason.EXPIRES_IN_USE_IMAGE,
            },
        )
    obs.count(obs.IN_USE_IMAGES_AT_RISK, len(result.at_risk))


def record_config_failure(reason: str, problems: Sequence[Problem], parameter: str) -> None:
    """Config problems are logged with their JSON paths and counted once, for the ConfigInvalid alarm."""
    obs.logger.error(
        "config unusable: nothing is queued or written, policies stay as they are",
        extra={"reason": reason, "parameter": parameter, "problems": [p.to_dict() for p in problems]},
    )
    obs.count(obs.CONFIG_INVALID)


def record_plan_outcome(outcome: PlanOutcome, parameter: str) -> None:
    """The plan_sync decision: queued repositories, a config failure, or a config version that relaxes safety."""
    if outcome.config_failed:
        record_config_failure(outcome.reason, outcome.problems, parameter)
        return
    if outcome.relaxations:
        obs.logger.warning(
            "safety relaxed by the new config version",
            extra={"parameter": parameter, "relaxations": list(outcome.relaxations), "reason": "SAFETY_RELAXED"},
        )
        obs.count(obs.SAFETY_RELAXED)
    obs.logger.info("sync planned", extra={"plan": outcome.to_dict()})
    if outcome.queued:
        obs.count(obs.REPOSITORIES_QUEUED, outcome.queued)


def record_tagging(result: DeploymentResult) -> None:
    """ImagesTagged, TagsAlreadyPresent, ImagesSkipped (also per `reason` dimension), TaggingFailed."""
    for outcome in result.outcomes:
        if outcome.status == TagStatus.TAGGED:
            obs.count(obs.IMAGES_TAGGED)
        elif outcome.status == TagStatus.ALREADY_PRESENT:
            obs.count(obs.TAGS_ALREADY_PRESENT)
        elif outcome.status == TagStatus.SKIPPED:
            obs.count(obs.IMAGES_SKIPPED)
            _count_by_reason(obs.IMAGES_SKIPPED, outcome.reason or "unknown")
        elif outcome.status in (TagStatus.CONFLICT, TagStatus.FAILED):
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
