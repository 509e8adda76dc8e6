"""In-memory gateways implementing housekeeper.aws.ports, with ECR's real semantics (not moto's).

They differ from moto where moto differs from ECR: digests are the sha256 of the manifest bytes, PutImage never
moves a tag in these fakes unless the repository is mutable, and the lifecycle preview is served from whatever the
test sets. Each fake records the writes it received so tests can assert what was (not) changed.
"""

from __future__ import annotations

import hashlib
import json
import time
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from housekeeper.aws.ecr import MAX_TAGS_PER_IMAGE
from housekeeper.aws.errors import NotFound
from housekeeper.aws.ports import (
    ContainerImageRef,
    FunctionImage,
    ManifestDocument,
    PreviewStatus,
    RepositoryInfo,
    RetagOutcome,
    RetagStatus,
    RunningContainer,
    ScheduledTask,
    ServiceDeployment,
    ServiceState,
    ServiceTaskDefinitions,
)
from housekeeper.core.images import ARCHIVE, STANDARD, ImageRecord
from housekeeper.core.manifests import is_index, links_of_manifest
from housekeeper.logic.inventory import InventorySources

ACCOUNT = "123456789012"
REGION = "us-east-1"
DAY = 86_400.0
# DESIGN.md's example config: three environments (prod, staging, dev), a payments/* override.
EXAMPLE_CONFIG_FILE = Path(__file__).resolve().parents[1] / "config" / "example.json"

DOCKER_V2 = "application/vnd.docker.distribution.manifest.v2+json"
DOCKER_LIST = "application/vnd.docker.distribution.manifest.list.v2+json"
OCI_MANIFEST = "application/vnd.oci.image.manifest.v1+json"
OCI_INDEX = "application/vnd.oci.image.index.v1+json"


def example_config() -> dict[str, Any]:
    """A fresh copy of DESIGN.md's example config, to use as is or change."""
    config: dict[str, Any] = json.loads(EXAMPLE_CONFIG_FILE.read_text(encoding="utf-8"))
    return config


# ---------------------------------------------------------------------------------------------- manifests
def sha256_digest(text: str) -> str:
    return "sha256:" + hashlib.sha256(text.encode()).hexdigest()


def image_manifest(seed: str, media_type: str = DOCKER_V2) -> str:
    """A single-platform manifest whose bytes (and so digest) depend on `seed`. Indented like a real push."""
    config_type = (
        "application/vnd.docker.container.image.v1+json"
        if media_type == DOCKER_V2
        else "application/vnd.oci.image.config.v1+json"
    )
    layer_type = (
        "application/vnd.docker.image.rootfs.diff.tar.gzip"
        if media_type == DOCKER_V2
        else "application/vnd.oci.image.layer.v1.tar+gzip"
    )
    document = {
        "schemaVersion": 2,
        "mediaType": media_type,
        "config": {"mediaType": config_type, "size": 1470, "digest": sha256_digest(f"config-{seed}")},
        "layers": [{"mediaType": layer_type, "size": 2811969, "digest": sha256_digest(f"layer-{seed}")}],
    }
    return json.dumps(document, indent=3)


def index_manifest(children: Sequence[str], media_type: str = OCI_INDEX) -> str:
    """A multi-arch index (OCI) or manifest list (Docker) over the given child digests."""
    child_type = OCI_MANIFEST if media_type == OCI_INDEX else DOCKER_V2
    platforms = [("amd64", "linux"), ("arm64", "linux")]
    document = {
        "schemaVersion": 2,
        "mediaType": media_type,
        "manifests": [
            {
                "mediaType": child_type,
                "size": 1000 + i,
                "digest": digest,
                "platform": {"architecture": platforms[i % 2][0], "os": platforms[i % 2][1]},
            }
            for i, digest in enumerate(children)
        ],
    }
    return json.dumps(document, indent=3)


