"""The real plan_sync and sync_repository handlers on moto (ECR, ECS, SSM, SQS), driven end to end.

An event goes to plan_sync; the messages it queued are read back from the moto queue and handed to the worker
as an SQS batch, the way the Lambda poller does (successful messages deleted, failed ones left for redelivery).
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

import pytest
from botocore.awsrequest import AWSResponse
from housekeeper import observability
from housekeeper.aws.session import client, reset_clients
from housekeeper.core.compiler import compile_policy
from housekeeper.core.config import load_config
from housekeeper.handlers import _metrics
from housekeeper.handlers import _runtime as runtime
from housekeeper.handlers import plan_sync as plan_sync_handler
from housekeeper.handlers import sync_repository as worker_handler
from housekeeper.logic import sync
from housekeeper.logic.inventory import shared_scanner
from moto import mock_aws

from tests.fakes import FakeLambdaContext, push_prod_builds

PARAMETER = "/ecr-housekeeper/config"
REGISTRY = "123456789012.dkr.ecr.us-east-1.amazonaws.com"


def config_json(mode: str = "enforce", **changes: Any) -> dict[str, Any]:
    config: dict[str, Any] = {
        "version": 1,
        "mode": mode,
        "environments": [{"name": "prod", "tagPrefix": "Prod", "keep": 2, "clusters": ["prod-*"]}],
        "catchAll": {"expireAfterDays": 90},
        "repositories": {"include": ["*"], "exclude": ["legacy/*"]},
        "safety": {"protectInUse": True, "maxExpireFraction": 0.5},
    }
    config.update(changes)
    return config


HAND_MADE_POLICY = {
    "rules": [
        {
            "rulePriority": 1,
            "description": "hand made",
            "selection": {"tagStatus": "any", "countType": "imageCountMoreThan", "countNumber": 500},
            "action": {"type": "expire"},
        }
    ]
}


@dataclass
class Account:
    """The seeded moto account plus what the handlers decided, collected from their one-line-per-repo records."""

    queue_url: str
    dlq_url: str
    results: list[sync.SyncResult] = field(default_factory=list)
    metrics: list[tuple[str, float]] = field(default_factory=list)

    @property
    def ecr(self) -> Any:
        return client("ecr")

    @property
    def sqs(self) -> Any:
        return client("sqs")

    def put_config(self, config: dict[str, Any] | str) -> None:
        text = config if isinstance(config, str) else json.dumps(config)
        client("ssm").put_parameter(Name=PARAMETER, Value=text, Type="String", Overwrite=True)

    def policy(self, repository: str) -> dict[str, Any] | None:
        try:
            text = self.ecr.get_lifecycle_policy(repositoryName=repository)["lifecyclePolicyText"]
        except self.ecr.exceptions.LifecyclePolicyNotFoundException:
            return None
        policy: dict[str, Any] = json.loads(text)
        return policy

    def decisions(self) -> dict[str, str]:
        return {r.repository: r.action for r in self.results}

    def metric(self, name: str) -> float:
        return sum(value for metric, value in self.metrics if metric == name)

    def plan(self, event: dict[str, Any]) -> dict[str, Any]:
        result: dict[str, Any] = plan_sync_handler.handler(event, FakeLambdaContext())
        return result

    def receive(self, queue_url: str | None = None) -> list[dict[str, Any]]:
        messages: list[dict[str, Any]] = []
        while True:
            page = self.sqs.receive_message(
                QueueUrl=queue_url or self.queue_url, MaxNumberOfMessages=10, MessageSystemAttributeNames=["All"]
            ).get("Messages", [])
            if not page:
                return messages
            messages.extend(page)

    def work(self, messages: list[dict[str, Any]] | None = None, batch_size: int = 5) -> list[str]:
        """Hand queued messages to the worker in batches; delete successes, return the failed message ids."""
        pending = self.receive() if messages is None else messages
        failed: list[str] = []
        for start in range(0, len(pending), batch_size):
            batch = pending[start : start + batch_size]
            response = worker_handler.handler(sqs_event(batch), FakeLambdaContext())
            failures = {f["itemIdentifier"] for f in response["batchItemFailures"]}
            failed.extend(failures)
            for message in batch:
                if message["MessageId"] in failures:  # visible again at once instead of after the timeout
                    self.sqs.change_message_visibility(
                        QueueUrl=self.queue_url, ReceiptHandle=message["ReceiptHandle"], VisibilityTimeout=0
                    )
                else:
                    self.sqs.delete_message(QueueUrl=self.queue_url, ReceiptHandle=message["ReceiptHandle"])
        return failed


def sqs_event(messages: list[dict[str, Any]]) -> dict[str, Any]:
    return {
        "Records": [
            {
                "messageId": m["MessageId"],
                "receiptHandle": m["ReceiptHandle"],
                "body": m["Body"],
                "attributes": m.get("Attributes", {}),
                "messageAttributes": {},
                "md5OfBody": m.get("MD5OfBody", ""),
                "eventSource": "aws:sqs",
                "eventSourceARN": "arn:aws:sqs:us-east-1:123456789012:sync",
                "awsRegion": "us-east-1",
            }
            for m in messages
        ]
    }


def ssm_change(operation: str = "Update") -> dict[str, Any]:
    return {
        "version": "0",
        "id": f"ssm-{operation}",
        "source": "aws.ssm",
        "detail-type": "Parameter Store Change",
        "account": "123456789012",
        "region": "us-east-1",
        "time": "2025-06-01T00:00:00Z",
        "resources": [f"arn:aws:ssm:us-east-1:123456789012:parameter{PARAMETER}"],
        "detail": {"name": PARAMETER, "type": "String", "operation": operation},
    }


def push_event(repository: str) -> dict[str, Any]:
    return {
        "id": "push-1",
        "source": "aws.ecr",
        "detail-type": "ECR Image Action",
        "detail": {"repository-name": repository, "action-type": "PUSH", "result": "SUCCESS", "image-tag": "5"},
    }


SWEEP = {"id": "sweep-1", "source": "aws.events", "detail-type": "Scheduled Event", "detail": {}}


def seed_repository(repository: str, builds: int = 4) -> dict[str, str]:
    """Prod-1 .. Prod-<builds>, one day apart (Prod-1 oldest, all within the catch-all); returns tag -> digest."""
    ecr = client("ecr")
    ecr.create_repository(repositoryName=repository)
    return push_prod_builds(ecr, repository, builds)


def run_prod_task(repository: str, tag: str, cluster: str = "prod-main") -> None:
    """A running ECS task of `<repository>:<tag>` (moto reports no imageDigest, so the tag identifies it)."""
    ecs = client("ecs")
    ecs.create_cluster(clusterName=cluster)
    family = f"{cluster}-{repository.replace('/', '-')}"
    ecs.register_task_definition(
        family=family,
        networkMode="bridge",
        containerDefinitions=[{"name": "app", "image": f"{REGISTRY}/{repository}:{tag}", "memory": 128}],
    )
    ecs.run_task(cluster=cluster, taskDefinition=family, launchType="FARGATE", group=f"service:{family}")


def account_fixture(monkeypatch: pytest.MonkeyPatch) -> Iterator[Account]:
    """A moto account with the config parameter, the queue and its DLQ; the handlers' records are collected."""
    with mock_aws():
        reset_clients()
        shared_scanner.clear()
        sqs = client("sqs")
        dlq_url = sqs.create_queue(QueueName="sync-dlq")["QueueUrl"]
        dlq_arn = sqs.get_queue_attributes(QueueUrl=dlq_url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
        queue_url = sqs.create_queue(
            QueueName="sync",
            Attributes={
                "RedrivePolicy": json.dumps({"deadLetterTargetArn": dlq_arn, "maxReceiveCount": "3"}),
            },
        )["QueueUrl"]
        account = Account(queue_url, dlq_url)
        monkeypatch.setenv("HOUSEKEEPER_CONFIG_PARAMETER", PARAMETER)
        monkeypatch.setenv("HOUSEKEEPER_SYNC_QUEUE_URL", queue_url)
        original_record = _metrics.record_sync_result
        original_count = observability.count

        def record(result: sync.SyncResult) -> None:
            account.results.append(result)
            original_record(result)

        def count(name: str, value: float = 1) -> None:
            account.metrics.append((name, value))
            original_count(name, value)

        monkeypatch.setattr(_metrics, "record_sync_result", record)
        monkeypatch.setattr(observability, "count", count)
        yield account
    reset_clients()
    shared_scanner.clear()


@pytest.fixture
def account(monkeypatch: pytest.MonkeyPatch) -> Iterator[Account]:
    yield from account_fixture(monkeypatch)


def count_calls(operation: str) -> list[dict[str, Any]]:
    """Record every call of `ecr.<operation>` the handlers make (they share the cached session client)."""
    calls: list[dict[str, Any]] = []
    client("ecr").meta.events.register(f"before-call.ecr.{operation}", lambda params, **_: calls.append(params))
    return calls


def fail_calls(service: str, operation: str, code: str, when: Callable[[dict[str, Any]], bool]) -> None:
    """Answer matching calls with an AWS error response (as if boto3's retries had given up).

    `when` sees the API parameters (the JSON request body).
    """

    def respond(params: dict[str, Any], **_: Any) -> Any:
        if not when(json.loads(params.get("body") or b"{}")):
            return None
        body = {"__type": code, "message": f"injected {code}"}
        return AWSResponse("https://fault", 400, {}, None), {"Error": {"Code": code, "Message": body["message"]}}

    client(service).meta.events.register(f"before-call.{service}.{operation}", respond)


# --- the happy path -------------------------------------------------------------------------------------------


def test_an_ssm_edit_brings_every_in_scope_repository_to_the_compiled_policy(account: Account) -> None:
    for name in ("shop/api", "shop/web"):
        seed_repository(name)
    seed_repository("legacy/old")
    account.ecr.put_lifecycle_policy(repositoryName="legacy/old", lifecyclePolicyText=json.dumps(HAND_MADE_POLICY))
    account.put_config(config_json())

    planned = account.plan(ssm_change())
    messages = account.receive()
    assert planned["queued"] == 2
    assert sorted(json.loads(m["Body"])["repositoryName"] for m in messages) == ["shop/api", "shop/web"]
    assert {json.loads(m["Body"])["trigger"] for m in messages} == {"config-change"}

    assert account.work(messages) == []
    config = load_config(config_json())
    for name in ("shop/api", "shop/web"):
        assert account.policy(name) == compile_policy(config, name)
    assert account.policy("legacy/old") == HAND_MADE_POLICY
    assert account.decisions() == {"shop/api": "updated", "shop/web": "updated"}
    assert account.metric(observability.POLICIES_UPDATED) == 2
    assert account.metric(observability.IMAGES_PROJECTED_TO_EXPIRE) == 4


def test_a_second_run_writes_nothing(account: Account) -> None:
    seed_repository("shop/api")
    account.put_config(config_json())
    account.plan(ssm_change())
    account.work()
    puts = count_calls("PutLifecyclePolicy")
    account.results.clear()

    account.plan(SWEEP)
    assert account.work() == []
    assert puts == []
    assert account.decisions() == {"shop/api": "in_sync"}
    assert account.metric(observability.REPOS_IN_SYNC) == 1


def test_preview_mode_reports_would_update_and_writes_nothing(account: Account) -> None:
    seed_repository("shop/api")
    account.put_config(config_json(mode="preview"))
    account.plan(ssm_change())
    assert account.work() == []
    assert account.policy("shop/api") is None
    assert account.decisions() == {"shop/api": "would_update"}
    assert account.metric(observability.POLICIES_WOULD_UPDATE) == 1


def test_a_push_syncs_only_that_repository(account: Account) -> None:
    seed_repository("shop/api")
    seed_repository("shop/web")
    account.put_config(config_json())
    account.plan(push_event("shop/web"))
    assert [json.loads(m["Body"]) for m in account.receive()] == [{"repositoryName": "shop/web", "trigger": "push"}]


# --- the guard ------------------------------------------------------------------------------------------------


def test_an_image_ecs_runs_is_at_risk_under_the_stored_policy_until_enforce_protects_it(account: Account) -> None:
    digests = seed_repository("shop/api")
    seed_repository("shop/web")
    account.put_config(config_json())
    account.plan(ssm_change())
    assert account.work() == []  # the config's policy, with nothing in use yet
    run_prod_task("shop/api", "Prod-1")  # a rollback: production now runs the oldest build
    shared_scanner.clear()  # a minute later: the warm worker's inventory has expired
    account.results.clear()

    account.put_config(config_json(mode="preview"))
    account.plan(ssm_change())
    assert account.work() == []  # at risk is a decision, not a failure to retry
    at_risk = next(r for r in account.results if r.repository == "shop/api")
    assert (at_risk.action, at_risk.reason) == ("at_risk", "EXPIRES_IN_USE_IMAGE")
    assert [(c.digest, c.tags) for c in at_risk.at_risk] == [(digests["Prod-1"], ("Prod-1",))]
    assert at_risk.at_risk[0].consumers[0].startswith("ecs-task:prod-main/")
    assert account.decisions()["shop/web"] == "in_sync"
    assert account.metric(observability.IN_USE_IMAGES_AT_RISK) == 1

    account.results.clear()
    account.put_config(config_json())
    account.plan(ssm_change())
    assert account.work() == []
    assert account.decisions()["shop/api"] == "updated"
    stored = account.policy("shop/api")
    assert stored is not None and stored["rules"][0]["selection"]["tagPatternList"] == ["Prod-1"]
    assert account.metric(observability.IN_USE_IMAGES_PROTECTED) == 1


def test_the_ecs_scan_runs_once_per_worker_invocation(account: Account) -> None:
    for index in range(5):
        seed_repository(f"team/app-{index}")
    run_prod_task("team/app-0", "Prod-4")
    listed: list[Any] = []
    client("ecs").meta.events.register("before-call.ecs.ListClusters", lambda params, **_: listed.append(params))
    account.put_config(config_json())
    account.plan(ssm_change())
    assert account.work(batch_size=5) == []
    assert len(listed) == 1


# --- config failures change nothing ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    "bad_config",
    [
        "{ this is not json",
        json.dumps(config_json(environments=[{"name": "prod", "tagPrefix": "Prod", "keep": -1}])),
    ],
    ids=["invalid-json", "invalid-config"],
)
def test_an_invalid_config_queues_nothing_and_touches_no_policy(account: Account, bad_config: str) -> None:
    seed_repository("shop/api")
    account.ecr.put_lifecycle_policy(repositoryName="shop/api", lifecyclePolicyText=json.dumps(HAND_MADE_POLICY))
    account.put_config(bad_config)

    planned = account.plan(ssm_change())
    assert planned["queued"] == 0
    assert planned["reason"] == "CONFIG_INVALID"
    assert planned["problems"][0]["path"].startswith(("$", "line "))
    assert account.receive() == []
    assert account.policy("shop/api") == HAND_MADE_POLICY
    assert account.metric(observability.CONFIG_INVALID) == 1


