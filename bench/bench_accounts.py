"""Many accounts and regions: a sweep of 200 workload accounts x 3 regions x 10,000 repositories, in memory.

The question (the scale plan, on paper and measured): how many API calls a daily sweep makes, by service and
operation; how long it takes at the configured concurrency (2 workers, batches of 5, 300 s timeout); and how much
headroom is left against the published request-rate quotas of ECR, STS, ECS and Lambda.

What is measured runs the real code path on the in-memory fakes of tests.fakes (FakeEcr, FakeEcs, FakeLambda,
FakeScheduler, FakeEvents, FakeSqs, FakeSsm; importing test helpers is fine for a benchmark), seen through thin
counting gateways, and the real places cache: housekeeper.aws.places.Boto3Places with its PlaceCaches (at most
MAX_PLACES views, least recently used out) and the real Boto3StsGateway (credentials per role and region, kept
until 5 minutes before they expire) on a fake STS client. tests.fakes.FakePlaces is not used: it has neither the
credential cache nor the MAX_PLACES bound, and those are what this scale tests. Only `_build` (the boto3 clients of
a place) and `registry` are replaced, by the counting fakes.

The estate. The registry account in 3 regions (us-east-1, the hub's, eu-west-1 and us-west-2), 10,000 repositories
in each, with 3, 4 or 5 images (`Prod-1..n`, one day apart; few, so the run stays near a minute: the cost per image
is bench_evaluator's subject, not this one's). 200 workload accounts in the same 3 regions: 603 places with the
registry's own 3. Each place runs a small but real workload: 3 clusters x 4 services, one running task each, 4
Lambda image functions with a `live` alias on an older image, 2 Scheduler schedules and 2 EventBridge rules that
run ECS tasks: 36 image uses and 16 task definitions per place, naming images of the registry in the place's region
(a quarter of them builds that `keep: 3` would expire, so the protection path runs). The config: one `prod`
environment keeping 3, a 14-day untagged rule, a 90-day catch-all, enforce mode, in-use protection on.

Measured, in one run:
1. plan_sync for a sweep: one message per (region, repository) into FakeSqs (30,000);
2. the in-use inventory scan (scan_places, through the real InventoryScanner) of the 603 places: cold, then once
   more at once on a clock that advances by the modelled AWS time of each call, so that the real scanner decides
   whether its 60 s entry is still good; the same with a PlaceCaches large enough to keep every place;
3. the worker over every message (no sampling): prepare_run + process per batch of 5, two worker containers taking
   turns, each with its own PlaceCaches and InventoryScanner. The scan is made once per container and then kept
   (a frozen clock), so this part is the cost per repository alone. First the first sweep (every policy written),
   then the steady state (every policy in sync);
4. yardsticks in the same run: the bare loop (the fakes' own GetLifecyclePolicy and DescribeImages work, and
   nothing else), json.loads of the two AWS responses of one repository, a bare walk of one place's fakes, and the
   construction of a boto3 client (each place view builds 4).

API calls are what the boto3 gateways would call, counted per gateway method. Exact for the paginated listings
(pages of the sizes the gateways ask for), a lower bound where AWS holds more than the fakes model:
- ECR: iter_repositories -> DescribeRepositories x ceil(repositories / 1,000); iter_images -> DescribeImages x
  max(1, ceil(images / 1,000)) + BatchGetImage x ceil(indexes / 100); get_lifecycle_policy -> GetLifecyclePolicy;
  put_lifecycle_policy -> PutLifecyclePolicy; get_repository_policy -> GetRepositoryPolicy; retag -> tagged:
  DescribeImages x3 + BatchGetImage + PutImage, already present: DescribeImages, conflict or tag limit:
  DescribeImages x2; account_registry_id -> sts:GetCallerIdentity once per gateway;
- STS: Boto3StsGateway.assume_role on the fake client -> sts:AssumeRole (the hub's quota, at the place's regional
  endpoint); the hub's own account -> sts:GetCallerIdentity once per PlaceCaches;
- ECS: iter_cluster_names -> ListClusters x ceil(clusters / 100); iter_running_containers -> ListTasks x max(1,
  ceil(tasks / 100)) + DescribeTasks x ceil(tasks / 100); iter_service_task_definitions -> ListServices x max(1,
  ceil(services / 100)) + DescribeServices x ceil(services / 10); task_definition_images -> DescribeTaskDefinition
  unless the same view read that revision before (the gateway's cache, lost when the view is evicted or rebuilt);
- Lambda: ListFunctions x ceil(image functions / 50) (a lower bound: zip functions add pages on AWS), ListAliases
  per function, GetFunction per `$LATEST` and per aliased version the same view has not read;
- Scheduler: ListScheduleGroups, ListSchedules per group (100 a page), GetSchedule per ECS schedule the view has not
  read; EventBridge: ListEventBuses, ListRules per bus, ListTargetsByRule per rule that runs a task (a lower bound:
  every rule costs one on AWS);
- SQS: SendMessageBatch per 10 messages (FakeSqs.batch_sizes). SSM GetParameter is left out of the totals: the
  worker reads it once per invocation here, once a minute per container on AWS (Powertools' 60 s cache).

Derived, not measured: the wall time on AWS. Each call is taken to cost LATENCY_IN_REGION in the hub's region and
LATENCY_CROSS_REGION in the two others, one call at a time per worker; the Python time measured here is multiplied by
CPU_FACTOR, the share of a vCPU that Lambda gives 512 MB (one vCPU at 1,769 MB); each place view costs 4 boto3
clients as measured here (times CPU_FACTOR). The sweep is simulated batch by batch for 2 workers with the scanner's
rule (a scan is kept for 60 s from its start) and the 300 s timeout. Headroom: the peak request rate each quota
sees, against the published quota (docs/PERFORMANCE.md cites each one), assuming both workers hit the same place or
region at the same moment.
"""

from __future__ import annotations

import gc
import importlib
import json
import math
import statistics
import time
import tracemalloc
from collections import Counter
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from housekeeper.aws.ecs import DESCRIBE_SERVICES_LIMIT, DESCRIBE_TASKS_LIMIT, LIST_SERVICES_PAGE, has_revision
from housekeeper.aws.lambda_functions import LATEST, LIST_FUNCTIONS_PAGE
from housekeeper.aws.places import MAX_PLACES, Boto3Places, PlaceCaches, _View
from housekeeper.aws.ports import (
    ContainerImageRef,
    EcrGateway,
    EcsGateway,
    EventsGateway,
    FunctionImage,
    InventorySources,
    LambdaGateway,
    ManifestDocument,
    PreviewStatus,
    RepositoryInfo,
    RetagOutcome,
    RetagStatus,
    RunningContainer,
    ScheduledTask,
    SchedulerGateway,
    ServiceDeployment,
    ServiceState,
    ServiceTaskDefinitions,
    SsmGateway,
)
from housekeeper.aws.sts import Boto3StsGateway
from housekeeper.core.config import Config
from housekeeper.core.images import ImageRecord
from housekeeper.core.manifests import is_index
from housekeeper.core.places import Estate, Place
from housekeeper.logic.config_source import read_config
from housekeeper.logic.inventory import TTL_SECONDS, Inventory, InventoryScanner
from housekeeper.logic.plan import SWEEP, plan_sync
from housekeeper.logic.sync import SyncResult
from housekeeper.logic.worker import RepositorySyncFailed, SyncMessage, prepare_run, process

