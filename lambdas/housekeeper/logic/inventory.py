"""The in-use inventory: every image something uses, and what uses it. The safety model rests on it.

Sources (each can be switched off in `safety.inUse`, which relaxes safety and is reported as such):
- `ecsTasks`: the running tasks of every scanned cluster (`safety.inUse.clusters`, default every cluster). ECS
  reports the digest each container runs;
- `ecsServices`: every service of those clusters, whatever its desired count (0 included), with the task
  definitions of its PRIMARY and ACTIVE deployments: a service scaled to zero, or mid-rollback, still needs its
  images the moment it scales up;
- `lambdaFunctions`: functions with `PackageType: Image`, `$LATEST` and every version an alias points at, by the
  digest Lambda resolved;
- `schedulerSchedules` and `eventRules`: EventBridge Scheduler schedules (every group) and EventBridge rules (every
  bus) whose targets run an ECS task definition;
- `taskDefinitionRevisions: N` (default 0): the newest N revisions of every ACTIVE task definition family, the
  targets an operator rolls back to.

Consumers are named so a person can find them: `ecs-task:<cluster>/<task id>`, `ecs-service:<cluster>/<service>`,
`lambda:<function>:<$LATEST or alias>`, `schedule:<group>/<name>`, `rule:<bus>/<name>`,
`task-definition:<family>:<revision>`.

The scan reads every place (housekeeper.core.places): the registry account in each registry region and each
workload account in its regions, through its reader role. A consumer outside the registry's own account and home
region is named with its place: `ecs-service:prod/web@222233334444/eu-west-1`.

A source that cannot be read (access denied, a role that cannot be assumed, throttled past the retries) is never
"nothing in use": the inventory records the place and source as unreadable, and every repository that place could
use fails closed (`INVENTORY_INCOMPLETE`, nothing written). The registry's own account can use every repository; a
workload account only those whose repository policy lets it pull (housekeeper.core.repository_access).

One scan serves a whole invocation and is kept for `TTL_SECONDS` in a warm Lambda container, so a batch of
repositories, and the next batches, share it. Image references are matched to a repository's images without
another API call: by digest where the consumer reports one, else by tag against the repository's own listing.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field, replace
from enum import StrEnum
from fnmatch import fnmatchcase
from functools import cached_property
from typing import TypeVar

from housekeeper.aws.errors import AwsError, NotFound
from housekeeper.aws.ports import (
    EcsGateway,
    EventsGateway,
    InventorySources,
    LambdaGateway,
    Places,
    SchedulerGateway,
)
from housekeeper.core.config import InUseSettings
from housekeeper.core.errors import HousekeeperError
from housekeeper.core.images import ImageRecord
from housekeeper.core.places import Place
from housekeeper.core.resolution import ImageReference, parse_image_reference
from housekeeper.logic.outcomes import SyncReason
from housekeeper.observability import logger

TTL_SECONDS = 60.0


class Source(StrEnum):
    """The inventory's sources, as `safety.inUse` spells them."""

    ECS_TASKS = "ecsTasks"
    ECS_SERVICES = "ecsServices"
    LAMBDA_FUNCTIONS = "lambdaFunctions"
    SCHEDULER_SCHEDULES = "schedulerSchedules"
    EVENT_RULES = "eventRules"
    TASK_DEFINITION_REVISIONS = "taskDefinitionRevisions"


@dataclass(frozen=True)
class Unreadable:
    """A source of one place that could not be read (`source` is `sts:AssumeRole` when the place itself could not
    be entered)."""

    place: Place | None
    source: str
    error: AwsError

    def __str__(self) -> str:
        where = f" in {self.place}" if self.place is not None else ""
        return f"{self.source}{where}: {self.error}"


ASSUME_ROLE = "sts:AssumeRole"


