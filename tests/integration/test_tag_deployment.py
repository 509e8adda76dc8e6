"""The tag_deployment handler on moto (ECR, ECS, SSM in-process); Stubber only to throttle ECR."""

from __future__ import annotations

import io
import json
from pathlib import Path
from typing import Any

import boto3
import pytest
from botocore.stub import Stubber
from housekeeper.aws.session import client
from housekeeper.core.errors import ConfigInvalid, MalformedEvent
from housekeeper.handlers.tag_deployment import handler
from housekeeper.logic.tagging import ServiceNotFound, TaggingIncomplete
from housekeeper.observability import logger

from tests.fakes import (
    DOCKER_V2,
    EXAMPLE_CONFIG_FILE,
    OCI_INDEX,
    OCI_MANIFEST,
    REGION,
    FakeLambdaContext,
    deployment_event,
    ecr_image_uri,
    image_manifest,
    index_manifest,
    push_to_moto,
    run_moto_service,
)

PARAMETER = "/housekeeper/config"


@pytest.fixture
def aws(monkeypatch: pytest.MonkeyPatch, mocked_aws: None) -> dict[str, Any]:
    monkeypatch.setenv("HOUSEKEEPER_CONFIG_PARAMETER", PARAMETER)
    clients = {name: boto3.client(name, region_name="us-east-1") for name in ("ecr", "ecs", "ssm")}
    clients["ssm"].put_parameter(Name=PARAMETER, Value=EXAMPLE_CONFIG_FILE.read_text(), Type="String")
    return clients


def emitted_metrics(stdout: str) -> dict[str, float]:
    """Sum of every EMF metric printed by Powertools, by name (with a `:reason` suffix when split by reason)."""
    totals: dict[str, float] = {}
    for line in stdout.splitlines():
        if '"_aws"' not in line:
            continue
        record = json.loads(line)
        for definition in record["_aws"]["CloudWatchMetrics"][0]["Metrics"]:
            name = definition["Name"]
            key = f"{name}:{record['reason']}" if "reason" in record else name
            values = record[name] if isinstance(record[name], list) else [record[name]]
            totals[key] = totals.get(key, 0) + sum(values)
    return totals


def tags(ecr: Any, repository: str, digest: str) -> list[str]:
    detail = ecr.describe_images(repositoryName=repository, imageIds=[{"imageDigest": digest}])["imageDetails"][0]
    return sorted(detail.get("imageTags", []))


def deploy(
    aws: dict[str, Any], repository: str, manifest: str, media_type: str, tag: str, cluster: str
) -> tuple[str, str]:
    aws["ecr"].create_repository(repositoryName=repository)
    digest = push_to_moto(aws["ecr"], repository, manifest, media_type, tag)
    deployment_id = run_moto_service(aws["ecs"], cluster, "api", [ecr_image_uri(repository, f":{tag}")])
    return digest, deployment_id


@pytest.mark.parametrize("media_type", [DOCKER_V2, OCI_MANIFEST])
def test_completed_deployment_tags_the_running_digest_byte_exact(
    aws: dict[str, Any], media_type: str, capsys: pytest.CaptureFixture[str]
) -> None:
    manifest = image_manifest("1234", media_type)
    digest, deployment_id = deploy(aws, "payments/api", manifest, media_type, "1234", "prod-main")

    result = handler(
        deployment_event("deployment_completed.json", "prod-main", "api", deployment_id), FakeLambdaContext()
    )

    assert result["counts"] == {"tagged": 1}
    assert tags(aws["ecr"], "payments/api", digest) == ["1234", "Prod-1234"]
    stored = aws["ecr"].batch_get_image(repositoryName="payments/api", imageIds=[{"imageTag": "Prod-1234"}])["images"]
    assert [(i["imageId"]["imageDigest"], i["imageManifest"]) for i in stored] == [(digest, manifest)]
    assert emitted_metrics(capsys.readouterr().out).get("ImagesTagged") == 1


def test_multi_arch_index_is_tagged_on_the_index(aws: dict[str, Any]) -> None:
    aws["ecr"].create_repository(repositoryName="web")
    children = [
        push_to_moto(aws["ecr"], "web", image_manifest(f"c{i}", OCI_MANIFEST), OCI_MANIFEST, f"c{i}") for i in (1, 2)
    ]
    index_digest = push_to_moto(aws["ecr"], "web", index_manifest(children), OCI_INDEX, "77")
    deployment_id = run_moto_service(aws["ecs"], "staging-1", "api", [ecr_image_uri("web", ":77")])

    handler(deployment_event("deployment_completed.json", "staging-1", "api", deployment_id), FakeLambdaContext())

    assert tags(aws["ecr"], "web", index_digest) == ["77", "Staging-77"]
    assert all("Staging-77" not in tags(aws["ecr"], "web", child) for child in children)