from infra.settings import DeploySettings

# The fakes are imported at run time rather than with `import`: mypy would follow that into the tests package, which
# `make lint` leaves out of its checks.
fakes: Any = importlib.import_module("tests.fakes")

HOME_ACCOUNT = "111122223333"
REGIONS = ("us-east-1", "eu-west-1", "us-west-2")  # the hub runs in the first
HOME_REGION = REGIONS[0]
ACCOUNTS = 200
REPOSITORIES = 10_000  # per registry region
IMAGE_COUNTS = (3, 4, 5)  # images of repository i: IMAGE_COUNTS[i % 3]
CLUSTERS = 3
SERVICES_PER_CLUSTER = 4
FUNCTIONS = 4
SCHEDULES = 2
RULES = 2
PARAMETER = "/ecr-housekeeper/config"
QUEUE = "https://sqs.us-east-1.amazonaws.com/111122223333/sync"
DAY = 86_400.0

SETTINGS = DeploySettings()
WORKERS = SETTINGS.worker_reserved_concurrency
BATCH = SETTINGS.worker_batch_size
WORKER_TIMEOUT = float(SETTINGS.worker_timeout_seconds)
PLAN_TIMEOUT = 900.0  # infra/policy_sync.py, the dispatcher
# Assumptions of the projection (docs/PERFORMANCE.md states them with the figures).
LATENCY_IN_REGION = 0.030
LATENCY_CROSS_REGION = 0.100
ONE_VCPU_MB = 1769
WORKER_MEMORY_MB = 512  # infra/policy_sync.py
PLAN_MEMORY_MB = 256
CPU_FACTOR = ONE_VCPU_MB / WORKER_MEMORY_MB
PLAN_CPU_FACTOR = ONE_VCPU_MB / PLAN_MEMORY_MB
CLIENTS_PER_VIEW = 4  # ecs, lambda, scheduler, events (housekeeper.aws.places.Boto3Places._build)

CONFIG: dict[str, Any] = {
    "version": 1,
    "mode": "enforce",
    "environments": [{"name": "prod", "tagPrefix": "Prod", "keep": 3, "clusters": ["prod-*"]}],
    "untagged": {"expireAfterDays": 14},
    "catchAll": {"expireAfterDays": 90},
    "safety": {"protectInUse": True, "maxExpireFraction": 0.5},
    "regions": list(REGIONS),
    "accounts": [{"id": f"{200_000_000_000 + i:012d}"} for i in range(ACCOUNTS)],
}

# Published request-rate quotas, per account and region (sources in docs/PERFORMANCE.md): (burst, sustained) per
# second, and the operations that share them.
ECS_BUCKETS: dict[str, tuple[tuple[str, ...], float, float]] = {
    "ecs cluster read (ListClusters)": (("ecs:ListClusters",), 50, 20),
    "ecs cluster resource read (ListTasks, DescribeTasks)": (("ecs:ListTasks", "ecs:DescribeTasks"), 100, 20),
    "ecs service read (ListServices, DescribeServices)": (("ecs:ListServices", "ecs:DescribeServices"), 100, 20),
    "ecs task definition read (DescribeTaskDefinition)": (
        ("ecs:DescribeTaskDefinition", "ecs:ListTaskDefinitions", "ecs:ListTaskDefinitionFamilies"),
        50,
        20,
    ),
}
LAMBDA_GET_FUNCTION_PER_SECOND = 100.0
LAMBDA_CONTROL_PLANE_PER_SECOND = 15.0  # every other control-plane call together: ListFunctions, ListAliases
STS_PER_SECOND = 600.0  # AssumeRole, GetCallerIdentity, ... together, per account and region
ECR_BATCH_GET_IMAGE_PER_SECOND = 2000.0
ECR_PUT_IMAGE_PER_SECOND = 10.0


def latency(region: str) -> float:
    return LATENCY_IN_REGION if region == HOME_REGION else LATENCY_CROSS_REGION


def _pages(items: int, page: int) -> int:
    return math.ceil(items / page)


@dataclass
class Tally:
    """The API calls one worker container makes, by (operation, account, region), and the AWS seconds they would
    take one after another (the modelled clock)."""

    calls: Counter[tuple[str, str, str]] = field(default_factory=Counter)
    aws_seconds: float = 0.0
    views_built: int = 0

    def add(self, operation: str, place: Place, count: int = 1) -> None:
        if count > 0:
            self.calls[(operation, place.account, place.region)] += count
            self.aws_seconds += count * latency(place.region)

    def mark(self) -> tuple[Counter[tuple[str, str, str]], float, int]:
        return Counter(self.calls), self.aws_seconds, self.views_built


def by_operation(calls: Counter[tuple[str, str, str]]) -> dict[str, int]:
    found: Counter[str] = Counter()
    for (operation, _, _), count in calls.items():
        found[operation] += count
    return dict(sorted(found.items()))


def by_service(calls: Counter[tuple[str, str, str]]) -> dict[str, int]:
    found: Counter[str] = Counter()
    for (operation, _, _), count in calls.items():
        found[operation.split(":", 1)[0]] += count
    return dict(sorted(found.items()))


