"""The central config: a typed model, its defaults, and validation that reports every problem with its JSON path.

The config lives as JSON in one SSM String parameter. `load_config` is the only way in: it turns text or a
mapping into a frozen `Config`, or raises `ConfigInvalid` listing every problem at once (an operator fixing a
config wants the whole list, not one error per deploy).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace
from fnmatch import fnmatchcase
from typing import Any, Literal

from housekeeper.core.compiler import compile_policy_for
from housekeeper.core.errors import ConfigInvalid, InvalidInput, Problem
from housekeeper.core.jsonio import load_json
from housekeeper.core.names import TAG_PATTERN, has_control_characters, is_account_id, is_region, is_role_name
from housekeeper.core.places import DEFAULT_READER_ROLE, Estate, WorkloadAccount
from housekeeper.core.policy import validate_policy
from housekeeper.core.regex_safety import regex_problem
from housekeeper.core.rules import MAX_WILDCARDS as MAX_WILDCARDS
from housekeeper.core.rules import MIN_ARCHIVE_DAYS as MIN_ARCHIVE_DAYS
from housekeeper.core.rules import type_name

Mode = Literal["preview", "enforce"]
MODES: tuple[str, ...] = ("preview", "enforce")

CONFIG_VERSION = 1
# Docker's tag grammar: first character a word character, then word characters, dots and dashes, 128 at most.
DOCKER_TAG_RE = re.compile(TAG_PATTERN)
# A tag prefix leaves room for "-<build>" inside Docker's 128 characters.
MAX_TAG_PREFIX_LENGTH = 100
ENV_NAME_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,62}$")
# A protect pattern is a tag with `*` wildcards; ECR allows at most four wildcards per pattern.
PROTECT_PATTERN_RE = re.compile(r"^[A-Za-z0-9_*][A-Za-z0-9_.*-]{0,127}$")
# Protect rules take rule priorities 1..9, below the first environment rule at 10 (see housekeeper.core.compiler).
MAX_PROTECT_TAGS = 9
# MAX_WILDCARDS (ECR: four `*` per pattern) and MIN_ARCHIVE_DAYS (ECR: archived images stay at least 90 days)
# come from housekeeper.core.rules, the one place that encodes ECR's rule limits.
DEFAULT_BUILD_TAG_PATTERN = "^[0-9]+$"
# Reserved: the tags housekeeper.core.protection adds to untagged in-use images (`hk-pin-<digest hex>`). No env tag
# may start with it, and no protect pattern may match it: a pin must never keep an image once its consumer is gone.
PIN_TAG_PREFIX = "hk-pin-"
_SAMPLE_PIN_TAG = PIN_TAG_PREFIX + "0" * 64
# A cluster or repository glob longer than any name it could match (ECS: 255, ECR: 256) is a mistake.
MAX_GLOB_LENGTH = 512
# keep and the day counts become ECR's countNumber, a 32-bit integer.
MAX_COUNT = 2**31 - 1


@dataclass(frozen=True)
class Environment:
    """One deployment environment. Listed order is precedence: the first is the highest."""

    name: str
    tag_prefix: str
    keep: int
    clusters: tuple[str, ...] = ()
    # Workload account ids: a deployment in one of them belongs to this environment (with `clusters`, both must
    # match). The registry's own account may be listed too.
    accounts: tuple[str, ...] = ()

    @property
    def tag_stem(self) -> str:
        """The literal start of every env tag of this environment, e.g. `Prod-`."""
        return f"{self.tag_prefix}-"

    def matches_cluster(self, cluster_name: str) -> bool:
        return any(fnmatchcase(cluster_name, pattern) for pattern in self.clusters)

    def matches(self, account: str, cluster_name: str) -> bool:
        """Does a deployment of `cluster_name` in `account` belong here? Every selector the environment names
        must match, and one with no selector matches nothing."""
        if not (self.clusters or self.accounts):
            return False
        if self.accounts and account not in self.accounts:
            return False
        return not self.clusters or self.matches_cluster(cluster_name)


@dataclass(frozen=True)
class UntaggedRule:
    expire_after_days: int


@dataclass(frozen=True)
class CatchAll:
    """The last rule. It expires old images, or transitions them to the archive storage class.

    With `archive_after_days`, images not pulled for that many days (never-pulled images: since their push) move
    to ECR's archive class; `expire_archived_after_days` (at least 90, ECR's minimum archive duration) then deletes
    them from the archive.
    """

    expire_after_days: int | None = 90
    archive_after_days: int | None = None
    expire_archived_after_days: int | None = None

    @property
    def archives(self) -> bool:
        return self.archive_after_days is not None


@dataclass(frozen=True)
class RepositoryScope:
    include: tuple[str, ...] = ("*",)
    exclude: tuple[str, ...] = ()

    def selects(self, repository_name: str) -> bool:
        """Include globs select, exclude globs win."""
        included = any(fnmatchcase(repository_name, p) for p in self.include)
        return included and not any(fnmatchcase(repository_name, p) for p in self.exclude)


@dataclass(frozen=True)
class Override:
    """Per-repository-glob changes. Later overrides win over earlier ones where both set the same thing."""

    repositories: tuple[str, ...]
    keep: Mapping[str, int] = field(default_factory=dict)
    protect_tags: tuple[str, ...] | None = None
    untagged: UntaggedRule | None = None
    untagged_disabled: bool = False
    catch_all: CatchAll | None = None

    def applies_to(self, repository_name: str) -> bool:
        return any(fnmatchcase(repository_name, p) for p in self.repositories)


# The inventory's sources (safety.inUse): each can be switched off, which relaxes the safety model.
IN_USE_SOURCES: tuple[tuple[str, str], ...] = (
    ("ecsTasks", "ECS running tasks"),
    ("ecsServices", "ECS service deployments"),
    ("lambdaFunctions", "Lambda container-image functions"),
    ("schedulerSchedules", "EventBridge Scheduler schedules that run ECS tasks"),
    ("eventRules", "EventBridge rules that run ECS tasks"),
)
DEFAULT_MAX_FRACTION = 0.5
# ECS keeps at most this many task definition revisions per family worth scanning; more is a config mistake.
MAX_TASK_DEFINITION_REVISIONS = 100


@dataclass(frozen=True)
class InUseSettings:
    """What the in-use inventory scans (`safety.inUse`). Every source is on by default."""

    clusters: tuple[str, ...] = ("*",)
    ecs_tasks: bool = True
    ecs_services: bool = True
    lambda_functions: bool = True
    scheduler_schedules: bool = True
    event_rules: bool = True
    task_definition_revisions: int = 0

    def source_enabled(self, key: str) -> bool:
        """`key` is a config key of IN_USE_SOURCES, e.g. `lambdaFunctions`."""
        return bool(getattr(self, _SOURCE_ATTRIBUTES[key]))

    def scans_cluster(self, cluster_name: str) -> bool:
        return any(fnmatchcase(cluster_name, pattern) for pattern in self.clusters)


_SOURCE_ATTRIBUTES = {
    "ecsTasks": "ecs_tasks",
    "ecsServices": "ecs_services",
    "lambdaFunctions": "lambda_functions",
    "schedulerSchedules": "scheduler_schedules",
    "eventRules": "event_rules",
}


@dataclass(frozen=True)
class Safety:
    protect_in_use: bool = True
    max_expire_fraction: float = DEFAULT_MAX_FRACTION
    max_archive_fraction: float = DEFAULT_MAX_FRACTION
    in_use: InUseSettings = field(default_factory=InUseSettings)

    def relaxations(self) -> tuple[str, ...]:
        """Each way this is weaker than the default safety model, in words (empty when nothing is relaxed).

        Logged at WARNING once per config version and counted as SafetyRelaxed: a weaker guard is a choice an
        operator makes on purpose, and it should be visible when it happens.
        """
        found: list[str] = []
        if not self.protect_in_use:
            found.append("safety.protectInUse is false: images in use are not protected")
        if self.max_expire_fraction > DEFAULT_MAX_FRACTION:
            found.append(f"safety.maxExpireFraction is {self.max_expire_fraction:g} (default {DEFAULT_MAX_FRACTION:g})")
        if self.max_archive_fraction > DEFAULT_MAX_FRACTION:
            found.append(
                f"safety.maxArchiveFraction is {self.max_archive_fraction:g} (default {DEFAULT_MAX_FRACTION:g})"
            )
        if self.protect_in_use:
            for key, label in IN_USE_SOURCES:
                if not self.in_use.source_enabled(key):
                    found.append(f"safety.inUse.{key} is false: {label} are not in the inventory")
            if "*" not in self.in_use.clusters:
                found.append(f"safety.inUse.clusters is {list(self.in_use.clusters)}: other clusters are not scanned")
        return tuple(found)


@dataclass(frozen=True)
class Config:
    environments: tuple[Environment, ...]
    catch_all: CatchAll
    version: int = CONFIG_VERSION
    mode: Mode = "preview"
    build_tag_pattern: str = DEFAULT_BUILD_TAG_PATTERN
    protect_tags: tuple[str, ...] = ()
    untagged: UntaggedRule | None = None
    repositories: RepositoryScope = field(default_factory=RepositoryScope)
    overrides: tuple[Override, ...] = ()
    safety: Safety = field(default_factory=Safety)
    estate: Estate = field(default_factory=Estate)

    @property
    def enforcing(self) -> bool:
        return self.mode == "enforce"

    def environment(self, name: str) -> Environment | None:
        return next((env for env in self.environments if env.name == name), None)

    def for_repository(self, repository_name: str) -> Config:
        """The effective config of one repository: every matching override applied in listed order."""
        effective = self
        for override in self.overrides:
            if override.applies_to(repository_name):
                effective = effective._with_override(override)
        return replace(effective, overrides=())

    def _with_override(self, override: Override) -> Config:
        environments = tuple(
            replace(env, keep=override.keep[env.name]) if env.name in override.keep else env
            for env in self.environments
        )
        untagged = self.untagged
        if override.untagged_disabled:
            untagged = None
        elif override.untagged is not None:
            untagged = override.untagged
        return replace(
            self,
            environments=environments,
            protect_tags=self.protect_tags if override.protect_tags is None else override.protect_tags,
            untagged=untagged,
            catch_all=override.catch_all or self.catch_all,
        )


# --------------------------------------------------------------------------------------------------------------
# Parsing and validation
# --------------------------------------------------------------------------------------------------------------

TOP_LEVEL_KEYS = (
    "version",
    "mode",
    "environments",
    "buildTagPattern",
    "protectTags",
    "untagged",
    "catchAll",
    "repositories",
    "overrides",
    "safety",
    "accounts",
    "regions",
    "$schema",
    "description",
)
ENVIRONMENT_KEYS = ("name", "tagPrefix", "keep", "clusters", "accounts")
ACCOUNT_KEYS = ("id", "regions", "roleName")
UNTAGGED_KEYS = ("expireAfterDays",)
CATCH_ALL_KEYS = ("expireAfterDays", "archiveAfterDays", "expireArchivedAfterDays")
REPOSITORIES_KEYS = ("include", "exclude")
OVERRIDE_KEYS = ("repositories", "environments", "protectTags", "untagged", "catchAll")
OVERRIDE_ENV_KEYS = ("keep",)
SAFETY_KEYS = ("protectInUse", "maxExpireFraction", "maxArchiveFraction", "inUse")
IN_USE_KEYS = ("clusters", *(key for key, _ in IN_USE_SOURCES), "taskDefinitionRevisions")


class _Collector:
    """Collects problems while the parser carries on, so one run reports everything."""

    def __init__(self) -> None:
        self.problems: list[Problem] = []

    def add(self, path: str, message: str) -> None:
        self.problems.append(Problem(path, message))

    def check_keys(self, obj: Mapping[str, Any], allowed: tuple[str, ...], path: str) -> None:
        for key in obj:
            if key not in allowed:
                suggestion = _close_matches(str(key), allowed)
                hint = f"; did you mean '{suggestion[0]}'?" if suggestion else f"; allowed: {', '.join(allowed)}"
                self.add(f"{path}.{key}", f"unknown key '{key}'{hint}")

    def object(self, value: Any, path: str) -> Mapping[str, Any] | None:
        if not isinstance(value, Mapping):
            self.add(path, f"must be an object, got {type_name(value)}")
            return None
        return value

    def integer(self, value: Any, path: str, minimum: int, maximum: int | None = None) -> int | None:
        if isinstance(value, bool) or not isinstance(value, int):
            self.add(path, f"must be an integer, got {type_name(value)}")
            return None
        if value < minimum:
            self.add(path, f"must be at least {minimum}, got {value}")
            return None
        if maximum is not None and value > maximum:
            self.add(path, f"must be at most {maximum}, got {value}")
            return None
        return value

    def glob(self, value: str, path: str) -> None:
        """A name glob (clusters, repositories): printable text only, so it can never smuggle a line break."""
        if has_control_characters(value):
            self.add(path, f"{ascii(value)[:60]} holds a control character; a name glob is one line of text")
        elif len(value) > MAX_GLOB_LENGTH:
            self.add(path, f"is {len(value)} characters; at most {MAX_GLOB_LENGTH}")

    def string(self, value: Any, path: str) -> str | None:
        if not isinstance(value, str) or not value:
            self.add(path, f"must be a non-empty string, got {type_name(value)}")
            return None
        return value

    def string_list(
        self, value: Any, path: str, check: Callable[[str, str], None] | None = None, allow_empty: bool = True
    ) -> tuple[str, ...] | None:
        if not isinstance(value, list):
            self.add(path, f"must be a list of strings, got {type_name(value)}")
            return None
        if not value and not allow_empty:
            self.add(path, "must not be empty")
            return None
        items: list[str] = []
        for index, item in enumerate(value):
            item_path = f"{path}[{index}]"
            text = self.string(item, item_path)
            if text is None:
                continue
            if check is not None:
                check(text, item_path)
            items.append(text)
        return tuple(items)


def _close_matches(word: str, choices: Any) -> list[str]:
    """The did-you-mean suggestion (difflib is imported only when a config has a typo)."""
    import difflib

    return difflib.get_close_matches(word, list(choices), n=1, cutoff=0.6)


def load_config(source: str | bytes | Mapping[str, Any], *, check_limits: bool = True) -> Config:
    """Parse and validate the central config. Raises ConfigInvalid listing every problem with its JSON path.

    With `check_limits`, the policy compiled for the base config and for each override is also checked against
    every ECR constraint, so a config that would produce a policy ECR rejects fails here, not at PutLifecyclePolicy.
    """
    if isinstance(source, str | bytes):
        try:
            data = load_json(source, "config")
        except InvalidInput as exc:
            raise ConfigInvalid(exc.problems) from None
    else:
        data = source
    collector = _Collector()
    config = _parse_config(data, collector)
    if collector.problems or config is None:
        raise ConfigInvalid(collector.problems or [Problem("$", "config could not be read")])
    if check_limits:
        _check_compiled_limits(config, collector)
        if collector.problems:
            raise ConfigInvalid(collector.problems)
    return config


def _parse_config(data: Any, c: _Collector) -> Config | None:
    root = c.object(data, "$")
    if root is None:
        return None
    c.check_keys(root, TOP_LEVEL_KEYS, "$")

    version = root.get("version", CONFIG_VERSION)
    if type(version) is not int or version != CONFIG_VERSION:
        c.add("$.version", f"unsupported version {version!r}; this release reads version {CONFIG_VERSION}")

    for text_key in ("$schema", "description"):
        if text_key in root and not isinstance(root[text_key], str):
            c.add(f"$.{text_key}", f"must be a string, got {type_name(root[text_key])}")

    mode = root.get("mode", "preview")
    if mode not in MODES:
        c.add("$.mode", f"must be one of {', '.join(MODES)}, got {mode!r}")

    environments = _parse_environments(root.get("environments"), c)

    build_tag_pattern = root.get("buildTagPattern", DEFAULT_BUILD_TAG_PATTERN)
    if c.string(build_tag_pattern, "$.buildTagPattern") is not None:
        problem = regex_problem(build_tag_pattern)
        if problem:
            c.add("$.buildTagPattern", problem)

    protect_tags = _parse_protect_tags(root.get("protectTags", []), "$.protectTags", c)

    untagged = None
    if root.get("untagged") is not None:
        untagged = _parse_untagged(root["untagged"], "$.untagged", c)

    catch_all = None
    if "catchAll" not in root:
        c.add("$.catchAll", "is required: the catch-all rule that expires old images")
    else:
        catch_all = _parse_catch_all(root["catchAll"], "$.catchAll", c)

    repositories = _parse_repositories(root.get("repositories", {}), c)
    overrides = _parse_overrides(root.get("overrides", []), environments, c)
    safety = _parse_safety(root.get("safety", {}), c)
    estate = _parse_estate(root, c)

    if c.problems or environments is None or catch_all is None:
        return None
    return Config(
        version=CONFIG_VERSION,
        mode=mode,
        environments=environments,
        build_tag_pattern=build_tag_pattern,
        protect_tags=protect_tags or (),
        untagged=untagged,
        catch_all=catch_all,
        repositories=repositories or RepositoryScope(),
        overrides=overrides,
        safety=safety or Safety(),
        estate=estate,
    )


def _parse_protect_tags(value: Any, path: str, c: _Collector) -> tuple[str, ...] | None:
    patterns = c.string_list(value, path, lambda v, p: _check_protect(v, p, c))
    if patterns is None:
        return None
    _check_unique(patterns, path, "protect pattern", c)
    if len(patterns) > MAX_PROTECT_TAGS:
        c.add(
            path,
            f"has {len(patterns)} patterns; at most {MAX_PROTECT_TAGS} fit (one rule each, at priorities 1 to "
            f"{MAX_PROTECT_TAGS}, before the first environment rule at 10)",
        )
    return patterns


def _check_protect(pattern: str, path: str, c: _Collector) -> None:
    if not PROTECT_PATTERN_RE.fullmatch(pattern):
        c.add(path, f"'{pattern}' is not a Docker tag pattern (letters, digits, '_', '.', '-' and '*' wildcards)")
    elif pattern.count("*") > MAX_WILDCARDS:
        c.add(path, f"'{pattern}' has {pattern.count('*')} wildcards; ECR allows at most {MAX_WILDCARDS}")
    elif fnmatchcase(_SAMPLE_PIN_TAG, pattern):
        c.add(
            path,
            f"'{pattern}' matches the reserved pin tags '{PIN_TAG_PREFIX}*' that protect untagged in-use images: "
            "it would keep them after their consumers are gone; use a narrower pattern",
        )


def _check_unique(values: tuple[str, ...], path: str, what: str, c: _Collector) -> None:
    seen: set[str] = set()
    for index, value in enumerate(values):
        if value in seen:
            c.add(f"{path}[{index}]", f"duplicate {what} '{value}'")
        seen.add(value)


def _parse_environments(value: Any, c: _Collector) -> tuple[Environment, ...] | None:
    if value is None:
        c.add("$.environments", "is required: list the environments from highest to lowest precedence")
        return None
    if not isinstance(value, list) or not value:
        c.add("$.environments", f"must be a non-empty list of environments, got {type_name(value)}")
        return None
    environments: list[Environment] = []
    names: dict[str, int] = {}
    prefixes: dict[str, int] = {}
    for index, item in enumerate(value):
        path = f"$.environments[{index}]"
        obj = c.object(item, path)
        if obj is None:
            continue
        c.check_keys(obj, ENVIRONMENT_KEYS, path)
        for required in ("name", "tagPrefix", "keep"):
            if required not in obj:
                c.add(f"{path}.{required}", "is required")
        name = c.string(obj["name"], f"{path}.name") if "name" in obj else None
        if name is not None:
            if not ENV_NAME_RE.fullmatch(name):
                c.add(f"{path}.name", f"'{name}' must be letters, digits, '_', '.', '-' (63 at most)")
            if name in names:
                c.add(f"{path}.name", f"duplicate environment name '{name}' (also at $.environments[{names[name]}])")
            names.setdefault(name, index)
        prefix = c.string(obj["tagPrefix"], f"{path}.tagPrefix") if "tagPrefix" in obj else None
        if prefix is not None:
            _check_tag_prefix(prefix, f"{path}.tagPrefix", c)
            if prefix in prefixes:
                c.add(
                    f"{path}.tagPrefix",
                    f"duplicate tag prefix '{prefix}' (also at $.environments[{prefixes[prefix]}])",
                )
            prefixes.setdefault(prefix, index)
        keep = c.integer(obj["keep"], f"{path}.keep", minimum=1, maximum=MAX_COUNT) if "keep" in obj else None
        clusters = c.string_list(obj.get("clusters", []), f"{path}.clusters", c.glob)
        accounts = _parse_account_ids(obj.get("accounts", []), f"{path}.accounts", c)
        selectors = (clusters, accounts)
        if name is not None and prefix is not None and keep is not None and None not in selectors:
            environments.append(Environment(name, prefix, keep, clusters or (), accounts or ()))
    _check_overlapping_prefixes(prefixes, c)
    if len(environments) != len(value):
        return None
    return tuple(environments)


def _parse_estate(root: Mapping[str, Any], c: _Collector) -> Estate:
    """`accounts` (the workload accounts) and `regions` (the registry regions)."""
    return Estate(
        accounts=_parse_accounts(root.get("accounts", []), c) or (),
        regions=_parse_regions(root.get("regions", []), "$.regions", c) or (),
    )


def _parse_account_ids(value: Any, path: str, c: _Collector) -> tuple[str, ...] | None:
    def check(account: str, item_path: str) -> None:
        if not is_account_id(account):
            c.add(item_path, f"{ascii(account)[:40]} is not an AWS account id (12 digits, as a string)")

    accounts = c.string_list(value, path, check)
    if accounts is not None:
        _check_unique(accounts, path, "account", c)
    return accounts


def _parse_regions(value: Any, path: str, c: _Collector) -> tuple[str, ...] | None:
    def check(region: str, item_path: str) -> None:
        if not is_region(region):
            c.add(item_path, f"{ascii(region)[:40]} is not an AWS region name (e.g. eu-west-1)")

    regions = c.string_list(value, path, check)
    if regions is not None:
        _check_unique(regions, path, "region", c)
    return regions


def _parse_accounts(value: Any, c: _Collector) -> tuple[WorkloadAccount, ...] | None:
    """`accounts`: the workload accounts, each `{"id", "regions"?, "roleName"?}`."""
    if not isinstance(value, list):
        c.add("$.accounts", f"must be a list of accounts, got {type_name(value)}")
        return None
    accounts: list[WorkloadAccount] = []
    seen: dict[str, int] = {}
    for index, item in enumerate(value):
        path = f"$.accounts[{index}]"
        obj = c.object(item, path)
        if obj is None:
            continue
        c.check_keys(obj, ACCOUNT_KEYS, path)
        account_id = c.string(obj.get("id"), f"{path}.id")
        if account_id is not None:
            if not is_account_id(account_id):
                c.add(f"{path}.id", f"{ascii(account_id)[:40]} is not an AWS account id (12 digits, as a string)")
            elif account_id in seen:
                c.add(f"{path}.id", f"duplicate account '{account_id}' (also at $.accounts[{seen[account_id]}])")
            seen.setdefault(account_id, index)
        regions = _parse_regions(obj.get("regions", []), f"{path}.regions", c)
        role_name = c.string(obj.get("roleName", DEFAULT_READER_ROLE), f"{path}.roleName")
        if role_name is not None and not is_role_name(role_name):
            c.add(
                f"{path}.roleName", f"{ascii(role_name)[:70]} is not an IAM role name ([A-Za-z0-9+=,.@_-], 64 at most)"
            )
        if account_id is not None and regions is not None and role_name is not None:
            accounts.append(WorkloadAccount(account_id, regions, role_name))
    return tuple(accounts) if len(accounts) == len(value) else None


def _check_tag_prefix(prefix: str, path: str, c: _Collector) -> None:
    stem = f"{prefix}-"
    if PIN_TAG_PREFIX.startswith(stem) or stem.startswith(PIN_TAG_PREFIX):
        c.add(
            path,
            f"'{prefix}' is reserved: its env tags '{stem}*' would select the pin tags '{PIN_TAG_PREFIX}*' that "
            "protect untagged in-use images",
        )
    elif len(prefix) > MAX_TAG_PREFIX_LENGTH:
        c.add(path, f"'{prefix[:20]}...' is {len(prefix)} characters; at most {MAX_TAG_PREFIX_LENGTH}")
    elif not DOCKER_TAG_RE.fullmatch(prefix):
        c.add(
            path,
            f"'{prefix}' would make illegal Docker tags: use letters, digits, '_', '.', '-', "
            "not starting with '.' or '-'",
        )


def _check_overlapping_prefixes(prefixes: Mapping[str, int], c: _Collector) -> None:
    """`Prod-` would also select `Prod-eu-12`: one env's rule would swallow another's images.

    Stems sorted: every stem that starts with a given one follows it directly, so the check is O(n log n), not
    O(n^2) (a config with 2,000 environments is validated in a fraction of a second).
    """
    stems = sorted((f"{prefix}-", prefix) for prefix in prefixes)
    for position, (stem, prefix) in enumerate(stems):
        for other_stem, other in stems[position + 1 :]:
            if not other_stem.startswith(stem):
                break
            c.add(
                f"$.environments[{prefixes[other]}].tagPrefix",
                f"tag prefix '{other}' starts with '{stem}' of $.environments[{prefixes[prefix]}]: "
                f"the '{prefix}' rule would also select '{other}' images",
            )


def _parse_untagged(value: Any, path: str, c: _Collector) -> UntaggedRule | None:
    obj = c.object(value, path)
    if obj is None:
        return None
    c.check_keys(obj, UNTAGGED_KEYS, path)
    if "expireAfterDays" not in obj:
        c.add(f"{path}.expireAfterDays", "is required")
        return None
    days = c.integer(obj["expireAfterDays"], f"{path}.expireAfterDays", minimum=1, maximum=MAX_COUNT)
    return UntaggedRule(days) if days is not None else None


def _parse_catch_all(value: Any, path: str, c: _Collector) -> CatchAll | None:
    obj = c.object(value, path)
    if obj is None:
        return None
    c.check_keys(obj, CATCH_ALL_KEYS, path)
    has_expire = obj.get("expireAfterDays") is not None
    has_archive = obj.get("archiveAfterDays") is not None
    if has_expire == has_archive:
        c.add(path, "set exactly one of 'expireAfterDays' (delete old images) or 'archiveAfterDays' (archive them)")
        return None
    if has_expire:
        if obj.get("expireArchivedAfterDays") is not None:
            c.add(f"{path}.expireArchivedAfterDays", "only goes with 'archiveAfterDays'")
            return None
        days = c.integer(obj["expireAfterDays"], f"{path}.expireAfterDays", minimum=1, maximum=MAX_COUNT)
        return CatchAll(expire_after_days=days) if days is not None else None
    archive_days = c.integer(obj["archiveAfterDays"], f"{path}.archiveAfterDays", minimum=1, maximum=MAX_COUNT)
    expire_archived = None
    if obj.get("expireArchivedAfterDays") is not None:
        expire_archived = c.integer(
            obj["expireArchivedAfterDays"],
            f"{path}.expireArchivedAfterDays",
            minimum=MIN_ARCHIVE_DAYS,
            maximum=MAX_COUNT,
        )
        if expire_archived is None:
            return None
    if archive_days is None:
        return None
    return CatchAll(expire_after_days=None, archive_after_days=archive_days, expire_archived_after_days=expire_archived)


def _parse_repositories(value: Any, c: _Collector) -> RepositoryScope | None:
    obj = c.object(value, "$.repositories")
    if obj is None:
        return None
    c.check_keys(obj, REPOSITORIES_KEYS, "$.repositories")
    include = c.string_list(obj.get("include", ["*"]), "$.repositories.include", c.glob)
    exclude = c.string_list(obj.get("exclude", []), "$.repositories.exclude", c.glob)
    if include is None or exclude is None:
        return None
    return RepositoryScope(include=include, exclude=exclude)


def _parse_overrides(value: Any, environments: tuple[Environment, ...] | None, c: _Collector) -> tuple[Override, ...]:
    if not isinstance(value, list):
        c.add("$.overrides", f"must be a list, got {type_name(value)}")
        return ()
    env_names = [env.name for env in environments or ()]
    overrides: list[Override] = []
    for index, item in enumerate(value):
        path = f"$.overrides[{index}]"
        obj = c.object(item, path)
        if obj is None:
            continue
        c.check_keys(obj, OVERRIDE_KEYS, path)
        repositories = None
        if "repositories" not in obj:
            c.add(f"{path}.repositories", "is required: the repository globs this override applies to")
        else:
            repositories = c.string_list(obj["repositories"], f"{path}.repositories", c.glob, allow_empty=False)
        keep: dict[str, int] = {}
        env_overrides = c.object(obj.get("environments", {}), f"{path}.environments")
        for env_name, env_value in (env_overrides or {}).items():
            env_path = f"{path}.environments.{env_name}"
            if environments is not None and env_name not in env_names:
                suggestion = _close_matches(env_name, env_names)
                hint = f"; did you mean '{suggestion[0]}'?" if suggestion else ""
                c.add(env_path, f"unknown environment '{env_name}'{hint}")
                continue
            env_obj = c.object(env_value, env_path)
            if env_obj is None:
                continue
            c.check_keys(env_obj, OVERRIDE_ENV_KEYS, env_path)
            if "keep" in env_obj:
                parsed_keep = c.integer(env_obj["keep"], f"{env_path}.keep", minimum=1, maximum=MAX_COUNT)
                if parsed_keep is not None:
                    keep[env_name] = parsed_keep
        protect_tags = None
        if "protectTags" in obj:
            protect_tags = _parse_protect_tags(obj["protectTags"], f"{path}.protectTags", c)
        untagged = None
        untagged_disabled = "untagged" in obj and obj["untagged"] is None
        if obj.get("untagged") is not None:
            untagged = _parse_untagged(obj["untagged"], f"{path}.untagged", c)
        catch_all = _parse_catch_all(obj["catchAll"], f"{path}.catchAll", c) if "catchAll" in obj else None
        if repositories:
            overrides.append(
                Override(
                    repositories=repositories,
                    keep=keep,
                    protect_tags=protect_tags,
                    untagged=untagged,
                    untagged_disabled=untagged_disabled,
                    catch_all=catch_all,
                )
            )
    return tuple(overrides)


def _parse_safety(value: Any, c: _Collector) -> Safety | None:
    obj = c.object(value, "$.safety")
    if obj is None:
        return None
    c.check_keys(obj, SAFETY_KEYS, "$.safety")
    protect_in_use = obj.get("protectInUse", True)
    if not isinstance(protect_in_use, bool):
        c.add("$.safety.protectInUse", f"must be true or false, got {type_name(protect_in_use)}")
    fractions: dict[str, float] = {}
    for key in ("maxExpireFraction", "maxArchiveFraction"):
        fraction = obj.get(key, DEFAULT_MAX_FRACTION)
        if isinstance(fraction, bool) or not isinstance(fraction, int | float) or not 0 < fraction <= 1:
            c.add(f"$.safety.{key}", f"must be a number greater than 0 and at most 1, got {fraction!r}")
        else:
            fractions[key] = float(fraction)
    in_use = _parse_in_use(obj.get("inUse", {}), c)
    if len(fractions) != 2 or in_use is None:
        return None
    return Safety(
        protect_in_use=bool(protect_in_use),
        max_expire_fraction=fractions["maxExpireFraction"],
        max_archive_fraction=fractions["maxArchiveFraction"],
        in_use=in_use,
    )


def _parse_in_use(value: Any, c: _Collector) -> InUseSettings | None:
    path = "$.safety.inUse"
    obj = c.object(value, path)
    if obj is None:
        return None
    c.check_keys(obj, IN_USE_KEYS, path)
    clusters = c.string_list(obj.get("clusters", ["*"]), f"{path}.clusters", c.glob, allow_empty=False)
    switches: dict[str, bool] = {}
    for key, _ in IN_USE_SOURCES:
        enabled = obj.get(key, True)
        if not isinstance(enabled, bool):
            c.add(f"{path}.{key}", f"must be true or false, got {type_name(enabled)}")
            continue
        switches[_SOURCE_ATTRIBUTES[key]] = enabled
    revisions = c.integer(
        obj.get("taskDefinitionRevisions", 0),
        f"{path}.taskDefinitionRevisions",
        minimum=0,
        maximum=MAX_TASK_DEFINITION_REVISIONS,
    )
    if clusters is None or revisions is None or len(switches) != len(IN_USE_SOURCES):
        return None
    return InUseSettings(clusters=clusters, task_definition_revisions=revisions, **switches)


def _check_compiled_limits(config: Config, c: _Collector) -> None:
    """Compile the base policy, each override's, and the one of a repository that matches every override; check
    each against every ECR constraint, so that a config ECR would refuse fails here, not at PutLifecyclePolicy.
    """

    base = replace(config, overrides=())
    variants: list[tuple[str, str, Config]] = [("$", "the base policy", base)]
    for index, override in enumerate(config.overrides):
        variants.append((f"$.overrides[{index}]", "the policy with this override", base._with_override(override)))
    if len(config.overrides) > 1:
        combined = base
        for override in config.overrides:
            combined = combined._with_override(override)
        variants.append(("$.overrides", "the policy of a repository that matches every override", combined))
    for path, what, variant in variants:
        for problem in validate_policy(compile_policy_for(variant)):
            c.add(path, f"{what} would break an ECR limit: {problem}")


def dump_config(config: Config) -> dict[str, Any]:
    """The config back as its JSON form (defaults made explicit); `load_config(dump_config(c)) == c`."""
    out: dict[str, Any] = {
        "version": config.version,
        "mode": config.mode,
        "environments": [
            {
                "name": e.name,
                "tagPrefix": e.tag_prefix,
                "keep": e.keep,
                "clusters": list(e.clusters),
                **({"accounts": list(e.accounts)} if e.accounts else {}),
            }
            for e in config.environments
        ],
        "buildTagPattern": config.build_tag_pattern,
        "protectTags": list(config.protect_tags),
        "catchAll": _dump_catch_all(config.catch_all),
        "repositories": {"include": list(config.repositories.include), "exclude": list(config.repositories.exclude)},
        "overrides": [],
        "safety": _dump_safety(config.safety),
        "accounts": [{"id": a.id, "regions": list(a.regions), "roleName": a.role_name} for a in config.estate.accounts],
        "regions": list(config.estate.regions),
    }
    if config.untagged is not None:
        out["untagged"] = {"expireAfterDays": config.untagged.expire_after_days}
    for override in config.overrides:
        item: dict[str, Any] = {"repositories": list(override.repositories)}
        if override.keep:
            item["environments"] = {name: {"keep": keep} for name, keep in override.keep.items()}
        if override.protect_tags is not None:
            item["protectTags"] = list(override.protect_tags)
        if override.untagged_disabled:
            item["untagged"] = None
        elif override.untagged is not None:
            item["untagged"] = {"expireAfterDays": override.untagged.expire_after_days}
        if override.catch_all is not None:
            item["catchAll"] = _dump_catch_all(override.catch_all)
        out["overrides"].append(item)
    return out


def _dump_catch_all(catch_all: CatchAll) -> dict[str, int]:
    if catch_all.archives:
        assert catch_all.archive_after_days is not None
        dumped = {"archiveAfterDays": catch_all.archive_after_days}
        if catch_all.expire_archived_after_days is not None:
            dumped["expireArchivedAfterDays"] = catch_all.expire_archived_after_days
        return dumped
    assert catch_all.expire_after_days is not None
    return {"expireAfterDays": catch_all.expire_after_days}


def _dump_safety(safety: Safety) -> dict[str, Any]:
    in_use = safety.in_use
    return {
        "protectInUse": safety.protect_in_use,
        "maxExpireFraction": safety.max_expire_fraction,
        "maxArchiveFraction": safety.max_archive_fraction,
        "inUse": {
            "clusters": list(in_use.clusters),
            **{key: in_use.source_enabled(key) for key, _ in IN_USE_SOURCES},
            "taskDefinitionRevisions": in_use.task_definition_revisions,
        },
    }
