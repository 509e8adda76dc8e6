"""The words every policy-sync result is made of: what started it, what was decided, and why. One definition each.

They are StrEnums: a member is its string (`Action.IN_SYNC == "in_sync"`), so logs, JSON output and metrics carry
plain strings, while code and type checkers see a closed set.
"""

from __future__ import annotations

from enum import StrEnum


class TriggerKind(StrEnum):
    """What asked for a sync."""

    CONFIG_CHANGE = "config-change"  # a Parameter Store Change of the config parameter
    PUSH = "push"  # an ECR Image Action (PUSH, SUCCESS)
    SWEEP = "sweep"  # the daily scheduled drift sweep
    DEPLOYMENT = "deployment"  # the tagger, for the repositories a completed deployment runs
    MANUAL = "manual"  # housekeeper plan / apply


class Action(StrEnum):
    """The decision for one repository."""

    IN_SYNC = "in_sync"
    UPDATED = "updated"
    WOULD_UPDATE = "would_update"
    BLOCKED = "blocked"
    AT_RISK = "at_risk"
    SKIPPED = "skipped"
    FAILED = "failed"


class SyncReason(StrEnum):
    """Why, for the decisions the guard does not explain (its reasons are housekeeper.core.guard.GuardReason)."""

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
    INVENTORY_INCOMPLETE = "INVENTORY_INCOMPLETE"
    QUEUED = "QUEUED"
    IGNORED = "IGNORED"