# ------------------------------------------------------------------------------------------- counting gateways
class CountingEcr:
    """EcrGateway over a shared FakeEcr, counting the calls Boto3EcrGateway would make."""

    def __init__(self, fake: EcrGateway, tally: Tally) -> None:
        self._fake = fake
        self._tally = tally
        self._place = Place(fake.account_registry_id(), fake.region())
        self._identity_read = False

    def _add(self, operation: str, count: int = 1) -> None:
        self._tally.add(operation, self._place, count)

    def account_registry_id(self) -> str:
        if not self._identity_read:
            self._identity_read = True
            self._tally.add("sts:GetCallerIdentity", self._place)
        return self._fake.account_registry_id()

    def region(self) -> str:
        return self._fake.region()

    def describe_repository(self, repository: str) -> RepositoryInfo:
        self._add("ecr:DescribeRepositories")
        return self._fake.describe_repository(repository)

    def iter_repositories(self) -> Iterator[RepositoryInfo]:
        found = list(self._fake.iter_repositories())
        self._add("ecr:DescribeRepositories", max(1, _pages(len(found), 1000)))
        yield from found

    def iter_images(self, repository: str) -> Iterator[ImageRecord]:
        self._add("ecr:DescribeImages")  # the first page, found or not
        images = list(self._fake.iter_images(repository))
        self._add("ecr:DescribeImages", _pages(len(images), 1000) - 1)
        self._add("ecr:BatchGetImage", _pages(sum(1 for i in images if is_index(i.manifest_media_type)), 100))
        yield from images

    def tags_of_digest(self, repository: str, digest: str) -> tuple[str, ...]:
        self._add("ecr:DescribeImages")
        return self._fake.tags_of_digest(repository, digest)

    def digest_of_tag(self, repository: str, tag: str) -> str | None:
        self._add("ecr:DescribeImages")
        return self._fake.digest_of_tag(repository, tag)

    def get_manifest(self, repository: str, digest: str) -> ManifestDocument:
        self._add("ecr:BatchGetImage")
        return self._fake.get_manifest(repository, digest)

    def retag(self, repository: str, digest: str, tag: str) -> RetagOutcome:
        outcome = self._fake.retag(repository, digest, tag)
        if outcome.status == RetagStatus.TAGGED:
            self._add("ecr:DescribeImages", 3)
            self._add("ecr:BatchGetImage")
            self._add("ecr:PutImage")
        else:
            self._add("ecr:DescribeImages", 1 if outcome.status == RetagStatus.ALREADY_PRESENT else 2)
        return outcome

    def get_lifecycle_policy(self, repository: str) -> dict[str, Any] | None:
        self._add("ecr:GetLifecyclePolicy")
        return self._fake.get_lifecycle_policy(repository)

    def put_lifecycle_policy(self, repository: str, policy: Mapping[str, Any]) -> None:
        self._add("ecr:PutLifecyclePolicy")
        self._fake.put_lifecycle_policy(repository, policy)

    def start_lifecycle_preview(self, repository: str, policy: Mapping[str, Any]) -> None:
        self._add("ecr:StartLifecyclePolicyPreview")
        self._fake.start_lifecycle_preview(repository, policy)

    def get_lifecycle_preview(self, repository: str) -> PreviewStatus:
        self._add("ecr:GetLifecyclePolicyPreview")
        return self._fake.get_lifecycle_preview(repository)

    def batch_delete_images(self, repository: str, digests: Sequence[str]) -> list[str]:
        self._add("ecr:BatchDeleteImage", _pages(len(digests), 100))
        return self._fake.batch_delete_images(repository, digests)

    def get_repository_policy(self, repository: str) -> dict[str, Any] | None:
        self._add("ecr:GetRepositoryPolicy")
        return None  # no repository policy: only the registry's own account may pull


class CountingEcs:
    """EcsGateway over one place's FakeEcs, with Boto3EcsGateway's cache of task definition revisions (one per
    view: a rebuilt or evicted view starts empty)."""

    def __init__(self, fake: EcsGateway, tally: Tally, place: Place) -> None:
        self._fake = fake
        self._tally = tally
        self._place = place
        self._revision_images: dict[str, list[ContainerImageRef]] = {}

    def _add(self, operation: str, count: int = 1) -> None:
        self._tally.add(operation, self._place, count)

    def iter_cluster_names(self) -> Iterator[str]:
        names = list(self._fake.iter_cluster_names())
        self._add("ecs:ListClusters", max(1, _pages(len(names), 100)))
        yield from names

    def iter_running_containers(self, cluster: str) -> Iterator[RunningContainer]:
        containers = list(self._fake.iter_running_containers(cluster))
        tasks = len({c.task_arn for c in containers})
        self._add("ecs:ListTasks", max(1, _pages(tasks, 100)))
        self._add("ecs:DescribeTasks", _pages(tasks, DESCRIBE_TASKS_LIMIT))
        yield from containers

    def iter_service_task_definitions(self, cluster: str) -> Iterator[ServiceTaskDefinitions]:
        services = list(self._fake.iter_service_task_definitions(cluster))
        self._add("ecs:ListServices", max(1, _pages(len(services), LIST_SERVICES_PAGE)))
        self._add("ecs:DescribeServices", _pages(len(services), DESCRIBE_SERVICES_LIMIT))
        yield from services

    def iter_active_task_definition_families(self) -> Iterator[str]:
        families = list(self._fake.iter_active_task_definition_families())
        self._add("ecs:ListTaskDefinitionFamilies", max(1, _pages(len(families), 100)))
        yield from families

    def newest_task_definitions(self, family: str, count: int) -> list[str]:
        self._add("ecs:ListTaskDefinitions")
        return self._fake.newest_task_definitions(family, count)

    def containers_started_by(self, cluster: str, started_by: str) -> list[RunningContainer]:
        found = self._fake.containers_started_by(cluster, started_by)
        self._add("ecs:ListTasks")
        self._add("ecs:DescribeTasks", _pages(len({c.task_arn for c in found}), DESCRIBE_TASKS_LIMIT))
        return found

    def describe_service_deployment(self, deployment_arn: str) -> ServiceDeployment | None:
        self._add("ecs:DescribeServiceDeployments")
        return self._fake.describe_service_deployment(deployment_arn)

    def service_revision_images(self, revision_arn: str) -> list[ContainerImageRef]:
        self._add("ecs:DescribeServiceRevisions")
        return self._fake.service_revision_images(revision_arn)

    def describe_service(self, cluster: str, service: str) -> ServiceState | None:
        self._add("ecs:DescribeServices")
        return self._fake.describe_service(cluster, service)

    def task_definition_images(self, task_definition: str) -> list[ContainerImageRef]:
        cached = self._revision_images.get(task_definition)
        if cached is not None:
            return list(cached)
        self._add("ecs:DescribeTaskDefinition")
        images = self._fake.task_definition_images(task_definition)
        if has_revision(task_definition):
            self._revision_images[task_definition] = images
        return list(images)


class CountingLambda:
    """LambdaGateway over one place's FakeLambda, with Boto3LambdaGateway's caches of function versions."""

    def __init__(self, fake: LambdaGateway, tally: Tally, place: Place) -> None:
        self._fake = fake
        self._tally = tally
        self._place = place
        self._read: set[tuple[str, str]] = set()

    def iter_function_images(self) -> Iterator[FunctionImage]:
        images = list(self._fake.iter_function_images())
        functions = dict.fromkeys(image.function for image in images)
        self._tally.add("lambda:ListFunctions", self._place, max(1, _pages(len(functions), LIST_FUNCTIONS_PAGE)))
        self._tally.add("lambda:ListAliases", self._place, len(functions))
        for image in images:
            key = (image.function, LATEST if image.qualifier == LATEST else image.version)
            if key not in self._read:  # $LATEST: unchanged since the last ListFunctions (no new CodeSha256)
                self._read.add(key)
                self._tally.add("lambda:GetFunction", self._place)
        yield from images