def test_a_second_delivery_changes_nothing_and_succeeds(
    aws: dict[str, Any], capsys: pytest.CaptureFixture[str]
) -> None:
    _, deployment_id = deploy(aws, "payments/api", image_manifest("d"), DOCKER_V2, "1234", "prod-main")
    event = deployment_event("deployment_completed.json", "prod-main", "api", deployment_id)
    handler(event, FakeLambdaContext())
    before = aws["ecr"].describe_images(repositoryName="payments/api")["imageDetails"]
    capsys.readouterr()

    result = handler(event, FakeLambdaContext())

    assert result["counts"] == {"already_present": 1}
    assert aws["ecr"].describe_images(repositoryName="payments/api")["imageDetails"] == before
    assert emitted_metrics(capsys.readouterr().out).get("TagsAlreadyPresent") == 1


@pytest.mark.parametrize(
    "name", ["deployment_in_progress.json", "deployment_failed.json", "deployment_rollback_in_progress.json"]
)
def test_in_progress_failed_and_rollback_events_tag_nothing(
    aws: dict[str, Any], name: str, capsys: pytest.CaptureFixture[str]
) -> None:
    digest, deployment_id = deploy(aws, "payments/api", image_manifest("f"), DOCKER_V2, "1234", "prod-main")

    result = handler(deployment_event(name, "prod-main", "api", deployment_id), FakeLambdaContext())

    assert result["ignored"] is True
    assert tags(aws["ecr"], "payments/api", digest) == ["1234"]
    assert emitted_metrics(capsys.readouterr().out).get("EventsIgnored") == 1


def test_immutable_repository_gets_the_tag_once_and_replays_succeed(aws: dict[str, Any]) -> None:
    aws["ecr"].create_repository(repositoryName="locked", imageTagMutability="IMMUTABLE")
    digest = push_to_moto(aws["ecr"], "locked", image_manifest("i"), DOCKER_V2, "5")
    deployment_id = run_moto_service(aws["ecs"], "prod-main", "api", [ecr_image_uri("locked", ":5")])
    event = deployment_event("deployment_completed.json", "prod-main", "api", deployment_id)

    assert handler(event, FakeLambdaContext())["counts"] == {"tagged": 1}
    assert handler(event, FakeLambdaContext())["counts"] == {"already_present": 1}
    assert tags(aws["ecr"], "locked", digest) == ["5", "Prod-5"]


def test_non_ecr_image_and_unknown_cluster_are_skipped_with_reasons(
    aws: dict[str, Any], capsys: pytest.CaptureFixture[str]
) -> None:
    hub = run_moto_service(aws["ecs"], "prod-main", "proxy", ["nginx:1.27"])
    result = handler(deployment_event("deployment_completed.json", "prod-main", "proxy", hub), FakeLambdaContext())
    assert [(i["status"], i["reason"]) for i in result["images"]] == [("skipped", "not-ecr-image")]

    qa = run_moto_service(aws["ecs"], "qa-main", "api", [ecr_image_uri("payments/api", ":1")])
    result = handler(deployment_event("deployment_completed.json", "qa-main", "api", qa), FakeLambdaContext())
    assert [(i["status"], i["reason"]) for i in result["images"]] == [("skipped", "no-environment")]

    totals = emitted_metrics(capsys.readouterr().out)
    assert totals["ImagesSkipped:not-ecr-image"] == 1
    assert totals["ImagesSkipped:no-environment"] == 1


def test_malformed_event_raises_naming_what_is_missing(aws: dict[str, Any]) -> None:
    event = deployment_event("deployment_completed.json", "prod-main", "api", "ecs-svc/1")
    del event["detail"]["deploymentId"]
    with pytest.raises(MalformedEvent, match="deploymentId"):
        handler(event, FakeLambdaContext())


def test_a_service_that_no_longer_exists_raises(aws: dict[str, Any]) -> None:
    aws["ecs"].create_cluster(clusterName="prod-main")
    with pytest.raises(ServiceNotFound, match="'gone'"):
        handler(deployment_event("deployment_completed.json", "prod-main", "gone", "ecs-svc/1"), FakeLambdaContext())


