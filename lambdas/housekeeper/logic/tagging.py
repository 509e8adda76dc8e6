"""Tag what a completed ECS deployment runs with `<tagPrefix>-<build>`; backfill what ECS runs now; the pipeline retag.

Idempotency needs no state table: adding a tag that is already on the digest is a no-op that reports
`already_present`, and a tag is never moved or deleted. A duplicate or replayed event therefore reads the same
state, finds the tags in place and changes nothing.

This module only decides and acts through the gateway Protocols. It emits no metrics (the handler turns outcomes
into metrics), so the CLI can reuse it without writing metric JSON to stdout.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import asdict, dataclass, replace
from enum import StrEnum
from typing import Any

from housekeeper.aws.errors import AwsError, NotFound
from housekeeper.aws.ports import (
    ContainerImageRef,
    EcrGateway,
    EcsGateway,
    Places,
    RetagOutcome,
    RetagStatus,
    ServiceState,
)
from housekeeper.core.config import Config, Environment
from housekeeper.core.errors import HousekeeperError, InvalidInput, Problem
from housekeeper.core.places import Place
from housekeeper.core.resolution import (
    ImageReference,
    TagReason,
    decide_tag,
    foreign_image_reason,
    is_valid_digest,
    is_valid_docker_tag,
    parse_image_reference,
    resolve_environment,
)
from housekeeper.logic.outcomes import TriggerKind
from housekeeper.observability import logger

# The ECS deployment event name on which the tagger acts (others are ignored).
COMPLETED = "SERVICE_DEPLOYMENT_COMPLETED"


class TagStatus(StrEnum):
    """What happened to one deployed image. The first three are ECR's answer to the retag (RetagStatus)."""

    TAGGED = RetagStatus.TAGGED.value
    ALREADY_PRESENT = RetagStatus.ALREADY_PRESENT.value
    CONFLICT = RetagStatus.CONFLICT.value  # the env tag names another digest, or the image has ECR's maximum of tags
    SKIPPED = "skipped"  # nothing to tag (reason: a TagReason)
    FAILED = "failed"  # an AWS error; retried
    WOULD_TAG = "would_tag"  # a dry run


class DigestSource(StrEnum):
    """Where a digest came from, in order of preference."""

    DEPLOYMENT_TASKS = "deployment-tasks"
    SERVICE_REVISION = "service-revision"
    TASK_DEFINITION = "task-definition"
    RUNNING_TASK = "running-task"


class ServiceNotFound(HousekeeperError):
    """The event's service no longer exists: raised so that the event ends in the DLQ, not silently dropped."""


class TaggingIncomplete(HousekeeperError):
    """Some containers could not be tagged; raised after every other container was handled."""

    def __init__(self, failures: list[ContainerOutcome]) -> None:
        self.failures = failures
        lines = "; ".join(f"{f.repository or f.image}@{f.digest}: {f.detail}" for f in failures)
        super().__init__(f"{len(failures)} image(s) could not be tagged: {lines}")


# ---------------------------------------------------------------------------------------------------- event
@dataclass(frozen=True)
class DeploymentEvent:
    event_id: str
    event_name: str
    service_arn: str | None = None
    cluster: str | None = None
    service: str | None = None
    deployment_id: str | None = None
    # Where the deployment ran: the event's `account` and `region` (a workload account's own, when forwarded).
    account: str | None = None
    region: str | None = None

    @property
    def completed(self) -> bool:
        return self.event_name == COMPLETED