class CountingScheduler:
    """SchedulerGateway over one place's FakeScheduler, with Boto3SchedulerGateway's cache of schedules."""

    def __init__(self, fake: SchedulerGateway, tally: Tally, place: Place) -> None:
        self._fake = fake
        self._tally = tally
        self._place = place
        self._read: set[tuple[str, str]] = set()

    def iter_scheduled_tasks(self) -> Iterator[ScheduledTask]:
        tasks = list(self._fake.iter_scheduled_tasks())
        groups = Counter(task.group for task in tasks) or Counter({"default": 0})
        self._tally.add("scheduler:ListScheduleGroups", self._place)
        for count in groups.values():
            self._tally.add("scheduler:ListSchedules", self._place, max(1, _pages(count, 100)))
        for task in tasks:
            if (task.group, task.name) not in self._read:
                self._read.add((task.group, task.name))
                self._tally.add("scheduler:GetSchedule", self._place)
        yield from tasks


class CountingEvents:
    """EventsGateway over one place's FakeEvents."""

    def __init__(self, fake: EventsGateway, tally: Tally, place: Place) -> None:
        self._fake = fake
        self._tally = tally
        self._place = place

    def iter_rule_tasks(self) -> Iterator[ScheduledTask]:
        tasks = list(self._fake.iter_rule_tasks())
        buses = {"default", *(task.group for task in tasks)}
        self._tally.add("events:ListEventBuses", self._place)
        self._tally.add("events:ListRules", self._place, len(buses))
        self._tally.add("events:ListTargetsByRule", self._place, len({(t.group, t.name) for t in tasks}))
        yield from tasks


class FakeStsClient:
    """The boto3 STS client Boto3StsGateway calls: counts, and hands out credentials valid for the asked duration
    on the worker's modelled clock."""

    def __init__(self, tally: Tally, region: str | None, clock: Callable[[], float]) -> None:
        self._tally = tally
        self._place = Place(HOME_ACCOUNT, region or HOME_REGION)
        self._clock = clock

    def get_caller_identity(self) -> dict[str, str]:
        self._tally.add("sts:GetCallerIdentity", self._place)
        return {"Account": HOME_ACCOUNT}

    def assume_role(self, **request: Any) -> dict[str, Any]:
        self._tally.add("sts:AssumeRole", self._place)
        expires = self._clock() + float(request["DurationSeconds"])
        return {
            "Credentials": {"AccessKeyId": "ASIA", "SecretAccessKey": "s", "SessionToken": "t", "Expiration": expires}
        }


# ---------------------------------------------------------------------------------------------------- the estate
@dataclass
class PlaceFakes:
    ecs: EcsGateway
    lambdas: LambdaGateway
    scheduler: SchedulerGateway
    events: EventsGateway


@dataclass
class World:
    registries: dict[str, Any]
    places: dict[Place, PlaceFakes]
    ssm: SsmGateway
    config: Config
    targets: tuple[Place, ...]


def repository_name(index: int) -> str:
    return f"team-{index // 100:03d}/service-{index:05d}"


def manifest(region: str, index: int, build: int) -> str:
    seed = f"{region}/{index}/{build}"
    return json.dumps(
        {
            "schemaVersion": 2,
            "mediaType": fakes.DOCKER_V2,
            "config": {"mediaType": "application/vnd.docker.container.image.v1+json", "size": 1470, "digest": seed},
            "layers": [{"mediaType": "application/vnd.docker.image.rootfs.diff.tar.gzip", "size": 2811969}],
        }
    )


def _seed_registry(region: str, now: float) -> Any:
    ecr = fakes.FakeEcr(HOME_ACCOUNT, region)
    for index in range(REPOSITORIES):
        name = repository_name(index)
        count = IMAGE_COUNTS[index % len(IMAGE_COUNTS)]
        for build in range(1, count + 1):
            ecr.push(
                name, manifest(region, index, build), tags=[f"Prod-{build}"], pushed_at=now - (count + 1 - build) * DAY
            )
    return ecr


class _Picker:
    """The images one place uses: repositories spread over the registry, a quarter of them old builds."""

    def __init__(self, registry: EcrGateway, place_number: int) -> None:
        self._registry = registry
        self._number = place_number
        self._slot = 0
        self.prefix = f"{HOME_ACCOUNT}.dkr.ecr.{registry.region()}.amazonaws.com"

    def next(self) -> tuple[str, str]:
        """(image reference by tag, the digest it runs)."""
        index = (self._number * 97 + self._slot * 1009) % REPOSITORIES
        self._slot += 1
        count = IMAGE_COUNTS[index % len(IMAGE_COUNTS)]
        build = 1 if self._slot % 4 == 0 else count  # 1 in 4: the oldest build, which `keep: 3` would expire
        name = repository_name(index)
        digest = self._registry.digest_of_tag(name, f"Prod-{build}")
        assert digest is not None
        return f"{self.prefix}/{name}:Prod-{build}", digest


def _seed_place(place: Place, number: int, registry: EcrGateway) -> PlaceFakes:
    pick = _Picker(registry, number)
    ecs = fakes.FakeEcs(place.account, place.region)
    for c in range(CLUSTERS):
        cluster = f"prod-{c}"
        for s in range(SERVICES_PER_CLUSTER):
            image, digest = pick.next()
            family = f"{cluster}-svc-{s}"
            task_definition = ecs.register_task_definition(family, [image])
            ecs.add_service(cluster, family, task_definition, [image])
            ecs.run_task(cluster, family, [(image, digest)], task_id=f"{family}-1")
    lambdas = fakes.FakeLambda()
    for f in range(FUNCTIONS):
        image, digest = pick.next()
        lambdas.add(f"fn-{f}", image, digest)
        image, digest = pick.next()
        lambdas.add(f"fn-{f}", image, digest, qualifier="live")
    scheduler, events = fakes.FakeScheduler(), fakes.FakeEvents()
    for n in range(SCHEDULES):
        task_definition = ecs.register_task_definition(f"nightly-{n}", [pick.next()[0]])
        scheduler.tasks.append(ScheduledTask("default", f"nightly-{n}", task_definition))
    for r in range(RULES):
        task_definition = ecs.register_task_definition(f"rule-{r}", [pick.next()[0]])
        events.tasks.append(ScheduledTask("default", f"rule-{r}", task_definition))
    return PlaceFakes(ecs, lambdas, scheduler, events)


