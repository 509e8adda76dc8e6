"""Planning a sync (the plan_sync Lambda): which repositories to queue for a trigger, one message each.

A config change and the daily sweep queue every repository the config selects, in every registry region (one
message per region and repository); a push queues its own repository in its own region.
An invalid or deleted config queues nothing, so nothing is ever wiped. The handler reads the EventBridge event at
the edge (housekeeper.handlers.events) and hands this module a typed Trigger.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from fnmatch import fnmatchcase
from typing import Any, Protocol

from housekeeper.aws.errors import NotFound
from housekeeper.aws.ports import EcrGateway, Places, SsmGateway
from housekeeper.core.config import Config
from housekeeper.core.errors import ConfigInvalid, Problem
from housekeeper.core.places import Estate
from housekeeper.logic.config_source import read_config
from housekeeper.logic.outcomes import SyncReason, TriggerKind


@dataclass(frozen=True)
class Trigger:
    """What started a plan_sync run. `ignore` explains an event that asks for nothing (e.g. a failed push)."""

    kind: TriggerKind
    repository: str | None = None
    parameter: str | None = None
    operation: str | None = None
    ignore: str | None = None
    # Where a push happened (the event's account and region); None: the registry's home region.
    account: str | None = None
    region: str | None = None

    @property
    def deletes_config(self) -> bool:
        return self.kind == TriggerKind.CONFIG_CHANGE and (self.operation or "").lower() == "delete"


def config_change(name: str, operation: str, config_parameter: str | None) -> Trigger:
    """A Parameter Store Change; one of another parameter asks for nothing."""
    if config_parameter and _parameter_name(name) != _parameter_name(config_parameter):
        return Trigger(
            TriggerKind.CONFIG_CHANGE, parameter=name, operation=operation, ignore=f"not the config parameter: {name}"
        )
    return Trigger(TriggerKind.CONFIG_CHANGE, parameter=name, operation=operation)


def image_pushed(
    repository: str, action: Any, result: Any, account: str | None = None, region: str | None = None
) -> Trigger:
    """An ECR Image Action; only a successful PUSH asks for a sync."""
    ignore = None if action == "PUSH" and result == "SUCCESS" else f"image action {action} {result}: nothing to sync"
    return Trigger(TriggerKind.PUSH, repository=repository, ignore=ignore, account=account, region=region)


SWEEP = Trigger(TriggerKind.SWEEP)


def _parameter_name(name: str) -> str:
    """SSM events carry the name; people configure a name or an ARN. Compare the name part, with its slash."""
    if name.startswith("arn:"):
        name = name.split(":parameter", 1)[-1]
    return name if name.startswith("/") else f"/{name}"


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
        return self.reason in (SyncReason.CONFIG_INVALID, SyncReason.CONFIG_DELETED)

    def to_dict(self) -> dict[str, Any]:
        return {
            "trigger": self.trigger.kind,
            "repository": self.trigger.repository,
            "region": self.trigger.region,
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
    """Where plan_sync puts its messages: the SQS gateway, or housekeeper.logic.worker.InlineSync."""

    def send_messages(self, queue_url: str, bodies: Iterable[Mapping[str, Any]]) -> int: ...


def plan_sync(
    trigger: Trigger,
    *,
    config_parameter: str,
    queue_url: str,
    ssm: SsmGateway,
    places_for: Callable[[Estate], Places],
    sqs: MessageSink,
) -> PlanOutcome:
    """Queue one message per (registry region, repository) to sync. Config failures queue nothing (so nothing is
    ever wiped)."""
    if trigger.ignore:
        return PlanOutcome(trigger, reason=f"{SyncReason.IGNORED}: {trigger.ignore}")
    config = _config_for(trigger, ssm, config_parameter)
    if isinstance(config, PlanOutcome):
        return config
    messages = _messages(trigger, config, places_for(config.estate))
    if isinstance(messages, PlanOutcome):
        return messages
    queued = sqs.send_messages(queue_url, messages)
    relaxations = config.safety.relaxations() if trigger.kind == TriggerKind.CONFIG_CHANGE else ()
    return PlanOutcome(trigger, queued=queued, reason=SyncReason.QUEUED, relaxations=relaxations)


def _config_for(trigger: Trigger, ssm: SsmGateway, config_parameter: str) -> Config | PlanOutcome:
    """The config, or the outcome that says why there is none to act on (deleted, invalid)."""
    if trigger.deletes_config:
        problem = Problem("$", f"the config parameter {config_parameter} was deleted; policies are left as they are")
        return PlanOutcome(trigger, reason=SyncReason.CONFIG_DELETED, problems=(problem,))
    try:
        return read_config(ssm, config_parameter, force_fetch=trigger.kind == TriggerKind.CONFIG_CHANGE)
    except ConfigInvalid as exc:
        return PlanOutcome(trigger, reason=SyncReason.CONFIG_INVALID, problems=tuple(exc.problems))
    except NotFound:
        problem = Problem("$", f"the config parameter {config_parameter} does not exist; nothing is synced")
        return PlanOutcome(trigger, reason=SyncReason.CONFIG_DELETED, problems=(problem,))


def _messages(trigger: Trigger, config: Config, places: Places) -> Iterator[dict[str, str]] | PlanOutcome:
    """A push: its own repository, in its own region. Otherwise every repository in scope in every registry
    region, streamed region by region from the paginated listings."""
    home = places.home
    regions = config.estate.registry_regions(home.region)
    if trigger.kind != TriggerKind.PUSH:
        return (
            {"repositoryName": name, "region": region, "trigger": trigger.kind}
            for region in regions
            for name in repositories_in_scope(places.registry(region), config)
        )
    assert trigger.repository is not None
    region = trigger.region or home.region
    if trigger.account and trigger.account != home.account:
        return PlanOutcome(trigger, reason=f"{SyncReason.IGNORED}: a push to another registry ({trigger.account})")
    if region not in regions or not config.repositories.selects(trigger.repository):
        return PlanOutcome(trigger, reason=SyncReason.NOT_IN_SCOPE)
    return iter([{"repositoryName": trigger.repository, "region": region, "trigger": trigger.kind}])
