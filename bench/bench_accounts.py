"""Many accounts and regions: a sweep of 200 workload accounts x 3 regions x 10,000 repositories, in memory.

The question (the scale plan, on paper and measured): how many API calls a daily sweep makes, by service and
operation, rescans of the in-use inventory included; how long it takes at the configured concurrency (2 workers,
batches of 5, 300 s timeout); and how much headroom is left against the published request-rate quotas of ECR, STS,
ECS, Lambda, Scheduler and EventBridge.

What is measured runs the real code path on the in-memory fakes of tests.fakes (FakeEcr, FakeEcs, FakeLambda,
FakeScheduler, FakeEvents, FakeSqs, FakeSsm; importing test helpers is fine for a benchmark), seen through thin
counting gateways, and the real places cache: housekeeper.aws.places.Boto3Places with its PlaceCaches (the clients
of at most MAX_PLACES places, least recently used out; the memos of every place; one lock) and the real
Boto3StsGateway (credentials per role and region, kept until 5 minutes before they expire) on a fake STS client.
The scan is the real InventoryScanner over the real scan_places, reading PARALLEL_PLACES places at a time on its
thread pool. tests.fakes.FakePlaces is not used: it has neither the credential cache, nor the MAX_PLACES bound, nor
the memos, and those are what this scale tests. Only `_build` (the boto3 clients of a place) and `registry` are
replaced: `_build` takes the place's memos from PlaceCaches.memos as the real one does and hands them to counting
gateways that keep the real gateways' memos (task definition revisions, function versions and `$LATEST` images,
schedules) in those same dicts, so a place whose clients were evicted is rebuilt warm.

The estate. The registry account in 3 regions (us-east-1, the hub's, eu-west-1 and us-west-2), 10,000 repositories
in each, with 3, 4 or 5 images (`Prod-1..n`, one day apart; few, so the run stays short: the cost per image is
bench_evaluator's subject, not this one's). 200 workload accounts in the same 3 regions: 603 places with the
registry's own 3. Each place runs a small but real workload: 3 clusters x 4 services, one running task each, 4
Lambda image functions with a `live` alias on an older image, 2 Scheduler schedules and 2 EventBridge rules that
run ECS tasks: 36 image uses and 16 task definitions per place, naming images of the registry in the place's region
(a quarter of them builds that `keep: 3` would expire, so the protection path runs). The config: one `prod`
environment keeping 3, a 14-day untagged rule, a 90-day catch-all, enforce mode, in-use protection on.

Measured, in one run:
1. plan_sync for a sweep: one message per (region, repository) into FakeSqs (30,000);
2. the in-use inventory scan of the 603 places, on a worker whose clock advances by the modelled wall time of each
   scan (below), so that the real scanner and the real STS gateway decide: cold (16 places at a time); again at
   once (kept or not, the scanner decides: its TTL runs from the scan's end); again once the TTL has passed (warm:
   every view evicted by MAX_PLACES and rebuilt, from the memos); again once the credentials are due for renewal.
   The same cold and warm pair with a PlaceCaches large enough to keep every place's clients; and a cold scan one
   place at a time (parallelism 1), whose inventory is compared with the parallel one;
3. the worker over every message (no sampling): prepare_run + process per batch of 5, two worker containers taking
   turns, each with its own PlaceCaches and InventoryScanner. The scan is made once per container and then kept
   (a frozen clock), so this part is the cost per repository alone. First the first sweep (every policy written),
   then the steady state (every policy in sync);
4. yardsticks in the same run: the bare loop (the fakes' own GetLifecyclePolicy and DescribeImages work, and
   nothing else), json.loads of the two AWS responses of one repository, a bare walk of one place's fakes, the
   construction of a boto3 client (each place view builds 4), and one boto3 call answered in process (request
   serialised and signed, response parsed: the CPU each API call costs besides its round trip).

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
  unless the place's memo holds that revision (kept across evictions and renewals);
- Lambda: ListFunctions x ceil(image functions / 50) (a lower bound: zip functions add pages on AWS), ListAliases
  per function, GetFunction per `$LATEST` the memo has not seen unchanged and per aliased version it does not hold;
- Scheduler: ListScheduleGroups, ListSchedules per group (100 a page), GetSchedule per ECS schedule the memo does not
  hold; EventBridge: ListEventBuses, ListRules per bus, ListTargetsByRule per rule that runs a task (a lower bound:
  every rule costs one on AWS);
- SQS: SendMessageBatch per 10 messages (FakeSqs.batch_sizes). SSM GetParameter is left out of the totals: the
  worker reads it once per invocation here, once a minute per container on AWS (Powertools' 60 s cache).

Derived, not measured: the wall time on AWS. Each call is taken to cost LATENCY_IN_REGION in the hub's region and
LATENCY_CROSS_REGION in the two others, plus the measured CPU of one boto3 call; Python and client builds are the
times measured here multiplied by CPU_FACTOR, the share of a vCPU that Lambda gives 512 MB (one vCPU at 1,769 MB).
A scan: each place's calls one after another on one thread (its AssumeRole and its client builds under PlaceCaches'
lock, one place at a time, as Boto3Places._view holds it), the places handed to PARALLEL_PLACES threads in order
(ThreadPoolExecutor.map), the wall time being the slowest thread's end, and never less than the scan's CPU, which
the threads share. The sweep is replayed batch by batch for the 2 workers with the scanner's rule (a complete scan
is kept for TTL_SECONDS from its end), credentials renewed SESSION_SECONDS - REFRESH_MARGIN_SECONDS after they were
taken, and the 300 s timeout. Headroom: the peak request rate each quota sees, against the published quota
(docs/PERFORMANCE.md cites each one), assuming both workers read the same place at the same moment.
"""

from __future__ import annotations

import gc
import heapq
import importlib
import json
import math
import statistics
import threading
import time
import tracemalloc
from collections import Counter
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Any