class InventoryIncomplete(HousekeeperError):
    """Part of the inventory could not be read; nothing may be written on the strength of a partial view."""

    retryable: bool

    def __init__(self, unreadable: Sequence[Unreadable]) -> None:
        self.unreadable = tuple(unreadable)
        self.retryable = any(u.error.retryable for u in self.unreadable)
        shown = "; ".join(str(u) for u in self.unreadable[:3])
        more = f" and {len(self.unreadable) - 3} more" if len(self.unreadable) > 3 else ""
        super().__init__(f"{SyncReason.INVENTORY_INCOMPLETE}: the in-use inventory could not read {shown}{more}")


@dataclass(frozen=True)
class ImageUse:
    """One image one consumer uses: the reference as the consumer names it, and the digest it runs if known."""

    consumer: str
    source: str
    image: str
    digest: str | None = None
    place: Place | None = None  # where the consumer runs; None in a single-place scan

    @cached_property
    def reference(self) -> ImageReference:
        return parse_image_reference(self.image)


@dataclass(frozen=True)
class Inventory:
    """What the scan found. `sources` lists the sources it read (the enabled ones), `places` the places it read,
    and `unreadable` what it could not read."""

    uses: tuple[ImageUse, ...] = ()
    sources: tuple[str, ...] = ()
    scanned_at: float = 0.0
    places: tuple[Place, ...] = ()
    unreadable: tuple[Unreadable, ...] = ()
    _by_repository: dict[str, list[ImageUse]] = field(default_factory=dict, init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        for use in self.uses:
            reference = use.reference
            if reference.is_private_ecr:
                self._by_repository.setdefault(reference.repository, []).append(use)

    @property
    def repositories(self) -> tuple[str, ...]:
        return tuple(sorted(self._by_repository))

    @property
    def complete(self) -> bool:
        return not self.unreadable

    def check_complete_for(self, may_use: Callable[[Place | None], bool]) -> None:
        """Raise InventoryIncomplete when a place that could use the repository (`may_use`) was not read."""
        blocking = [u for u in self.unreadable if may_use(u.place)]
        if blocking:
            raise InventoryIncomplete(blocking)

    def uses_of(self, repository: str) -> tuple[ImageUse, ...]:
        return tuple(self._by_repository.get(repository, ()))

    def in_repository(self, repository: str, images: Iterable[ImageRecord]) -> dict[str, tuple[str, ...]]:
        """The digests of this repository's images that something uses, each with its consumers, sorted.

        A use names a digest (the consumer reports what it runs) or a tag (resolved to the image carrying it now).
        Private ECR references are matched by repository name in any account and region: the same digest is the
        same image wherever it is stored.
        """
        uses = self._by_repository.get(repository)
        if not uses:
            return {}
        by_tag: dict[str, list[str]] = {}
        for use in uses:
            if not (use.digest or use.reference.digest) and use.reference.tag:
                by_tag.setdefault(use.reference.tag, []).append(use.consumer)
        found: dict[str, set[str]] = {}
        for use in uses:
            digest = use.digest or use.reference.digest
            if digest:
                found.setdefault(digest, set()).add(use.consumer)
        if by_tag:
            for image in images:
                for tag in image.tags:
                    consumers = by_tag.get(tag)
                    if consumers:
                        found.setdefault(image.digest, set()).update(consumers)
        return {digest: tuple(sorted(consumers)) for digest, consumers in found.items()}


NOTHING_IN_USE = Inventory()


def scan_inventory(settings: InUseSettings, sources: InventorySources, *, now: float | None = None) -> Inventory:
    """Read every enabled source of one place. Raises InventoryIncomplete for the first that cannot be read."""
    uses, scanned, unreadable = _scan_place(settings, sources, None)
    if unreadable is not None:
        raise InventoryIncomplete([unreadable])
    return Inventory(tuple(uses), tuple(scanned), time.time() if now is None else now)


# Places read at once: each place's calls go to its own account (its own quotas), and a scan of hundreds of places one
# after another would not fit a worker invocation (docs/PERFORMANCE.md, many accounts and regions).
PARALLEL_PLACES = 16


def scan_places(
    settings: InUseSettings,
    places: Places,
    targets: Sequence[Place],
    *,
    now: float | None = None,
    parallelism: int = PARALLEL_PLACES,
) -> Inventory:
    """Read every enabled source of every place in `targets`, up to `parallelism` places at a time. A place, or a
    source of it, that cannot be read is recorded in `unreadable` and the scan goes on: what the others use is still
    known and still protected."""
    home = places.home if targets else None

    def read(place: Place) -> tuple[list[ImageUse], list[str], Unreadable | None]:
        try:
            sources = places.sources(place)
        except AwsError as exc:
            return [], [], Unreadable(place, ASSUME_ROLE, exc)
        found, scanned, failed = _scan_place(settings, sources, place)
        suffix = "" if place == home else f"@{place}"
        return [replace(use, consumer=use.consumer + suffix, place=place) for use in found], scanned, failed

    if parallelism > 1 and len(targets) > 1:
        with ThreadPoolExecutor(max_workers=min(parallelism, len(targets)), thread_name_prefix="inventory") as pool:
            results = list(pool.map(read, targets))  # in the order of `targets`, whatever finished first
    else:
        results = [read(place) for place in targets]
    uses = [use for found, _, _ in results for use in found]
    sources_read = dict.fromkeys(source for _, read_sources, _ in results for source in read_sources)
    return Inventory(
        tuple(uses),
        tuple(sources_read),
        time.time() if now is None else now,
        places=tuple(targets),
        unreadable=tuple(failed for _, _, failed in results if failed is not None),
    )


def _scan_place(
    settings: InUseSettings, sources: InventorySources, place: Place | None
) -> tuple[list[ImageUse], list[str], Unreadable | None]:
    """The uses one place's sources report, the sources read, and the first that could not be (it stops the place:
    an incomplete place protects nothing it did not read, and its repositories fail closed anyway)."""
    uses: list[ImageUse] = []
    scanned: list[str] = []
    for key, enabled, read in _readers(settings, sources):
        if not enabled:
            continue
        try:
            uses.extend(read())
        except AwsError as exc:
            return uses, scanned, Unreadable(place, key, exc)
        scanned.append(key)
    return uses, scanned, None


def _readers(
    settings: InUseSettings, sources: InventorySources
) -> Iterator[tuple[str, bool, Callable[[], list[ImageUse]]]]:
    clusters = _ClusterList(settings)  # listed once, for both ECS sources
    yield Source.ECS_TASKS, settings.ecs_tasks, lambda: _running_tasks(clusters, _need(sources.ecs, Source.ECS_TASKS))
    yield (
        Source.ECS_SERVICES,
        settings.ecs_services,
        lambda: _services(clusters, _need(sources.ecs, Source.ECS_SERVICES)),
    )
    yield (
        Source.LAMBDA_FUNCTIONS,
        settings.lambda_functions,
        lambda: _functions(_need(sources.lambdas, Source.LAMBDA_FUNCTIONS)),
    )
    yield (
        Source.SCHEDULER_SCHEDULES,
        settings.scheduler_schedules,
        lambda: _schedules(
            _need(sources.scheduler, Source.SCHEDULER_SCHEDULES), _need(sources.ecs, Source.SCHEDULER_SCHEDULES)
        ),
    )
    yield (
        Source.EVENT_RULES,
        settings.event_rules,
        lambda: _rules(_need(sources.events, Source.EVENT_RULES), _need(sources.ecs, Source.EVENT_RULES)),
    )
    yield (
        Source.TASK_DEFINITION_REVISIONS,
        settings.task_definition_revisions > 0,
        lambda: _revisions(settings.task_definition_revisions, _need(sources.ecs, Source.TASK_DEFINITION_REVISIONS)),
    )


_Gateway = TypeVar("_Gateway")


class SourceUnavailable(AwsError):
    """The caller gave no gateway for an enabled source."""


def _need(gateway: _Gateway | None, source: str) -> _Gateway:
    if gateway is None:
        raise SourceUnavailable(source, "NoGateway", "no gateway was configured for this source")
    return gateway


class _ClusterList:
    """The scanned clusters (`safety.inUse.clusters`), listed on first use and then shared by the ECS sources."""

    def __init__(self, settings: InUseSettings) -> None:
        self._settings = settings
        self._names: list[str] | None = None

    def __call__(self, ecs: EcsGateway) -> list[str]:
        if self._names is None:
            self._names = [name for name in ecs.iter_cluster_names() if self._settings.scans_cluster(name)]
        return self._names


def _running_tasks(clusters: _ClusterList, ecs: EcsGateway) -> list[ImageUse]:
    uses: list[ImageUse] = []
    for cluster in clusters(ecs):
        for container in ecs.iter_running_containers(cluster):
            task_id = container.task_arn.rsplit("/", 1)[-1]
            uses.append(
                ImageUse(f"ecs-task:{cluster}/{task_id}", Source.ECS_TASKS, container.image, container.image_digest)
            )
    return uses


def _services(clusters: _ClusterList, ecs: EcsGateway) -> list[ImageUse]:
    uses: list[ImageUse] = []
    for cluster in clusters(ecs):
        for service in ecs.iter_service_task_definitions(cluster):
            consumer = f"ecs-service:{cluster}/{service.service}"
            for task_definition in service.task_definitions:
                uses.extend(_task_definition_uses(ecs, task_definition, consumer, Source.ECS_SERVICES))
    return uses


def _functions(lambdas: LambdaGateway) -> list[ImageUse]:
    uses: list[ImageUse] = []
    for function in lambdas.iter_function_images():
        consumer = f"lambda:{function.function}:{function.qualifier}"
        resolved = parse_image_reference(function.resolved_image_uri or "")
        if resolved.digest:  # what Lambda runs: the digest it resolved when the version was created
            uses.append(ImageUse(consumer, Source.LAMBDA_FUNCTIONS, function.resolved_image_uri or "", resolved.digest))
        else:
            uses.append(ImageUse(consumer, Source.LAMBDA_FUNCTIONS, function.image_uri))
    return uses


def _schedules(scheduler: SchedulerGateway, ecs: EcsGateway) -> list[ImageUse]:
    uses: list[ImageUse] = []
    for task in scheduler.iter_scheduled_tasks():
        uses.extend(
            _task_definition_uses(
                ecs, task.task_definition, f"schedule:{task.group}/{task.name}", Source.SCHEDULER_SCHEDULES
            )
        )
    return uses


def _rules(events: EventsGateway, ecs: EcsGateway) -> list[ImageUse]:
    uses: list[ImageUse] = []
    for task in events.iter_rule_tasks():
        uses.extend(
            _task_definition_uses(ecs, task.task_definition, f"rule:{task.group}/{task.name}", Source.EVENT_RULES)
        )
    return uses


def _revisions(count: int, ecs: EcsGateway) -> list[ImageUse]:
    uses: list[ImageUse] = []
    for family in ecs.iter_active_task_definition_families():
        for arn in ecs.newest_task_definitions(family, count):
            name = arn.rsplit("/", 1)[-1]
            uses.extend(_task_definition_uses(ecs, arn, f"task-definition:{name}", Source.TASK_DEFINITION_REVISIONS))
    return uses


def _task_definition_uses(ecs: EcsGateway, task_definition: str, consumer: str, source: str) -> list[ImageUse]:
    """The images of a task definition a consumer names. One that does not exist runs nothing: it is logged (the
    schedule or rule will fail) and skipped, rather than stopping every sync as an unreadable source would."""
    try:
        refs = ecs.task_definition_images(task_definition)
    except NotFound as exc:
        logger.warning(
            "a consumer names a task definition that does not exist; it can run nothing, so it protects nothing",
            extra={"consumer": consumer, "source": source, "taskDefinition": task_definition, "error": str(exc)},
        )
        return []
    return [ImageUse(consumer, source, ref.image, ref.image_digest) for ref in refs]


class InventoryScanner:
    """Scans once and remembers a complete answer for `ttl_seconds` per settings and places (one per warm
    container). An incomplete one is not kept: the retry that follows reads again."""

    def __init__(
        self,
        ttl_seconds: float = TTL_SECONDS,
        clock: Callable[[], float] = time.monotonic,
        parallelism: int = PARALLEL_PLACES,
    ) -> None:
        self._ttl = ttl_seconds
        self._clock = clock
        self._parallelism = parallelism
        self._cache: dict[tuple[InUseSettings, tuple[Place, ...]], tuple[float, Inventory]] = {}

    def scan(self, settings: InUseSettings, places: Places, targets: Sequence[Place]) -> Inventory:
        key = (settings, tuple(targets))
        cached = self._cache.get(key)
        if cached is not None and cached[0] > self._clock():
            return cached[1]
        inventory = scan_places(settings, places, targets, parallelism=self._parallelism)
        if inventory.complete:  # the TTL runs from the end of the scan: a long scan is not stale on arrival
            self._cache[key] = (self._clock() + self._ttl, inventory)
        return inventory

    def clear(self) -> None:
        self._cache.clear()


# One per warm Lambda container: shared by every invocation it serves within the TTL.
shared_scanner = InventoryScanner()


@dataclass(frozen=True)
class ResolvedUse:
    """One image in use, found in its repository: its digest and tags now, and every consumer of it."""

    repository: str
    digest: str
    tags: tuple[str, ...]
    uses: tuple[ImageUse, ...]

    def to_dict(self) -> dict[str, object]:
        return {
            "repository": self.repository,
            "digest": self.digest,
            "tags": list(self.tags),
            "consumers": [
                {
                    "consumer": u.consumer,
                    "source": u.source,
                    "image": u.image,
                    **({"account": u.place.account, "region": u.place.region} if u.place else {}),
                }
                for u in self.uses
            ],
        }


@dataclass(frozen=True)
class RepositoryUses:
    """The in-use images of one repository in one registry region, and the uses that name nothing it holds (a
    deleted tag or image)."""

    repository: str
    images: tuple[ResolvedUse, ...]
    unresolved: tuple[ImageUse, ...] = ()
    missing: bool = False  # the repository itself does not exist in this registry region
    region: str = ""


def resolve_inventory(
    inventory: Inventory, places: Places, regions: Sequence[str], patterns: Sequence[str] = ()
) -> list[RepositoryUses]:
    """Every repository the inventory names (narrowed by `patterns` globs), resolved against ECR's listing in the
    registry region each use names (uses of other registries and regions are not resolved: they are not ours)."""
    home = places.home
    grouped: dict[tuple[str, str], list[ImageUse]] = {}
    for repository in inventory.repositories:
        if patterns and not any(fnmatchcase(repository, pattern) for pattern in patterns):
            continue
        for use in inventory.uses_of(repository):
            reference = use.reference
            if reference.account == home.account and reference.region in regions:
                grouped.setdefault((reference.region or home.region, repository), []).append(use)
    found: list[RepositoryUses] = []
    for (region, repository), uses in sorted(grouped.items()):
        try:
            images = list(places.registry(region).iter_images(repository))
        except NotFound as exc:
            if exc.code != "RepositoryNotFoundException":
                raise
            found.append(RepositoryUses(repository, (), tuple(uses), missing=True, region=region))
            continue
        found.append(replace(_resolve(repository, images, uses), region=region))
    return found


def _resolve(repository: str, images: Sequence[ImageRecord], uses: Sequence[ImageUse]) -> RepositoryUses:
    by_digest = {image.digest: image for image in images}
    by_tag = {tag: image.digest for image in images for tag in image.tags}
    grouped: dict[str, list[ImageUse]] = {}
    unresolved: list[ImageUse] = []
    for use in uses:
        digest = use.digest or use.reference.digest or by_tag.get(use.reference.tag or "")
        if digest is None or digest not in by_digest:
            unresolved.append(use)
        else:
            grouped.setdefault(digest, []).append(use)
    resolved = tuple(
        ResolvedUse(repository, digest, by_digest[digest].tags, tuple(sorted(found, key=lambda u: u.consumer)))
        for digest, found in sorted(grouped.items())
    )
    return RepositoryUses(repository, resolved, tuple(unresolved))
