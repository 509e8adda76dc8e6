"""Deploy-time settings, read once from CDK context (cdk.json, overridable with `-c key=value`).

Every knob of the stack lives here as one typed, frozen object, so constructs never read context themselves and a
wrong value fails synth with the context key that holds it.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, fields
from typing import Any

# Context keys, as written in cdk.json and on the command line (`-c housekeeper:alarmEmail=ops@example.com`).
PREFIX = "housekeeper:"
CONTEXT_KEYS: dict[str, str] = {
    "stack_name": "stackName",
    "resource_prefix": "resourcePrefix",
    "config_parameter_name": "configParameterName",
    "config_file": "configFile",
    "sweep_schedule": "sweepSchedule",
    "powertools_layer_version": "powertoolsLayerVersion",
    "powertools_layer_arn": "powertoolsLayerArn",
    "log_level": "logLevel",
    "log_retention_days": "logRetentionDays",
    "retain_logs": "retainLogs",
    "alarm_email": "alarmEmail",
    "worker_reserved_concurrency": "workerReservedConcurrency",
    "worker_batch_size": "workerBatchSize",
    "worker_timeout_seconds": "workerTimeoutSeconds",
    "max_receive_count": "maxReceiveCount",
    # Many accounts and regions (docs/multi-account.md): the hub's side...
    "workload_accounts": "workloadAccounts",
    "organization_id": "organizationId",
    "registry_regions": "registryRegions",
    "reader_role_name": "readerRoleName",
    # ... and the spoke's (defaults of the spoke template's CloudFormation parameters).
    "spoke_stack_name": "spokeStackName",
    "hub_account_id": "hubAccountId",
    "hub_region": "hubRegion",
    "reader_role_region": "readerRoleRegion",
    "operator_role_arns": "operatorRoleArns",
}

# The values CloudWatch Logs accepts for retention (days).
LOG_RETENTION_DAYS = (1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922)
LOG_LEVELS = ("DEBUG", "INFO", "WARNING", "ERROR")
SCHEDULE_RE = re.compile(r"^(rate|cron)\(.+\)$")
PARAMETER_NAME_RE = re.compile(r"^/?[A-Za-z0-9_.\-/]{1,1011}$")
RESOURCE_PREFIX_RE = re.compile(r"^[a-z][a-z0-9-]{1,30}$")
STACK_NAME_RE = re.compile(r"^[A-Za-z][A-Za-z0-9-]{0,127}$")
SEMVER_RE = re.compile(r"^(\d+\.\d+\.\d+|latest)$")
LAYER_ARN_RE = re.compile(r"^arn:aws[a-z-]*:lambda:[a-z0-9-]+:\d{12}:layer:[A-Za-z0-9_-]+:\d+$")
EMAIL_RE = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
ACCOUNT_ID_RE = re.compile(r"^[0-9]{12}$")
ORGANIZATION_ID_RE = re.compile(r"^o-[a-z0-9]{10,32}$")
# us-east-1, us-gov-west-1, cn-north-1, eusc-de-east-1, ...
REGION_RE = re.compile(r"^[a-z]{2,4}(-[a-z]+)+-[0-9]{1,2}$")
# IAM role names: 1-64 of letters, digits and +=,.@_-
ROLE_NAME_RE = re.compile(r"^[A-Za-z0-9+=,.@_-]{1,64}$")


ROLE_ARN_RE = re.compile(r"^arn:aws[a-z-]*:iam::[0-9]{12}:role/[\w+=,.@/-]{1,512}$", re.ASCII)


class SettingsInvalid(ValueError):
    """A context value that the stack cannot use; the message names the context key."""


@dataclass(frozen=True)
class DeploySettings:
    """What an operator may change at deploy time. Defaults are the documented, production-ready values."""

    stack_name: str = "EcrHousekeeper"
    # Prefix of every physical resource name (functions, queues, topic, alarms, dashboard).
    resource_prefix: str = "ecr-housekeeper"
    config_parameter_name: str = "/ecr-housekeeper/config"
    # The config seeded into the parameter, relative to the app's directory; validated at synth.
    config_file: str = "config/default.json"
    # Daily drift sweep at 03:00 UTC.
    sweep_schedule: str = "cron(0 3 * * ? *)"
    # Resolved at deploy time through the public SSM parameter of this Powertools release.
    powertools_layer_version: str = "3.37.0"
    # An explicit layer ARN wins over the version (regions without the public parameter, or a private copy).
    powertools_layer_arn: str | None = None
    log_level: str = "INFO"
    log_retention_days: int = 90
    # Keep log groups after `cdk destroy` (audit trail of every tag and policy change).
    retain_logs: bool = True
    alarm_email: str | None = None
    # Two concurrent workers keep ECR's control-plane calls to a few per second (docs/operations.md, "Why two workers").
    worker_reserved_concurrency: int = 2
    worker_batch_size: int = 5
    worker_timeout_seconds: int = 300
    # Receives before a sync message moves to the dead-letter queue.
    max_receive_count: int = 3
    # Workload accounts that forward deployment events to the hub's bus and whose reader role the hub may assume.
    workload_accounts: tuple[str, ...] = ()
    # ... or every account of this AWS Organization (aws:PrincipalOrgID / aws:ResourceOrgID); one or the other.
    organization_id: str | None = None
    # Regions of this account whose ECR repositories the hub manages; empty means the stack's own region.
    registry_regions: tuple[str, ...] = ()
    # The read-only role the spoke creates in every workload account (the config's accounts[].roleName default).
    reader_role_name: str = "ecr-housekeeper-reader"
    # The spoke stack, deployed into each workload account and region.
    spoke_stack_name: str = "EcrHousekeeperSpoke"
    # Defaults of the spoke's HubAccountId and HubRegion parameters (none: pass them at deploy).
    hub_account_id: str | None = None
    hub_region: str | None = None
    # The one region per workload account where the spoke creates the (global) reader role; default the hub region.
    reader_role_region: str | None = None
    # Roles of people who run the `housekeeper` CLI against many accounts (inventory, plan, backfill, report): the
    # spoke's reader role trusts them too (read-only). Default: none, only the hub's two Lambda roles.
    operator_role_arns: tuple[str, ...] = ()

    @property
    def powertools_layer_parameter(self) -> str:
        """The public SSM parameter that holds the layer ARN of the pinned Powertools release (arm64, 3.13)."""
        return f"/aws/service/powertools/python/arm64/python3.13/{self.powertools_layer_version}"

    @property
    def sync_visibility_timeout_seconds(self) -> int:
        """AWS guidance for SQS event sources: at least six times the function timeout."""
        return 6 * self.worker_timeout_seconds

    @property
    def spoke_reader_role_region(self) -> str | None:
        """Where the spoke creates the reader role: the explicit setting, else the hub's region."""
        return self.reader_role_region or self.hub_region

    @classmethod
    def from_context(cls, get: Callable[[str], Any]) -> DeploySettings:
        """Read every setting with `get(context_key)` (e.g. `app.node.try_get_context`); None means the default."""
        values: dict[str, Any] = {}
        for field_ in fields(cls):
            raw = get(PREFIX + CONTEXT_KEYS[field_.name])
            if raw is not None:
                values[field_.name] = raw
        return cls.from_mapping(values)

    @classmethod
    def from_mapping(cls, values: Mapping[str, Any]) -> DeploySettings:
        """Coerce (`-c` gives strings) and validate; raises SettingsInvalid naming the context key."""
        defaults = cls()
        parsed: dict[str, Any] = {}
        for field_ in fields(cls):
            if field_.name not in values:
                continue
            key = PREFIX + CONTEXT_KEYS[field_.name]
            default = getattr(defaults, field_.name)
            parsed[field_.name] = _coerce(values[field_.name], default, key)
        settings = cls(**parsed)
        settings._validate()
        return settings

    def _validate(self) -> None:
        checks: list[tuple[str, bool, str]] = [
            (
                "stack_name",
                bool(STACK_NAME_RE.match(self.stack_name)),
                "letters, digits and '-', starting with a letter",
            ),
            (
                "resource_prefix",
                bool(RESOURCE_PREFIX_RE.match(self.resource_prefix)),
                "2-31 lower-case letters, digits and '-', starting with a letter",
            ),
            (
                "config_parameter_name",
                bool(PARAMETER_NAME_RE.match(self.config_parameter_name))
                and not self.config_parameter_name.lower().lstrip("/").startswith(("aws", "ssm")),
                "an SSM parameter name (letters, digits, '_', '.', '-', '/'; not under aws or ssm)",
            ),
            ("config_file", bool(self.config_file), "the path of a JSON config file"),
            (
                "sweep_schedule",
                bool(SCHEDULE_RE.match(self.sweep_schedule)),
                "an EventBridge 'rate(...)' or 'cron(...)'",
            ),
            (
                "powertools_layer_version",
                bool(SEMVER_RE.match(self.powertools_layer_version)),
                "a Powertools release such as 3.37.0",
            ),
            (
                "powertools_layer_arn",
                self.powertools_layer_arn is None or bool(LAYER_ARN_RE.match(self.powertools_layer_arn)),
                "a Lambda layer version ARN",
            ),
            ("log_level", self.log_level in LOG_LEVELS, f"one of {', '.join(LOG_LEVELS)}"),
            (
                "log_retention_days",
                self.log_retention_days in LOG_RETENTION_DAYS,
                f"one of CloudWatch's retention periods: {', '.join(map(str, LOG_RETENTION_DAYS))}",
            ),
            (
                "alarm_email",
                self.alarm_email is None or bool(EMAIL_RE.match(self.alarm_email)),
                "an e-mail address",
            ),
            ("worker_reserved_concurrency", 2 <= self.worker_reserved_concurrency <= 20, "between 2 and 20"),
            ("worker_batch_size", 1 <= self.worker_batch_size <= 10, "between 1 and 10"),
            ("worker_timeout_seconds", 30 <= self.worker_timeout_seconds <= 900, "between 30 and 900"),
            ("max_receive_count", 1 <= self.max_receive_count <= 1000, "between 1 and 1000"),
        ]
        for name, ok, expected in checks:
            if not ok:
                raise SettingsInvalid(
                    f"context {PREFIX}{CONTEXT_KEYS[name]} = {getattr(self, name)!r}: must be {expected}"
                )
        self._validate_many_accounts()

    def _validate_many_accounts(self) -> None:
        """The multi-account keys: lists of ids and regions, one of accounts or organization, the spoke's names."""
        _check_list("workload_accounts", self.workload_accounts, ACCOUNT_ID_RE, "a 12-digit AWS account id")
        _check_list("registry_regions", self.registry_regions, REGION_RE, "an AWS region name such as eu-west-1")
        _check_list(
            "operator_role_arns",
            self.operator_role_arns,
            ROLE_ARN_RE,
            "an IAM role ARN (arn:aws:iam::<id>:role/<name>)",
        )
        optional: list[tuple[str, str | None, re.Pattern[str], str]] = [
            (
                "organization_id",
                self.organization_id,
                ORGANIZATION_ID_RE,
                "an AWS Organizations id such as o-a1b2c3d4e5",
            ),
            ("hub_account_id", self.hub_account_id, ACCOUNT_ID_RE, "a 12-digit AWS account id"),
            ("hub_region", self.hub_region, REGION_RE, "an AWS region name such as eu-west-1"),
            ("reader_role_region", self.reader_role_region, REGION_RE, "an AWS region name such as eu-west-1"),
            ("reader_role_name", self.reader_role_name, ROLE_NAME_RE, "an IAM role name (1-64 of A-Z a-z 0-9 +=,.@_-)"),
            (
                "spoke_stack_name",
                self.spoke_stack_name,
                STACK_NAME_RE,
                "letters, digits and '-', starting with a letter",
            ),
        ]
        for name, value, pattern, expected in optional:
            if value is not None and not pattern.match(value):
                raise SettingsInvalid(f"context {_key(name)} = {value!r}: must be {expected}")
        if self.workload_accounts and self.organization_id:
            raise SettingsInvalid(
                f"context {_key('workload_accounts')} and {_key('organization_id')} are both set: set one of them "
                "(the listed accounts, or every account of the Organization), not both"
            )
        if self.spoke_stack_name == self.stack_name:
            raise SettingsInvalid(
                f"context {_key('spoke_stack_name')} = {self.spoke_stack_name!r}: must differ from "
                f"{_key('stack_name')} (the hub stack)"
            )