# -------------------------------------------------------------------------------------------------- outcome
@dataclass(frozen=True)
class ContainerOutcome:
    """What happened to one deployed image. `reason` is a reason code from housekeeper.core.resolution."""

    image: str
    status: str
    cluster: str | None = None
    service: str | None = None
    container: str | None = None
    repository: str | None = None
    digest: str | None = None
    env: str | None = None
    build: str | None = None
    tag: str | None = None
    reason: str | None = None
    source: str | None = None
    detail: str = ""
    retryable: bool = False
    account: str | None = None  # where the image runs (the deployment's or the backfilled cluster's account)
    runs_in: str | None = None  # ... and the region it runs in
    region: str | None = None  # the registry region the image was tagged in

    def log_keys(self) -> dict[str, Any]:
        keys = {
            "account": self.account,
            "cluster": self.cluster,
            "ecsService": self.service,  # not `service`: that is the product's own log key
            "repository": self.repository,
            "digest": self.digest,
            "env": self.env,
            "build": self.build,
            "reason": self.reason,
        }
        return {k: v for k, v in keys.items() if v is not None}

    def to_dict(self) -> dict[str, Any]:
        return {k: v for k, v in asdict(self).items() if v not in (None, "") and k != "retryable"}


@dataclass
class DeploymentResult:
    event: DeploymentEvent
    outcomes: list[ContainerOutcome]
    ignored: bool = False

    @property
    def failures(self) -> list[ContainerOutcome]:
        return [o for o in self.outcomes if o.status == TagStatus.FAILED]

    def summary(self) -> dict[str, Any]:
        counts: dict[str, int] = {}
        for outcome in self.outcomes:
            counts[outcome.status] = counts.get(outcome.status, 0) + 1
        return {
            "eventId": self.event.event_id,
            "eventName": self.event.event_name,
            "ignored": self.ignored,
            "counts": counts,
            "images": [o.to_dict() for o in self.outcomes],
        }


# ------------------------------------------------------------------------------------------------ the tagger
@dataclass(frozen=True)
class _Candidate:
    """A deployed image: its reference, the digest where known, and where that digest came from."""

    container: str
    image: str
    digest: str | None
    source: str


@dataclass(frozen=True)
class Registry:
    """Where the env tag goes: the registry account's ECR in the image's own region, when that is a registry
    region. Images of any other registry are not ours to tag."""

    places: Places
    regions: tuple[str, ...]

    @classmethod
    def of(cls, places: Places, config: Config) -> Registry:
        return cls(places, config.estate.registry_regions(places.home.region))

    def foreign(self, reference: ImageReference) -> str | None:
        return foreign_image_reason(reference, self.places.home.account, self.regions)

    def ecr(self, reference: ImageReference) -> EcrGateway:
        assert reference.region is not None
        return self.places.registry(reference.region)


def tag_deployment(event: DeploymentEvent, config: Config, places: Places) -> DeploymentResult:
    """Tag every ECR image a COMPLETED deployment runs. Other event names are ignored (nothing is tagged)."""
    if not event.completed:
        return DeploymentResult(event, [], ignored=True)
    assert event.cluster is not None and event.service is not None and event.deployment_id is not None
    cluster, service, deployment_id = event.cluster, event.service, event.deployment_id
    home = places.home
    place = Place(event.account or home.account, event.region or home.region)
    skipped = ContainerOutcome(image="*", status=TagStatus.SKIPPED, cluster=cluster, service=service)
    if not config.estate.knows(place.account, home):
        outcome = replace(skipped, account=place.account, reason=TagReason.UNKNOWN_ACCOUNT)
        logger.warning("a deployment in an account the config does not list; nothing tagged", extra=outcome.log_keys())
        return DeploymentResult(event, [outcome])
    if place not in config.estate.places(home):
        logger.warning(
            "a deployment in a region the in-use inventory does not read: its images are tagged, but only the "
            "keep counts protect them (list the region in the account's `regions`)",
            extra={"account": place.account, "region": place.region, "cluster": cluster, "ecsService": service},
        )
    environment = resolve_environment(config, cluster, place.account)
    if environment is None:
        outcome = replace(skipped, account=place.account, reason=TagReason.NO_ENVIRONMENT)
        logger.info("the deployment matches no configured environment; nothing tagged", extra=outcome.log_keys())
        return DeploymentResult(event, [outcome])
    ecs = places.ecs(place)
    state = ecs.describe_service(cluster, service)
    if state is None or not state.active:
        raise ServiceNotFound(
            f"service '{service}' in cluster '{cluster}' (resources[0] = {event.service_arn}) no longer exists"
        )
    candidates, superseded = _deployed_images(cluster, service, deployment_id, state, ecs)
    if superseded:
        outcome = replace(skipped, account=place.account, reason=TagReason.SUPERSEDED)
        logger.info(
            "a newer deployment replaced this one; its own COMPLETED event tags what it runs",
            extra={**outcome.log_keys(), "deploymentId": deployment_id, "primary": state.primary_deployment_id},
        )
        return DeploymentResult(event, [outcome])
    registry = Registry.of(places, config)
    where = _Where(place.account, cluster, service, place.region)
    outcomes = [_tag_one(config, environment, candidate, where, registry, apply=True) for candidate in candidates]
    return DeploymentResult(event, outcomes)


