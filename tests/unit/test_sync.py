"""Policy sync decisions on in-memory gateways: what is written, what is blocked, what is left alone."""

from __future__ import annotations

import json
from typing import Any

import pytest
from aws_lambda_powertools.utilities.data_classes import EventBridgeEvent
from aws_lambda_powertools.utilities.data_classes.sqs_event import SQSRecord
from housekeeper.aws.errors import Throttled
from housekeeper.aws.ports import PreviewStatus
from housekeeper.core.compiler import compile_policy
from housekeeper.core.errors import MalformedEvent
from housekeeper.core.evaluator import evaluate
from housekeeper.handlers import _metrics, events
from housekeeper.logic.inventory import InventoryScanner
from housekeeper.logic.plan import PlanOutcome, Trigger, plan_sync
from housekeeper.logic.sync import SyncResult, SyncRun, sync_repository
from housekeeper.logic.worker import ConfigFailure, RepositorySyncFailed, prepare_run, process
from housekeeper.operator.native_preview import native_preview

from tests.fakes import (
    ACCOUNT,
    CONFIG_PARAMETER,
    REGION,
    SCHEDULED_EVENT,
    FakeEcr,
    FakeEcs,
    FakeSqs,
    FakeSsm,
    config_json,
    ecr_image_uri,
    fake_sources,
    image_manifest,
    image_push,
    one_place,
    parameter_change,
)
from tests.unit.sync_helpers import NOW, make_config, run_for

QUEUE = "https://sqs.us-east-1.amazonaws.com/123456789012/sync"
DAY = 86_400.0


def push_prod_images(ecr: FakeEcr, repository: str, count: int = 4) -> list[str]:
    """Prod-1 (oldest) .. Prod-<count>, each a day apart, all recent enough for the catch-all."""
    base = NOW.timestamp() - 30 * DAY
    return [
        ecr.push(repository, image_manifest(f"{repository}-{n}"), tags=[f"Prod-{n}"], pushed_at=base + n * DAY)
        for n in range(1, count + 1)
    ]


@pytest.fixture
def ecr() -> FakeEcr:
    fake = FakeEcr()
    push_prod_images(fake, "shop/api")
    return fake


# --- one repository -------------------------------------------------------------------------------------------


def test_a_repository_without_a_policy_gets_exactly_the_compiled_policy(ecr: FakeEcr) -> None:
    config = make_config()
    result = sync_repository("shop/api", run_for(ecr, config))
    assert (result.action, result.reason) == ("updated", "POLICY_MISSING")
    assert ecr.repositories["shop/api"].lifecycle_policy == compile_policy(config, "shop/api")
    assert (result.images, result.expiring, result.transitioning) == (4, 2, 0)


def test_a_second_run_writes_nothing(ecr: FakeEcr) -> None:
    sync_repository("shop/api", run_for(ecr))
    result = sync_repository("shop/api", run_for(ecr))
    assert result.action == "in_sync"
    assert len(ecr.put_policy_calls) == 1


def test_a_policy_equal_after_normalising_counts_as_in_sync(ecr: FakeEcr) -> None:
    config = make_config()
    policy = compile_policy(config, "shop/api")
    policy["rules"].reverse()
    for rule in policy["rules"]:
        rule["action"]["type"] = rule["action"]["type"].upper()
    ecr.repositories["shop/api"].lifecycle_policy = policy
    assert sync_repository("shop/api", run_for(ecr, config)).action == "in_sync"
    assert ecr.put_policy_calls == []


def test_a_hand_edited_policy_is_put_back(ecr: FakeEcr) -> None:
    ecr.repositories["shop/api"].lifecycle_policy = {
        "rules": [
            {
                "rulePriority": 1,
                "selection": {"tagStatus": "any", "countType": "imageCountMoreThan", "countNumber": 500},
                "action": {"type": "expire"},
            }
        ]
    }
    result = sync_repository("shop/api", run_for(ecr))
    assert (result.action, result.reason) == ("updated", "POLICY_DIFFERS")
    # The result says what was wrong with the hand-edited policy, rule by rule.
    assert "drift: rule 1 not in the config" in result.detail
    assert "rule 10 missing" in result.detail