def build_world() -> World:
    now = time.time()
    registries = {region: _seed_registry(region, now) for region in REGIONS}
    ssm = fakes.FakeSsm({PARAMETER: json.dumps(CONFIG)})
    config = read_config(ssm, PARAMETER)
    targets = config.estate.places(Place(HOME_ACCOUNT, HOME_REGION))
    places = {place: _seed_place(place, n, registries[place.region]) for n, place in enumerate(targets)}
    return World(registries, places, ssm, config, targets)


# ------------------------------------------------------------------------------------- places and worker containers
class BenchPlaces(Boto3Places):
    """The real Boto3Places (its credential handling and least-recently-used bound on views), with each place's
    view built from the counting fakes instead of boto3 clients."""

    def __init__(self, estate: Estate, caches: PlaceCaches, world: World, worker: Worker) -> None:
        super().__init__(estate, caches, home_region=HOME_REGION)
        self._world = world
        self._worker = worker

    def registry(self, region: str) -> CountingEcr:  # type: ignore[override]
        gateway = self._worker.registries.get(region)
        if gateway is None:
            gateway = self._worker.registries[region] = CountingEcr(self._world.registries[region], self._worker.tally)
        return gateway

    def _build(self, place: Place, make: Callable[[str], Any], expires_at: float) -> _View:  # type: ignore[override]
        self._worker.tally.views_built += 1
        found, tally = self._world.places[place], self._worker.tally
        ecs = CountingEcs(found.ecs, tally, place)
        sources = InventorySources(
            ecs=ecs,
            lambdas=CountingLambda(found.lambdas, tally, place),
            scheduler=CountingScheduler(found.scheduler, tally, place),
            events=CountingEvents(found.events, tally, place),
        )
        return _View(expires_at, ecs, sources)  # type: ignore[arg-type]


class Worker:
    """One warm Lambda container: its PlaceCaches, its InventoryScanner and the calls it makes. `modelled_clock`:
    the scanner and STS see time pass as the calls would take on AWS; otherwise the scanner's clock stands still."""

    def __init__(self, world: World, *, max_places: int = MAX_PLACES, modelled_clock: bool = False) -> None:
        self.tally = Tally()
        self.registries: dict[str, CountingEcr] = {}
        epoch = time.time()

        def clock() -> float:
            return epoch + self.tally.aws_seconds

        sts = Boto3StsGateway(lambda region: FakeStsClient(self.tally, region, clock), clock=clock)
        self.caches = PlaceCaches(sts=sts, max_places=max_places)
        self.scanner = InventoryScanner(clock=clock if modelled_clock else (lambda: 0.0))
        self._world = world

    def places_for(self, estate: Estate) -> BenchPlaces:
        return BenchPlaces(estate, self.caches, self._world, self)


# --------------------------------------------------------------------------------------------------- measuring
@dataclass
class Scan:
    seconds: float
    calls: Counter[tuple[str, str, str]]
    aws_seconds: float
    views_built: int
    assumed: int
    inventory: Inventory


def scan(worker: Worker, world: World) -> Scan:
    before, aws_before, views_before = worker.tally.mark()
    assumed_before = worker.caches.sts.assumed
    places = worker.places_for(world.config.estate)
    started = time.perf_counter()
    inventory = worker.scanner.scan(world.config.safety.in_use, places, world.targets)
    seconds = time.perf_counter() - started
    assert inventory.complete, inventory.unreadable[:3]
    return Scan(
        seconds,
        worker.tally.calls - before,
        worker.tally.aws_seconds - aws_before,
        worker.tally.views_built - views_before,
        worker.caches.sts.assumed - assumed_before,
        inventory,
    )


def _record(result: SyncResult) -> None:
    """What the handler logs per repository, without Powertools (bench_sync measures the handler whole)."""
    json.dumps(result.to_dict())


def worker_pass(
    workers: Sequence[Worker], world: World, messages: Sequence[Mapping[str, Any]]
) -> tuple[float, Counter[str]]:
    """Every message through prepare_run + process, batches of BATCH taking turns between the workers."""
    actions: Counter[str] = Counter()
    started = time.perf_counter()
    for number, start in enumerate(range(0, len(messages), BATCH)):
        worker = workers[number % len(workers)]
        prepared = prepare_run(
            ssm=world.ssm, config_parameter=PARAMETER, places_for=worker.places_for, scanner=worker.scanner
        )
        for body in messages[start : start + BATCH]:
            try:
                result = process(SyncMessage.from_body(body), prepared, _record)
            except RepositorySyncFailed as exc:
                result = exc.result
            actions[str(result.action)] += 1
    return time.perf_counter() - started, actions


def bare_loop(world: World, messages: Sequence[Mapping[str, Any]]) -> float:
    """The floor: the fakes' own work for the same two reads per repository, and nothing else."""
    started = time.perf_counter()
    for body in messages:
        ecr = world.registries[body["region"]]
        ecr.get_lifecycle_policy(body["repositoryName"])
        list(ecr.iter_images(body["repositoryName"]))
    return time.perf_counter() - started


def bare_places(world: World) -> float:
    """A walk of every place's fakes, the same listings without housekeeper's work on them."""
    started = time.perf_counter()
    for found in world.places.values():
        for cluster in list(found.ecs.iter_cluster_names()):
            list(found.ecs.iter_running_containers(cluster))
            for service in found.ecs.iter_service_task_definitions(cluster):
                for task_definition in service.task_definitions:
                    found.ecs.task_definition_images(task_definition)
        list(found.lambdas.iter_function_images())
        for task in [*found.scheduler.iter_scheduled_tasks(), *found.events.iter_rule_tasks()]:
            found.ecs.task_definition_images(task.task_definition)
    return time.perf_counter() - started


def json_yardstick(world: World, rounds: int = 2000) -> float:
    """Seconds for json.loads of one repository's two AWS responses (DescribeImages, GetLifecyclePolicy)."""
    name = repository_name(1)  # 4 images
    ecr = world.registries[HOME_REGION]
    details = [
        {
            "registryId": HOME_ACCOUNT,
            "repositoryName": name,
            "imageDigest": image.digest,
            "imageTags": list(image.tags),
            "imageSizeInBytes": image.size_bytes,
            "imagePushedAt": image.pushed_at,
            "imageManifestMediaType": fakes.DOCKER_V2,
            "artifactMediaType": "application/vnd.docker.container.image.v1+json",
            "imageStatus": "ACTIVE",
        }
        for image in ecr.iter_images(name)
    ]
    policy = ecr.get_lifecycle_policy(name) or {"rules": []}
    texts = [
        json.dumps({"imageDetails": details}),
        json.dumps({"registryId": HOME_ACCOUNT, "repositoryName": name, "lifecyclePolicyText": json.dumps(policy)}),
    ]
    best = math.inf
    for _ in range(3):
        started = time.perf_counter()
        for _ in range(rounds):
            for text in texts:
                json.loads(text)
        best = min(best, (time.perf_counter() - started) / rounds)
    return best


