"""EcsGateway in memory: clusters of running containers, services, deployments, revisions, task definitions."""

from __future__ import annotations

from collections.abc import Iterator, Sequence

from housekeeper.aws.ports import (
    ContainerImageRef,
    RunningContainer,
    ServiceDeployment,
    ServiceState,
    ServiceTaskDefinitions,
)

from tests.fakes.accounts import ACCOUNT, REGION


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
