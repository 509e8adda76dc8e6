"""Policy sync for one repository: the decision the worker Lambda and the `plan`/`apply` commands share.

Which repositories a trigger asks for is housekeeper.logic.plan; running a batch of messages is
housekeeper.logic.worker; logging and metrics are the handlers' (housekeeper.handlers._metrics).

Decision for one repository, in order:
1. not selected by `repositories.include/exclude` -> `skipped` (its policy is left exactly as it is);
2. the in-use inventory (one scan per run; a source that cannot be read -> `failed`, INVENTORY_INCOMPLETE);
3. read the stored policy and every image (all storage classes, manifest lists with their children);
4. the desired policy: the config's, plus a protection for each in-use image it would expire or archive
   (housekeeper.core.protection); evaluate it offline and run the safety guard;
5. check the stored policy against the inventory: one that expires or archives an in-use image is never in sync;
6. equal and safe -> `in_sync`; the guard refuses -> `blocked`; writing allowed -> pin untagged in-use images,
   write -> `updated`; preview -> `would_update`. Whenever the policy ECR holds after this run still expires or
   archives an in-use image, the outcome is `at_risk` (reason GuardReason.EXPIRES_IN_USE_IMAGE), whatever else happened.
Any AWS error -> `failed` (the worker then fails only that SQS message, which SQS redelivers).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from typing import Any

from housekeeper.aws.errors import AwsError, NotFound, Throttled
from housekeeper.aws.ports import EcrGateway, Places, RetagStatus
from housekeeper.core.config import Config
from housekeeper.core.errors import InvalidInput
from housekeeper.core.evaluator import Evaluation, evaluate
from housekeeper.core.guard import Conflict, GuardReason, GuardVerdict, check_guard
from housekeeper.core.images import ImageRecord
from housekeeper.core.places import Place
from housekeeper.core.policy import describe_drift, normalise_policy, read_policy_document
from housekeeper.core.protection import ProtectionPlan, Threat, Unprotected, plan_protection, threats
from housekeeper.core.repository_access import may_use
from housekeeper.logic.inventory import (
    NOTHING_IN_USE,
    Inventory,
    InventoryIncomplete,
    InventoryScanner,
)
from housekeeper.logic.outcomes import Action, SyncReason, TriggerKind


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
    trigger: str = TriggerKind.MANUAL
    retryable: bool = False
    at_risk: tuple[Conflict, ...] = ()
    protected: int = 0
    pinned: tuple[str, ...] = ()
    unprotected: tuple[Unprotected, ...] = ()
    region: str = ""  # the registry region of the repository
    assessment: Assessment | None = field(default=None, repr=False, compare=False)

    def to_dict(self) -> dict[str, Any]:
        return {
            "repository": self.repository,
            "region": self.region,
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
    """What one invocation shares across its repositories: the config, the places, the inventory and the clock.

    The inventory is scanned lazily (a batch of out-of-scope messages never scans) and then held for the run; what
    it could not read fails, the same way and without scanning again, every repository of the run it could use.
    """

    config: Config
    places: Places
    write: bool = False
    scanner: InventoryScanner | None = None
    now: datetime = field(default_factory=lambda: datetime.now(UTC))
    _inventory: Inventory | None = field(default=None, init=False, repr=False)

    @property
    def home(self) -> Place:
        return self.places.home

    def registry(self, region: str | None = None) -> EcrGateway:
        """The registry's ECR in `region` (default: the home region)."""
        return self.places.registry(region or self.home.region)

    def registry_regions(self) -> tuple[str, ...]:
        return self.config.estate.registry_regions(self.home.region)

    def inventory(self) -> Inventory:
        """What is in use in every place; NOTHING_IN_USE when the config does not protect in-use images."""
        if not self.config.safety.protect_in_use:
            return NOTHING_IN_USE
        if self._inventory is None:
            targets = self.config.estate.places(self.home)
            self._inventory = (self.scanner or InventoryScanner()).scan(self.config.safety.in_use, self.places, targets)
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
    repository: str,
    run: SyncRun,
    *,
    region: str | None = None,
    trigger: str = TriggerKind.MANUAL,
    keep_assessment: bool = False,
) -> SyncResult:
    """Decide, and in write mode act, for one repository in one registry region (default: the home region).
    Never raises for AWS errors: they become `failed`."""
    try:
        region = region or run.home.region
        result = _decide(repository, run, region, trigger, keep_assessment)
    except AwsError as exc:  # the home place itself could not be learned
        result = SyncResult(repository, Action.FAILED, exc.code or SyncReason.AWS_ERROR, str(exc), trigger=trigger)
    return replace(result, region=region or "")