def ecr_image_uri(repository: str, ref: str, account: str = ACCOUNT, region: str = REGION) -> str:
    """`ref` is `:tag` or `@sha256:...`."""
    return f"{account}.dkr.ecr.{region}.amazonaws.com/{repository}{ref}"


# ---------------------------------------------------------------------------------------------------- ECR
@dataclass
class FakeImage:
    digest: str
    manifest: str
    media_type: str
    tags: list[str]
    pushed_at: float
    size_bytes: int = 1000
    status: str = "ACTIVE"  # ACTIVE | ARCHIVED | ACTIVATING
    last_archived_at: float | None = None


@dataclass
class FakeRepository:
    name: str
    tag_mutability: str = "MUTABLE"
    images: dict[str, FakeImage] = field(default_factory=dict)
    lifecycle_policy: dict[str, Any] | None = None
    preview: PreviewStatus | None = None


class FakeEcr:
    """EcrGateway in memory. `put_image_calls` records every retag write."""

    def __init__(self, account: str = ACCOUNT, region: str = REGION) -> None:
        self.account = account
        self._region = region
        self.repositories: dict[str, FakeRepository] = {}
        self.put_image_calls: list[tuple[str, str, str]] = []
        self.put_policy_calls: list[tuple[str, dict[str, Any]]] = []
        self.started_previews: list[tuple[str, dict[str, Any]]] = []
        # Raise this from the next retag of the given (repository, tag), to simulate a failure.
        self.fail_retag: dict[tuple[str, str], Exception] = {}

    # --- test setup
    def create_repository(self, name: str, tag_mutability: str = "MUTABLE") -> FakeRepository:
        repository = FakeRepository(name, tag_mutability)
        self.repositories[name] = repository
        return repository

    def push(
        self,
        repository: str,
        manifest: str,
        media_type: str = DOCKER_V2,
        tags: Sequence[str] = (),
        pushed_at: float | None = None,
    ) -> str:
        """Store an image (creating the repository if needed) and return its digest, as ECR computes it."""
        repo = self.repositories.get(repository) or self.create_repository(repository)
        digest = sha256_digest(manifest)
        image = repo.images.get(digest)
        if image is None:
            image = FakeImage(digest, manifest, media_type, [], pushed_at if pushed_at is not None else time.time())
            repo.images[digest] = image
        for tag in tags:
            for other in repo.images.values():
                if tag in other.tags and other is not image:
                    other.tags.remove(tag)
            if tag not in image.tags:
                image.tags.append(tag)
        return digest

    def _repo(self, name: str) -> FakeRepository:
        if name not in self.repositories:
            raise NotFound("ecr:DescribeRepositories", "RepositoryNotFoundException", "no such repository", name)
        return self.repositories[name]

    def _image(self, repository: str, digest: str) -> FakeImage:
        image = self._repo(repository).images.get(digest)
        if image is None:
            raise NotFound("ecr:DescribeImages", "ImageNotFoundException", "no such image", f"{repository}@{digest}")
        return image

    # --- EcrGateway
    def account_registry_id(self) -> str:
        return self.account

    def region(self) -> str:
        return self._region

    def describe_repository(self, repository: str) -> RepositoryInfo:
        return self._info(self._repo(repository))

    def _info(self, repo: FakeRepository) -> RepositoryInfo:
        return RepositoryInfo(
            name=repo.name,
            arn=f"arn:aws:ecr:{self._region}:{self.account}:repository/{repo.name}",
            registry_id=self.account,
            uri=f"{self.account}.dkr.ecr.{self._region}.amazonaws.com/{repo.name}",
            tag_mutability=repo.tag_mutability,
        )

    def iter_repositories(self) -> Iterator[RepositoryInfo]:
        for repo in list(self.repositories.values()):
            yield self._info(repo)

    def iter_images(self, repository: str) -> Iterator[ImageRecord]:
        for image in list(self._repo(repository).images.values()):
            links = links_of_manifest(image.manifest)
            yield ImageRecord(
                digest=image.digest,
                tags=tuple(image.tags),
                pushed_at=image.pushed_at,
                size_bytes=image.size_bytes,
                manifest_media_type=image.media_type,
                child_digests=links.children if is_index(image.media_type) else (),
                subject_digest=links.subject,
                storage_class=STANDARD if image.status == "ACTIVE" else ARCHIVE,
                image_status=image.status,
                last_archived_at=image.last_archived_at,
            )

    def tags_of_digest(self, repository: str, digest: str) -> tuple[str, ...]:
        return tuple(self._image(repository, digest).tags)

    def digest_of_tag(self, repository: str, tag: str) -> str | None:
        return next((i.digest for i in self._repo(repository).images.values() if tag in i.tags), None)

    def get_manifest(self, repository: str, digest: str) -> ManifestDocument:
        image = self._image(repository, digest)
        return ManifestDocument(repository, digest, image.manifest, image.media_type, tuple(image.tags))

    def retag(self, repository: str, digest: str, tag: str) -> RetagOutcome:
        failure = self.fail_retag.pop((repository, tag), None)
        if failure is not None:
            raise failure
        image = self._image(repository, digest)
        if tag in image.tags:
            return RetagOutcome(repository, digest, tag, RetagStatus.ALREADY_PRESENT)
        holder = self.digest_of_tag(repository, tag)
        if holder is not None:
            return RetagOutcome(repository, digest, tag, RetagStatus.CONFLICT, f"'{tag}' already points at {holder}")
        if len(image.tags) >= MAX_TAGS_PER_IMAGE:
            return RetagOutcome(repository, digest, tag, RetagStatus.TAG_LIMIT, "the image already has 1000 tags")
        image.tags.append(tag)
        self.put_image_calls.append((repository, digest, tag))
        return RetagOutcome(repository, digest, tag, RetagStatus.TAGGED)

    def get_lifecycle_policy(self, repository: str) -> dict[str, Any] | None:
        policy = self._repo(repository).lifecycle_policy
        return json.loads(json.dumps(policy)) if policy is not None else None

    def put_lifecycle_policy(self, repository: str, policy: Mapping[str, Any]) -> None:
        copied = json.loads(json.dumps(policy))
        self._repo(repository).lifecycle_policy = copied
        self.put_policy_calls.append((repository, copied))

    def start_lifecycle_preview(self, repository: str, policy: Mapping[str, Any]) -> None:
        repo = self._repo(repository)
        self.started_previews.append((repository, json.loads(json.dumps(policy))))
        if repo.preview is None:
            repo.preview = PreviewStatus(status="IN_PROGRESS")

    def get_lifecycle_preview(self, repository: str) -> PreviewStatus:
        preview = self._repo(repository).preview
        if preview is None:
            raise NotFound(
                "ecr:GetLifecyclePolicyPreview", "LifecyclePolicyPreviewNotFoundException", "no preview", repository
            )
        return preview

    def batch_delete_images(self, repository: str, digests: Sequence[str]) -> list[str]:
        repo = self._repo(repository)
        deleted = [d for d in digests if repo.images.pop(d, None) is not None]
        return list(dict.fromkeys(deleted))