def invocation_overhead(world: World, worker: Worker, rounds: int = 50) -> dict[str, float]:
    """Median seconds of the work every worker invocation repeats whatever its batch: reading the config (the text is
    cached, the 200-account document is parsed and validated again), listing the places (Estate.places sorts 603),
    and finding the kept scan (InventoryScanner's key holds every place)."""
    home = Place(HOME_ACCOUNT, HOME_REGION)
    places = worker.places_for(world.config.estate)
    steps: dict[str, Callable[[], object]] = {
        "config": lambda: read_config(world.ssm, PARAMETER),
        "places": lambda: world.config.estate.places(home),
        "scanner hit": lambda: worker.scanner.scan(
            world.config.safety.in_use, places, world.config.estate.places(home)
        ),
    }
    found: dict[str, float] = {}
    for name, step in steps.items():
        timings = []
        for _ in range(rounds):
            started = time.perf_counter()
            step()
            timings.append(time.perf_counter() - started)
        found[name] = statistics.median(timings)
    found["scanner hit"] -= found["places"]  # the hit's own share: hashing and comparing the 603-place key
    return found


def client_costs(views: int = 10) -> tuple[float, float]:
    """The boto3 clients of one place view (ecs, lambda, scheduler, events, with the place's credentials): median
    seconds to build one, and the bytes the 4 of a view hold (tracemalloc, `views` views kept alive)."""
    from housekeeper.aws.session import Credentials, client_with

    credentials = Credentials("ASIAEXAMPLE", "secret", "token", time.time() + 3600)
    services = ("ecs", "lambda", "scheduler", "events")
    for service in services:  # the first of each loads its service model, which later clients share
        client_with(service, "eu-west-1", credentials)
    timings = []
    for _ in range(views):
        for service in services:
            started = time.perf_counter()
            client_with(service, "eu-west-1", credentials)
            timings.append(time.perf_counter() - started)
    gc.collect()
    tracemalloc.start()  # not while timing: tracing slows allocation several times over
    try:
        kept = [client_with(service, "eu-west-1", credentials) for _ in range(views) for service in services]
        gc.collect()
        held = tracemalloc.get_traced_memory()[0]
    finally:
        tracemalloc.stop()
    del kept
    return statistics.median(timings), held / views


# ---------------------------------------------------------------------------------------------------- projecting
@dataclass(frozen=True)
class Sweep:
    seconds: float | None  # None: an invocation would run past the timeout, so the sweep never finishes
    scans: int
    longest_invocation: float


def simulate(per_message: Sequence[float], first_scan: float, later_scan: float) -> Sweep:
    """The sweep on AWS: batches taking turns between the workers; a worker scans when its kept scan is older than
    the TTL (counted from the scan's start, as InventoryScanner does), before its batch."""
    batches = [per_message[i : i + BATCH] for i in range(0, len(per_message), BATCH)]
    ends, scans, longest = [], 0, 0.0
    for worker in range(WORKERS):
        now, expires, first = 0.0, -math.inf, True
        for batch in batches[worker::WORKERS]:
            start = now
            if now >= expires:
                expires = now + TTL_SECONDS
                now += first_scan if first else later_scan
                first = False
                scans += 1
            now += sum(batch)
            longest = max(longest, now - start)
            if now - start > WORKER_TIMEOUT:
                return Sweep(None, scans, longest)
        ends.append(now)
    return Sweep(max(ends), scans, longest)


def describe(sweep: Sweep, *, scanning: bool = True) -> str:
    if sweep.seconds is None:
        return (
            f"does not finish: an invocation needs {sweep.longest_invocation:,.0f} s "
            f"(timeout {WORKER_TIMEOUT:.0f} s), so every message times out and retries"
        )
    scans = f", {sweep.scans:,} scans" if scanning else ""
    return f"{sweep.seconds / 3600:.2f} h{scans}, longest invocation {sweep.longest_invocation:.0f} s"


def by_estate_size(per_message: Sequence[float], cold: float, warm: float, evicted: float) -> dict[int, str]:
    """The steady sweep for fewer or more workload accounts (3 regions each), from the seconds per place of this
    run's scans: the first scan cold; later ones warm while PlaceCaches keeps every place (at most MAX_PLACES), and
    as `evicted` (views rebuilt, caches lost) past it."""
    found: dict[int, str] = {}
    for accounts in (0, 5, 10, 20, 50, 100, 200):
        count = len(REGIONS) * (accounts + 1)
        first, again = cold * count, (warm if count <= MAX_PLACES else evicted) * count
        sweep = simulate(per_message, first, again)
        done = f"{sweep.seconds / 3600:,.1f} h" if sweep.seconds is not None else "never (past the timeout)"
        found[accounts] = f"{count} places, scans {first:,.0f} s then {again:,.0f} s: {done}"
    return found


def calls_per_repository(calls: Counter[tuple[str, str, str]], region: str) -> dict[str, float]:
    found: Counter[str] = Counter()
    for (operation, _, call_region), count in calls.items():
        if call_region == region and operation.startswith("ecr:"):
            found[operation] += count
    return {operation: count / REPOSITORIES for operation, count in found.items()}


def message_seconds(python: float, calls: Counter[tuple[str, str, str]]) -> dict[str, float]:
    """Modelled seconds per message, by region: Python on Lambda plus the ECR calls one after another."""
    return {
        region: python * CPU_FACTOR + sum(calls_per_repository(calls, region).values()) * latency(region)
        for region in REGIONS
    }


def queued_seconds(messages: Sequence[Mapping[str, Any]], per_region: Mapping[str, float]) -> list[float]:
    return [per_region[body["region"]] for body in messages]


def scan_seconds(found: Scan, client_seconds: float) -> float:
    """A scan on AWS: its calls one after another, its Python and its boto3 clients at Lambda's CPU share."""
    return found.aws_seconds + (found.seconds + found.views_built * CLIENTS_PER_VIEW * client_seconds) * CPU_FACTOR


def per_place(calls: Counter[tuple[str, str, str]]) -> dict[tuple[str, str], Counter[str]]:
    found: dict[tuple[str, str], Counter[str]] = {}
    for (operation, account, region), count in calls.items():
        found.setdefault((account, region), Counter())[operation] += count
    return found


def _peak(calls_in_a_place_scan: float, place_seconds: float) -> float:
    """Requests per second one quota sees when both workers scan the same place at the same moment."""
    return WORKERS * calls_in_a_place_scan / max(1.0, place_seconds)