def test_preview_mode_reports_would_update_and_writes_nothing(ecr: FakeEcr) -> None:
    result = sync_repository("shop/api", run_for(ecr, make_config(mode="preview"), write=False))
    assert result.action == "would_update"
    assert ecr.put_policy_calls == []


def test_a_running_digest_the_config_would_expire_is_protected_in_the_written_policy(ecr: FakeEcr) -> None:
    running = ecr.digest_of_tag("shop/api", "Prod-1")
    ecs = FakeEcs()
    ecs.run_task("prod-main", "api", [(ecr_image_uri("shop/api", ":Prod-1"), running)])
    result = sync_repository("shop/api", run_for(ecr, ecs=ecs))
    assert (result.action, result.protected) == ("updated", 1)
    written = ecr.repositories["shop/api"].lifecycle_policy
    assert written is not None
    expiring = evaluate(written, list(ecr.iter_images("shop/api")), NOW).expiring_digests
    assert running not in expiring and len(expiring) == 1
    assert written["rules"][0]["selection"]["tagPatternList"] == ["Prod-1"]


def test_tasks_in_every_cluster_count_unless_the_inventory_is_narrowed(ecr: FakeEcr) -> None:
    ecs = FakeEcs()
    ecs.run_task("sandbox", None, [(ecr_image_uri("shop/api", ":Prod-1"), ecr.digest_of_tag("shop/api", "Prod-1"))])
    assert sync_repository("shop/api", run_for(ecr, ecs=ecs)).protected == 1
    narrowed = make_config(safety={"inUse": {"clusters": ["prod-*"]}})
    other = FakeEcr()
    push_prod_images(other, "shop/api")
    assert sync_repository("shop/api", run_for(other, narrowed, ecs=ecs)).protected == 0


def test_a_task_without_a_reported_digest_is_matched_by_its_tag(ecr: FakeEcr) -> None:
    ecs = FakeEcs()
    ecs.run_task("prod-main", "api", [(ecr_image_uri("shop/api", ":Prod-2"), None)])
    result = sync_repository("shop/api", run_for(ecr, ecs=ecs, write=False), keep_assessment=True)
    assert (result.action, result.protected) == ("would_update", 1)
    assert result.assessment is not None
    assert result.assessment.desired["rules"][0]["selection"]["tagPatternList"] == ["Prod-2"]


def test_expiring_more_than_the_safe_fraction_is_blocked() -> None:
    ecr = FakeEcr()
    push_prod_images(ecr, "shop/api", count=6)  # keep 2 of 6: 4 expire, 67% > 50%
    result = sync_repository("shop/api", run_for(ecr))
    assert (result.action, result.reason) == ("blocked", "EXCEEDS_MAX_EXPIRE_FRACTION")
    assert "4 of 6" in result.detail
    assert ecr.put_policy_calls == []


def test_a_stored_policy_that_expires_a_new_consumers_image_is_at_risk_in_preview(ecr: FakeEcr) -> None:
    sync_repository("shop/api", run_for(ecr))
    ecs = FakeEcs()
    ecs.run_task("prod-main", "api", [(ecr_image_uri("shop/api", ":Prod-1"), ecr.digest_of_tag("shop/api", "Prod-1"))])
    result = sync_repository("shop/api", run_for(ecr, make_config(mode="preview"), ecs=ecs, write=False))
    assert (result.action, result.reason) == ("at_risk", "EXPIRES_IN_USE_IMAGE")
    assert [(c.tags, c.consumers) for c in result.at_risk] == [(("Prod-1",), ("ecs-task:prod-main/task-1",))]
    assert "ecs-task:prod-main/task-1" in result.detail
    assert len(ecr.put_policy_calls) == 1


def test_in_enforce_mode_the_same_run_writes_the_protection(ecr: FakeEcr) -> None:
    sync_repository("shop/api", run_for(ecr))
    ecs = FakeEcs()
    ecs.run_task("prod-main", "api", [(ecr_image_uri("shop/api", ":Prod-1"), ecr.digest_of_tag("shop/api", "Prod-1"))])
    result = sync_repository("shop/api", run_for(ecr, ecs=ecs))
    assert (result.action, result.at_risk, result.protected) == ("updated", (), 1)
    assert len(ecr.put_policy_calls) == 2
    assert sync_repository("shop/api", run_for(ecr, ecs=ecs)).action == "in_sync"