from housekeeper.aws.ecs import DESCRIBE_SERVICES_LIMIT, DESCRIBE_TASKS_LIMIT, LIST_SERVICES_PAGE, has_revision
from housekeeper.aws.lambda_functions import LATEST, LIST_FUNCTIONS_PAGE, LambdaMemo
from housekeeper.aws.places import MAX_PLACES, Boto3Places, PlaceCaches, _Memo, _View
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
from housekeeper.aws.sts import REFRESH_MARGIN_SECONDS, SESSION_SECONDS, Boto3StsGateway
from housekeeper.core.config import Config
from housekeeper.core.images import ImageRecord
from housekeeper.core.manifests import is_index
from housekeeper.core.places import Estate, Place
from housekeeper.logic.config_source import read_config
from housekeeper.logic.inventory import PARALLEL_PLACES, TTL_SECONDS, Inventory, InventoryScanner
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
ADVANCED_PARAMETER_BYTES = 8192  # SSM Parameter Store, advanced tier (infra/config_parameter.py picks it past 4 KB)

SETTINGS = DeploySettings()
WORKERS = SETTINGS.worker_reserved_concurrency
BATCH = SETTINGS.worker_batch_size
WORKER_TIMEOUT = float(SETTINGS.worker_timeout_seconds)
PLAN_TIMEOUT = 900.0  # infra/policy_sync.py, the dispatcher
CREDENTIALS_KEPT = SESSION_SECONDS - REFRESH_MARGIN_SECONDS  # a reader role is assumed again this often
# Assumptions of the projection (docs/PERFORMANCE.md states them with the figures).
LATENCY_IN_REGION = 0.030
LATENCY_CROSS_REGION = 0.100
ONE_VCPU_MB = 1769
WORKER_MEMORY_MB = 512  # infra/policy_sync.py
PLAN_MEMORY_MB = 256
CPU_FACTOR = ONE_VCPU_MB / WORKER_MEMORY_MB
PLAN_CPU_FACTOR = ONE_VCPU_MB / PLAN_MEMORY_MB
CLIENTS_PER_VIEW = 4  # ecs, lambda, scheduler, events (housekeeper.aws.places.Boto3Places._build)
ESTATE_SIZES = (0, 5, 10, 20, 50, 100, 200, 360, 500, 1000)  # workload accounts, for the projection by size


def make_config(accounts: int) -> dict[str, Any]:
    return {
        "version": 1,
        "mode": "enforce",
        "environments": [{"name": "prod", "tagPrefix": "Prod", "keep": 3, "clusters": ["prod-*"]}],
        "untagged": {"expireAfterDays": 14},
        "catchAll": {"expireAfterDays": 90},
        "safety": {"protectInUse": True, "maxExpireFraction": 0.5},
        "regions": list(REGIONS),
        "accounts": [{"id": f"{200_000_000_000 + i:012d}"} for i in range(accounts)],
    }


CONFIG = make_config(ACCOUNTS)

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
UNPUBLISHED = {  # reads whose rate quota the providers' quota pages, as searched, do not give
    "scheduler (ListScheduleGroups, ListSchedules, GetSchedule)": "scheduler:",
    "eventbridge (ListEventBuses, ListRules, ListTargetsByRule)": "events:",
}


def latency(region: str) -> float:
    return LATENCY_IN_REGION if region == HOME_REGION else LATENCY_CROSS_REGION


def _pages(items: int, page: int) -> int:
    return math.ceil(items / page)


Calls = Counter[tuple[str, str, str]]  # (operation, account, region) -> calls


@dataclass
class Tally:
    """The API calls one worker container makes, by (operation, account, region); the AWS seconds they would take
    one after another; and, per place, the views built and the roles assumed to enter it. Shared by the scan's
    threads, so every change is made under a lock."""

    calls: Calls = field(default_factory=Counter)
    aws_seconds: float = 0.0
    built: Counter[Place] = field(default_factory=Counter)
    entered: Counter[Place] = field(default_factory=Counter)
    lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def add(self, operation: str, place: Place, count: int = 1) -> None:
        if count > 0:
            with self.lock:
                self.calls[(operation, place.account, place.region)] += count
                self.aws_seconds += count * latency(place.region)

    def build(self, place: Place) -> None:
        with self.lock:
            self.built[place] += 1

    def enter(self, place: Place) -> None:
        with self.lock:
            self.entered[place] += 1

    def mark(self) -> tuple[Calls, Counter[Place], Counter[Place]]:
        with self.lock:
            return Counter(self.calls), Counter(self.built), Counter(self.entered)


def by_operation(calls: Calls) -> dict[str, int]:
    found: Counter[str] = Counter()
    for (operation, _, _), count in calls.items():
        found[operation] += count
    return dict(sorted(found.items()))


def by_service(calls: Calls) -> dict[str, int]:
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
    """EcsGateway over one place's FakeEcs, with Boto3EcsGateway's memo of task definition revisions: the place's
    dict in PlaceCaches.memos, so it outlives the view (eviction past MAX_PLACES, a renewal of credentials)."""

    def __init__(
        self, fake: EcsGateway, tally: Tally, place: Place, revision_images: dict[str, list[ContainerImageRef]]
    ) -> None:
        self._fake = fake
        self._tally = tally
        self._place = place
        self._revision_images = revision_images

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
    """LambdaGateway over one place's FakeLambda, with Boto3LambdaGateway's memo (the place's LambdaMemo): a
    published version's image by (function, version); `$LATEST`'s by (function, CodeSha256, LastModified), which the
    fake stands in for with the digest it runs."""

    def __init__(self, fake: LambdaGateway, tally: Tally, place: Place, memo: LambdaMemo) -> None:
        self._fake = fake
        self._tally = tally
        self._place = place
        self._memo = memo

    def iter_function_images(self) -> Iterator[FunctionImage]:
        images = list(self._fake.iter_function_images())
        functions = dict.fromkeys(image.function for image in images)
        self._tally.add("lambda:ListFunctions", self._place, max(1, _pages(len(functions), LIST_FUNCTIONS_PAGE)))
        self._tally.add("lambda:ListAliases", self._place, len(functions))
        for image in images:
            found = (image.image_uri, image.resolved_image_uri)
            if image.qualifier == LATEST:
                latest = (image.function, image.resolved_image_uri or "", "")
                if latest not in self._memo.latest_images:
                    self._tally.add("lambda:GetFunction", self._place)
                    self._memo.latest_images[latest] = found
            elif (image.function, image.version) not in self._memo.version_images:
                self._tally.add("lambda:GetFunction", self._place)
                self._memo.version_images[(image.function, image.version)] = found
        yield from images