@dataclass(frozen=True)
class _Where:
    """Where an image runs: its account, cluster and service, and the region."""

    account: str
    cluster: str
    service: str | None
    region: str | None = None


def _deployed_images(
    cluster: str, service: str, deployment_id: str, state: ServiceState, ecs: EcsGateway
) -> tuple[list[_Candidate], bool]:
    """The deployment's images with digests, by preference: its tasks, its service revision, its task definition.

    Returns (candidates, superseded). `superseded` is True when the deployment's own tasks told us nothing and
    the service has moved on to a newer deployment, so the revision and task definition are no longer ours.
    """
    started = ecs.containers_started_by(cluster, deployment_id)
    from_tasks = _unique(
        _Candidate(c.container_name, c.image, c.image_digest, DigestSource.DEPLOYMENT_TASKS) for c in started
    )
    if from_tasks and all(c.digest for c in from_tasks):
        return from_tasks, False
    if state.primary_deployment_id is not None and state.primary_deployment_id != deployment_id:
        with_digest = [c for c in from_tasks if c.digest]
        return with_digest, not with_digest
    revision = _service_revision_images(cluster, service, state, ecs)
    if revision and all(r.image_digest for r in revision):
        return _unique(
            _Candidate(r.container_name, r.image, r.image_digest, DigestSource.SERVICE_REVISION) for r in revision
        ), False
    # Last resort: the image references the deployment's tasks (or else its task definition) name; the digest is
    # looked up in ECR by tag, which is right unless the tag was re-pushed since the deployment.
    refs: list[ContainerImageRef]
    if from_tasks:
        refs = [ContainerImageRef(c.container, c.image, c.digest) for c in from_tasks]
    elif state.task_definition:
        refs = ecs.task_definition_images(state.task_definition)
    else:
        refs = []
    logger.warning(
        "digest resolved from the image reference in ECR (last resort)",
        extra={"cluster": cluster, "service": service, "images": [r.image for r in refs]},
    )
    return _unique(
        _Candidate(r.container_name, r.image, r.image_digest, DigestSource.TASK_DEFINITION) for r in refs
    ), False


_NOT_OUR_REGISTRY = (TagReason.NOT_ECR, TagReason.OTHER_REGISTRY, TagReason.OTHER_REGION)


def resync_requests(result: DeploymentResult) -> list[dict[str, str]]:
    """One sync message per repository of this registry that the deployment runs an image of.

    A rollback can run an image that the stored lifecycle policy expires (older than `keep`, or untagged and past
    the untagged rule). Syncing its repository now puts the protection in the stored policy within seconds,
    instead of at the next daily sweep.
    """
    repositories = {
        (outcome.region or "", outcome.repository)
        for outcome in result.outcomes
        if outcome.repository and outcome.reason not in _NOT_OUR_REGISTRY
    }
    return [
        {"repositoryName": name, "trigger": TriggerKind.DEPLOYMENT, **({"region": region} if region else {})}
        for region, name in sorted(repositories)
    ]


