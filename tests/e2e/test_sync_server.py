"""Policy sync over HTTP against the moto server, reached only through AWS_ENDPOINT_URL (the Done-when list):
an SSM edit event, plan_sync, the messages read back from the queue, the worker; then a second run; then a
config mistake; then an in-use image that blocks a policy."""

from __future__ import annotations

import json
import time
from typing import Any

import boto3
import pytest
from housekeeper.aws.session import client, reset_clients
from housekeeper.core.compiler import compile_policy
from housekeeper.core.config import load_config
from housekeeper.core.evaluator import evaluate
from housekeeper.core.images import image_from_detail
from housekeeper.handlers import _metrics, plan_sync, sync_repository
from housekeeper.logic import sync
from housekeeper.logic.inventory import shared_scanner

from demo.emulator import EmulatedAccount
from tests.fakes import (
    CONFIG_PARAMETER,
    SCHEDULED_EVENT,
    FakeLambdaContext,
    ecr_image_uri,
    parameter_change,
    push_prod_builds,
    run_moto_service,
    sqs_event,
)

CONFIG: dict[str, Any] = {
    "version": 1,
    "mode": "enforce",
    "environments": [
        {"name": "prod", "tagPrefix": "Prod", "keep": 3, "clusters": ["prod-*"]},
        {"name": "dev", "tagPrefix": "Dev", "keep": 2, "clusters": ["dev-*"]},
    ],
    "untagged": {"expireAfterDays": 14},
    "catchAll": {"expireAfterDays": 90},
    "repositories": {"include": ["*"], "exclude": ["sandbox/*"]},
    "safety": {"protectInUse": True, "maxExpireFraction": 0.7},
}


def drain_into_worker(sqs: Any, queue_url: str) -> tuple[list[str], list[dict[str, Any]]]:
    """The Lambda poller's job: batches of up to 10 to the worker; successes deleted. Returns failures and bodies."""
    failures: list[str] = []
    bodies: list[dict[str, Any]] = []
    while messages := sqs.receive_message(QueueUrl=queue_url, MaxNumberOfMessages=10).get("Messages", []):
        response = sync_repository.handler(sqs_event(messages), FakeLambdaContext())
        failed = {f["itemIdentifier"] for f in response["batchItemFailures"]}
        failures.extend(failed)
        bodies.extend(json.loads(m["Body"]) for m in messages)
        for message in messages:
            if message["MessageId"] not in failed:
                sqs.delete_message(QueueUrl=queue_url, ReceiptHandle=message["ReceiptHandle"])
    return failures, bodies


def policy_of(ecr: Any, repository: str) -> dict[str, Any] | None:
    try:
        policy: dict[str, Any] = json.loads(ecr.get_lifecycle_policy(repositoryName=repository)["lifecyclePolicyText"])
    except ecr.exceptions.LifecyclePolicyNotFoundException:
        return None
    return policy


def test_policy_sync_on_the_emulated_account(
    emulated_account: EmulatedAccount, monkeypatch: pytest.MonkeyPatch
) -> None:
    reset_clients()
    shared_scanner.clear()
    ecr, ecs, ssm, sqs = (boto3.client(name) for name in ("ecr", "ecs", "ssm", "sqs"))
    queue_url = sqs.create_queue(QueueName="sync")["QueueUrl"]
    monkeypatch.setenv("HOUSEKEEPER_CONFIG_PARAMETER", CONFIG_PARAMETER)
    monkeypatch.setenv("HOUSEKEEPER_SYNC_QUEUE_URL", queue_url)
    repositories = [f"team-{i}/api" for i in range(12)]
    for name in [*repositories, "sandbox/tmp"]:
        ecr.create_repository(repositoryName=name)
        push_prod_builds(ecr, name, builds=5)
    ssm.put_parameter(Name=CONFIG_PARAMETER, Value=json.dumps(CONFIG), Type="String")
    context = FakeLambdaContext()
    results: list[sync.SyncResult] = []
    record = _metrics.record_sync_result
    monkeypatch.setattr(_metrics, "record_sync_result", lambda result: (results.append(result), record(result)))

    # An SSM edit: every in-scope repository ends up holding exactly the compiled policy.
    planned = plan_sync.handler(parameter_change(), context)
    failures, bodies = drain_into_worker(sqs, queue_url)
    assert planned["queued"] == 12
    assert failures == []
    assert sorted(b["repositoryName"] for b in bodies) == sorted(repositories)
    config = load_config(CONFIG)
    for name in repositories:
        assert policy_of(ecr, name) == compile_policy(config, name)
    assert policy_of(ecr, "sandbox/tmp") is None

    # A second run writes nothing.
    puts: list[Any] = []
    client("ecr").meta.events.register("before-call.ecr.PutLifecyclePolicy", lambda params, **_: puts.append(1))
    plan_sync.handler(SCHEDULED_EVENT, context)
    assert drain_into_worker(sqs, queue_url)[0] == []
    assert puts == []

    # A config mistake queues nothing and changes nothing.
    ssm.put_parameter(Name=CONFIG_PARAMETER, Value='{"version": 1, "environments": []}', Type="String", Overwrite=True)
    assert plan_sync.handler(parameter_change(), context)["reason"] == "CONFIG_INVALID"
    assert sqs.receive_message(QueueUrl=queue_url).get("Messages", []) == []
    ssm.delete_parameter(Name=CONFIG_PARAMETER)
    assert plan_sync.handler(parameter_change("Delete"), context)["reason"] == "CONFIG_DELETED"
    for name in repositories:
        assert policy_of(ecr, name) == compile_policy(config, name)

    # A stricter policy that would expire what ECS runs is written with that image protected in it.
    stricter = {**CONFIG, "environments": [{**CONFIG["environments"][0], "keep": 2}, CONFIG["environments"][1]]}
    ssm.put_parameter(Name=CONFIG_PARAMETER, Value=json.dumps(stricter), Type="String")
    run_moto_service(ecs, "prod-main", "api", [ecr_image_uri("team-0/api", ":Prod-2")])
    shared_scanner.clear()
    results.clear()
    planned = plan_sync.handler(parameter_change("Create"), context)
    assert planned["queued"] == 12
    assert drain_into_worker(sqs, queue_url)[0] == []
    protected = [r for r in results if r.protected]
    assert [(r.repository, r.action, r.protected) for r in protected] == [("team-0/api", "updated", 1)]
    written = policy_of(ecr, "team-0/api")
    assert written is not None
    in_use_rules = [r for r in written["rules"] if r["description"].startswith("In use")]
    assert [r["selection"]["tagPatternList"] for r in in_use_rules] == [["Prod-2"]]
    running = ecr.describe_images(repositoryName="team-0/api", imageIds=[{"imageTag": "Prod-2"}])["imageDetails"][0]
    images = [image_from_detail(d) for d in ecr.describe_images(repositoryName="team-0/api")["imageDetails"]]
    assert running["imageDigest"] not in evaluate(written, images, time.time()).expiring_digests
    assert policy_of(ecr, "team-1/api") == compile_policy(load_config(stricter), "team-1/api")
    reset_clients()