# ---------------------------------------------------------------------------------------------------- ECS
class FakeEcs:
    """EcsGateway in memory: clusters of running containers, services, deployments, revisions, task definitions."""

    def __init__(self, account: str = ACCOUNT, region: str = REGION) -> None:
        self.account = account
        self.region = region
        self.containers: dict[str, list[RunningContainer]] = {}
        self.services: dict[tuple[str, str], ServiceState] = {}
        self.deployments: dict[str, ServiceDeployment] = {}
        self.revisions: dict[str, list[ContainerImageRef]] = {}
        self.task_definitions: dict[str, list[ContainerImageRef]] = {}
        # Extra task definitions a service's deployments run (a rollout or a rollback in progress).
        self.deployment_task_definitions: dict[tuple[str, str], list[str]] = {}
        # Raise this from any call whose name starts with the key, to simulate a failing source.
        self.fail: dict[str, Exception] = {}
        self.calls: list[str] = []

    # --- test setup
    def add_cluster(self, cluster: str) -> None:
        self.containers.setdefault(cluster, [])

    def add_service(
        self,
        cluster: str,
        service: str,
        task_definition: str,
        images: Sequence[str],
        deployment_id: str = "ecs-svc/1",
        service_deployment_arn: str | None = None,
    ) -> ServiceState:
        self.add_cluster(cluster)
        self.task_definitions[task_definition] = [
            ContainerImageRef(container_name=f"c{i}", image=image) for i, image in enumerate(images)
        ]
        state = ServiceState(
            service_arn=f"arn:aws:ecs:{self.region}:{self.account}:service/{cluster}/{service}",
            cluster=cluster,
            service=service,
            status="ACTIVE",
            task_definition=task_definition,
            primary_deployment_id=deployment_id,
            current_service_deployment_arn=service_deployment_arn,
        )
        self.services[(cluster, service)] = state
        return state

    def run_task(
        self,
        cluster: str,
        service: str | None,
        images: Sequence[tuple[str, str | None]],
        started_by: str | None = None,
        task_id: str = "task-1",
    ) -> None:
        """Add a running task whose containers run (image, digest) pairs."""
        self.add_cluster(cluster)
        arn = f"arn:aws:ecs:{self.region}:{self.account}:task/{cluster}/{task_id}"
        for index, (image, digest) in enumerate(images):
            self.containers[cluster].append(
                RunningContainer(cluster, service, arn, f"c{index}", image, digest, started_by)
            )

    def register_task_definition(self, family: str, images: Sequence[str]) -> str:
        """A new ACTIVE revision of `family`; returns its ARN."""
        revision = 1 + sum(1 for name in self.task_definitions if name.rsplit("/", 1)[-1].startswith(f"{family}:"))
        arn = f"arn:aws:ecs:{self.region}:{self.account}:task-definition/{family}:{revision}"
        self.task_definitions[arn] = [ContainerImageRef(f"c{i}", image) for i, image in enumerate(images)]
        return arn

    def _call(self, name: str) -> None:
        self.calls.append(name)
        for prefix, error in self.fail.items():
            if name.startswith(prefix):
                raise error

    # --- EcsGateway
    def iter_cluster_names(self) -> Iterator[str]:
        self._call("ListClusters")
        yield from list(self.containers)

    def iter_running_containers(self, cluster: str) -> Iterator[RunningContainer]:
        self._call(f"ListTasks:{cluster}")
        yield from list(self.containers.get(cluster, []))

    def iter_service_task_definitions(self, cluster: str) -> Iterator[ServiceTaskDefinitions]:
        self._call(f"ListServices:{cluster}")
        for (service_cluster, name), state in list(self.services.items()):
            if service_cluster != cluster or not state.active:
                continue
            found = [state.task_definition, *self.deployment_task_definitions.get((cluster, name), [])]
            yield ServiceTaskDefinitions(cluster, name, tuple(dict.fromkeys(td for td in found if td)))

    def iter_active_task_definition_families(self) -> Iterator[str]:
        self._call("ListTaskDefinitionFamilies")
        families = {name.rsplit("/", 1)[-1].rsplit(":", 1)[0] for name in self.task_definitions}
        yield from sorted(families)

    def newest_task_definitions(self, family: str, count: int) -> list[str]:
        self._call(f"ListTaskDefinitions:{family}")
        arns = [n for n in self.task_definitions if n.rsplit("/", 1)[-1].rsplit(":", 1)[0] == family and ":" in n]
        return sorted(
            arns, key=lambda n: int(n.rsplit(":", 1)[-1]) if n.rsplit(":", 1)[-1].isdigit() else 0, reverse=True
        )[:count]

    def containers_started_by(self, cluster: str, started_by: str) -> list[RunningContainer]:
        self.calls.append(f"ListTasks:{cluster}:{started_by}")
        return [c for c in self.containers.get(cluster, []) if c.started_by == started_by]

    def describe_service(self, cluster: str, service: str) -> ServiceState | None:
        self.calls.append(f"DescribeServices:{cluster}/{service}")
        return self.services.get((cluster, service))

    def describe_service_deployment(self, deployment_arn: str) -> ServiceDeployment | None:
        self.calls.append(f"DescribeServiceDeployments:{deployment_arn}")
        return self.deployments.get(deployment_arn)

    def service_revision_images(self, revision_arn: str) -> list[ContainerImageRef]:
        self.calls.append(f"DescribeServiceRevisions:{revision_arn}")
        return list(self.revisions.get(revision_arn, []))

    def task_definition_images(self, task_definition: str) -> list[ContainerImageRef]:
        self._call(f"DescribeTaskDefinition:{task_definition}")
        return list(self.task_definitions.get(task_definition, []))


