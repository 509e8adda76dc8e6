"""The ECS gateway: what clusters run now, which tasks a deployment started, and what a deployment deployed.

DescribeTasks takes at most 100 tasks per call, so task ARNs are described in batches of 100.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator, Mapping
from typing import Any

from housekeeper.aws.errors import AwsError, NotFound, aws_call
from housekeeper.aws.ports import (
    ContainerImageRef,
    RunningContainer,
    ServiceDeployment,
    ServiceState,
    ServiceTaskDefinitions,
)
from housekeeper.aws.session import client as make_client

DESCRIBE_TASKS_LIMIT = 100
# DescribeServices takes at most 10 services per call; ListServices returns at most 100 per page (default 10).
DESCRIBE_SERVICES_LIMIT = 10
LIST_SERVICES_PAGE = 100
SERVICE_GROUP_PREFIX = "service:"
# Deployments (and task sets) whose task definition can run: the new one and, during a rollout or rollback, the one
# it replaces. A task set that is being drained is still ACTIVE until it is gone.
LIVE_DEPLOYMENT_STATUSES = ("PRIMARY", "ACTIVE")
_REVISION = re.compile(r":[0-9]+$")
TASK_DEFINITION_NOT_FOUND = "TaskDefinitionNotFound"


def has_revision(task_definition: str) -> bool:
    """`family:12` or an ARN ending in `:12`: a fixed revision, whose content never changes."""
    return bool(_REVISION.search(task_definition))


def name_from_arn(arn_or_name: str) -> str:
    """`arn:aws:ecs:…:cluster/prod-main` → `prod-main`; a plain name is returned as is."""
    return arn_or_name.rsplit("/", 1)[-1] if arn_or_name.startswith("arn:") else arn_or_name


class Boto3EcsGateway:
    """EcsGateway on boto3."""

    def __init__(
        self, ecs_client: Any | None = None, revision_images: dict[str, list[ContainerImageRef]] | None = None
    ) -> None:
        self._ecs = ecs_client or make_client("ecs")
        # A task definition revision never changes, so its images are read once per gateway (per warm Lambda); the
        # caller may pass the dict to keep it across gateways (a place's clients are rebuilt, its memos are not).
        self._revision_images: dict[str, list[ContainerImageRef]] = {} if revision_images is None else revision_images

    def iter_cluster_names(self) -> Iterator[str]:
        paginator = self._ecs.get_paginator("list_clusters")
        with aws_call("ecs:ListClusters"):
            for page in paginator.paginate():
                for arn in page.get("clusterArns", []):
                    yield name_from_arn(arn)

    def iter_running_containers(self, cluster: str) -> Iterator[RunningContainer]:
        """Every container of every task ECS keeps running in the cluster (desired status RUNNING)."""
        paginator = self._ecs.get_paginator("list_tasks")
        batch: list[str] = []
        with aws_call("ecs:ListTasks", cluster):
            pages = list(paginator.paginate(cluster=cluster, desiredStatus="RUNNING"))
        for page in pages:
            for arn in page.get("taskArns", []):
                batch.append(arn)
                if len(batch) == DESCRIBE_TASKS_LIMIT:
                    yield from self._describe_containers(cluster, batch)
                    batch = []
        if batch:
            yield from self._describe_containers(cluster, batch)

    def containers_started_by(self, cluster: str, started_by: str) -> list[RunningContainer]:
        """The containers of the tasks a deployment started (ECS sets startedBy to the deployment id)."""
        paginator = self._ecs.get_paginator("list_tasks")
        arns: list[str] = []
        with aws_call("ecs:ListTasks", cluster):
            for page in paginator.paginate(cluster=cluster, startedBy=started_by):
                arns.extend(page.get("taskArns", []))
        containers: list[RunningContainer] = []
        for start in range(0, len(arns), DESCRIBE_TASKS_LIMIT):
            containers.extend(self._describe_containers(cluster, arns[start : start + DESCRIBE_TASKS_LIMIT]))
        return containers

    def _describe_containers(self, cluster: str, task_arns: list[str]) -> Iterator[RunningContainer]:
        with aws_call("ecs:DescribeTasks", cluster):
            response = self._ecs.describe_tasks(cluster=cluster, tasks=task_arns)
        for task in response.get("tasks", []):
            yield from _containers_of(cluster, task)

    def describe_service(self, cluster: str, service: str) -> ServiceState | None:
        """The service's state, or None when ECS does not know it (MISSING)."""
        with aws_call("ecs:DescribeServices", f"{cluster}/{service}"):
            response = self._ecs.describe_services(cluster=cluster, services=[service])
        services = response.get("services", [])
        if not services:
            return None
        found = services[0]
        primary = next((d for d in found.get("deployments", []) if d.get("status") == "PRIMARY"), None)
        return ServiceState(
            service_arn=str(found.get("serviceArn", "")),
            cluster=cluster,
            service=str(found.get("serviceName", service)),
            status=str(found.get("status", "ACTIVE")),
            task_definition=found.get("taskDefinition"),
            primary_deployment_id=primary.get("id") if primary else None,
            current_service_deployment_arn=found.get("currentServiceDeployment"),
        )

    def describe_service_deployment(self, deployment_arn: str) -> ServiceDeployment | None:
        with aws_call("ecs:DescribeServiceDeployments", deployment_arn):
            response = self._ecs.describe_service_deployments(serviceDeploymentArns=[deployment_arn])
        deployments = response.get("serviceDeployments", [])
        if not deployments:
            return None
        found = deployments[0]
        target = found.get("targetServiceRevision") or {}
        return ServiceDeployment(
            deployment_arn=str(found.get("serviceDeploymentArn", deployment_arn)),
            service_arn=str(found.get("serviceArn", "")),
            cluster_arn=str(found.get("clusterArn", "")),
            status=str(found.get("status", "")),
            target_revision_arn=target.get("arn"),
            source_revision_arns=tuple(str(r["arn"]) for r in found.get("sourceServiceRevisions", []) if r.get("arn")),
        )

    def service_revision_images(self, revision_arn: str) -> list[ContainerImageRef]:
        """The images a service revision pinned, with the digests ECS resolved at deployment time."""
        with aws_call("ecs:DescribeServiceRevisions", revision_arn):
            response = self._ecs.describe_service_revisions(serviceRevisionArns=[revision_arn])
        revisions = response.get("serviceRevisions", [])
        if not revisions:
            return []
        return [
            ContainerImageRef(
                container_name=str(image.get("containerName", "")),
                image=str(image.get("image", "")),
                image_digest=image.get("imageDigest"),
            )
            for image in revisions[0].get("containerImages", [])
        ]

    def task_definition_images(self, task_definition: str) -> list[ContainerImageRef]:
        """Image references as the task definition names them (a tag or a digest; no resolved digest).

        A reference with a revision is cached for the gateway's life; a bare family (its latest revision) is not.
        """
        cached = self._revision_images.get(task_definition)
        if cached is not None:
            return list(cached)
        try:
            with aws_call("ecs:DescribeTaskDefinition", task_definition):
                response = self._ecs.describe_task_definition(taskDefinition=task_definition)
        except AwsError as exc:
            # ECS answers a task definition that does not exist (deregistered and deleted, or a typo in a schedule)
            # with ClientException; say so plainly, so callers can tell it from a call that failed.
            if exc.code == "ClientException" and "task definition" in str(exc).lower():
                raise NotFound(
                    exc.operation, TASK_DEFINITION_NOT_FOUND, "no such task definition", task_definition
                ) from exc
            raise
        definitions: Iterable[Mapping[str, Any]] = response.get("taskDefinition", {}).get("containerDefinitions", [])
        images = [
            ContainerImageRef(container_name=str(d.get("name", "")), image=str(d["image"]))
            for d in definitions
            if d.get("image")
        ]
        if has_revision(task_definition):
            self._revision_images[task_definition] = images
        return list(images)

    def iter_service_task_definitions(self, cluster: str) -> Iterator[ServiceTaskDefinitions]:
        """Every service of the cluster with the task definitions it runs or rolls between, desired count 0 too."""
        paginator = self._ecs.get_paginator("list_services")
        with aws_call("ecs:ListServices", cluster):
            pages = paginator.paginate(cluster=cluster, PaginationConfig={"PageSize": LIST_SERVICES_PAGE})
            arns = [arn for page in pages for arn in page.get("serviceArns", [])]
        for start in range(0, len(arns), DESCRIBE_SERVICES_LIMIT):
            with aws_call("ecs:DescribeServices", cluster):
                response = self._ecs.describe_services(
                    cluster=cluster, services=arns[start : start + DESCRIBE_SERVICES_LIMIT]
                )
            for service in response.get("services", []):
                if service.get("status") == "INACTIVE":
                    continue
                # ECS deployments keep them in `deployments`; the CODE_DEPLOY and EXTERNAL controllers in task sets.
                live = [*service.get("deployments", []), *service.get("taskSets", [])]
                found = [service.get("taskDefinition")] + [
                    each.get("taskDefinition") for each in live if each.get("status") in LIVE_DEPLOYMENT_STATUSES
                ]
                yield ServiceTaskDefinitions(
                    cluster=cluster,
                    service=str(service.get("serviceName", "")),
                    task_definitions=tuple(dict.fromkeys(str(td) for td in found if td)),
                )

    def iter_active_task_definition_families(self) -> Iterator[str]:
        paginator = self._ecs.get_paginator("list_task_definition_families")
        with aws_call("ecs:ListTaskDefinitionFamilies"):
            for page in paginator.paginate(status="ACTIVE"):
                yield from page.get("families", [])

    def newest_task_definitions(self, family: str, count: int) -> list[str]:
        """The ARNs of the family's newest `count` ACTIVE revisions, newest first (sorted here by revision number,
        which is what ListTaskDefinitions' DESC sort means; `familyPrefix` also matches longer family names)."""
        paginator = self._ecs.get_paginator("list_task_definitions")
        arns: list[str] = []
        with aws_call("ecs:ListTaskDefinitions", family):
            for page in paginator.paginate(familyPrefix=family, status="ACTIVE", sort="DESC"):
                arns.extend(arn for arn in page.get("taskDefinitionArns", []) if _family_of(arn) == family)
                if len(arns) >= count and arns == sorted(arns, key=_revision_of, reverse=True):
                    break
        return sorted(arns, key=_revision_of, reverse=True)[:count]


def _containers_of(cluster: str, task: Mapping[str, Any]) -> Iterator[RunningContainer]:
    group = str(task.get("group") or "")
    service = group[len(SERVICE_GROUP_PREFIX) :] if group.startswith(SERVICE_GROUP_PREFIX) else None
    for container in task.get("containers", []):
        image = container.get("image")
        if not image:
            continue
        yield RunningContainer(
            cluster=cluster,
            service=service,
            task_arn=str(task.get("taskArn", "")),
            container_name=str(container.get("name", "")),
            image=str(image),
            image_digest=container.get("imageDigest"),
            started_by=task.get("startedBy"),
        )


def _family_of(task_definition_arn: str) -> str:
    """`arn:aws:ecs:…:task-definition/web:12` → `web`."""
    return task_definition_arn.rsplit("/", 1)[-1].rsplit(":", 1)[0]


def _revision_of(task_definition_arn: str) -> int:
    tail = task_definition_arn.rsplit(":", 1)[-1]
    return int(tail) if tail.isdigit() else 0