def test_a_worker_that_meets_an_invalid_config_writes_nothing(account: Account) -> None:
    seed_repository("shop/api")
    account.put_config(config_json())
    account.plan(ssm_change())
    messages = account.receive()
    account.put_config("{}")
    runtime.ssm_gateway()._provider.clear_cache()

    assert account.work(messages) == []
    assert account.policy("shop/api") is None
    assert account.decisions() == {"shop/api": "skipped"}
    assert account.metric(observability.CONFIG_INVALID) == 1


def test_a_deleted_config_queues_nothing_and_policies_stay(account: Account) -> None:
    seed_repository("shop/api")
    account.put_config(config_json())
    account.plan(ssm_change())
    account.work()
    synced = account.policy("shop/api")
    client("ssm").delete_parameter(Name=PARAMETER)

    planned = account.plan(ssm_change("Delete"))
    assert (planned["queued"], planned["reason"]) == (0, "CONFIG_DELETED")
    # The next sweep, once the warm container's cached copy has expired, finds no parameter at all.
    runtime.ssm_gateway()._provider.clear_cache()
    planned = account.plan(SWEEP)
    assert (planned["queued"], planned["reason"]) == (0, "CONFIG_DELETED")
    assert account.receive() == []
    assert account.policy("shop/api") == synced
    assert account.metric(observability.CONFIG_INVALID) == 2