# ----------------------------------------------------------------------------- Lambda, Scheduler, EventBridge
class FakeLambda:
    """LambdaGateway in memory: image functions with their `$LATEST` and aliased versions."""

    def __init__(self) -> None:
        self.functions: list[FunctionImage] = []
        self.fail: Exception | None = None
        self.calls = 0

    def add(self, function: str, image_uri: str, resolved_digest: str | None, qualifier: str = "$LATEST") -> None:
        repository_uri = (
            image_uri.split("@", 1)[0].rsplit(":", 1)[0] if "@" not in image_uri else image_uri.split("@")[0]
        )
        resolved = f"{repository_uri}@{resolved_digest}" if resolved_digest else None
        version = "$LATEST" if qualifier == "$LATEST" else str(len(self.functions) + 1)
        self.functions.append(FunctionImage(function, qualifier, version, image_uri, resolved))

    def iter_function_images(self) -> Iterator[FunctionImage]:
        self.calls += 1
        if self.fail is not None:
            raise self.fail
        yield from list(self.functions)


class FakeScheduler:
    """SchedulerGateway in memory."""

    def __init__(self) -> None:
        self.tasks: list[ScheduledTask] = []
        self.fail: Exception | None = None

    def iter_scheduled_tasks(self) -> Iterator[ScheduledTask]:
        if self.fail is not None:
            raise self.fail
        yield from list(self.tasks)