def test_an_excluded_repository_keeps_its_policy_untouched() -> None:
    ecr = FakeEcr()
    push_prod_images(ecr, "legacy/batch")
    hand_made = {"rules": [{"rulePriority": 1, "selection": {"tagStatus": "any"}, "action": {"type": "expire"}}]}
    ecr.repositories["legacy/batch"].lifecycle_policy = hand_made
    result = sync_repository("legacy/batch", run_for(ecr))
    assert (result.action, result.reason) == ("skipped", "NOT_IN_SCOPE")
    assert ecr.repositories["legacy/batch"].lifecycle_policy == hand_made


def test_a_deleted_repository_is_skipped_not_failed() -> None:
    result = sync_repository("gone/api", run_for(FakeEcr()))
    assert (result.action, result.reason) == ("skipped", "REPOSITORY_NOT_FOUND")


def test_throttling_fails_only_that_repository(ecr: FakeEcr, monkeypatch: pytest.MonkeyPatch) -> None:
    push_prod_images(ecr, "shop/web")

    def throttled(repository: str) -> Any:
        if repository == "shop/api":
            raise Throttled("ecr:GetLifecyclePolicy", "ThrottlingException", "slow down", repository)
        return FakeEcr.get_lifecycle_policy(ecr, repository)

    monkeypatch.setattr(ecr, "get_lifecycle_policy", throttled)
    run = run_for(ecr)
    failed = sync_repository("shop/api", run)
    assert (failed.action, failed.reason, failed.retryable) == ("failed", "THROTTLED", True)
    assert sync_repository("shop/web", run).action == "updated"


def test_the_inventory_is_scanned_once_for_many_repositories() -> None:
    ecr = FakeEcr()
    for name in ("a", "b", "c"):
        push_prod_images(ecr, name)
    ecs = FakeEcs()
    ecs.add_cluster("prod-main")
    ecs.add_cluster("dev-main")
    run = run_for(ecr, ecs=ecs)
    for name in ("a", "b", "c"):
        sync_repository(name, run)
    assert ecs.calls.count("ListClusters") == 1
    assert ecs.calls.count("ListTasks:prod-main") == 1


def test_the_shared_scanner_reuses_a_scan_within_its_ttl_only() -> None:
    clock = [0.0]
    scanner = InventoryScanner(ttl_seconds=60, clock=lambda: clock[0])
    ecs = FakeEcs()
    ecs.add_cluster("prod-main")
    settings = make_config().safety.in_use
    places = one_place(FakeEcr(), fake_sources(ecs))
    scanner.scan(settings, places, [places.home])
    clock[0] = 59
    scanner.scan(settings, places, [places.home])
    assert ecs.calls.count("ListClusters") == 1
    clock[0] = 61
    scanner.scan(settings, places, [places.home])
    assert ecs.calls.count("ListClusters") == 2


def test_protect_in_use_off_never_scans(ecr: FakeEcr) -> None:
    ecs = FakeEcs()
    config = make_config(safety={"protectInUse": False, "maxExpireFraction": 0.5})
    sync_repository("shop/api", run_for(ecr, config, ecs=ecs))
    assert ecs.calls == []


# --- triggers and planning ------------------------------------------------------------------------------------


def trigger_from_event(event: Any) -> Trigger:
    """What plan_sync's handler hands logic for `event` (read at the edge with Powertools' data class)."""
    return events.sync_trigger(EventBridgeEvent(event), CONFIG_PARAMETER)


def handle_sync_message(body: Any, prepared: SyncRun | ConfigFailure) -> SyncResult:
    """What the worker's handler does with one SQS record: read it at the edge, then process it."""
    return process(events.sync_message(SQSRecord({"body": body})), prepared, lambda result: None)


def test_events_become_triggers() -> None:
    assert trigger_from_event(parameter_change("Update")) == Trigger("config-change", None, CONFIG_PARAMETER, "Update")
    assert trigger_from_event(parameter_change("Delete")).deletes_config
    assert trigger_from_event(image_push("shop/api")) == Trigger("push", "shop/api", account=ACCOUNT, region=REGION)
    assert trigger_from_event(SCHEDULED_EVENT).kind == "sweep"