# --- faults ---------------------------------------------------------------------------------------------------


def test_throttling_in_some_repositories_fails_only_their_messages_and_redelivery_heals(account: Account) -> None:
    names = [f"team/app-{index}" for index in range(6)]
    for name in names:
        seed_repository(name)
    account.put_config(config_json())
    account.plan(SWEEP)
    throttled = {"team/app-1", "team/app-4"}
    fail_calls("ecr", "DescribeImages", "ThrottlingException", lambda p: p.get("repositoryName") in throttled)

    failed = account.work(batch_size=3)
    assert len(failed) == 2
    assert {r.repository for r in account.results if r.action == "failed"} == throttled
    assert {r.reason for r in account.results if r.action == "failed"} == {"THROTTLED"}
    assert all(account.policy(n) is not None for n in names if n not in throttled)
    assert account.metric(observability.SYNC_FAILED) == 2

    reset_clients()  # the throttling passes; SQS redelivers the two messages
    account.results.clear()
    assert account.work() == []
    assert account.decisions() == dict.fromkeys(sorted(throttled), "updated")


def test_a_transient_throttle_is_absorbed_by_the_adaptive_retries(account: Account) -> None:
    seed_repository("shop/api")
    account.put_config(config_json())
    account.plan(ssm_change())
    throttles = [1]

    def throttle_once(request: Any, **_: Any) -> Any:
        if throttles:
            throttles.pop()
            return AWSResponse(request.url, 400, {}, _RawBody(b'{"__type":"ThrottlingException","message":"slow"}'))
        return None

    client("ecr").meta.events.register("before-send.ecr.DescribeImages", throttle_once)
    assert account.work() == []
    assert throttles == []
    assert account.decisions() == {"shop/api": "updated"}