class FakeEvents:
    """EventsGateway in memory."""

    def __init__(self) -> None:
        self.tasks: list[ScheduledTask] = []
        self.fail: Exception | None = None

    def iter_rule_tasks(self) -> Iterator[ScheduledTask]:
        if self.fail is not None:
            raise self.fail
        yield from list(self.tasks)


def fake_sources(ecs: FakeEcs | None = None) -> InventorySources:
    """Every inventory source, in memory; only `ecs` is usually given something to find."""
    return InventorySources(ecs=ecs or FakeEcs(), lambdas=FakeLambda(), scheduler=FakeScheduler(), events=FakeEvents())


# ---------------------------------------------------------------------------------------------------- SSM
class FakeSsm:
    """SsmGateway in memory. `reads` counts get_parameter calls (cached or not)."""

    def __init__(self, parameters: Mapping[str, str] | None = None) -> None:
        self.parameters: dict[str, str] = dict(parameters or {})
        self.reads = 0

    def get_parameter(self, name: str, *, force_fetch: bool = False) -> str:
        self.reads += 1
        if name not in self.parameters:
            raise NotFound("ssm:GetParameter", "ParameterNotFound", f"Parameter {name} not found.", name)
        return self.parameters[name]

    def put_parameter(self, name: str, value: str) -> None:
        self.parameters[name] = value


# ------------------------------------------------------------------------------------------- moto helpers
def push_to_moto(ecr_client: Any, repository: str, manifest: str, media_type: str, tag: str) -> str:
    """Push a manifest to moto under its real sha256 digest (moto would otherwise invent one) and return it."""
    digest = sha256_digest(manifest)
    ecr_client.put_image(
        repositoryName=repository,
        imageManifest=manifest,
        imageManifestMediaType=media_type,
        imageDigest=digest,
        imageTag=tag,
    )
    return digest


