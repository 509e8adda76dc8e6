"""Policy sync: which repositories to sync for a trigger (plan_sync), and syncing one repository (the worker).

Shared by the Lambdas and the `plan`/`apply` commands, so that both reach the same decision for a repository.

Decision for one repository, in order:
1. not selected by `repositories.include/exclude` -> `skipped` (its policy is left exactly as it is);
2. the in-use inventory (one scan per run; a source that cannot be read -> `failed`, INVENTORY_INCOMPLETE);
3. read the stored policy and every image (all storage classes, manifest lists with their children);
4. the desired policy: the config's, plus a protection for each in-use image it would expire or archive
   (housekeeper.core.protection); evaluate it offline and run the safety guard;
5. check the stored policy against the inventory: one that expires or archives an in-use image is never in sync;
6. equal and safe -> `in_sync`; the guard refuses -> `blocked`; writing allowed -> pin untagged in-use images,
   write -> `updated`; preview -> `would_update`. Whenever the policy ECR holds after this run still expires or
   archives an in-use image, the outcome is `at_risk` (reason EXPIRES_IN_USE_IMAGE), whatever else happened.
Any AWS error -> `failed` (the worker then fails only that SQS message, which SQS redelivers).

Config problems never reach step 2: an invalid or deleted config sends no message and writes nothing.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from fnmatch import fnmatchcase
from typing import Any, Protocol

from housekeeper import observability
from housekeeper.aws.errors import AwsError, NotFound, Throttled
from housekeeper.aws.ports import ALREADY_PRESENT as TAG_ALREADY_PRESENT
from housekeeper.aws.ports import TAGGED as TAG_ADDED
from housekeeper.aws.ports import EcrGateway, SsmGateway
from housekeeper.core.config import Config
from housekeeper.core.errors import ConfigInvalid, HousekeeperError, InvalidInput, MalformedEvent, Problem
from housekeeper.core.evaluator import EXPIRE, TRANSITION, Evaluation, evaluate
from housekeeper.core.guard import EXPIRES_IN_USE_IMAGE, Conflict, GuardVerdict, check_guard
from housekeeper.core.images import ImageRecord
from housekeeper.core.jsonio import load_json
from housekeeper.core.policy import describe_drift, normalise_policy, read_policy_document
from housekeeper.core.protection import ProtectionPlan, Threat, Unprotected, plan_protection, threats
from housekeeper.logic.config_source import read_config
from housekeeper.logic.inventory import (
    INVENTORY_INCOMPLETE,
    NOTHING_IN_USE,
    Inventory,
    InventoryIncomplete,
    InventoryScanner,
    InventorySources,
)

# --- triggers -------------------------------------------------------------------------------------------------

CONFIG_CHANGE = "config-change"
PUSH = "push"
SWEEP = "sweep"
MANUAL = "manual"
DEPLOYMENT = "deployment"  # sent by the tagger for the repositories a completed deployment runs
TRIGGERS = (CONFIG_CHANGE, PUSH, SWEEP, MANUAL, DEPLOYMENT)

# --- actions and reason codes ---------------------------------------------------------------------------------

IN_SYNC = "in_sync"
UPDATED = "updated"
WOULD_UPDATE = "would_update"
BLOCKED = "blocked"
AT_RISK = "at_risk"
SKIPPED = "skipped"
FAILED = "failed"
ACTIONS = (IN_SYNC, UPDATED, WOULD_UPDATE, BLOCKED, AT_RISK, SKIPPED, FAILED)

POLICY_MATCHES = "POLICY_MATCHES"
POLICY_MISSING = "POLICY_MISSING"
POLICY_DIFFERS = "POLICY_DIFFERS"
NOT_IN_SCOPE = "NOT_IN_SCOPE"
REPOSITORY_NOT_FOUND = "REPOSITORY_NOT_FOUND"
CONFIG_INVALID = "CONFIG_INVALID"
CONFIG_DELETED = "CONFIG_DELETED"
THROTTLED = "THROTTLED"
AWS_ERROR = "AWS_ERROR"
INVALID_DATA = "INVALID_DATA"


@dataclass(frozen=True)
class Trigger:
    """What started a plan_sync run. `ignore` explains an event that asks for nothing (e.g. a failed push)."""

    kind: str
    repository: str | None = None
    parameter: str | None = None
    operation: str | None = None
    ignore: str | None = None

    @property
    def deletes_config(self) -> bool:
        return self.kind == CONFIG_CHANGE and (self.operation or "").lower() == "delete"


def trigger_from_event(event: Mapping[str, Any], config_parameter: str | None = None) -> Trigger:
    """Read an EventBridge event. Raises MalformedEvent for an event this function does not know."""
    if not isinstance(event, Mapping):
        raise MalformedEvent("the event must be a JSON object")
    detail_type = event.get("detail-type")
    detail = event.get("detail")
    if detail_type == "Scheduled Event" or event.get("source") == "aws.scheduler":
        return Trigger(SWEEP)
    if not isinstance(detail, Mapping):
        raise MalformedEvent(f"expected an EventBridge event with a 'detail' object (detail-type {detail_type!r})")
    if detail_type == "Parameter Store Change":
        name = detail.get("name")
        operation = detail.get("operation")
        if not isinstance(name, str) or not isinstance(operation, str):
            raise MalformedEvent("a Parameter Store Change needs detail.name and detail.operation", "$.detail")
        if config_parameter and _parameter_name(name) != _parameter_name(config_parameter):
            return Trigger(
                CONFIG_CHANGE, parameter=name, operation=operation, ignore=f"not the config parameter: {name}"
            )
        return Trigger(CONFIG_CHANGE, parameter=name, operation=operation)
    if detail_type == "ECR Image Action":
        repository = detail.get("repository-name")
        if not isinstance(repository, str) or not repository:
            raise MalformedEvent("an ECR Image Action needs detail.repository-name", "$.detail.repository-name")
        action, result = detail.get("action-type"), detail.get("result")
        if action != "PUSH" or result != "SUCCESS":
            return Trigger(PUSH, repository=repository, ignore=f"image action {action} {result}: nothing to sync")
        return Trigger(PUSH, repository=repository)
    raise MalformedEvent(f"unsupported event: detail-type {detail_type!r}", "$.detail-type")


def _parameter_name(name: str) -> str:
    """SSM events carry the name; people configure a name or an ARN. Compare the name part, with its slash."""
    if name.startswith("arn:"):
        name = name.split(":parameter", 1)[-1]
    return name if name.startswith("/") else f"/{name}"


# --- plan -----------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class PlanOutcome:
    """What plan_sync did: how many repositories it queued, or why it queued none."""

    trigger: Trigger
    queued: int = 0
    reason: str = ""
    problems: tuple[Problem, ...] = ()
    # How a new config version weakens safety (set on config changes only: once per version).
    relaxations: tuple[str, ...] = ()

    @property
    def config_failed(self) -> bool:
        return self.reason in (CONFIG_INVALID, CONFIG_DELETED)

    def to_dict(self) -> dict[str, Any]:
        return {
            "trigger": self.trigger.kind,
            "repository": self.trigger.repository,
            "queued": self.queued,
            "reason": self.reason,
            "problems": [p.to_dict() for p in self.problems],
            "relaxations": list(self.relaxations),
        }


def repositories_in_scope(ecr: EcrGateway, config: Config, patterns: Sequence[str] = ()) -> Iterator[str]:
    """Every repository the include/exclude globs select, streamed from the paginated listing in its order.

    `patterns` (the CLI's `--repository` globs) narrow the selection further when given.
    """
    for repository in ecr.iter_repositories():
        name = repository.name
        if config.repositories.selects(name) and (not patterns or any(fnmatchcase(name, p) for p in patterns)):
            yield name


class MessageSink(Protocol):
    """Where plan_sync puts its messages: the SQS gateway, or InlineSync."""

    def send_messages(self, queue_url: str, bodies: Iterable[Mapping[str, Any]]) -> int: ...


def plan_sync(
    trigger: Trigger,
    *,
    config_parameter: str,
    queue_url: str,
    ssm: SsmGateway,
    ecr: EcrGateway,
    sqs: MessageSink,
) -> PlanOutcome:
    """Queue one message per repository to sync. Config failures queue nothing (so nothing is ever wiped)."""
    if trigger.ignore:
        return PlanOutcome(trigger, reason="IGNORED: " + trigger.ignore)
    if trigger.deletes_config:
        return PlanOutcome(
            trigger,
            reason=CONFIG_DELETED,
            problems=(
                Problem("$", f"the config parameter {config_parameter} was deleted; policies are left as they are"),
            ),
        )
    try:
        config = read_config(ssm, config_parameter, force_fetch=trigger.kind == CONFIG_CHANGE)
    except ConfigInvalid as exc:
        return PlanOutcome(trigger, reason=CONFIG_INVALID, problems=tuple(exc.problems))
    except NotFound:
        return PlanOutcome(
            trigger,
            reason=CONFIG_DELETED,
            problems=(Problem("$", f"the config parameter {config_parameter} does not exist; nothing is synced"),),
        )
    if trigger.kind == PUSH:
        assert trigger.repository is not None
        if not config.repositories.selects(trigger.repository):
            return PlanOutcome(trigger, reason=NOT_IN_SCOPE)
        names: Iterator[str] = iter([trigger.repository])
    else:
        names = repositories_in_scope(ecr, config)
    queued = sqs.send_messages(queue_url, ({"repositoryName": name, "trigger": trigger.kind} for name in names))
    relaxations = config.safety.relaxations() if trigger.kind == CONFIG_CHANGE else ()
    return PlanOutcome(trigger, queued=queued, reason="QUEUED", relaxations=relaxations)


# --- one repository -------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class SyncMessage:
    repository: str
    trigger: str


def parse_sync_message(body: Any) -> SyncMessage:
    """The worker's message body. Raises MalformedEvent, so the message fails and ends in the DLQ."""
    if isinstance(body, str | bytes):
        try:
            body = load_json(body, "sync message")
        except InvalidInput as exc:
            problem = exc.problems[0]
            raise MalformedEvent(f"the message body is not usable JSON: {problem.message}", problem.path) from None
    if not isinstance(body, Mapping):
        raise MalformedEvent("the message body must be a JSON object")
    repository = body.get("repositoryName")
    if not isinstance(repository, str) or not repository.strip():
        raise MalformedEvent("repositoryName is required", "$.repositoryName")
    trigger = body.get("trigger", MANUAL)
    if not isinstance(trigger, str):
        raise MalformedEvent("trigger must be a string", "$.trigger")
    return SyncMessage(repository, trigger)


@dataclass(frozen=True)
class Assessment:
    """Everything the decision was based on; the CLI uses it for the native preview cross-check."""

    desired: dict[str, Any]
    current: dict[str, Any] | None
    images: Sequence[ImageRecord]
    evaluation: Evaluation
    verdict: GuardVerdict
    protection: ProtectionPlan | None = None


def threat_conflicts(found: Mapping[str, Threat]) -> tuple[Conflict, ...]:
    """Threats as the guard's Conflict values (digest, tags, action, consumers), sorted by digest."""
    return tuple(Conflict(t.digest, t.tags, t.action, t.consumers) for _, t in sorted(found.items()))


@dataclass(frozen=True)
class SyncResult:
    """One line per repository: what was decided and why, with the figures behind it.

    `conflicts`: in-use images the desired policy would still expire (the guard's); `at_risk`: in-use images that
    the policy ECR holds after this run expires or archives, now or within the look-ahead (the alarm's).
    """

    repository: str
    action: str
    reason: str
    detail: str = ""
    reasons: tuple[str, ...] = ()
    images: int = 0
    expiring: int = 0
    transitioning: int = 0
    conflicts: tuple[Conflict, ...] = ()
    trigger: str = MANUAL
    retryable: bool = False
    at_risk: tuple[Conflict, ...] = ()
    protected: int = 0
    pinned: tuple[str, ...] = ()
    unprotected: tuple[Unprotected, ...] = ()
    assessment: Assessment | None = field(default=None, repr=False, compare=False)

    def to_dict(self) -> dict[str, Any]:
        return {
            "repository": self.repository,
            "action": self.action,
            "reason": self.reason,
            "reasons": list(self.reasons or ((self.reason,) if self.reason else ())),
            "detail": self.detail,
            "trigger": self.trigger,
            "images": self.images,
            "expiring": self.expiring,
            "transitioning": self.transitioning,
            "conflicts": [c.to_dict() for c in self.conflicts],
            "atRisk": [c.to_dict() for c in self.at_risk],
            "protected": self.protected,
            "pinned": list(self.pinned),
            "unprotected": [u.to_dict() for u in self.unprotected],
        }


@dataclass
class SyncRun:
    """What one invocation shares across its repositories: the config, gateways, inventory and the clock.

    The inventory is scanned lazily (a batch of out-of-scope messages never scans) and then held for the run; a
    scan that failed fails every repository of the run the same way, without scanning again.
    """

    config: Config
    ecr: EcrGateway
    sources: InventorySources | None = None
    write: bool = False
    scanner: InventoryScanner | None = None
    now: datetime = field(default_factory=lambda: datetime.now(UTC))
    _inventory: Inventory | InventoryIncomplete | None = field(default=None, init=False, repr=False)

    def inventory(self) -> Inventory:
        """What is in use; NOTHING_IN_USE when the config does not protect in-use images. Raises
        InventoryIncomplete when a source could not be read."""
        if not self.config.safety.protect_in_use:
            return NOTHING_IN_USE
        if self._inventory is None:
            try:
                self._inventory = (self.scanner or InventoryScanner()).scan(
                    self.config.safety.in_use, self.sources or InventorySources()
                )
            except InventoryIncomplete as exc:
                self._inventory = exc
        if isinstance(self._inventory, InventoryIncomplete):
            raise self._inventory
        return self._inventory


def same_policy(current: Mapping[str, Any] | None, desired: Mapping[str, Any]) -> bool:
    """Equal after normalising (rule order, tag lists, defaults, enum spelling); an unreadable policy differs."""
    if current is None:
        return False
    try:
        return normalise_policy(read_policy_document(current)) == normalise_policy(desired)
    except InvalidInput:
        return False


def sync_repository(
    repository: str, run: SyncRun, *, trigger: str = MANUAL, keep_assessment: bool = False
) -> SyncResult:
    """Decide, and in write mode act, for one repository. Never raises for AWS errors: they become `failed`."""
    config = run.config
    if not config.repositories.selects(repository):
        return SyncResult(
            repository,
            SKIPPED,
            NOT_IN_SCOPE,
            "excluded by repositories.include/exclude; policy left as is",
            trigger=trigger,
        )
    try:
        return _sync(repository, run, trigger, keep_assessment)
    except InventoryIncomplete as exc:
        return SyncResult(
            repository,
            FAILED,
            INVENTORY_INCOMPLETE,
            f"nothing written: {exc}",
            trigger=trigger,
            retryable=exc.retryable,
        )
    except NotFound as exc:
        if exc.code == "RepositoryNotFoundException":
            return SyncResult(repository, SKIPPED, REPOSITORY_NOT_FOUND, str(exc), trigger=trigger)
        return SyncResult(repository, FAILED, exc.code or AWS_ERROR, str(exc), trigger=trigger)
    except AwsError as exc:
        reason = THROTTLED if isinstance(exc, Throttled) else exc.code or AWS_ERROR
        return SyncResult(repository, FAILED, reason, str(exc), trigger=trigger, retryable=exc.retryable)
    except InvalidInput as exc:
        return SyncResult(repository, FAILED, INVALID_DATA, str(exc), trigger=trigger)


def _sync(repository: str, run: SyncRun, trigger: str, keep_assessment: bool) -> SyncResult:
    inventory = run.inventory()  # first: a scan that cannot be read stops the run before anything is touched
    effective = run.config.for_repository(repository)
    current = run.ecr.get_lifecycle_policy(repository)
    # The evaluator needs the whole repository at once; ImageRecord keeps only the fields it reads.
    images = list(run.ecr.iter_images(repository))
    now = run.now.timestamp()
    in_use = inventory.in_repository(repository, images)
    plan = plan_protection(effective, images, in_use, now)
    in_sync = same_policy(current, plan.policy)
    stored = plan.evaluation if in_sync and not plan.pins else _evaluate_stored(current, images, now)
    live_threats = threats(_as_policy(current), images, in_use, now, evaluation_now=stored) if stored else {}
    verdict = check_guard(effective.safety, plan.images, plan.evaluation, in_use, stored=stored)
    decision = _Decision(repository, run, trigger, plan, verdict, in_use, images, now, current, keep_assessment)
    if in_sync:
        return decision.finish(IN_SYNC, POLICY_MATCHES, "policy matches the config", live_threats)
    drift = POLICY_MISSING if current is None else POLICY_DIFFERS
    changes = _drift_summary(current, plan.policy)
    if not verdict.allowed:
        return decision.finish(BLOCKED, verdict.reasons[0], "; ".join(verdict.details), live_threats)
    if not run.write:
        return decision.finish(WOULD_UPDATE, drift, "preview mode: policy not written" + changes, live_threats)
    decision = decision.pin(stored)
    if not decision.verdict.allowed:
        return decision.finish(BLOCKED, decision.verdict.reasons[0], "; ".join(decision.verdict.details), live_threats)
    run.ecr.put_lifecycle_policy(repository, decision.plan.policy)
    return decision.finish(UPDATED, drift, "policy written" + changes, decision.threats_after_write())


def _copy(policy: Mapping[str, Any] | None) -> dict[str, Any] | None:
    return dict(policy) if policy is not None else None


def _as_policy(current: Mapping[str, Any] | None) -> Mapping[str, Any]:
    return read_policy_document(current) if current is not None else {"rules": []}


def _evaluate_stored(current: Mapping[str, Any] | None, images: Sequence[ImageRecord], now: float) -> Evaluation | None:
    """The stored policy on the repository as it is; None when there is none (a missing policy expires nothing) or
    when it cannot be read (then it differs from the desired policy, which replaces it where the guard allows)."""
    if current is None:
        return None
    try:
        return evaluate(read_policy_document(current), images, now)
    except InvalidInput:
        return None


@dataclass(frozen=True)
class _Decision:
    """The parts of one repository's decision that the outcomes share; `finish` builds the SyncResult."""

    repository: str
    run: SyncRun
    trigger: str
    plan: ProtectionPlan
    verdict: GuardVerdict
    in_use: Mapping[str, tuple[str, ...]]
    images: Sequence[ImageRecord]
    now: float
    current: Mapping[str, Any] | None
    keep_assessment: bool
    pinned: tuple[str, ...] = ()

    def pin(self, stored: Evaluation | None) -> _Decision:
        """Add the planned pin tags (byte-exact PutImage); re-plan without any image whose pin could not be added."""
        failed: list[str] = []
        pinned: list[str] = []
        for digest, tag in sorted(self.plan.pins.items()):
            outcome = self.run.ecr.retag(self.repository, digest, tag)
            if outcome.status in (TAG_ADDED, TAG_ALREADY_PRESENT):
                pinned.append(tag)
            else:
                failed.append(digest)
        if not failed:
            return replace(self, pinned=tuple(pinned))
        effective = self.run.config.for_repository(self.repository)
        plan = plan_protection(effective, self.images, self.in_use, self.now, cannot_pin=failed)
        verdict = check_guard(effective.safety, plan.images, plan.evaluation, self.in_use, stored=stored)
        return replace(self, plan=plan, verdict=verdict, pinned=tuple(pinned))

    def threats_after_write(self) -> dict[str, Threat]:
        return threats(self.plan.policy, self.plan.images, self.in_use, self.now, evaluation_now=self.plan.evaluation)

    def finish(
        self,
        action: str,
        reason: str,
        detail: str,
        remaining: Mapping[str, Threat],
    ) -> SyncResult:
        """The result; `remaining` are the in-use images the policy ECR holds after this run still threatens."""
        plan, verdict = self.plan, self.verdict
        reasons = tuple(dict.fromkeys((reason, *verdict.reasons)))
        at_risk = threat_conflicts(remaining)
        if at_risk:
            stored = "the stored policy" if action != UPDATED else "the policy just written"
            shown = "; ".join(f"{c.label} used by {c.used_by}" for c in at_risk[:5])
            more = f" and {len(at_risk) - 5} more" if len(at_risk) > 5 else ""
            detail = f"{stored} expires or archives {len(at_risk)} in-use image(s): {shown}{more}; {detail}"
            unprotected = {u.digest: u.reason for u in plan.unprotected}
            reasons_why = sorted({unprotected[c.digest] for c in at_risk if c.digest in unprotected})
            if reasons_why:
                detail += f" (cannot protect: {', '.join(reasons_why)})"
            reasons = tuple(dict.fromkeys((EXPIRES_IN_USE_IMAGE, *reasons)))
            action, reason = AT_RISK, EXPIRES_IN_USE_IMAGE
        elif plan.protected and action in (UPDATED, WOULD_UPDATE, IN_SYNC):
            detail += f"; {len(plan.protected)} in-use image(s) protected in the policy"
        return SyncResult(
            self.repository,
            action,
            reason,
            detail,
            reasons=reasons if len(reasons) > 1 else (),
            images=len(self.images),
            expiring=len(plan.evaluation.expiring_digests),
            transitioning=len(plan.evaluation.transitioning_digests),
            conflicts=verdict.conflicts,
            trigger=self.trigger,
            at_risk=at_risk,
            protected=len(plan.protected),
            pinned=self.pinned or (tuple(sorted(plan.pins.values())) if action != UPDATED else ()),
            unprotected=plan.unprotected,
            assessment=(
                Assessment(plan.policy, _copy(self.current), plan.images, plan.evaluation, verdict, plan)
                if self.keep_assessment
                else None
            ),
        )


def _drift_summary(current: Mapping[str, Any] | None, desired: Mapping[str, Any]) -> str:
    """What differs, for the result line: the operator sees why a policy is (or would be) rewritten."""
    if current is None:
        return ""
    try:
        return "; drift: " + ", ".join(describe_drift(read_policy_document(current), desired))
    except InvalidInput:
        return "; drift: the current policy is not a valid lifecycle policy"


# --- the worker: one invocation, many messages ---------------------------------------------------------------


class RepositorySyncFailed(HousekeeperError):
    """Raised for a `failed` result so that the batch processor reports that one message as failed."""

    def __init__(self, result: SyncResult) -> None:
        self.result = result
        super().__init__(f"{result.repository}: {result.reason}: {result.detail}")


@dataclass(frozen=True)
class ConfigFailure:
    """The config could not be used: every repository of this invocation is skipped, nothing is written."""

    reason: str
    problems: tuple[Problem, ...]

    def result_for(self, repository: str, trigger: str) -> SyncResult:
        first = str(self.problems[0]) if self.problems else self.reason
        return SyncResult(repository, SKIPPED, self.reason, f"nothing written: {first}", trigger=trigger)


def prepare_run(
    *,
    ssm: SsmGateway,
    config_parameter: str,
    ecr: EcrGateway,
    sources: InventorySources | None,
    scanner: InventoryScanner | None = None,
    write: bool | None = None,
    force_fetch: bool = False,
) -> SyncRun | ConfigFailure:
    """Read and validate the config once for a whole invocation. `write=None` follows the config's `mode`."""
    try:
        config = read_config(ssm, config_parameter, force_fetch=force_fetch)
    except ConfigInvalid as exc:
        return ConfigFailure(CONFIG_INVALID, tuple(exc.problems))
    except NotFound:
        return ConfigFailure(CONFIG_DELETED, (Problem("$", f"the config parameter {config_parameter} does not exist"),))
    return SyncRun(config, ecr, sources, write=config.enforcing if write is None else write, scanner=scanner)


def handle_sync_message(body: Any, prepared: SyncRun | ConfigFailure) -> SyncResult:
    """Parse one message, sync its repository, log and count the decision. Raises for a failed repository."""
    message = parse_sync_message(body)
    if isinstance(prepared, ConfigFailure):
        result = prepared.result_for(message.repository, message.trigger)
    else:
        result = sync_repository(message.repository, prepared, trigger=message.trigger)
    record_sync_result(result)
    if result.action == FAILED:
        raise RepositorySyncFailed(result)
    return result


class InlineSync:
    """A MessageSink that syncs each repository at once instead of queueing it (no queue configured).

    Every repository is attempted; if any failed, RepositorySyncFailed is raised at the end so that the
    invocation fails and EventBridge retries it.
    """

    def __init__(self, prepare: Callable[[], SyncRun | ConfigFailure]) -> None:
        self._prepare = prepare
        self.results: list[SyncResult] = []

    def send_messages(self, queue_url: str, bodies: Iterable[Mapping[str, Any]]) -> int:
        prepared = self._prepare()
        failures: list[RepositorySyncFailed] = []
        for body in bodies:
            try:
                self.results.append(handle_sync_message(body, prepared))
            except RepositorySyncFailed as exc:
                self.results.append(exc.result)
                failures.append(exc)
        if failures:
            raise failures[0]
        return len(self.results)


# --- observability --------------------------------------------------------------------------------------------

_RESULT_METRICS = {
    IN_SYNC: observability.REPOS_IN_SYNC,
    UPDATED: observability.POLICIES_UPDATED,
    WOULD_UPDATE: observability.POLICIES_WOULD_UPDATE,
    BLOCKED: observability.SYNC_BLOCKED,
    FAILED: observability.SYNC_FAILED,
}


def record_sync_result(result: SyncResult) -> None:
    """One structured log line and the metrics for one repository decision (Lambdas only; the CLI prints)."""
    fields = result.to_dict()
    if result.action in (FAILED, BLOCKED, AT_RISK):
        observability.logger.warning("repository sync decision", extra={"sync": fields, "reason": result.reason})
    else:
        observability.logger.info("repository sync decision", extra={"sync": fields, "reason": result.reason})
    metric = _RESULT_METRICS.get(result.action)
    if metric:
        observability.count(metric)
    if result.action in (IN_SYNC, UPDATED, WOULD_UPDATE) and result.expiring:
        observability.count(observability.IMAGES_PROJECTED_TO_EXPIRE, result.expiring)
    if result.at_risk:
        for conflict in result.at_risk:
            observability.logger.warning(
                "in-use image at risk: the stored lifecycle policy expires or archives it",
                extra={
                    "repository": result.repository,
                    "digest": conflict.digest,
                    "tags": list(conflict.tags),
                    "consumers": list(conflict.consumers),
                    "reason": EXPIRES_IN_USE_IMAGE,
                },
            )
        observability.count(observability.IN_USE_IMAGES_AT_RISK, len(result.at_risk))
    if result.action == UPDATED:
        if result.protected:
            observability.count(observability.IN_USE_IMAGES_PROTECTED, result.protected)
        if result.pinned:
            observability.count(observability.IMAGES_PINNED, len(result.pinned))
    if result.reason == INVENTORY_INCOMPLETE:
        observability.count(observability.INVENTORY_INCOMPLETE)


def record_config_failure(reason: str, problems: Sequence[Problem], parameter: str) -> None:
    """Config problems are logged with their JSON paths and counted once, for the ConfigInvalid alarm."""
    observability.logger.error(
        "config unusable: nothing is queued or written, policies stay as they are",
        extra={
            "reason": reason,
            "parameter": parameter,
            "problems": [p.to_dict() for p in problems],
        },
    )
    observability.count(observability.CONFIG_INVALID)


def record_plan_outcome(outcome: PlanOutcome, parameter: str) -> None:
    if outcome.config_failed:
        record_config_failure(outcome.reason, outcome.problems, parameter)
        return
    if outcome.relaxations:
        observability.logger.warning(
            "safety relaxed by the new config version",
            extra={"parameter": parameter, "relaxations": list(outcome.relaxations), "reason": "SAFETY_RELAXED"},
        )
        observability.count(observability.SAFETY_RELAXED)
    observability.logger.info("sync planned", extra={"plan": outcome.to_dict()})
    if outcome.queued:
        observability.count(observability.REPOSITORIES_QUEUED, outcome.queued)


# --- native preview cross-check -------------------------------------------------------------------------------


@dataclass(frozen=True)
class PreviewComparison:
    """ECR's own preview against the offline evaluator, for one repository."""

    repository: str
    status: str
    ecr_count: int = 0
    offline_count: int = 0
    only_in_ecr: tuple[str, ...] = ()
    only_offline: tuple[str, ...] = ()
    different: tuple[str, ...] = ()
    error: str = ""

    @property
    def matches(self) -> bool:
        return self.status == "COMPLETE" and not (self.only_in_ecr or self.only_offline or self.different)

    @property
    def ran(self) -> bool:
        """False when ECR's preview could not be run to the end: the cross-check asked for did not happen."""
        return self.status == "COMPLETE"

    def to_dict(self) -> dict[str, Any]:
        return {
            "status": self.status,
            "matches": self.matches,
            "ecrCount": self.ecr_count,
            "offlineCount": self.offline_count,
            "onlyInEcr": list(self.only_in_ecr),
            "onlyOffline": list(self.only_offline),
            "different": list(self.different),
            "error": self.error,
        }


PREVIEW_DONE = ("COMPLETE", "FAILED", "EXPIRED")


def native_preview(
    ecr: EcrGateway,
    repository: str,
    policy: Mapping[str, Any],
    evaluation: Evaluation,
    *,
    sleep: Callable[[float], None] | None = None,
    first_delay: float = 1.0,
    max_delay: float = 15.0,
    max_wait: float = 300.0,
) -> PreviewComparison:
    """Run ECR's StartLifecyclePolicyPreview with `policy`, poll with back-off, and compare with `evaluation`.

    One preview at a time per repository (ECR refuses a second while one runs); the back-off doubles from
    `first_delay` up to `max_delay` seconds, and the repository is reported TIMED_OUT after `max_wait`.
    """
    pause = sleep or time.sleep
    offline_count = len(evaluation.actions)
    try:
        ecr.start_lifecycle_preview(repository, policy)
        delay, waited = first_delay, 0.0
        while True:
            status = ecr.get_lifecycle_preview(repository)
            if status.status in PREVIEW_DONE:
                break
            if waited >= max_wait:
                return PreviewComparison(
                    repository, "TIMED_OUT", offline_count=offline_count, error=f"no result after {waited:.0f}s"
                )
            pause(delay)
            waited += delay
            delay = min(delay * 2, max_delay)
    except AwsError as exc:
        return PreviewComparison(repository, "ERROR", offline_count=offline_count, error=str(exc))
    if status.status != "COMPLETE":
        return PreviewComparison(
            repository, status.status, offline_count=offline_count, error=f"ECR preview ended {status.status}"
        )
    return compare_preview(repository, status.results, evaluation)


def compare_preview(
    repository: str, ecr_results: Sequence[Mapping[str, Any]], evaluation: Evaluation
) -> PreviewComparison:
    """Digests only one side acts on, and digests both act on differently (action type or rule)."""
    ecr_side = {str(r.get("imageDigest")): _preview_key(r) for r in ecr_results}
    offline = {a.image.digest: (a.action_type, a.rule_priority) for a in evaluation.actions}
    both = ecr_side.keys() & offline.keys()
    return PreviewComparison(
        repository,
        "COMPLETE",
        ecr_count=len(ecr_side),
        offline_count=len(offline),
        only_in_ecr=tuple(sorted(ecr_side.keys() - offline.keys())),
        only_offline=tuple(sorted(offline.keys() - ecr_side.keys())),
        different=tuple(sorted(d for d in both if ecr_side[d] != offline[d])),
    )


def _preview_key(result: Mapping[str, Any]) -> tuple[str, int]:
    action = result.get("action") or {}
    kind = str(action.get("type", EXPIRE)).upper()
    return (TRANSITION if kind == TRANSITION else EXPIRE, int(result.get("appliedRulePriority") or 0))