def headroom(
    cold: Scan, warm: Scan, steady_calls: Counter[tuple[str, str, str]], repo: Mapping[str, float]
) -> dict[str, str]:
    """Peak request rate against each published quota (per account and region)."""
    figures: dict[str, str] = {}
    cold_places, warm_places = per_place(cold.calls), per_place(warm.calls)
    workload = [key for key in cold_places if key[0] != HOME_ACCOUNT and key[1] == HOME_REGION]
    busiest = max(workload, key=lambda key: sum(cold_places[key].values()))
    cold_place, warm_place = cold_places[busiest], warm_places.get(busiest, Counter())
    place_seconds = sum(cold_place.values()) * LATENCY_IN_REGION
    for name, (operations, burst, sustained) in ECS_BUCKETS.items():
        calls = sum(cold_place[op] for op in operations)
        peak = _peak(calls, place_seconds)
        burst_note = "within" if WORKERS * calls <= burst else "over"
        figures[f"headroom {name}"] = (
            f"{calls} per place scan (warm {sum(warm_place[op] for op in operations)}); both workers on one place: "
            f"{WORKERS * calls} in {max(1.0, place_seconds):.1f} s, {burst_note} the burst of {burst:.0f}, peak "
            f"{peak:.0f}/s vs {sustained:.0f}/s sustained: {sustained / peak:.1f}x"
        )
    get_function = cold_place["lambda:GetFunction"]
    control = cold_place["lambda:ListFunctions"] + cold_place["lambda:ListAliases"]
    figures["headroom lambda GetFunction"] = (
        f"{get_function} per place scan (warm {warm_place['lambda:GetFunction']}), peak "
        f"{_peak(get_function, place_seconds):.0f}/s vs {LAMBDA_GET_FUNCTION_PER_SECOND:.0f}/s: "
        f"{LAMBDA_GET_FUNCTION_PER_SECOND / _peak(get_function, place_seconds):.0f}x"
    )
    control_peak = _peak(control, place_seconds)
    figures["headroom lambda control plane (ListFunctions + ListAliases)"] = (
        f"{control} per place scan, peak {control_peak:.0f}/s vs {LAMBDA_CONTROL_PLANE_PER_SECOND:.0f}/s: "
        f"{LAMBDA_CONTROL_PLANE_PER_SECOND / control_peak:.1f}x"
    )
    # STS: the hub's own quota, at the regional endpoint of each place; one AssumeRole as each place is entered.
    assume = WORKERS / max(place_seconds, 1e-9)
    figures["headroom sts AssumeRole (hub account, per region)"] = (
        f"{cold.assumed} per cold scan ({cold.assumed // len(REGIONS)} per region), peak {assume:.1f}/s vs "
        f"{STS_PER_SECOND:.0f}/s: {STS_PER_SECOND / assume:.0f}x; {warm.assumed} when credentials are held"
    )
    per_repo = calls_per_repository(steady_calls, HOME_REGION)
    rate = {op: WORKERS * count / repo[HOME_REGION] for op, count in per_repo.items()}
    figures["ecr peak rate in the hub's region, steady sweep (no published quota)"] = ", ".join(
        f"{op} {value:.0f}/s" for op, value in sorted(rate.items())
    )
    batch_get = WORKERS / repo[HOME_REGION]  # the most there can be: one BatchGetImage per repository
    figures["headroom ecr BatchGetImage"] = (
        f"{rate.get('ecr:BatchGetImage', 0.0):.0f}/s here (no image indexes); at most {batch_get:.0f}/s "
        f"(one per repository) vs {ECR_BATCH_GET_IMAGE_PER_SECOND:.0f}/s: "
        f"{ECR_BATCH_GET_IMAGE_PER_SECOND / batch_get:.0f}x"
    )
    put_image = WORKERS / (5 * LATENCY_IN_REGION)  # a pin is 5 calls, PutImage among them
    figures["headroom ecr PutImage (pins)"] = (
        f"0 here (no untagged image in use); back-to-back pins could reach {put_image:.0f}/s vs "
        f"{ECR_PUT_IMAGE_PER_SECOND:.0f}/s: {ECR_PUT_IMAGE_PER_SECOND / put_image:.1f}x"
    )
    return figures


# ---------------------------------------------------------------------------------------------------------- run
def _plan(world: World) -> tuple[float, int, Worker, Any]:
    planner, sqs = Worker(world), fakes.FakeSqs()
    started = time.perf_counter()
    outcome = plan_sync(
        SWEEP, config_parameter=PARAMETER, queue_url=QUEUE, ssm=world.ssm, places_for=planner.places_for, sqs=sqs
    )
    seconds = time.perf_counter() - started
    planner.tally.add("sqs:SendMessageBatch", Place(HOME_ACCOUNT, HOME_REGION), len(sqs.batch_sizes))
    return seconds, outcome.queued, planner, sqs


def _scans(world: World) -> dict[str, Scan]:
    """Cold, then again at once on the modelled clock (the real scanner decides); with MAX_PLACES and with a cache
    that keeps every place."""
    found: dict[str, Scan] = {}
    for label, max_places in (("bounded", MAX_PLACES), ("unbounded", len(world.targets) + 1)):
        worker = Worker(world, max_places=max_places, modelled_clock=True)
        found[f"{label} cold"] = scan(worker, world)
        again = scan(worker, world)
        if again.inventory is found[f"{label} cold"].inventory:  # still within the TTL: force the next one
            worker.scanner.clear()
            again = scan(worker, world)
        found[f"{label} again"] = again
    return found