def push_prod_builds(ecr_client: Any, repository: str, builds: int) -> dict[str, str]:
    """Push Prod-1 .. Prod-<builds> to moto one day apart (Prod-1 oldest, all younger than 90 days); tag -> digest.

    The push times are relative to the wall clock because the sync worker under test evaluates with it.
    """
    from demo.emulator import backdate_images

    digests = {
        f"Prod-{n}": push_to_moto(ecr_client, repository, image_manifest(f"{repository}:{n}"), DOCKER_V2, f"Prod-{n}")
        for n in range(1, builds + 1)
    }
    now = time.time()
    backdate_images(repository, {digests[f"Prod-{n}"]: now - (builds + 1 - n) * DAY for n in range(1, builds + 1)})
    return digests


# ---------------------------------------------------------------------------------------------------- SQS
class FakeSqs:
    """SqsGateway in memory. `queues` holds the JSON bodies per queue URL; `batch_sizes` one entry per batch call."""

    def __init__(self) -> None:
        self.queues: dict[str, list[dict[str, Any]]] = {}
        self.batch_sizes: list[int] = []

    def send_messages(self, queue_url: str, bodies: Any) -> int:
        queue = self.queues.setdefault(queue_url, [])
        batch: list[dict[str, Any]] = []
        sent = 0
        for body in bodies:
            batch.append(json.loads(json.dumps(body)))
            if len(batch) == 10:
                queue.extend(batch)
                self.batch_sizes.append(len(batch))
                sent += len(batch)
                batch = []
        if batch:
            queue.extend(batch)
            self.batch_sizes.append(len(batch))
            sent += len(batch)
        return sent


def run_moto_service(ecs_client: Any, cluster: str, service: str, images: Sequence[str], tasks: int = 1) -> str:
    """Create a service in moto and start its tasks the way ECS does (startedBy = the deployment id).

    moto never launches a service's tasks and reports no container digests, so the tasks are started by hand;
    returns the service's PRIMARY deployment id, which is what the deployment events carry.
    """
    clusters = ecs_client.describe_clusters(clusters=[cluster])["clusters"]
    if not clusters or clusters[0].get("status") != "ACTIVE":
        ecs_client.create_cluster(clusterName=cluster)
    containers = [{"name": f"c{i}", "image": image, "memory": 128} for i, image in enumerate(images)]
    ecs_client.register_task_definition(family=service, networkMode="bridge", containerDefinitions=containers)
    created = ecs_client.create_service(
        cluster=cluster, serviceName=service, taskDefinition=service, desiredCount=tasks
    )
    deployment_id = str(created["service"]["deployments"][0]["id"])
    for _ in range(tasks):
        ecs_client.run_task(
            cluster=cluster,
            taskDefinition=service,
            launchType="FARGATE",
            startedBy=deployment_id,
            group=f"service:{service}",
        )
    return deployment_id


def deployment_event(
    name: str, cluster: str, service: str, deployment_id: str, event_id: str = "ddca6449-b258-46c0-8653-e0e3a6EXAMPLE"
) -> dict[str, Any]:
    """A sample event from tests/fixtures/events, pointed at a service and deployment of the test account."""
    event: dict[str, Any] = json.loads((Path(__file__).parent / "fixtures" / "events" / name).read_text())
    event["id"] = event_id
    event["account"], event["region"] = ACCOUNT, REGION
    event["resources"] = [f"arn:aws:ecs:{REGION}:{ACCOUNT}:service/{cluster}/{service}"]
    event["detail"]["deploymentId"] = deployment_id
    return event


@dataclass
class FakeLambdaContext:
    function_name: str = "tag-deployment"
    memory_limit_in_mb: int = 256
    invoked_function_arn: str = f"arn:aws:lambda:{REGION}:{ACCOUNT}:function:tag-deployment"
    aws_request_id: str = "00000000-0000-0000-0000-000000000000"