class _RawBody:
    def __init__(self, data: bytes) -> None:
        self._data = data

    def stream(self, **_: Any) -> Iterator[bytes]:
        yield self._data

    def read(self, *_: Any) -> bytes:
        data, self._data = self._data, b""
        return data


def test_one_repository_failing_does_not_fail_the_others(account: Account) -> None:
    for name in ("shop/api", "shop/web", "shop/db"):
        seed_repository(name)
    account.put_config(config_json())
    account.plan(SWEEP)
    fail_calls("ecr", "PutLifecyclePolicy", "AccessDeniedException", lambda p: p["repositoryName"] == "shop/web")

    failed = account.work()
    assert len(failed) == 1
    assert account.decisions() == {"shop/api": "updated", "shop/web": "failed", "shop/db": "updated"}


def test_duplicate_messages_write_once(account: Account) -> None:
    seed_repository("shop/api")
    account.put_config(config_json())
    body = json.dumps({"repositoryName": "shop/api", "trigger": "push"})
    for _ in range(3):
        account.sqs.send_message(QueueUrl=account.queue_url, MessageBody=body)
    puts = count_calls("PutLifecyclePolicy")

    assert account.work(batch_size=10) == []
    assert len(puts) == 1
    assert sorted(account.decisions().values()) == ["in_sync"]
    assert [r.action for r in account.results] == ["updated", "in_sync", "in_sync"]