def run() -> dict[str, Any]:
    started = time.perf_counter()
    world = build_world()
    seed_seconds = time.perf_counter() - started
    config_bytes = len(json.dumps(CONFIG, separators=(",", ":")))

    plan_seconds, queued, planner, sqs = _plan(world)
    messages = sqs.queues[QUEUE]
    scans = _scans(world)
    place_python = scans["bounded cold"].seconds / len(world.targets)
    bare_place = bare_places(world) / len(world.targets)

    workers = [Worker(world) for _ in range(WORKERS)]
    for worker in workers:
        scan(worker, world)  # one scan per container, then kept: the passes below cost per repository only
    marks = [worker.tally.mark()[0] for worker in workers]
    first_seconds, first_actions = worker_pass(workers, world, messages)
    first_calls = sum((w.tally.calls - m for w, m in zip(workers, marks, strict=True)), Counter())
    marks = [worker.tally.mark()[0] for worker in workers]
    steady_seconds, steady_actions = worker_pass(workers, world, messages)
    steady_calls = sum((w.tally.calls - m for w, m in zip(workers, marks, strict=True)), Counter())
    bare_seconds = bare_loop(world, messages)
    json_seconds = json_yardstick(world)
    client_seconds, view_bytes = client_costs()
    overhead = invocation_overhead(world, workers[0])

    steady_repo = steady_seconds / len(messages)
    first_repo = first_seconds / len(messages)
    steady_message = message_seconds(steady_repo, steady_calls)
    first_message = message_seconds(first_repo, first_calls)
    cold, warm = scans["bounded cold"], scans["bounded again"]
    kept_cold, kept_warm = scans["unbounded cold"], scans["unbounded again"]
    scan_cold, scan_again = scan_seconds(cold, client_seconds), scan_seconds(warm, client_seconds)
    scan_kept = scan_seconds(kept_warm, client_seconds)
    places = len(world.targets)
    # The same scans if every call took LATENCY_IN_REGION (e.g. a worker in each region reading its own region).
    near = {
        label: sum(found.calls.values()) * LATENCY_IN_REGION + scan_seconds(found, client_seconds) - found.aws_seconds
        for label, found in (("cold", cold), ("warm", kept_warm))
    }
    steady = queued_seconds(messages, steady_message)
    first = queued_seconds(messages, first_message)
    plan_aws = planner.tally.aws_seconds + plan_seconds * PLAN_CPU_FACTOR

    figures: dict[str, Any] = {
        "estate": (
            f"{ACCOUNTS} workload accounts x {len(REGIONS)} regions + the registry in {len(REGIONS)}: "
            f"{len(world.targets)} places; {REPOSITORIES:,} repositories x {len(REGIONS)} regions, 3-5 images each"
        ),
        "per place": (
            f"{CLUSTERS} clusters x {SERVICES_PER_CLUSTER} services (1 task each), {FUNCTIONS} image functions "
            f"(+ alias), {SCHEDULES} schedules, {RULES} rules: {len(cold.inventory.uses) // len(world.targets)} uses"
        ),
        "config bytes (200 accounts; SSM standard tier 4,096)": config_bytes,
        "seed seconds": round(seed_seconds, 1),
        "plan_sync: messages queued": queued,
        "plan_sync: calls": by_operation(planner.tally.calls),
        "plan_sync: python seconds": round(plan_seconds, 2),
        "plan_sync: projected on AWS, s (timeout 900)": round(plan_aws),
        "scan: places, image uses": f"{len(world.targets)}, {len(cold.inventory.uses):,}",
        "scan cold: calls by service": by_service(cold.calls),
        "scan cold: calls by operation": by_operation(cold.calls),
        "scan cold: AssumeRole, views built": f"{cold.assumed}, {cold.views_built}",
        f"scan again, MAX_PLACES={MAX_PLACES}: rescanned at once by the real scanner": warm.inventory
        is not cold.inventory,
        f"scan again, MAX_PLACES={MAX_PLACES}: calls, AssumeRole, views rebuilt": (
            f"{sum(warm.calls.values()):,}, {warm.assumed}, {warm.views_built}"
        ),
        "scan again, every place kept: calls, AssumeRole, views rebuilt": (
            f"{sum(kept_warm.calls.values()):,}, {kept_warm.assumed}, {kept_warm.views_built}"
        ),
        "scan again, every place kept: calls by operation": by_operation(kept_warm.calls),
        "scan python ms per place (cold), bare walk of the fakes ms": (
            f"{place_python * 1000:.2f}, {bare_place * 1000:.3f}"
        ),
        "ratio scan python / bare walk, per place": round(place_python / bare_place, 1),
        "boto3 client build ms (median)": round(client_seconds * 1000, 1),
        "boto3 clients of one place view KB; all places kept MB (worker: 512 MB)": (
            f"{view_bytes / 1024:.0f}; {view_bytes * len(world.targets) / 2**20:.0f}"
        ),
        "first sweep: actions": dict(sorted(first_actions.items())),
        "first sweep: calls by operation": by_operation(first_calls),
        "first sweep: python seconds, us per repository": f"{first_seconds:.1f}, {first_repo * 1e6:.0f}",
        "steady sweep: actions": dict(sorted(steady_actions.items())),
        "steady sweep: calls by operation": by_operation(steady_calls),
        "steady sweep: python seconds, us per repository": f"{steady_seconds:.1f}, {steady_repo * 1e6:.0f}",
        "bare loop us per repository": round(bare_seconds / len(messages) * 1e6),
        "ratio steady sync / bare loop": round(steady_seconds / bare_seconds, 1),
        "json.loads of one repository's 2 responses us": round(json_seconds * 1e6, 1),
        "ratio steady sync per repository / json.loads": round(steady_repo / json_seconds, 1),
        "model: latency in / out of the hub's region s, CPU factor": (
            f"{LATENCY_IN_REGION}, {LATENCY_CROSS_REGION}, {CPU_FACTOR:.2f}"
        ),
        "model: seconds per message, steady (by region)": {r: round(s, 3) for r, s in steady_message.items()},
        "model: scan on AWS s: cold, again (bounded), again (every place kept)": (
            f"{scan_cold:,.0f}, {scan_again:,.0f}, {scan_kept:,.0f}"
        ),
        "model: scan on AWS s if every call took 30 ms: cold, warm": f"{near['cold']:,.0f}, {near['warm']:,.0f}",
        "model: places one scan reads in 60 s (TTL) / 300 s (timeout): cold, warm": (
            f"{60 * places / scan_cold:.0f} / {300 * places / scan_cold:.0f}, "
            f"{60 * places / scan_kept:.0f} / {300 * places / scan_kept:.0f}"
        ),
        "model: sweep, ECR only (no scan), steady": describe(simulate(steady, 0.0, 0.0), scanning=False),
        "model: sweep, ECR only (no scan), first": describe(simulate(first, 0.0, 0.0), scanning=False),
        f"model: sweep as the code stands (MAX_PLACES={MAX_PLACES}, TTL {TTL_SECONDS:.0f} s)": describe(
            simulate(steady, scan_cold, scan_again)
        ),
        "model: sweep with every place kept": describe(simulate(steady, scan_cold, scan_kept)),
        "model: steady sweep by workload accounts (x3 regions), as the code stands": by_estate_size(
            steady, scan_cold / places, scan_kept / places, scan_again / places
        ),
        "per invocation python ms: config read, Estate.places, scanner hit": (
            f"{overhead['config'] * 1000:.2f}, {overhead['places'] * 1000:.2f}, {overhead['scanner hit'] * 1000:.2f}"
        ),
        "share of the steady python per repository repeated per invocation": (
            f"{sum(overhead.values()) / BATCH / steady_repo:.0%}"
        ),
        "cold scans agree (every place kept / MAX_PLACES)": sum(kept_cold.calls.values()) == sum(cold.calls.values()),
    }
    figures.update(headroom(cold, kept_warm, steady_calls, steady_message))
    return figures


if __name__ == "__main__":
    for key, value in run().items():
        print(f"{key}: {value}")
