"""The gateway interfaces the logic layer depends on. boto3 gateways and the in-memory fakes both implement them.

Logic takes these Protocols, never a boto3 client, so that it runs on fakes in unit tests and on moto or AWS
unchanged. Every method raises project exceptions (housekeeper.aws.errors), never botocore's.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any, Protocol

from housekeeper.core.images import ImageRecord
from housekeeper.core.places import Place


@dataclass(frozen=True)
class ManifestDocument:
    """A manifest exactly as ECR stores it: the bytes are passed on unchanged so the digest never changes."""

    repository: str
    digest: str
    manifest: str
    media_type: str
    tags: tuple[str, ...] = ()


class RetagStatus(StrEnum):
    """What adding one tag to one digest did (RetagOutcome.status)."""

    TAGGED = "tagged"
    ALREADY_PRESENT = "already_present"
    CONFLICT = "conflict"  # the tag already names another digest; never moved
    TAG_LIMIT = "tag_limit"  # the image already carries ECR's maximum number of tags


@dataclass(frozen=True)
class RetagOutcome:
    """What a retag did. `status`: TAGGED | ALREADY_PRESENT | CONFLICT | TAG_LIMIT."""

    repository: str
    digest: str
    tag: str
    status: str
    detail: str = ""


@dataclass(frozen=True)
class RepositoryInfo:
    name: str
    arn: str
    registry_id: str
    uri: str
    tag_mutability: str = "MUTABLE"


@dataclass(frozen=True)
class RunningContainer:
    """One container of one running ECS task: what actually runs, by digest where ECS reports it."""

    cluster: str
    service: str | None
    task_arn: str
    container_name: str
    image: str
    image_digest: str | None
    started_by: str | None = None


@dataclass(frozen=True)
class ServiceDeployment:
    """The parts of DescribeServiceDeployments the tagger needs."""

    deployment_arn: str
    service_arn: str
    cluster_arn: str
    status: str
    target_revision_arn: str | None
    source_revision_arns: tuple[str, ...] = ()


@dataclass(frozen=True)
class ServiceState:
    """The parts of DescribeServices the tagger needs to tell which deployment a service runs now."""

    service_arn: str
    cluster: str
    service: str
    status: str
    task_definition: str | None
    primary_deployment_id: str | None
    current_service_deployment_arn: str | None = None

    @property
    def active(self) -> bool:
        return self.status not in ("INACTIVE", "DRAINING")


@dataclass(frozen=True)
class ContainerImageRef:
    """An image a service revision or task definition names, with the digest ECS pinned where known."""

    container_name: str
    image: str
    image_digest: str | None = None


@dataclass(frozen=True)
class ServiceTaskDefinitions:
    """The task definitions an ECS service runs or will run: its own, and those of its PRIMARY and ACTIVE
    deployments (during a rollout or a rollback both are live). Kept whatever the desired count, 0 included."""

    cluster: str
    service: str
    task_definitions: tuple[str, ...]


@dataclass(frozen=True)
class FunctionImage:
    """The image one Lambda function version runs: `$LATEST`, or the version an alias points at."""

    function: str
    qualifier: str  # "$LATEST" or the alias name
    version: str
    image_uri: str  # as configured (a tag or a digest)
    resolved_image_uri: str | None = None  # `<repository uri>@sha256:...`: what Lambda actually runs


@dataclass(frozen=True)
class ScheduledTask:
    """An EventBridge Scheduler schedule, or an EventBridge rule target, that runs an ECS task definition."""

    group: str  # the schedule group, or the event bus of a rule
    name: str
    task_definition: str


@dataclass
class PreviewStatus:
    """ECR's own lifecycle preview: status plus results in the GetLifecyclePolicyPreview shape."""

    status: str
    results: list[dict[str, Any]] = field(default_factory=list)