def _key(field_name: str) -> str:
    return PREFIX + CONTEXT_KEYS[field_name]


def _check_list(name: str, values: tuple[str, ...], pattern: re.Pattern[str], expected: str) -> None:
    for value in values:
        if not pattern.match(value):
            raise SettingsInvalid(f"context {_key(name)}: {value!r} is not {expected}")
    duplicates = sorted({value for value in values if values.count(value) > 1})
    if duplicates:
        raise SettingsInvalid(f"context {_key(name)}: {', '.join(duplicates)} listed more than once")


def _coerce_list(raw: Any, key: str) -> tuple[str, ...]:
    """A JSON list (cdk.json), or from `-c` a JSON list or comma-separated text; empty text is the empty list."""
    if isinstance(raw, str):
        text = raw.strip()
        if text.startswith("["):
            try:
                raw = json.loads(text)
            except json.JSONDecodeError as exc:
                raise SettingsInvalid(f"context {key} = {raw!r}: not a valid JSON list ({exc.msg})") from exc
        else:
            raw = [part.strip() for part in text.split(",") if part.strip()]
    if not isinstance(raw, list | tuple) or not all(isinstance(item, str) for item in raw):
        raise SettingsInvalid(
            f"context {key} = {raw!r}: must be a list of strings (JSON list, or comma-separated with -c)"
        )
    return tuple(raw)


def _coerce(raw: Any, default: Any, key: str) -> Any:
    """Context values from `-c` arrive as strings; turn them into the field's type."""
    if isinstance(default, tuple):
        return _coerce_list(raw, key)
    if isinstance(default, bool):
        if isinstance(raw, bool):
            return raw
        if isinstance(raw, str) and raw.lower() in ("true", "false"):
            return raw.lower() == "true"
        raise SettingsInvalid(f"context {key} = {raw!r}: must be true or false")
    if isinstance(default, int):
        if isinstance(raw, int) and not isinstance(raw, bool):
            return raw
        if isinstance(raw, str) and raw.strip().isdigit():
            return int(raw)
        raise SettingsInvalid(f"context {key} = {raw!r}: must be a whole number")
    if raw is None or raw == "":
        if default is None:
            return None
        raise SettingsInvalid(f"context {key} must not be empty")
    if not isinstance(raw, str):
        raise SettingsInvalid(f"context {key} = {raw!r}: must be a string")
    return raw
