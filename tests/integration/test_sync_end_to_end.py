"""The real plan_sync and sync_repository handlers on moto (ECR, ECS, SSM, SQS), driven end to end.

An event goes to plan_sync; the messages it queued are read back from the moto queue and handed to the worker
as an SQS batch, the way the Lambda poller does (successful messages deleted, failed ones left for redelivery).
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest
from botocore.awsrequest import AWSResponse
from housekeeper import observability
from housekeeper.aws.session import client, reset_clients
from housekeeper.core.compiler import compile_policy
from housekeeper.core.config import load_config
from housekeeper.handlers import _runtime as runtime
from housekeeper.logic.inventory import shared_scanner

from tests.fakes import CONFIG_PARAMETER, REGION, SCHEDULED_EVENT, config_json, image_push, parameter_change
from tests.integration.moto_account import (
    HAND_MADE_POLICY,
    Account,
    count_calls,
    fail_calls,
    run_prod_task,
    seed_repository,
)

# --- the happy path -------------------------------------------------------------------------------------------


def test_an_ssm_edit_brings_every_in_scope_repository_to_the_compiled_policy(account: Account) -> None:
    for name in ("shop/api", "shop/web"):
        seed_repository(name)
    seed_repository("legacy/old")
    account.ecr.put_lifecycle_policy(repositoryName="legacy/old", lifecyclePolicyText=json.dumps(HAND_MADE_POLICY))
    account.put_config(config_json())

    planned = account.plan(parameter_change())
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
    account.plan(parameter_change())
    account.work()
    puts = count_calls("PutLifecyclePolicy")
    account.results.clear()

    account.plan(SCHEDULED_EVENT)
    assert account.work() == []
    assert puts == []
    assert account.decisions() == {"shop/api": "in_sync"}
    assert account.metric(observability.REPOS_IN_SYNC) == 1


def test_preview_mode_reports_would_update_and_writes_nothing(account: Account) -> None:
    seed_repository("shop/api")
    account.put_config(config_json(mode="preview"))
    account.plan(parameter_change())
    assert account.work() == []
    assert account.policy("shop/api") is None
    assert account.decisions() == {"shop/api": "would_update"}
    assert account.metric(observability.POLICIES_WOULD_UPDATE) == 1


def test_a_push_syncs_only_that_repository(account: Account) -> None:
    seed_repository("shop/api")
    seed_repository("shop/web")
    account.put_config(config_json())
    account.plan(image_push("shop/web"))
    assert [json.loads(m["Body"]) for m in account.receive()] == [
        {"repositoryName": "shop/web", "region": REGION, "trigger": "push"}
    ]


# --- the guard ------------------------------------------------------------------------------------------------


def test_an_image_ecs_runs_is_at_risk_under_the_stored_policy_until_enforce_protects_it(account: Account) -> None:
    digests = seed_repository("shop/api")
    seed_repository("shop/web")
    account.put_config(config_json())
    account.plan(parameter_change())
    assert account.work() == []  # the config's policy, with nothing in use yet
    run_prod_task("shop/api", "Prod-1")  # a rollback: production now runs the oldest build
    shared_scanner.clear()  # a minute later: the warm worker's inventory has expired
    account.results.clear()

    account.put_config(config_json(mode="preview"))
    account.plan(parameter_change())
    assert account.work() == []  # at risk is a decision, not a failure to retry
    at_risk = next(r for r in account.results if r.repository == "shop/api")
    assert (at_risk.action, at_risk.reason) == ("at_risk", "EXPIRES_IN_USE_IMAGE")
    assert [(c.digest, c.tags) for c in at_risk.at_risk] == [(digests["Prod-1"], ("Prod-1",))]
    assert at_risk.at_risk[0].consumers[0].startswith("ecs-task:prod-main/")
    assert account.decisions()["shop/web"] == "in_sync"
    assert account.metric(observability.IN_USE_IMAGES_AT_RISK) == 1

    account.results.clear()
    account.put_config(config_json())
    account.plan(parameter_change())
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
    account.plan(parameter_change())
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

    planned = account.plan(parameter_change())
    assert planned["queued"] == 0
    assert planned["reason"] == "CONFIG_INVALID"
    assert planned["problems"][0]["path"].startswith(("$", "line "))
    assert account.receive() == []
    assert account.policy("shop/api") == HAND_MADE_POLICY
    assert account.metric(observability.CONFIG_INVALID) == 1


def test_a_worker_that_meets_an_invalid_config_writes_nothing(account: Account) -> None:
    seed_repository("shop/api")
    account.put_config(config_json())
    account.plan(parameter_change())
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
    account.plan(parameter_change())
    account.work()
    synced = account.policy("shop/api")
    client("ssm").delete_parameter(Name=CONFIG_PARAMETER)

    planned = account.plan(parameter_change("Delete"))
    assert (planned["queued"], planned["reason"]) == (0, "CONFIG_DELETED")
    # The next sweep, once the warm container's cached copy has expired, finds no parameter at all.
    runtime.ssm_gateway()._provider.clear_cache()
    planned = account.plan(SCHEDULED_EVENT)
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
    account.plan(SCHEDULED_EVENT)
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
    account.plan(parameter_change())
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
    account.plan(SCHEDULED_EVENT)
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
    account.plan(SCHEDULED_EVENT)
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
    planned = account.plan(parameter_change())
    assert planned["queued"] == 1
    assert account.receive() == []
    assert account.policy("shop/api") == compile_policy(load_config(config_json()), "shop/api")


def test_a_warm_worker_applies_the_edited_config_not_its_cached_copy(account: Account) -> None:
    seed_repository("shop/api")
    account.put_config(config_json())
    account.plan(SCHEDULED_EVENT)
    assert account.work() == []  # the worker has now cached the first config
    edited = config_json(catchAll={"expireAfterDays": 60})
    account.put_config(edited)  # the dispatcher runs in another Lambda: the worker's cache is not refreshed

    account.sqs.send_message(
        QueueUrl=account.queue_url, MessageBody=json.dumps({"repositoryName": "shop/api", "trigger": "config-change"})
    )
    assert account.work() == []

    assert account.policy("shop/api") == compile_policy(load_config(edited), "shop/api")
    assert account.decisions()["shop/api"] == "updated"
