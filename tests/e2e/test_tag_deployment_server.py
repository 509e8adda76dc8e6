"""The real handler against the moto server over HTTP, reached only through AWS_ENDPOINT_URL (the Done-when list)."""

from __future__ import annotations

import json
from pathlib import Path

import boto3
import pytest
from housekeeper.aws.ecr import MANIFEST_MEDIA_TYPES
from housekeeper.aws.session import reset_clients
from housekeeper.handlers.tag_deployment import handler

from demo.emulator import EmulatedAccount
from tests.fakes import (
    DOCKER_V2,
    FakeLambdaContext,
    deployment_event,
    ecr_image_uri,
    image_manifest,
    push_to_moto,
    run_moto_service,
)

PARAMETER = "/housekeeper/config"
CONFIG_FILE = Path(__file__).resolve().parents[2] / "config" / "example.json"


def test_completed_deployment_on_the_emulated_account(
    emulated_account: EmulatedAccount, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("HOUSEKEEPER_CONFIG_PARAMETER", PARAMETER)
    reset_clients()
    ecr, ecs, ssm = boto3.client("ecr"), boto3.client("ecs"), boto3.client("ssm")
    ssm.put_parameter(Name=PARAMETER, Value=CONFIG_FILE.read_text(), Type="String")
    ecr.create_repository(repositoryName="payments/api")
    manifest = image_manifest("1234", DOCKER_V2)
    digest = push_to_moto(ecr, "payments/api", manifest, DOCKER_V2, "1234")
    other = push_to_moto(ecr, "payments/api", image_manifest("1233", DOCKER_V2), DOCKER_V2, "1233")
    deployment_id = run_moto_service(ecs, "prod-main", "api", [ecr_image_uri("payments/api", ":1234")], tasks=2)
    context = FakeLambdaContext()

    for name in ("deployment_in_progress.json", "deployment_failed.json"):
        assert handler(deployment_event(name, "prod-main", "api", deployment_id), context)["ignored"]
    untouched = {
        d["imageDigest"]: sorted(d["imageTags"])
        for d in ecr.describe_images(repositoryName="payments/api")["imageDetails"]
    }
    assert untouched == {digest: ["1234"], other: ["1233"]}

    completed = deployment_event("deployment_completed.json", "prod-main", "api", deployment_id)
    first = handler(completed, context)
    images_after_first = ecr.describe_images(repositoryName="payments/api")["imageDetails"]
    second = handler(completed, context)

    assert first["counts"] == {"tagged": 1}
    assert second["counts"] == {"already_present": 1}
    assert ecr.describe_images(repositoryName="payments/api")["imageDetails"] == images_after_first
    by_digest = {d["imageDigest"]: sorted(d.get("imageTags", [])) for d in images_after_first}
    assert by_digest == {digest: ["1234", "Prod-1234"], other: ["1233"]}
    image = ecr.batch_get_image(
        repositoryName="payments/api",
        imageIds=[{"imageTag": "Prod-1234"}],
        acceptedMediaTypes=list(MANIFEST_MEDIA_TYPES),
    )["images"][0]
    assert (image["imageId"]["imageDigest"], image["imageManifest"]) == (digest, manifest)
    assert json.loads(image["imageManifest"])["mediaType"] == DOCKER_V2
