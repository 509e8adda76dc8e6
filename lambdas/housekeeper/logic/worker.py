"""The sync worker: one invocation, many messages. The config is read once; each message syncs one repository.

A failed repository fails only its own message (RepositorySyncFailed, which the handler's batch processor turns
into a partial batch failure, so SQS redelivers just that one). An unusable config skips every message and
writes nothing. Recording each decision (log line, metrics) is the caller's: the handler passes its recorder.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from housekeeper.aws.errors import NotFound
from housekeeper.aws.ports import Places, SsmGateway
from housekeeper.core.errors import ConfigInvalid, HousekeeperError, MalformedEvent, Problem
from housekeeper.core.names import is_region
from housekeeper.core.places import Estate
from housekeeper.logic.config_source import read_config
from housekeeper.logic.inventory import InventoryScanner
from housekeeper.logic.outcomes import Action, SyncReason, TriggerKind
from housekeeper.logic.sync import SyncResult, SyncRun, sync_repository

Recorder = Callable[[SyncResult], None]


@dataclass(frozen=True)
class SyncMessage:
    """One queued sync: `{"repositoryName": ..., "region": ..., "trigger": ...}`; no region means the home region."""

    repository: str
    trigger: str
    region: str | None = None

    @classmethod
    def from_body(cls, body: Any) -> SyncMessage:
        """The message from its (parsed) body. Raises MalformedEvent, so the message fails and ends in the DLQ."""
        if not isinstance(body, Mapping):
            raise MalformedEvent("the message body must be a JSON object")
        repository = body.get("repositoryName")
        if not isinstance(repository, str) or not repository.strip():
            raise MalformedEvent("repositoryName is required", "$.repositoryName")
        trigger = body.get("trigger", TriggerKind.MANUAL)
        if not isinstance(trigger, str):
            raise MalformedEvent("trigger must be a string", "$.trigger")
        region = body.get("region")
        if region is not None and not (isinstance(region, str) and is_region(region)):
            raise MalformedEvent(f"region must be an AWS region name, got {region!r}", "$.region")
        return cls(repository, trigger, region)


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

    def result_for(self, message: SyncMessage) -> SyncResult:
        first = str(self.problems[0]) if self.problems else self.reason
        return SyncResult(
            message.repository,
            Action.SKIPPED,
            self.reason,
            f"nothing written: {first}",
            trigger=message.trigger,
            region=message.region or "",
        )


def prepare_run(
    *,
    ssm: SsmGateway,
    config_parameter: str,
    places_for: Callable[[Estate], Places],
    scanner: InventoryScanner | None = None,
    write: bool | None = None,
    force_fetch: bool = False,
) -> SyncRun | ConfigFailure:
    """Read and validate the config once for a whole invocation. `write=None` follows the config's `mode`."""
    try:
        config = read_config(ssm, config_parameter, force_fetch=force_fetch)
    except ConfigInvalid as exc:
        return ConfigFailure(SyncReason.CONFIG_INVALID, tuple(exc.problems))
    except NotFound:
        return ConfigFailure(
            SyncReason.CONFIG_DELETED, (Problem("$", f"the config parameter {config_parameter} does not exist"),)
        )
    places = places_for(config.estate)
    return SyncRun(config, places, write=config.enforcing if write is None else write, scanner=scanner)


def process(message: SyncMessage, prepared: SyncRun | ConfigFailure, record: Recorder) -> SyncResult:
    """Sync the message's repository and record the decision. Raises RepositorySyncFailed for a failed one."""
    if isinstance(prepared, ConfigFailure):
        result = prepared.result_for(message)
    else:
        result = sync_repository(message.repository, prepared, region=message.region, trigger=message.trigger)
    record(result)
    if result.action == Action.FAILED:
        raise RepositorySyncFailed(result)
    return result


class InlineSync:
    """A MessageSink that syncs each repository at once instead of queueing it (no queue configured).

    Every repository is attempted; if any failed, RepositorySyncFailed is raised at the end so that the
    invocation fails and EventBridge retries it.
    """

    def __init__(self, prepare: Callable[[], SyncRun | ConfigFailure], record: Recorder) -> None:
        self._prepare = prepare
        self._record = record
        self.results: list[SyncResult] = []

    def send_messages(self, queue_url: str, bodies: Iterable[Mapping[str, Any]]) -> int:
        prepared = self._prepare()
        failures: list[RepositorySyncFailed] = []
        for body in bodies:
            try:
                self.results.append(process(SyncMessage.from_body(body), prepared, self._record))
            except RepositorySyncFailed as exc:
                self.results.append(exc.result)
                failures.append(exc)
        if failures:
            raise failures[0]
        return len(self.results)