def _decide(repository: str, run: SyncRun, region: str, trigger: str, keep_assessment: bool) -> SyncResult:
    if not run.config.repositories.selects(repository):
        return SyncResult(
            repository,
            Action.SKIPPED,
            SyncReason.NOT_IN_SCOPE,
            "excluded by repositories.include/exclude; policy left as is",
            trigger=trigger,
        )
    if region not in run.registry_regions():
        return SyncResult(
            repository,
            Action.SKIPPED,
            SyncReason.NOT_IN_SCOPE,
            f"{region} is not a registry region (config `regions`); policy left as is",
            trigger=trigger,
        )
    try:
        return _sync(repository, run, run.registry(region), trigger, keep_assessment)
    except InventoryIncomplete as exc:
        return SyncResult(
            repository,
            Action.FAILED,
            SyncReason.INVENTORY_INCOMPLETE,
            f"nothing written: {exc}",
            trigger=trigger,
            retryable=exc.retryable,
        )
    except NotFound as exc:
        if exc.code == "RepositoryNotFoundException":
            return SyncResult(repository, Action.SKIPPED, SyncReason.REPOSITORY_NOT_FOUND, str(exc), trigger=trigger)
        return SyncResult(repository, Action.FAILED, exc.code or SyncReason.AWS_ERROR, str(exc), trigger=trigger)
    except AwsError as exc:
        reason = SyncReason.THROTTLED if isinstance(exc, Throttled) else exc.code or SyncReason.AWS_ERROR
        return SyncResult(repository, Action.FAILED, reason, str(exc), trigger=trigger, retryable=exc.retryable)
    except InvalidInput as exc:
        return SyncResult(repository, Action.FAILED, SyncReason.INVALID_DATA, str(exc), trigger=trigger)


def _sync(repository: str, run: SyncRun, ecr: EcrGateway, trigger: str, keep_assessment: bool) -> SyncResult:
    inventory = run.inventory()  # first: a place that could not be read stops the repositories it could use
    inventory.check_complete_for(_could_use(repository, run.home, ecr))
    effective = run.config.for_repository(repository)
    current = ecr.get_lifecycle_policy(repository)
    # The evaluator needs the whole repository at once; ImageRecord keeps only the fields it reads.
    images = list(ecr.iter_images(repository))
    now = run.now.timestamp()
    in_use = inventory.in_repository(repository, images)
    plan = plan_protection(effective, images, in_use, now)
    in_sync = same_policy(current, plan.policy)
    stored = plan.evaluation if in_sync and not plan.pins else _evaluate_stored(current, images, now)
    live_threats = threats(_as_policy(current), images, in_use, now, evaluation_now=stored) if stored else {}
    verdict = check_guard(effective.safety, plan.images, plan.evaluation, in_use, stored=stored)
    decision = _Decision(repository, run, ecr, trigger, plan, verdict, in_use, images, now, current, keep_assessment)
    if in_sync:
        return decision.finish(Action.IN_SYNC, SyncReason.POLICY_MATCHES, "policy matches the config", live_threats)
    drift = SyncReason.POLICY_MISSING if current is None else SyncReason.POLICY_DIFFERS
    changes = _drift_summary(current, plan.policy)
    if not verdict.allowed:
        return decision.finish(Action.BLOCKED, verdict.reasons[0], "; ".join(verdict.details), live_threats)
    if not run.write:
        return decision.finish(Action.WOULD_UPDATE, drift, "preview mode: policy not written" + changes, live_threats)
    decision = decision.pin(stored)
    if not decision.verdict.allowed:
        return decision.finish(
            Action.BLOCKED, decision.verdict.reasons[0], "; ".join(decision.verdict.details), live_threats
        )
    ecr.put_lifecycle_policy(repository, decision.plan.policy)
    return decision.finish(Action.UPDATED, drift, "policy written" + changes, decision.threats_after_write())


def _could_use(repository: str, home: Place, ecr: EcrGateway) -> Callable[[Place | None], bool]:
    """Could something in `place` use this repository? The registry's own account can use any; another account
    only what the repository policy lets it pull (read once, and only if some workload place was unreadable)."""
    policy: list[dict[str, Any] | None] = []

    def could_use(place: Place | None) -> bool:
        if place is None or place.account == home.account:
            return True
        if not policy:
            policy.append(ecr.get_repository_policy(repository))
        return may_use(policy[0], place.account)

    return could_use


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
    ecr: EcrGateway
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
            outcome = self.ecr.retag(self.repository, digest, tag)
            if outcome.status in (RetagStatus.TAGGED, RetagStatus.ALREADY_PRESENT):
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
            stored = "the stored policy" if action != Action.UPDATED else "the policy just written"
            shown = "; ".join(f"{c.label} used by {c.used_by}" for c in at_risk[:5])
            more = f" and {len(at_risk) - 5} more" if len(at_risk) > 5 else ""
            detail = f"{stored} expires or archives {len(at_risk)} in-use image(s): {shown}{more}; {detail}"
            unprotected = {u.digest: u.reason for u in plan.unprotected}
            reasons_why = sorted({unprotected[c.digest] for c in at_risk if c.digest in unprotected})
            if reasons_why:
                detail += f" (cannot protect: {', '.join(reasons_why)})"
            reasons = tuple(dict.fromkeys((GuardReason.EXPIRES_IN_USE_IMAGE, *reasons)))
            action, reason = Action.AT_RISK, GuardReason.EXPIRES_IN_USE_IMAGE
        elif plan.protected and action in (Action.UPDATED, Action.WOULD_UPDATE, Action.IN_SYNC):
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
            pinned=self.pinned or (tuple(sorted(plan.pins.values())) if action != Action.UPDATED else ()),
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