def test_events_that_ask_for_nothing_are_ignored() -> None:
    assert trigger_from_event(image_push("shop/api", result="FAILED")).ignore
    assert trigger_from_event(image_push("shop/api", action="DELETE")).ignore
    assert trigger_from_event(parameter_change("Update", "/other/param")).ignore


def test_an_unknown_event_is_malformed() -> None:
    with pytest.raises(MalformedEvent):
        trigger_from_event({"detail-type": "Something Else", "detail": {}})
    with pytest.raises(MalformedEvent):
        trigger_from_event({"detail-type": "ECR Image Action", "detail": {}})


def planned(event: dict[str, Any], config: Any, ecr: FakeEcr) -> tuple[PlanOutcome, FakeSqs]:
    ssm = FakeSsm(
        {CONFIG_PARAMETER: config if isinstance(config, str) else json.dumps(config)} if config is not None else {}
    )
    sqs = FakeSqs()
    trigger = trigger_from_event(event)
    outcome = plan_sync(
        trigger,
        config_parameter=CONFIG_PARAMETER,
        queue_url=QUEUE,
        ssm=ssm,
        places_for=lambda _: one_place(ecr),
        sqs=sqs,
    )
    return outcome, sqs


def many_repositories() -> FakeEcr:
    ecr = FakeEcr()
    for index in range(23):
        ecr.create_repository(f"team/app-{index:02d}")
    ecr.create_repository("legacy/old")
    return ecr


def test_a_config_change_queues_every_repository_in_scope_in_batches_of_ten() -> None:
    outcome, sqs = planned(parameter_change("Update"), config_json(), many_repositories())
    assert outcome.queued == 23
    assert sqs.batch_sizes == [10, 10, 3]
    names = [m["repositoryName"] for m in sqs.queues[QUEUE]]
    assert "legacy/old" not in names
    assert {m["trigger"] for m in sqs.queues[QUEUE]} == {"config-change"}


def test_the_sweep_queues_every_repository_in_scope() -> None:
    outcome, sqs = planned(SCHEDULED_EVENT, config_json(), many_repositories())
    assert outcome.queued == 23
    assert {m["trigger"] for m in sqs.queues[QUEUE]} == {"sweep"}


def test_a_push_queues_only_its_repository_and_only_in_scope() -> None:
    _, sqs = planned(image_push("team/app-03"), config_json(), many_repositories())
    assert sqs.queues[QUEUE] == [{"repositoryName": "team/app-03", "region": REGION, "trigger": "push"}]
    outcome, sqs = planned(image_push("legacy/old"), config_json(), many_repositories())
    assert (outcome.reason, sqs.queues) == ("NOT_IN_SCOPE", {})


def test_an_invalid_config_queues_nothing_and_names_each_problem_path() -> None:
    broken = config_json(environments=[{"name": "prod", "tagPrefix": "Prod", "keep": 0}], mode="enforcing")
    outcome, sqs = planned(parameter_change("Update"), broken, many_repositories())
    assert sqs.queues == {}
    assert outcome.reason == "CONFIG_INVALID"
    assert {"$.environments[0].keep", "$.mode"} <= {p.path for p in outcome.problems}


def test_config_text_that_is_not_json_queues_nothing() -> None:
    outcome, sqs = planned(SCHEDULED_EVENT, "{not json", many_repositories())
    assert (outcome.reason, sqs.queues) == ("CONFIG_INVALID", {})


def test_a_deleted_config_queues_nothing() -> None:
    outcome, sqs = planned(parameter_change("Delete"), config_json(), many_repositories())
    assert (outcome.reason, sqs.queues) == ("CONFIG_DELETED", {})
    outcome, sqs = planned(SCHEDULED_EVENT, None, many_repositories())
    assert (outcome.reason, sqs.queues) == ("CONFIG_DELETED", {})


