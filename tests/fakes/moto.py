"""Helpers for tests on moto: pushing images under their real digests, running ECS services as ECS would."""

from __future__ import annotations

import time
from collections.abc import Sequence
from typing import Any

from tests.fakes.accounts import DAY, DOCKER_V2, image_manifest, sha256_digest


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