def test_invalid_config_raises_with_its_json_path(aws: dict[str, Any]) -> None:
    aws["ssm"].put_parameter(Name=PARAMETER, Value=json.dumps({"version": 1}), Type="String", Overwrite=True)
    _, deployment_id = deploy(aws, "payments/api", image_manifest("c"), DOCKER_V2, "1234", "prod-main")
    with pytest.raises(ConfigInvalid, match=r"\$\.environments"):
        handler(deployment_event("deployment_completed.json", "prod-main", "api", deployment_id), FakeLambdaContext())


def test_throttled_ecr_fails_the_invocation_so_the_event_is_retried(
    aws: dict[str, Any], capsys: pytest.CaptureFixture[str]
) -> None:
    digest, deployment_id = deploy(aws, "payments/api", image_manifest("t"), DOCKER_V2, "1234", "prod-main")
    event = deployment_event("deployment_completed.json", "prod-main", "api", deployment_id)
    with Stubber(client("ecr")) as stub:
        stub.add_client_error("describe_images", "ThrottlingException", "Rate exceeded", http_status_code=400)
        with pytest.raises(TaggingIncomplete, match="ThrottlingException"):
            handler(event, FakeLambdaContext())
    assert emitted_metrics(capsys.readouterr().out).get("TaggingFailed") == 1
    # The retry, once ECR answers again, tags the image.
    assert handler(event, FakeLambdaContext())["counts"] == {"tagged": 1}
    assert tags(aws["ecr"], "payments/api", digest) == ["1234", "Prod-1234"]


def test_logs_carry_the_event_id_as_correlation_id_and_structured_keys(aws: dict[str, Any]) -> None:
    _, deployment_id = deploy(aws, "payments/api", image_manifest("l"), DOCKER_V2, "1234", "prod-main")
    event = deployment_event("deployment_completed.json", "prod-main", "api", deployment_id, event_id="evt-42")
    stream = io.StringIO()
    previous, level = logger.registered_handler.setStream(stream), logger.log_level
    logger.setLevel("INFO")
    try:
        handler(event, FakeLambdaContext())
    finally:
        logger.registered_handler.setStream(previous)
        logger.setLevel(level)
    logs = [json.loads(line) for line in stream.getvalue().splitlines()]
    tagged = next(entry for entry in logs if entry["message"] == "image tagged")
    assert tagged["correlation_id"] == "evt-42"
    assert {k: tagged[k] for k in ("cluster", "repository", "env", "build")} == {
        "cluster": "prod-main",
        "repository": "payments/api",
        "env": "prod",
        "build": "1234",
    }
    assert tagged["digest"].startswith("sha256:")


def test_fixture_events_are_the_documented_samples() -> None:
    folder = Path(__file__).parent.parent / "fixtures" / "events"
    names = {json.loads(p.read_text())["detail"]["eventName"] for p in folder.glob("*.json")}
    assert names == {"SERVICE_DEPLOYMENT_IN_PROGRESS", "SERVICE_DEPLOYMENT_COMPLETED", "SERVICE_DEPLOYMENT_FAILED"}


def test_a_completed_deployment_queues_a_policy_sync_of_what_it_runs(
    aws: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    """A rollback may run an image the stored policy expires: the sync that protects it is queued at once."""
    sqs = boto3.client("sqs", region_name="us-east-1")
    queue_url = sqs.create_queue(QueueName="sync")["QueueUrl"]
    monkeypatch.setenv("HOUSEKEEPER_SYNC_QUEUE_URL", queue_url)
    _, deployment_id = deploy(aws, "payments/api", image_manifest("rollback"), DOCKER_V2, "1234", "prod-main")
    handler(deployment_event("deployment_completed.json", "prod-main", "api", deployment_id), FakeLambdaContext())
    messages = sqs.receive_message(QueueUrl=queue_url, MaxNumberOfMessages=10).get("Messages", [])
    assert [json.loads(m["Body"]) for m in messages] == [
        {"repositoryName": "payments/api", "region": REGION, "trigger": "deployment"}
    ]


def test_without_a_sync_queue_the_tagger_only_tags(aws: dict[str, Any], monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("HOUSEKEEPER_SYNC_QUEUE_URL", raising=False)
    digest, deployment_id = deploy(aws, "payments/api", image_manifest("x"), DOCKER_V2, "77", "prod-main")
    result = handler(
        deployment_event("deployment_completed.json", "prod-main", "api", deployment_id), FakeLambdaContext()
    )
    assert result["counts"] == {"tagged": 1}
    assert "Prod-77" in tags(aws["ecr"], "payments/api", digest)