class CountingScheduler:
    """SchedulerGateway over one place's FakeScheduler, with Boto3SchedulerGateway's memo (the place's dict of
    (group, name, last modified) -> task definition; the fake's schedules are never modified)."""

    def __init__(
        self, fake: SchedulerGateway, tally: Tally, place: Place, memo: dict[tuple[str, str, str], str | None]
    ) -> None:
        self._fake = fake
        self._tally = tally
        self._place = place
        self._memo = memo

    def iter_scheduled_tasks(self) -> Iterator[ScheduledTask]:
        tasks = list(self._fake.iter_scheduled_tasks())
        groups = Counter(task.group for task in tasks) or Counter({"default": 0})
        self._tally.add("scheduler:ListScheduleGroups", self._place)
        for count in groups.values():
            self._tally.add("scheduler:ListSchedules", self._place, max(1, _pages(count, 100)))
        for task in tasks:
            key = (task.group, task.name, "")
            if key not in self._memo:
                self._tally.add("scheduler:GetSchedule", self._place)
                self._memo[key] = task.task_definition
        yield from tasks


class CountingEvents:
    """EventsGateway over one place's FakeEvents (Boto3EventsGateway keeps nothing between scans)."""

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
    """The boto3 STS client Boto3StsGateway calls: counts (against the hub's account, at the regional endpoint),
    notes which place the role enters, and hands out credentials valid for the asked duration on the worker's
    modelled clock."""

    def __init__(self, tally: Tally, region: str | None, clock: Callable[[], float]) -> None:
        self._tally = tally
        self._place = Place(HOME_ACCOUNT, region or HOME_REGION)
        self._clock = clock

    def get_caller_identity(self) -> dict[str, str]:
        self._tally.add("sts:GetCallerIdentity", self._place)
        return {"Account": HOME_ACCOUNT}

    def assume_role(self, **request: Any) -> dict[str, Any]:
        self._tally.add("sts:AssumeRole", self._place)
        self._tally.enter(Place(str(request["RoleArn"]).split(":")[4], self._place.region))
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
    """The real Boto3Places (its lock, its credential handling, its least-recently-used bound on views), with each
    place's view built from the counting fakes instead of boto3 clients, on the place's memos as the real `_build`
    takes them."""

    def __init__(self, estate: Estate, caches: PlaceCaches, world: World, worker: Worker) -> None:
        super().__init__(estate, caches, home_region=HOME_REGION)
        self._world = world
        self._worker = worker

    def registry(self, region: str) -> CountingEcr:  # type: ignore[override]
        gateway = self._worker.registries.get(region)
        if gateway is None:
            gateway = self._worker.registries[region] = CountingEcr(self._world.registries[region], self._worker.tally)
        return gateway

    def _build(self, place: Place, make: Callable[[str], Any], expires_at: float) -> _View:
        memo = self._caches.memos.setdefault(place, _Memo())  # as Boto3Places._build: kept apart from the clients
        found, tally = self._world.places[place], self._worker.tally
        tally.build(place)
        ecs = CountingEcs(found.ecs, tally, place, memo.revision_images)
        sources = InventorySources(
            ecs=ecs,
            lambdas=CountingLambda(found.lambdas, tally, place, memo.lambdas),
            scheduler=CountingScheduler(found.scheduler, tally, place, memo.schedules),
            events=CountingEvents(found.events, tally, place),
        )
        return _View(expires_at, ecs, sources)  # type: ignore[arg-type]


@dataclass(frozen=True)
class Costs:
    """Yardsticks measured in this run that the model of a scan needs."""

    client_seconds: float  # one boto3 client built
    call_seconds: float  # the CPU of one boto3 call besides its round trip


@dataclass
class Scan:
    """One scan by one worker: what it cost here, and the calls, view builds and role entries it made."""

    cpu_seconds: float  # Python CPU here, every thread together (time.process_time)
    wall_seconds: float  # elapsed here (time.perf_counter)
    calls: Calls
    built: Counter[Place]
    entered: Counter[Place]
    inventory: Inventory = field(default_factory=Inventory)
    modelled: float = 0.0  # its wall time on AWS (the model), 0 where the worker has no modelled clock

    @property
    def views_built(self) -> int:
        return sum(self.built.values())

    @property
    def assumed(self) -> int:
        return sum(self.entered.values())


class Worker:
    """One warm Lambda container: its PlaceCaches, its InventoryScanner and the calls it makes.

    With `costs`, the scanner and STS see a modelled clock: it stands at `elapsed` seconds, which each scan advances
    by its modelled wall time (and the bench by any idle time); during a scan the scanner reads its start plus the
    modelled wall time of what the scan has done so far, so it stores the scan's end as AWS would see it. Without
    `costs`, the scanner's clock stands still (a scan once per container, then kept)."""

    def __init__(
        self,
        world: World,
        *,
        max_places: int = MAX_PLACES,
        parallelism: int = PARALLEL_PLACES,
        costs: Costs | None = None,
    ) -> None:
        self.tally = Tally()
        self.registries: dict[str, CountingEcr] = {}
        self.epoch = time.time()
        self.elapsed = 0.0
        self.parallelism = parallelism
        self._world = world
        self._costs = costs
        self._started: tuple[tuple[Calls, Counter[Place], Counter[Place]], float, float] | None = None
        self._bookkeeping = (0.0, 0.0)  # CPU and wall seconds the modelled clock took during a scan (not the scan's)
        sts = Boto3StsGateway(lambda region: FakeStsClient(self.tally, region, self.clock), clock=self.clock)
        self.caches = PlaceCaches(sts=sts, max_places=max_places)
        scanner_clock = self._scanner_clock if costs is not None else (lambda: 0.0)
        self.scanner = InventoryScanner(clock=scanner_clock, parallelism=parallelism)

    def places_for(self, estate: Estate) -> BenchPlaces:
        return BenchPlaces(estate, self.caches, self._world, self)

    def clock(self) -> float:
        return self.epoch + self.elapsed

    def _scanner_clock(self) -> float:
        if self._started is None:
            return self.clock()
        cpu, wall = time.process_time(), time.perf_counter()
        modelled = self._so_far().modelled
        spent_cpu, spent_wall = self._bookkeeping
        self._bookkeeping = (spent_cpu + time.process_time() - cpu, spent_wall + time.perf_counter() - wall)
        return self.clock() + modelled

    def begin(self) -> None:
        self._started = (self.tally.mark(), time.process_time(), time.perf_counter())
        self._bookkeeping = (0.0, 0.0)

    def _so_far(self) -> Scan:
        assert self._started is not None
        (calls, built, entered), cpu, wall = self._started
        now_calls, now_built, now_entered = self.tally.mark()
        found = Scan(
            time.process_time() - cpu - self._bookkeeping[0],
            time.perf_counter() - wall - self._bookkeeping[1],
            now_calls - calls,
            now_built - built,
            now_entered - entered,
        )
        if self._costs is not None:
            found.modelled = scan_time(place_works(found, self._costs, self._world.targets), self.parallelism).wall
        return found

    def end(self, inventory: Inventory) -> Scan:
        found = self._so_far()
        found.inventory = inventory
        self._started = None
        self.elapsed += found.modelled
        return found