def test_a_malformed_message_fails_until_it_reaches_the_dead_letter_queue(account: Account) -> None:
    account.put_config(config_json())
    account.sqs.send_message(QueueUrl=account.queue_url, MessageBody='{"repository": "typo"}')
    for _ in range(3):
        assert len(account.work()) == 1
    assert account.receive() == []
    dead = account.receive(account.dlq_url)
    assert [json.loads(m["Body"]) for m in dead] == [{"repository": "typo"}]


def test_the_worker_reads_the_config_once_per_invocation(account: Account) -> None:
    for index in range(4):
        seed_repository(f"team/app-{index}")
    account.put_config(config_json())
    account.plan(SWEEP)
    runtime.ssm_gateway()._provider.clear_cache()
    reads: list[Any] = []
    client("ssm").meta.events.register("before-call.ssm.GetParameter", lambda params, **_: reads.append(params))
    assert account.work(batch_size=4) == []
    assert len(reads) == 1


def test_without_a_queue_plan_sync_syncs_the_repositories_itself(
    account: Account, monkeypatch: pytest.MonkeyPatch
) -> None:
    seed_repository("shop/api")
    account.put_config(config_json())
    monkeypatch.delenv("HOUSEKEEPER_SYNC_QUEUE_URL")
    planned = account.plan(ssm_change())
    assert planned["queued"] == 1
    assert account.receive() == []
    assert account.policy("shop/api") == compile_policy(load_config(config_json()), "shop/api")


def test_a_warm_worker_applies_the_edited_config_not_its_cached_copy(account: Account) -> None:
    seed_repository("shop/api")
    account.put_config(config_json())
    account.plan(SWEEP)
    assert account.work() == []  # the worker has now cached the first config
    edited = config_json(catchAll={"expireAfterDays": 60})
    account.put_config(edited)  # the dispatcher runs in another Lambda: the worker's cache is not refreshed

    account.sqs.send_message(
        QueueUrl=account.queue_url, MessageBody=json.dumps({"repositoryName": "shop/api", "trigger": "config-change"})
    )
    assert account.work() == []

    assert account.policy("shop/api") == compile_policy(load_config(edited), "shop/api")
    assert account.decisions()["shop/api"] == "updated"