def test_a_config_change_reads_the_parameter_past_any_cache() -> None:
    class RecordingSsm(FakeSsm):
        forced: list[bool] = []

        def get_parameter(self, name: str, *, force_fetch: bool = False) -> str:
            self.forced.append(force_fetch)
            return super().get_parameter(name)

    ssm = RecordingSsm({CONFIG_PARAMETER: json.dumps(config_json())})
    for event in (parameter_change("Update"), SCHEDULED_EVENT):
        plan_sync(
            trigger_from_event(event),
            config_parameter=CONFIG_PARAMETER,
            queue_url=QUEUE,
            ssm=ssm,
            places_for=lambda _: one_place(FakeEcr()),
            sqs=FakeSqs(),
        )
    assert ssm.forced == [True, False]


# --- worker messages ------------------------------------------------------------------------------------------


def test_a_malformed_message_raises_so_it_fails_and_reaches_the_dlq(ecr: FakeEcr) -> None:
    for body in ("not json", json.dumps({"trigger": "sweep"}), json.dumps(["x"])):
        with pytest.raises(MalformedEvent):
            handle_sync_message(body, run_for(ecr))


def test_a_failed_repository_raises_after_recording_its_result(monkeypatch: pytest.MonkeyPatch) -> None:
    ecr = FakeEcr()

    def throttled(repository: str) -> Any:
        raise Throttled("ecr:GetLifecyclePolicy", "ThrottlingException", "slow down", repository)

    monkeypatch.setattr(ecr, "get_lifecycle_policy", throttled)
    ecr.create_repository("shop/api")
    with pytest.raises(RepositorySyncFailed) as raised:
        handle_sync_message(json.dumps({"repositoryName": "shop/api", "trigger": "sweep"}), run_for(ecr))
    assert raised.value.result.reason == "THROTTLED"


def test_an_unusable_config_skips_every_message_and_writes_nothing(ecr: FakeEcr) -> None:
    prepared = prepare_run(
        ssm=FakeSsm({CONFIG_PARAMETER: "{}"}), config_parameter=CONFIG_PARAMETER, places_for=lambda _: one_place(ecr)
    )
    assert isinstance(prepared, ConfigFailure)
    result = handle_sync_message(json.dumps({"repositoryName": "shop/api", "trigger": "sweep"}), prepared)
    assert (result.action, result.reason) == ("skipped", "CONFIG_INVALID")
    assert ecr.put_policy_calls == []


def test_the_worker_follows_the_config_mode(ecr: FakeEcr) -> None:
    ssm = FakeSsm({CONFIG_PARAMETER: json.dumps(config_json(mode="preview"))})
    prepared = prepare_run(ssm=ssm, config_parameter=CONFIG_PARAMETER, places_for=lambda _: one_place(ecr))
    assert isinstance(prepared, SyncRun)
    assert handle_sync_message({"repositoryName": "shop/api"}, prepared).action == "would_update"


# --- native preview -------------------------------------------------------------------------------------------


def test_native_preview_polls_with_back_off_and_reports_no_difference_when_ecr_agrees(ecr: FakeEcr) -> None:
    config = make_config()
    policy = compile_policy(config, "shop/api")
    images = list(ecr.iter_images("shop/api"))
    evaluation = evaluate(policy, images, NOW)
    repo = ecr.repositories["shop/api"]
    polls = iter(["IN_PROGRESS", "IN_PROGRESS", "COMPLETE"])
    sleeps: list[float] = []

    def get_preview(repository: str) -> PreviewStatus:
        status = next(polls)
        results = evaluation.to_preview_response()["previewResults"] if status == "COMPLETE" else []
        return PreviewStatus(status, results)

    repo.preview = PreviewStatus("IN_PROGRESS")
    ecr.get_lifecycle_preview = get_preview  # type: ignore[method-assign]
    comparison = native_preview(ecr, "shop/api", policy, evaluation, sleep=sleeps.append)
    assert comparison.matches
    assert sleeps == [1.0, 2.0]
    assert ecr.started_previews == [("shop/api", policy)]