# --------------------------------------------------------------------------------------------------- measuring
def scan(worker: Worker, world: World) -> Scan:
    """One InventoryScanner.scan of every place, as a worker invocation makes it (the scanner may keep the last)."""
    places = worker.places_for(world.config.estate)
    worker.begin()
    inventory = worker.scanner.scan(world.config.safety.in_use, places, world.targets)
    found = worker.end(inventory)
    assert inventory.complete, inventory.unreadable[:3]
    return found


def same_inventory(one: Inventory, other: Inventory) -> bool:
    """The same uses in the same order, the same sources, places and gaps (the time of the scan aside)."""
    return (one.uses, one.sources, one.places, one.unreadable) == (
        other.uses,
        other.sources,
        other.places,
        other.unreadable,
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
    cached, and so is the Config parsed from it), listing the places (Estate.places, cached per estate and home), and
    finding the kept scan (InventoryScanner's key holds every place)."""
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


class _Body:
    """The raw body of an HTTP response, as botocore reads it."""

    def __init__(self, data: bytes) -> None:
        self._data = data

    def stream(self, **_: Any) -> Iterator[bytes]:
        yield self._data

    def read(self, *_: Any, **__: Any) -> bytes:
        return self._data


def call_cost(rounds: int = 500) -> float:
    """Median seconds of one boto3 call answered in process (an ecs DescribeTasks of one running task, the largest
    response a place scan reads): the request serialised and signed, adaptive retries' rate limiter, the response
    parsed; everything but the round trip (a `before-send` handler answers)."""
    from botocore.awsrequest import AWSResponse
    from housekeeper.aws.session import Credentials, client_with

    arn = "arn:aws:ecs:eu-west-1:200000000000"
    image = f"{HOME_ACCOUNT}.dkr.ecr.eu-west-1.amazonaws.com/team-000/service-00001"
    task = {
        "taskArn": f"{arn}:task/prod-0/0123456789abcdef",
        "clusterArn": f"{arn}:cluster/prod-0",
        "taskDefinitionArn": f"{arn}:task-definition/prod-0-svc-0:1",
        "lastStatus": "RUNNING",
        "startedBy": "ecs-svc/1234567890",
        "containers": [
            {"name": "c0", "image": f"{image}:Prod-4", "imageDigest": "sha256:" + "a" * 64, "lastStatus": "RUNNING"}
        ],
    }
    body = json.dumps({"tasks": [task], "failures": []}).encode()
    headers = {"content-type": "application/x-amz-json-1.1", "x-amzn-requestid": "bench"}
    ecs = client_with("ecs", "eu-west-1", Credentials("ASIAEXAMPLE", "secret", "token", time.time() + 3600))
    ecs.meta.events.register(
        "before-send.ecs.DescribeTasks", lambda request, **_: AWSResponse(request.url, 200, headers, _Body(body))
    )
    for _ in range(20):  # the first calls load the operation model and the endpoint rules
        ecs.describe_tasks(cluster="prod-0", tasks=["0123456789abcdef"])
    timings = []
    for _ in range(rounds):
        started = time.perf_counter()
        ecs.describe_tasks(cluster="prod-0", tasks=["0123456789abcdef"])
        timings.append(time.perf_counter() - started)
    return statistics.median(timings)


# ---------------------------------------------------------------------------------------------------- projecting
@dataclass(frozen=True)
class Work:
    """One place's share of a scan on AWS, in seconds."""

    locked_trip: float  # its AssumeRole round trip, under PlaceCaches' lock
    locked_cpu: float  # its boto3 clients built, under the lock
    trips: float  # its calls' round trips, one after another
    cpu: float  # its Python and its calls' CPU
    clients: int = 0  # boto3 clients built (each opens its own connections)


@dataclass(frozen=True)
class ScanTime:
    wall: float  # the slowest thread's end, or the scan's CPU if more (the threads share one CPU share)
    slowest_thread: float
    cpu: float
    locked: float  # time the lock is held, places one after another


def place_works(found: Scan, costs: Costs, targets: Sequence[Place]) -> list[Work]:
    """Each place's work in a scan on AWS, in the order the scan hands places to its threads. The Python measured
    here is shared evenly between the places (they run the same workload)."""
    trips: dict[Place, float] = {}
    calls: Counter[Place] = Counter()
    for (operation, account, region), count in found.calls.items():
        if operation.split(":", 1)[0] in ("sts", "ecr", "sqs"):  # AssumeRole is the place's, via `entered`
            continue
        place = Place(account, region)
        trips[place] = trips.get(place, 0.0) + count * latency(region)
        calls[place] += count
    python = found.cpu_seconds / max(1, len(targets))
    return [
        Work(
            locked_trip=found.entered[place] * latency(place.region),
            locked_cpu=found.built[place] * CLIENTS_PER_VIEW * costs.client_seconds * CPU_FACTOR,
            trips=trips.get(place, 0.0),
            cpu=(python + (calls[place] + found.entered[place]) * costs.call_seconds) * CPU_FACTOR,
            clients=found.built[place] * CLIENTS_PER_VIEW,
        )
        for place in targets
    ]


def with_new_connections(works: Sequence[Work], targets: Sequence[Place], round_trips: int = 2) -> list[Work]:
    """The same works if each new boto3 client's first call took `round_trips` more (TCP and TLS set-up): the model
    takes every call on a warm connection, and a client built is a connection pool opened."""
    return [
        replace(work, trips=work.trips + work.clients * round_trips * latency(place.region))
        for work, place in zip(works, targets, strict=True)
    ]


def scan_time(works: Sequence[Work], threads: int) -> ScanTime:
    """ThreadPoolExecutor.map over the places: each thread takes the next place when it is free; a place that must
    be entered (AssumeRole) or built waits for the lock, holds it, then makes its calls one after another."""
    free = [0.0] * max(1, min(threads, len(works)))  # when each thread is next free (a heap)
    lock_free = slowest = locked = cpu = 0.0
    for work in works:
        now = heapq.heappop(free)
        hold = work.locked_trip + work.locked_cpu
        if hold > 0:
            now = lock_free = max(now, lock_free) + hold
            locked += hold
        now += work.trips + work.cpu
        cpu += work.cpu + work.locked_cpu
        slowest = max(slowest, now)
        heapq.heappush(free, now)
    return ScanTime(max(slowest, cpu), slowest, cpu, locked)


@dataclass(frozen=True)
class Sweep:
    seconds: float | None  # None: an invocation would run past the timeout, so the sweep never finishes
    scans: tuple[Counter[str], ...]  # per container: cold, warm and renewal scans
    longest_invocation: float
    scanning: float  # container-seconds spent scanning
    busy: float  # container-seconds in all


def simulate(per_message: Sequence[float], cold: float, warm: float, renewal: float) -> Sweep:
    """The sweep on AWS: batches taking turns between the workers. Before its batch, a worker scans when its kept
    scan has expired: TTL_SECONDS counted from the end of the last scan, as InventoryScanner keeps it. Its first
    scan is cold; a later one warm, or a renewal when the credentials taken CREDENTIALS_KEPT earlier are due."""
    batches = [per_message[i : i + BATCH] for i in range(0, len(per_message), BATCH)]
    ends, made, longest, scanning = [], [], 0.0, 0.0
    for worker in range(WORKERS):
        now, expires, renew_at, kinds = 0.0, -math.inf, math.inf, Counter[str]()
        for batch in batches[worker::WORKERS]:
            start = now
            if now >= expires:
                kind = "cold" if not kinds else "renewal" if now >= renew_at else "warm"
                renew_at = now + CREDENTIALS_KEPT if kind != "warm" else renew_at
                took = {"cold": cold, "warm": warm, "renewal": renewal}[kind]
                now += took
                scanning += took
                expires = now + TTL_SECONDS
                kinds[kind] += 1
            now += sum(batch)
            longest = max(longest, now - start)
            if now - start > WORKER_TIMEOUT:
                return Sweep(None, (kinds,), longest, scanning, 0.0)
        ends.append(now)
        made.append(kinds)
    return Sweep(max(ends), tuple(made), longest, scanning, sum(ends))


def describe(sweep: Sweep, *, scanning: bool = True) -> str:
    if sweep.seconds is None:
        return (
            f"does not finish: an invocation needs {sweep.longest_invocation:,.0f} s "
            f"(timeout {WORKER_TIMEOUT:.0f} s), so every message times out and retries"
        )
    found = f"{sweep.seconds / 3600:.2f} h, longest invocation {sweep.longest_invocation:.0f} s"
    if scanning:
        per = "; ".join(
            f"{kinds['cold']} cold + {kinds['warm']} warm + {kinds['renewal']} renewal" for kinds in sweep.scans
        )
        found += f", scans per container: {per}; {sweep.scanning / sweep.busy:.0%} of container time scanning"
    return found


def sweep_calls(sweep: Sweep, scans: Mapping[str, Scan]) -> Calls:
    """The calls of every scan the sweep makes, each container's cold, warm and renewal scans as measured."""
    total: Calls = Counter()
    for kinds in sweep.scans:
        for kind, count in kinds.items():
            for key, calls in scans[kind].calls.items():
                total[key] += calls * count
    return total


def accounts_within(limit: int) -> int:
    """The most workload accounts (listed by id alone) whose config fits `limit` bytes of compact JSON."""
    accounts = 0
    while len(json.dumps(make_config(accounts + 1), separators=(",", ":"))) <= limit:
        accounts += 1
    return accounts


def estate_works(works: Mapping[str, Sequence[Work]], kind: str, accounts: int) -> list[Work]:
    """This run's work per place for an estate of `accounts` workload accounts (3 regions each): the registry's 3
    places, then workload places taken in turn. A warm scan past MAX_PLACES places rebuilds every view (least
    recently used out, the same order each scan); below it, it keeps them."""
    count = len(REGIONS) * (accounts + 1)
    if kind == "warm" and count <= MAX_PLACES:
        kind = "warm kept"
    hub, rest = list(works[kind][: len(REGIONS)]), works[kind][len(REGIONS) :]
    return hub + [rest[i % len(rest)] for i in range(count - len(hub))]


def sweep_of(per_message: Sequence[float], works: Mapping[str, Sequence[Work]], accounts: int) -> tuple[Sweep, str]:
    walls = {
        kind: scan_time(estate_works(works, kind, accounts), PARALLEL_PLACES).wall
        for kind in ("cold", "warm", "renewal")
    }
    sweep = simulate(per_message, walls["cold"], walls["warm"], walls["renewal"])
    return sweep, f"scans {walls['cold']:,.0f} s cold, {walls['warm']:,.0f} s warm, {walls['renewal']:,.0f} s renewal"


def by_estate_size(per_message: Sequence[float], works: Mapping[str, Sequence[Work]]) -> dict[int, str]:
    """The steady sweep for fewer or more workload accounts, from this run's work per place."""
    found: dict[int, str] = {}
    for accounts in ESTATE_SIZES:
        sweep, scans = sweep_of(per_message, works, accounts)
        size = len(json.dumps(make_config(accounts), separators=(",", ":")))
        note = " (past the 8 KB advanced tier)" if size > ADVANCED_PARAMETER_BYTES else ""
        if sweep.seconds is None:
            done = f"never (an invocation needs {sweep.longest_invocation:,.0f} s)"
        else:
            rescans = sum(kinds["warm"] + kinds["renewal"] for kinds in sweep.scans) / len(sweep.scans)
            done = f"{sweep.seconds / 3600:.2f} h, {rescans:.0f} rescans per container"
        found[accounts] = f"{len(REGIONS) * (accounts + 1)} places, config {size:,} B{note}; {scans}; sweep {done}"
    return found


def most_accounts_in_time(per_message: Sequence[float], works: Mapping[str, Sequence[Work]]) -> int:
    """The most workload accounts (3 regions each) whose sweep has no invocation past the timeout."""
    low, high = 0, 10_000
    while low < high:
        middle = (low + high + 1) // 2
        if sweep_of(per_message, works, middle)[0].seconds is None:
            high = middle - 1
        else:
            low = middle
    return low


def calls_per_repository(calls: Calls, region: str) -> dict[str, float]:
    found: Counter[str] = Counter()
    for (operation, _, call_region), count in calls.items():
        if call_region == region and operation.startswith("ecr:"):
            found[operation] += count
    return {operation: count / REPOSITORIES for operation, count in found.items()}


def message_seconds(python: float, calls: Calls, call_seconds: float) -> dict[str, float]:
    """Modelled seconds per message, by region: Python on Lambda plus the ECR calls one after another (each its round
    trip and its boto3 CPU on Lambda)."""
    found = {}
    for region in REGIONS:
        count = sum(calls_per_repository(calls, region).values())
        found[region] = (python + count * call_seconds) * CPU_FACTOR + count * latency(region)
    return found


def queued_seconds(messages: Sequence[Mapping[str, Any]], per_region: Mapping[str, float]) -> list[float]:
    return [per_region[body["region"]] for body in messages]


def per_place(calls: Calls) -> dict[tuple[str, str], Counter[str]]:
    found: dict[tuple[str, str], Counter[str]] = {}
    for (operation, account, region), count in calls.items():
        found.setdefault((account, region), Counter())[operation] += count
    return found


def _peak(calls_in_a_place_scan: float, place_seconds: float) -> float:
    """Requests per second one quota sees when both workers scan the same place at the same moment."""
    return WORKERS * calls_in_a_place_scan / max(1.0, place_seconds)


def headroom(scans: Mapping[str, Scan], sweep: Sweep, sweep_scan_calls: Calls) -> dict[str, str]:
    """Peak request rate against each published quota (per account and region) of the places a scan reads. One
    place is read by one thread, its calls one after another; the 16 threads read 16 different places (accounts or
    regions), so they share no ECS, Lambda, Scheduler or EventBridge quota. The busiest case: a workload place in
    the hub's region (30 ms calls), read by both workers at once."""
    figures: dict[str, str] = {}
    cold_places, warm_places = per_place(scans["cold"].calls), per_place(scans["warm"].calls)
    workload = [key for key in cold_places if key[0] != HOME_ACCOUNT and key[1] == HOME_REGION]
    busiest = max(workload, key=lambda key: sum(cold_places[key].values()))
    cold_place, warm_place = cold_places[busiest], warm_places.get(busiest, Counter())
    over_sweep = per_place(sweep_scan_calls).get(busiest, Counter())
    seconds = sweep.seconds or math.inf
    place_seconds = sum(cold_place.values()) * LATENCY_IN_REGION
    for name, (operations, burst, sustained) in ECS_BUCKETS.items():
        calls = sum(cold_place[op] for op in operations)
        peak = _peak(calls, place_seconds)
        burst_note = "within" if WORKERS * calls <= burst else "over"
        average = sum(over_sweep[op] for op in operations) / seconds
        figures[f"headroom {name}"] = (
            f"{calls} per place scan (warm {sum(warm_place[op] for op in operations)}); both workers on one place: "
            f"{WORKERS * calls} in {max(1.0, place_seconds):.1f} s, {burst_note} the burst of {burst:.0f}, peak "
            f"{peak:.0f}/s vs {sustained:.0f}/s sustained: {sustained / peak:.1f}x; sweep average {average:.2f}/s"
        )
    get_function = cold_place["lambda:GetFunction"]
    control = cold_place["lambda:ListFunctions"] + cold_place["lambda:ListAliases"]
    figures["headroom lambda GetFunction"] = (
        f"{get_function} per place scan (warm {warm_place['lambda:GetFunction']}), peak "
        f"{_peak(get_function, place_seconds):.0f}/s vs {LAMBDA_GET_FUNCTION_PER_SECOND:.0f}/s: "
        f"{LAMBDA_GET_FUNCTION_PER_SECOND / _peak(get_function, place_seconds):.0f}x"
    )
    control_peak = _peak(control, place_seconds)
    control_average = (over_sweep["lambda:ListFunctions"] + over_sweep["lambda:ListAliases"]) / seconds
    figures["headroom lambda control plane (ListFunctions + ListAliases)"] = (
        f"{control} per place scan (warm {warm_place['lambda:ListFunctions'] + warm_place['lambda:ListAliases']}), "
        f"peak {control_peak:.0f}/s vs {LAMBDA_CONTROL_PLANE_PER_SECOND:.0f}/s: "
        f"{LAMBDA_CONTROL_PLANE_PER_SECOND / control_peak:.1f}x; sweep average {control_average:.2f}/s"
    )
    for name, prefix in UNPUBLISHED.items():
        calls = sum(count for op, count in cold_place.items() if op.startswith(prefix))
        warm = sum(count for op, count in warm_place.items() if op.startswith(prefix))
        figures[f"rate {name}"] = (
            f"{calls} per place scan (warm {warm}), peak {_peak(calls, place_seconds):.0f}/s (no published quota)"
        )
    figures.update(_sts_headroom(scans, sweep, sweep_scan_calls))
    return figures


def _sts_headroom(scans: Mapping[str, Scan], sweep: Sweep, sweep_scan_calls: Calls) -> dict[str, str]:
    """AssumeRole counts against the hub account, at the regional endpoint of each place. Boto3Places._view holds
    PlaceCaches' lock while it assumes a role, so a container makes one AssumeRole at a time."""
    cold = scans["cold"]
    home = sum(
        count for (op, _, region), count in cold.calls.items() if op == "sts:AssumeRole" and region == HOME_REGION
    )
    bound = WORKERS / LATENCY_IN_REGION
    over_sweep = sum(count for (op, _, _), count in sweep_scan_calls.items() if op == "sts:AssumeRole")
    renewals = sum(kinds["renewal"] for kinds in sweep.scans)
    return {
        "headroom sts AssumeRole (hub account, per region)": (
            f"{cold.assumed} per cold scan ({home} at the hub's regional endpoint), over {cold.modelled:.0f} s: "
            f"{home / cold.modelled:.1f}/s there; at most {bound:.0f}/s from both workers (one at a time each, under "
            f"the lock) vs {STS_PER_SECOND:.0f}/s: {STS_PER_SECOND / bound:.0f}x; {scans['warm'].assumed} in a warm "
            f"scan, {scans['renewal'].assumed} in a renewal; {over_sweep:,} per sweep ({renewals} renewals)"
        )
    }


def _ecr_headroom(steady_calls: Calls, repo: Mapping[str, float]) -> dict[str, str]:
    figures: dict[str, str] = {}
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
def _plan(world: World, costs: Costs) -> tuple[float, float, int, Worker, Any]:
    planner, sqs = Worker(world), fakes.FakeSqs()
    started = time.perf_counter()
    outcome = plan_sync(
        SWEEP, config_parameter=PARAMETER, queue_url=QUEUE, ssm=world.ssm, places_for=planner.places_for, sqs=sqs
    )
    seconds = time.perf_counter() - started
    planner.tally.add("sqs:SendMessageBatch", Place(HOME_ACCOUNT, HOME_REGION), len(sqs.batch_sizes))
    calls = sum(planner.tally.calls.values())
    on_aws = planner.tally.aws_seconds + (seconds + calls * costs.call_seconds) * PLAN_CPU_FACTOR
    return seconds, on_aws, outcome.queued, planner, sqs


def _scans(world: World, costs: Costs) -> dict[str, Scan]:
    """The scans of one container on the modelled clock, as the real scanner and STS gateway decide them: cold, at
    once, after the TTL (warm), at the renewal of the credentials; the same cold and warm with every place's clients
    kept; a cold scan one place at a time."""
    found: dict[str, Scan] = {}
    worker = Worker(world, costs=costs)
    found["cold"] = scan(worker, world)
    found["at once"] = scan(worker, world)
    worker.elapsed += TTL_SECONDS  # a minute with no scan
    found["warm"] = scan(worker, world)
    worker.elapsed = max(worker.elapsed, CREDENTIALS_KEPT + 1.0)  # the credentials of the cold scan are due
    found["renewal"] = scan(worker, world)
    kept = Worker(world, costs=costs, max_places=len(world.targets) + 1)
    found["cold kept"] = scan(kept, world)
    kept.elapsed += TTL_SECONDS
    found["warm kept"] = scan(kept, world)
    found["cold one at a time"] = scan(Worker(world, costs=costs, parallelism=1), world)
    return found


def _scan_figures(world: World, scans: Mapping[str, Scan], times: Mapping[str, ScanTime]) -> dict[str, Any]:
    cold, warm, kept, renewal = scans["cold"], scans["warm"], scans["warm kept"], scans["renewal"]
    one = scans["cold one at a time"]
    places = len(world.targets)

    def counts(found: Scan) -> str:
        return f"{sum(found.calls.values()):,}, {found.assumed}, {found.views_built}"

    return {
        "scan: places, image uses": f"{places}, {len(cold.inventory.uses):,}",
        "scan cold: calls by service": by_service(cold.calls),
        "scan cold: calls by operation": by_operation(cold.calls),
        "scan cold: calls, AssumeRole, views built": counts(cold),
        "scan again at once: kept by the real scanner (TTL from the scan's end)": (
            f"{scans['at once'].inventory is cold.inventory} (the cold scan took {cold.modelled:,.0f} s modelled, "
            f"TTL {TTL_SECONDS:.0f} s)"
        ),
        f"scan warm, after the TTL, MAX_PLACES={MAX_PLACES}: calls, AssumeRole, views rebuilt": counts(warm),
        "scan warm, every place's clients kept: calls, AssumeRole, views rebuilt": counts(kept),
        "scan warm: calls by operation": by_operation(warm.calls),
        "scan at the renewal of credentials: calls, AssumeRole, views rebuilt": counts(renewal),
        f"same inventory: {PARALLEL_PLACES} places at a time vs one at a time (cold)": same_inventory(
            cold.inventory, one.inventory
        ),
        "same inventory: warm from the memos (evicted views) vs cold": same_inventory(warm.inventory, cold.inventory),
        f"scan python CPU ms per place (cold): {PARALLEL_PLACES} threads, 1 thread; bare walk of the fakes": (
            f"{cold.cpu_seconds / places * 1000:.2f}, {one.cpu_seconds / places * 1000:.2f}; "
            f"{bare_places(world) / places * 1000:.3f}"
        ),
        f"scan wall s here (cold): {PARALLEL_PLACES} threads, 1 thread": (
            f"{cold.wall_seconds:.2f}, {one.wall_seconds:.2f}"
        ),
        f"model: scan on AWS s, {PARALLEL_PLACES} threads: cold, warm (MAX_PLACES), warm (every view kept), renewal": (
            f"{times['cold'].wall:,.0f}, {times['warm'].wall:,.0f}, {times['warm kept'].wall:,.0f}, "
            f"{times['renewal'].wall:,.0f}"
        ),
        "model: scan on AWS s, one place at a time: cold, warm (MAX_PLACES)": (
            f"{times['cold 1'].wall:,.0f}, {times['warm 1'].wall:,.0f}"
        ),
        "model: parts of a scan s (slowest thread / CPU / lock held): cold; warm; renewal": "; ".join(
            f"{t.slowest_thread:,.0f} / {t.cpu:,.0f} / {t.locked:,.0f}"
            for t in (times["cold"], times["warm"], times["renewal"])
        ),
    }


def _sweep_figures(
    steady: Sequence[float], first: Sequence[float], times: Mapping[str, ScanTime], scans: Mapping[str, Scan]
) -> tuple[dict[str, Any], Sweep, Calls]:
    cold, warm, renewal = times["cold"].wall, times["warm"].wall, times["renewal"].wall
    sweep = simulate(steady, cold, warm, renewal)
    scan_calls = sweep_calls(sweep, scans)
    per_container = [f"{sum(kinds[k] * sum(scans[k].calls.values()) for k in kinds):,}" for kinds in sweep.scans]
    busy_day = DAY / (TTL_SECONDS + warm)  # a container kept busy all day (sweeps, pushes, deployments)
    figures = {
        "model: sweep, ECR only (no scan), steady": describe(simulate(steady, 0.0, 0.0, 0.0), scanning=False),
        "model: sweep, ECR only (no scan), first": describe(simulate(first, 0.0, 0.0, 0.0), scanning=False),
        f"model: steady sweep as the code stands ({PARALLEL_PLACES} threads, TTL {TTL_SECONDS:.0f} s from the end)": (
            describe(sweep)
        ),
        "model: first sweep as the code stands": describe(simulate(first, cold, warm, renewal)),
        "model: rescan interval per container s (TTL + warm scan)": f"{TTL_SECONDS + warm:.0f}",
        "steady sweep: scan calls per container": ", ".join(per_container),
        "steady sweep: scan calls by service": by_service(scan_calls),
        "a container kept busy all day: rescans, scan calls": (
            f"{busy_day:,.0f}, {busy_day * sum(scans['warm'].calls.values()):,.0f}"
        ),
    }
    return figures, sweep, scan_calls


def run() -> dict[str, Any]:
    started = time.perf_counter()
    world = build_world()
    seed_seconds = time.perf_counter() - started
    config_bytes = len(json.dumps(CONFIG, separators=(",", ":")))
    client_seconds, view_bytes = client_costs()
    costs = Costs(client_seconds, call_cost())

    plan_seconds, plan_aws, queued, planner, sqs = _plan(world, costs)
    messages = sqs.queues[QUEUE]
    scans = _scans(world, costs)

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
    overhead = invocation_overhead(world, workers[0])

    steady_repo = steady_seconds / len(messages)
    first_repo = first_seconds / len(messages)
    steady_message = message_seconds(steady_repo, steady_calls, costs.call_seconds)
    first_message = message_seconds(first_repo, first_calls, costs.call_seconds)
    works = {kind: place_works(found, costs, world.targets) for kind, found in scans.items()}
    times = {kind: scan_time(works[kind], PARALLEL_PLACES) for kind in ("cold", "warm", "warm kept", "renewal")}
    times["cold 1"] = scan_time(works["cold one at a time"], 1)
    times["warm 1"] = scan_time(works["warm"], 1)
    steady = queued_seconds(messages, steady_message)
    first = queued_seconds(messages, first_message)
    sweep_figures, sweep, scan_calls = _sweep_figures(steady, first, times, scans)
    connecting = {
        kind: scan_time(with_new_connections(works[kind], world.targets), PARALLEL_PLACES).wall
        for kind in ("cold", "warm", "warm kept")
    }
    total = planner.tally.calls + steady_calls + scan_calls

    figures: dict[str, Any] = {
        "estate": (
            f"{ACCOUNTS} workload accounts x {len(REGIONS)} regions + the registry in {len(REGIONS)}: "
            f"{len(world.targets)} places; {REPOSITORIES:,} repositories x {len(REGIONS)} regions, 3-5 images each"
        ),
        "per place": (
            f"{CLUSTERS} clusters x {SERVICES_PER_CLUSTER} services (1 task each), {FUNCTIONS} image functions "
            f"(+ alias), {SCHEDULES} schedules, {RULES} rules: "
            f"{len(scans['cold'].inventory.uses) // len(world.targets)} uses"
        ),
        "config bytes (200 accounts; SSM standard tier 4,096); accounts within the advanced tier's 8,192": (
            f"{config_bytes}; {accounts_within(ADVANCED_PARAMETER_BYTES)}"
        ),
        "seed seconds": round(seed_seconds, 1),
        "plan_sync: messages queued": queued,
        "plan_sync: calls": by_operation(planner.tally.calls),
        "plan_sync: python seconds": round(plan_seconds, 2),
        "plan_sync: projected on AWS, s (timeout 900)": round(plan_aws),
        **_scan_figures(world, scans, times),
        "boto3 client build ms (median); one call's CPU ms (median)": (
            f"{costs.client_seconds * 1000:.1f}; {costs.call_seconds * 1000:.2f}"
        ),
        "boto3 clients of one place view KB; MAX_PLACES views MB; all places MB (worker: 512 MB)": (
            f"{view_bytes / 1024:.0f}; {view_bytes * MAX_PLACES / 2**20:.0f}; "
            f"{view_bytes * len(world.targets) / 2**20:.0f}"
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
        "per invocation python ms: config read, Estate.places, scanner hit": (
            f"{overhead['config'] * 1000:.3f}, {overhead['places'] * 1000:.3f}, {overhead['scanner hit'] * 1000:.3f}"
        ),
        "model: latency in / out of the hub's region s, CPU factor, threads": (
            f"{LATENCY_IN_REGION}, {LATENCY_CROSS_REGION}, {CPU_FACTOR:.2f}, {PARALLEL_PLACES}"
        ),
        "model: seconds per message, steady (by region)": {r: round(s, 3) for r, s in steady_message.items()},
        **sweep_figures,
        "steady sweep: calls in all (plan + ECR + scans), by service": by_service(total),
        "model: if each new client's first call took 2 more round trips (TCP, TLS): cold, warm, warm (views kept)": (
            f"{connecting['cold']:,.0f}, {connecting['warm']:,.0f}, {connecting['warm kept']:,.0f}"
        ),
        "model: steady sweep by workload accounts (x3 regions), as the code stands": by_estate_size(steady, works),
        "model: most workload accounts with no invocation past the timeout": most_accounts_in_time(steady, works),
    }
    figures.update(headroom(scans, sweep, scan_calls))
    figures.update(_ecr_headroom(steady_calls, steady_message))
    return figures


if __name__ == "__main__":
    for key, value in run().items():
        print(f"{key}: {value}")