class EcrGateway(Protocol):
    def account_registry_id(self) -> str: ...
    def region(self) -> str: ...
    def describe_repository(self, repository: str) -> RepositoryInfo: ...
    def iter_repositories(self) -> Iterator[RepositoryInfo]: ...
    def iter_images(self, repository: str) -> Iterator[ImageRecord]: ...
    def tags_of_digest(self, repository: str, digest: str) -> tuple[str, ...]: ...
    def digest_of_tag(self, repository: str, tag: str) -> str | None: ...
    def get_manifest(self, repository: str, digest: str) -> ManifestDocument: ...
    def retag(self, repository: str, digest: str, tag: str) -> RetagOutcome: ...
    def get_lifecycle_policy(self, repository: str) -> dict[str, Any] | None: ...
    def put_lifecycle_policy(self, repository: str, policy: Mapping[str, Any]) -> None: ...
    def start_lifecycle_preview(self, repository: str, policy: Mapping[str, Any]) -> None: ...
    def get_lifecycle_preview(self, repository: str) -> PreviewStatus: ...
    def batch_delete_images(self, repository: str, digests: Sequence[str]) -> list[str]: ...
    def get_repository_policy(self, repository: str) -> dict[str, Any] | None: ...


class EcsGateway(Protocol):
    def iter_cluster_names(self) -> Iterator[str]: ...
    def iter_running_containers(self, cluster: str) -> Iterator[RunningContainer]: ...
    def iter_service_task_definitions(self, cluster: str) -> Iterator[ServiceTaskDefinitions]: ...
    def iter_active_task_definition_families(self) -> Iterator[str]: ...
    def newest_task_definitions(self, family: str, count: int) -> list[str]: ...
    def containers_started_by(self, cluster: str, started_by: str) -> list[RunningContainer]: ...
    def describe_service_deployment(self, deployment_arn: str) -> ServiceDeployment | None: ...
    def service_revision_images(self, revision_arn: str) -> list[ContainerImageRef]: ...
    def describe_service(self, cluster: str, service: str) -> ServiceState | None: ...
    def task_definition_images(self, task_definition: str) -> list[ContainerImageRef]: ...


class LambdaGateway(Protocol):
    def iter_function_images(self) -> Iterator[FunctionImage]: ...


class SchedulerGateway(Protocol):
    def iter_scheduled_tasks(self) -> Iterator[ScheduledTask]: ...


class EventsGateway(Protocol):
    def iter_rule_tasks(self) -> Iterator[ScheduledTask]: ...


class SsmGateway(Protocol):
    def get_parameter(self, name: str, *, force_fetch: bool = False) -> str: ...
    def put_parameter(self, name: str, value: str) -> None: ...


class SqsGateway(Protocol):
    def send_messages(self, queue_url: str, bodies: Iterable[Mapping[str, Any]]) -> int: ...


# Inspector's severity names, highest first, as the report shows them.
SEVERITIES = ("CRITICAL", "HIGH", "MEDIUM", "LOW", "INFORMATIONAL", "UNTRIAGED")


@dataclass(frozen=True)
class FindingCounts:
    """Inspector findings of one image by severity (CRITICAL, HIGH, MEDIUM, LOW, INFORMATIONAL, UNTRIAGED)."""

    digest: str
    by_severity: Mapping[str, int]

    @property
    def total(self) -> int:
        return sum(self.by_severity.values())


class InspectorGateway(Protocol):
    def findings_by_image(self, repository: str) -> dict[str, FindingCounts]: ...


@dataclass(frozen=True)
class InventorySources:
    """The gateways the in-use inventory reads in one place; a source whose gateway is missing cannot be scanned
    (and fails closed)."""

    ecs: EcsGateway | None = None
    lambdas: LambdaGateway | None = None
    scheduler: SchedulerGateway | None = None
    events: EventsGateway | None = None


class Places(Protocol):
    """The gateways of every place housekeeper works in: the registry's ECR per region, and the read-only views of
    each account and region (the registry's own with its own credentials, a workload account's through its reader
    role). Implementations cache what they build, so asking twice costs nothing."""

    @property
    def home(self) -> Place: ...
    def registry(self, region: str) -> EcrGateway: ...
    def ecs(self, place: Place) -> EcsGateway: ...
    def sources(self, place: Place) -> InventorySources: ...