def test_native_preview_names_the_digests_ecr_and_the_evaluator_disagree_on(ecr: FakeEcr) -> None:
    policy = compile_policy(make_config(), "shop/api")
    evaluation = evaluate(policy, list(ecr.iter_images("shop/api")), NOW)
    results = evaluation.to_preview_response()["previewResults"]
    extra = {"imageDigest": "sha256:" + "f" * 64, "action": {"type": "EXPIRE"}, "appliedRulePriority": 10}
    changed = dict(results[0], appliedRulePriority=20)
    ecr.repositories["shop/api"].preview = PreviewStatus("COMPLETE", [changed, extra])
    comparison = native_preview(ecr, "shop/api", policy, evaluation, sleep=lambda _: None)
    assert not comparison.matches
    assert comparison.only_in_ecr == (extra["imageDigest"],)
    assert comparison.different == (results[0]["imageDigest"],)
    assert comparison.only_offline == (results[1]["imageDigest"],)


def test_native_preview_gives_up_after_its_time_budget(ecr: FakeEcr) -> None:
    policy = compile_policy(make_config(), "shop/api")
    evaluation = evaluate(policy, list(ecr.iter_images("shop/api")), NOW)
    comparison = native_preview(ecr, "shop/api", policy, evaluation, sleep=lambda _: None, max_wait=10)
    assert comparison.status == "TIMED_OUT"
    assert not comparison.matches


# --- relaxing safety ------------------------------------------------------------------------------------------


def test_a_config_version_that_relaxes_safety_is_reported_once_with_what_it_relaxes(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from housekeeper import observability

    counted: list[str] = []
    warnings: list[dict[str, Any]] = []
    monkeypatch.setattr(observability, "count", lambda name, value=1: counted.append(name))
    monkeypatch.setattr(observability.logger, "warning", lambda message, extra=None: warnings.append(extra or {}))
    relaxed = config_json(safety={"maxExpireFraction": 0.9, "inUse": {"lambdaFunctions": False}})

    outcome, _ = planned(parameter_change("Update"), relaxed, many_repositories())
    _metrics.record_plan_outcome(outcome, CONFIG_PARAMETER)
    assert outcome.relaxations == (
        "safety.maxExpireFraction is 0.9 (default 0.5)",
        "safety.inUse.lambdaFunctions is false: Lambda container-image functions are not in the inventory",
    )
    assert counted.count("SafetyRelaxed") == 1
    assert warnings[0]["relaxations"] == list(outcome.relaxations)

    # The sweep and pushes under the same version say nothing more: once per config version.
    counted.clear()
    outcome, _ = planned(SCHEDULED_EVENT, relaxed, many_repositories())
    _metrics.record_plan_outcome(outcome, CONFIG_PARAMETER)
    assert (outcome.relaxations, counted.count("SafetyRelaxed")) == ((), 0)


def test_the_default_safety_relaxes_nothing() -> None:
    outcome, _ = planned(parameter_change("Update"), config_json(), many_repositories())
    assert outcome.relaxations == ()


def test_an_inventory_that_cannot_be_read_fails_every_repository_closed(ecr: FakeEcr) -> None:
    from housekeeper.aws.errors import AccessDenied

    push_prod_images(ecr, "shop/web")
    ecs = FakeEcs()
    ecs.fail["ListServices"] = AccessDenied("ecs:ListServices", "AccessDeniedException", "denied")
    ecs.add_cluster("prod-main")
    run = run_for(ecr, ecs=ecs)
    results = [sync_repository(name, run) for name in ("shop/api", "shop/web")]
    assert {(r.action, r.reason) for r in results} == {("failed", "INVENTORY_INCOMPLETE")}
    assert "ecsServices" in results[0].detail and "nothing written" in results[0].detail
    assert ecr.put_policy_calls == [] and ecr.put_image_calls == []
    assert ecs.calls.count("ListServices:prod-main") == 1  # the failed scan is not repeated per repository


def test_a_throttled_inventory_is_retried_by_sqs() -> None:
    ecr = FakeEcr()
    push_prod_images(ecr, "shop/api")
    sources = fake_sources()
    assert sources.lambdas is not None
    sources.lambdas.fail = Throttled("lambda:ListFunctions", "TooManyRequestsException", "slow down")  # type: ignore[attr-defined]
    run = SyncRun(make_config(), one_place(ecr, sources), write=True, scanner=InventoryScanner(), now=NOW)
    result = sync_repository("shop/api", run)
    assert (result.action, result.reason, result.retryable) == ("failed", "INVENTORY_INCOMPLETE", True)