def _service_revision_images(
    cluster: str, service: str, state: ServiceState, ecs: EcsGateway
) -> list[ContainerImageRef]:
    """The images the service's current deployment pinned, if ECS reports a successful one; else []."""
    if not state.current_service_deployment_arn:
        return []
    try:
        deployment = ecs.describe_service_deployment(state.current_service_deployment_arn)
        if deployment is None or deployment.status != "SUCCESSFUL" or not deployment.target_revision_arn:
            return []
        return ecs.service_revision_images(deployment.target_revision_arn)
    except AwsError as exc:
        if exc.retryable:
            raise
        logger.warning(
            "service revision unavailable; falling back to the task definition",
            extra={"cluster": cluster, "service": service, "error": str(exc)},
        )
        return []


def _unique(candidates: Iterable[_Candidate]) -> list[_Candidate]:
    """One candidate per (image, digest): every task of a deployment runs the same images."""
    seen: dict[tuple[str, str | None], _Candidate] = {}
    for candidate in candidates:
        seen.setdefault((candidate.image, candidate.digest), candidate)
    return list(seen.values())


def _tag_one(
    config: Config,
    environment: Environment | None,
    candidate: _Candidate,
    where: _Where,
    registry: Registry,
    *,
    apply: bool,
) -> ContainerOutcome:
    """Resolve and (with `apply`) tag one deployed image. Every error is caught into the outcome."""
    reference = parse_image_reference(candidate.image)
    base = ContainerOutcome(
        image=candidate.image,
        status=TagStatus.SKIPPED,
        cluster=where.cluster,
        service=where.service,
        container=candidate.container,
        repository=reference.repository if reference.is_private_ecr else None,
        digest=candidate.digest,
        env=environment.name if environment else None,
        source=candidate.source,
        account=where.account,
        runs_in=where.region,
        region=reference.region,
    )
    try:
        outcome = _resolve_and_tag(config, environment, candidate, base, registry, apply=apply)
    except HousekeeperError as exc:
        retryable = bool(getattr(exc, "retryable", False))
        reason = TagReason.IMAGE_NOT_FOUND if isinstance(exc, NotFound) else None
        if reason is not None and not retryable:
            outcome = replace(base, status=TagStatus.SKIPPED, reason=reason, detail=str(exc))
        else:
            outcome = replace(base, status=TagStatus.FAILED, detail=str(exc), retryable=retryable)
    _log(outcome)
    return outcome


def _resolve_and_tag(
    config: Config,
    environment: Environment | None,
    candidate: _Candidate,
    base: ContainerOutcome,
    registry: Registry,
    *,
    apply: bool,
) -> ContainerOutcome:
    reference = parse_image_reference(candidate.image)
    foreign = registry.foreign(reference)
    if foreign is not None:
        return replace(base, reason=foreign)
    ecr = registry.ecr(reference)
    outcome = replace(base, repository=reference.repository)
    digest = candidate.digest or reference.digest
    if digest is None and reference.tag:
        digest = ecr.digest_of_tag(reference.repository, reference.tag)
    if digest is None:
        return replace(outcome, reason=TagReason.NO_DIGEST, detail=f"no digest for {candidate.image} in ECR")
    outcome = replace(outcome, digest=digest)
    ecr_tags = ecr.tags_of_digest(reference.repository, digest)
    decision = decide_tag(config, environment, reference.tag, ecr_tags)
    outcome = replace(outcome, build=decision.build, tag=decision.tag)
    if decision.tag is None:
        return replace(outcome, reason=decision.reason)
    if decision.tag in ecr_tags:
        return replace(outcome, status=TagStatus.ALREADY_PRESENT)
    if not apply:
        holder = ecr.digest_of_tag(reference.repository, decision.tag)
        if holder is not None and holder != digest:
            return replace(
                outcome,
                status=TagStatus.CONFLICT,
                reason=TagReason.TAG_CONFLICT,
                detail=f"'{decision.tag}' points at {holder}",
            )
        return replace(outcome, status=TagStatus.WOULD_TAG)
    return _from_retag(outcome, ecr.retag(reference.repository, digest, decision.tag))


