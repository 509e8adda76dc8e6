"""The one place that builds the Powertools logger, tracer and metrics; every module imports them from here.

Metric names are constants so the dashboard and alarms in infra/ refer to the same strings.
"""

from __future__ import annotations

from aws_lambda_powertools import Logger, Metrics, Tracer
from aws_lambda_powertools.metrics import MetricUnit

SERVICE = "ecr-housekeeper"
NAMESPACE = "EcrHousekeeper"

logger = Logger(service=SERVICE)
tracer = Tracer(service=SERVICE)
metrics = Metrics(namespace=NAMESPACE, service=SERVICE)

# Tagger
IMAGES_TAGGED = "ImagesTagged"
TAGS_ALREADY_PRESENT = "TagsAlreadyPresent"
IMAGES_SKIPPED = "ImagesSkipped"
TAGGING_FAILED = "TaggingFailed"
EVENTS_IGNORED = "EventsIgnored"
# Policy sync
REPOS_IN_SYNC = "ReposInSync"
POLICIES_UPDATED = "PoliciesUpdated"
POLICIES_WOULD_UPDATE = "PoliciesWouldUpdate"
SYNC_BLOCKED = "SyncBlocked"
SYNC_FAILED = "SyncFailed"
IMAGES_PROJECTED_TO_EXPIRE = "ImagesProjectedToExpire"
CONFIG_INVALID = "ConfigInvalid"
REPOSITORIES_QUEUED = "RepositoriesQueued"
# Standing safety
IN_USE_IMAGES_AT_RISK = "InUseImagesAtRisk"
IN_USE_IMAGES_PROTECTED = "InUseImagesProtected"
IMAGES_PINNED = "ImagesPinned"
INVENTORY_INCOMPLETE = "InventoryIncomplete"
SAFETY_RELAXED = "SafetyRelaxed"


def count(name: str, value: float = 1) -> None:
    """Add to a count metric; the handler's @log_metrics flushes once per invocation."""
    metrics.add_metric(name=name, unit=MetricUnit.Count, value=value)
