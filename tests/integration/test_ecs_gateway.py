"""The ECS and SSM gateways on moto; Stubber only for the service-deployment APIs moto lacks."""

from __future__ import annotations

from typing import Any

import boto3
import pytest
from botocore.stub import Stubber
from housekeeper.aws.ecs import Boto3EcsGateway
from housekeeper.aws.errors import NotFound
from housekeeper.aws.ssm import Boto3SsmGateway
from moto import mock_aws

IMAGE = "123456789012.dkr.ecr.us-east-1.amazonaws.com/api:1234"


@pytest.fixture
def ecs(mocked_aws: None) -> Any:
    return boto3.client("ecs", region_name="us-east-1")


def run_service_tasks(ecs: Any, cluster: str, service: str, count: int, started_by: str = "ecs-svc/1") -> None:
    ecs.register_task_definition(
        family=service, networkMode="bridge", containerDefinitions=[{"name": "app", "image": IMAGE, "memory": 128}]
    )
    ecs.create_service(cluster=cluster, serviceName=service, taskDefinition=service, desiredCount=count)
    for _ in range(count):
        ecs.run_task(
            cluster=cluster,
            taskDefinition=service,
            launchType="FARGATE",
            startedBy=started_by,
            group=f"service:{service}",
        )


def test_running_containers_cover_every_task_in_batches_of_100(ecs: Any) -> None:
    ecs.create_cluster(clusterName="prod-main")
    run_service_tasks(ecs, "prod-main", "api", 105)
    gateway = Boto3EcsGateway(ecs)

    containers = list(gateway.iter_running_containers("prod-main"))

    assert len(containers) == 105
    assert len({c.task_arn for c in containers}) == 105
    assert {(c.cluster, c.service, c.image, c.started_by) for c in containers} == {
        ("prod-main", "api", IMAGE, "ecs-svc/1")
    }
    assert list(gateway.iter_cluster_names()) == ["prod-main"]


def test_containers_started_by_a_deployment_only(ecs: Any) -> None:
    ecs.create_cluster(clusterName="prod-main")
    run_service_tasks(ecs, "prod-main", "api", 1, started_by="ecs-svc/new")
    run_service_tasks(ecs, "prod-main", "worker", 2, started_by="ecs-svc/other")

    containers = Boto3EcsGateway(ecs).containers_started_by("prod-main", "ecs-svc/new")

    assert [(c.service, c.image) for c in containers] == [("api", IMAGE)]


def test_describe_service_and_its_task_definition_images(ecs: Any) -> None:
    ecs.create_cluster(clusterName="prod-main")
    run_service_tasks(ecs, "prod-main", "api", 1)
    gateway = Boto3EcsGateway(ecs)

    state = gateway.describe_service("prod-main", "api")

    assert state is not None and state.active
    assert state.primary_deployment_id and state.primary_deployment_id.startswith("ecs-svc/")
    assert state.task_definition is not None
    assert [i.image for i in gateway.task_definition_images(state.task_definition)] == [IMAGE]
    assert gateway.describe_service("prod-main", "gone") is None


def test_service_deployment_and_revision_images_through_stubber() -> None:
    ecs = boto3.client("ecs", region_name="us-east-1")
    deployment_arn = "arn:aws:ecs:us-east-1:123456789012:service-deployment/prod-main/api/abc"
    revision_arn = "arn:aws:ecs:us-east-1:123456789012:service-revision/prod-main/api/111"
    digest = "sha256:" + "a" * 64
    with Stubber(ecs) as stub:
        stub.add_response(
            "describe_service_deployments",
            {
                "serviceDeployments": [
                    {
                        "serviceDeploymentArn": deployment_arn,
                        "serviceArn": "arn:aws:ecs:us-east-1:123456789012:service/prod-main/api",
                        "clusterArn": "arn:aws:ecs:us-east-1:123456789012:cluster/prod-main",
                        "status": "SUCCESSFUL",
                        "targetServiceRevision": {"arn": revision_arn},
                        "sourceServiceRevisions": [{"arn": "old"}],
                    }
                ]
            },
            {"serviceDeploymentArns": [deployment_arn]},
        )
        stub.add_response(
            "describe_service_revisions",
            {
                "serviceRevisions": [
                    {"containerImages": [{"containerName": "app", "image": IMAGE, "imageDigest": digest}]}
                ]
            },
            {"serviceRevisionArns": [revision_arn]},
        )
        gateway = Boto3EcsGateway(ecs)
        deployment = gateway.describe_service_deployment(deployment_arn)
        images = gateway.service_revision_images(revision_arn)
    assert deployment is not None
    assert (deployment.status, deployment.target_revision_arn, deployment.source_revision_arns) == (
        "SUCCESSFUL",
        revision_arn,
        ("old",),
    )
    assert [(i.container_name, i.image, i.image_digest) for i in images] == [("app", IMAGE, digest)]


def test_ssm_reads_through_the_cache_and_force_fetch_sees_a_change() -> None:
    with mock_aws():
        client = boto3.client("ssm", region_name="us-east-1")
        client.put_parameter(Name="/housekeeper/config", Value="one", Type="String")
        gateway = Boto3SsmGateway(client)
        assert gateway.get_parameter("/housekeeper/config") == "one"
        gateway.put_parameter("/housekeeper/config", "two")
        assert gateway.get_parameter("/housekeeper/config") == "one"
        assert gateway.get_parameter("/housekeeper/config", force_fetch=True) == "two"
        with pytest.raises(NotFound, match="/housekeeper/missing"):
            gateway.get_parameter("/housekeeper/missing")