def _from_retag(outcome: ContainerOutcome, retag: RetagOutcome) -> ContainerOutcome:
    if retag.status == RetagStatus.TAGGED:
        return replace(outcome, status=TagStatus.TAGGED)
    if retag.status == RetagStatus.ALREADY_PRESENT:
        return replace(outcome, status=TagStatus.ALREADY_PRESENT)
    reason = TagReason.TAG_LIMIT if retag.status == RetagStatus.TAG_LIMIT else TagReason.TAG_CONFLICT
    return replace(outcome, status=TagStatus.CONFLICT, reason=reason, detail=retag.detail)


def _log(outcome: ContainerOutcome) -> None:
    keys = {**outcome.log_keys(), "status": outcome.status, "image": outcome.image, "tag": outcome.tag}
    if outcome.source:
        keys["source"] = outcome.source
    if outcome.detail:
        keys["detail"] = outcome.detail
    if outcome.status == TagStatus.FAILED:
        logger.error("image could not be tagged", extra=keys)
    elif outcome.status == TagStatus.CONFLICT:
        logger.error("env tag not added: it would move a tag or exceed ECR's tag limit", extra=keys)
    elif outcome.status == TagStatus.SKIPPED:
        logger.info("image skipped", extra=keys)
    else:
        logger.info(f"image {outcome.status}", extra=keys)


# ---------------------------------------------------------------------------------------------------- backfill
@dataclass(frozen=True)
class BackfillTarget:
    """A cluster whose deployments belong to an environment, in the place it runs."""

    place: Place
    cluster: str
    environment: Environment


def clusters_in_environments(config: Config, places: Places, targets: Iterable[Place]) -> list[BackfillTarget]:
    """Every cluster of the given places that a configured environment matches (its account and name), sorted."""
    found = []
    for place in targets:
        for cluster in sorted(places.ecs(place).iter_cluster_names()):
            environment = resolve_environment(config, cluster, place.account)
            if environment is not None:
                found.append(BackfillTarget(place, cluster, environment))
    return found


def iter_backfill(
    config: Config, places: Places, targets: Iterable[BackfillTarget], *, apply: bool
) -> Iterator[ContainerOutcome]:
    """Tag (or, without `apply`, plan to tag) every image the targets' clusters run now. An image that runs in many
    clusters of one environment is looked at once."""
    registry = Registry.of(places, config)
    seen: set[tuple[str, str | None, str]] = set()
    for target in targets:
        ecs = places.ecs(target.place)
        for container in ecs.iter_running_containers(target.cluster):
            key = (container.image, container.image_digest, target.environment.name)
            if key in seen:
                continue
            seen.add(key)
            candidate = _Candidate(
                container.container_name, container.image, container.image_digest, DigestSource.RUNNING_TASK
            )
            where = _Where(target.place.account, target.cluster, container.service, target.place.region)
            yield _tag_one(config, target.environment, candidate, where, registry, apply=apply)


# --------------------------------------------------------------------------------------------- pipeline retag
def retag_image(
    ecr: EcrGateway, repository: str, new_tag: str, *, digest: str | None = None, image_tag: str | None = None
) -> RetagOutcome:
    """The pipeline retag: add `new_tag` to the image named by digest or by an existing tag, byte-exact."""
    if not is_valid_docker_tag(new_tag):
        raise InvalidInput(
            "tag",
            [Problem("--tag", f"'{new_tag}' is not a legal Docker tag ([A-Za-z0-9_][A-Za-z0-9_.-]*, at most 128)")],
        )
    if digest is not None and not is_valid_digest(digest):
        raise InvalidInput("tag", [Problem("--digest", f"'{digest}' is not an image digest (sha256:<64 hex digits>)")])
    if digest is None:
        if image_tag is None:
            raise InvalidInput("tag", [Problem("--image-tag", "give --image-tag or --digest")])
        digest = ecr.digest_of_tag(repository, image_tag)
        if digest is None:
            raise NotFound("ecr:DescribeImages", "ImageNotFoundException", f"no image tagged '{image_tag}'", repository)
    return ecr.retag(repository, digest, new_tag)
