"""The policy compiler: the central config plus a repository name gives that repository's lifecycle policy.

Layout of the generated policy (priorities leave gaps so a hand edit or a new rule type fits in between):

| priority             | rule                                                                 |
|----------------------|----------------------------------------------------------------------|
| 1 .. 9               | one protect rule per `protectTags` pattern (at most 9 fit below 10), |
|                      | then in-use protections against the environment rules                |
| 10, 20, 30, ...      | one rule per environment, in listed order (highest precedence first) |
| 10E+1, 10E+2, ...    | in-use protections against the rules below (untagged, catch-all)     |
| next multiple of 10  | the untagged rule, when configured                                   |
| next multiple of 10  | the catch-all `tagStatus: any` rule, last in the standard class      |
| next multiple of 10  | with archiving: expire archived images (`storageClass: archive`)     |

In-use protections (housekeeper.core.protection decides which images need one) each select one image by one exact
tag and never expire it: ECR lets no lower-priority rule expire an image that matches a higher rule's tag selection.
With none, the policy is exactly the config's.

Every pattern gets a rule of its own: several entries in one tag list are AND-ed by ECR, so a list like
["Prod-*", "Staging-*"] would select only images carrying both tags (the "AND-trap").
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

from housekeeper.core.rules import MAX_INTEGER

# Protect rules take the priorities below the first environment rule; config validation caps their number.
FIRST_ENV_PRIORITY = 10
PRIORITY_STEP = 10
# A protect rule is "keep the newest N images matching the pattern" with N far above what a repository can hold:
# ECR documents no maximum countNumber, the default "images per repository" quota is 100,000, and the value stays
# well inside the 32-bit integer the API uses. Matching the rule is what protects an image from every later rule.
PROTECT_KEEP_COUNT = 1_000_000


# The standard and archive storage classes, as a rule's `selection.storageClass` spells them.
STANDARD_CLASS = "standard"
ARCHIVE_CLASS = "archive"
# Words every in-use protection's description starts with, so people (and `describe_drift`) can tell them apart.
IN_USE_DESCRIPTION = "In use"


@dataclass(frozen=True)
class InUseRule:
    """Keep one in-use image: select it by one exact tag, in its storage class, and never expire it."""

    tag: str
    digest: str
    storage_class: str = STANDARD_CLASS


@dataclass(frozen=True)
class Protections:
    """What the in-use protection adds to the config's policy.

    `before_environments` go right after the protectTags rules (priorities up to 9), against the environment rules;
    `after_environments` follow the environment rules, against the untagged and catch-all rules; `keep` raises an
    environment's keep count (by name) where more images needed protection than priorities 1 to 9 can hold.
    """

    before_environments: tuple[InUseRule, ...] = ()
    after_environments: tuple[InUseRule, ...] = ()
    keep: Mapping[str, int] = field(default_factory=dict)

    @property
    def empty(self) -> bool:
        return not (self.before_environments or self.after_environments or self.keep)


NO_PROTECTIONS = Protections()


# What the compiler reads of a config, as Protocols: housekeeper.core.config satisfies them (and calls the compiler
# to check ECR's limits while it validates), so the compiler needs nothing from it and the two form no cycle.
class Environment(Protocol):
    @property
    def name(self) -> str: ...
    @property
    def keep(self) -> int: ...
    @property
    def tag_stem(self) -> str: ...


class UntaggedRule(Protocol):
    @property
    def expire_after_days(self) -> int: ...


class CatchAll(Protocol):
    @property
    def expire_after_days(self) -> int | None: ...
    @property
    def archive_after_days(self) -> int | None: ...
    @property
    def expire_archived_after_days(self) -> int | None: ...
    @property
    def archives(self) -> bool: ...


class EffectiveConfig(Protocol):
    """A config with a repository's overrides applied (housekeeper.core.config.Config.for_repository)."""

    @property
    def environments(self) -> Sequence[Environment]: ...
    @property
    def untagged(self) -> UntaggedRule | None: ...
    @property
    def catch_all(self) -> CatchAll: ...
    @property
    def protect_tags(self) -> Sequence[str]: ...


class Config(Protocol):
    def for_repository(self, repository: str) -> EffectiveConfig: ...


def compile_policy(config: Config, repository: str) -> dict[str, Any]:
    """The lifecycle policy for one repository: the config with the overrides that match it."""
    return compile_policy_for(config.for_repository(repository))


def compile_policy_for(effective: EffectiveConfig, protections: Protections = NO_PROTECTIONS) -> dict[str, Any]:
    """The lifecycle policy for an effective (already overridden) config, with any in-use protections.

    Same input, byte-identical JSON. The caller keeps `before_environments` within the priorities left below 10.
    """
    rules: list[dict[str, Any]] = []
    for index, pattern in enumerate(effective.protect_tags):
        rules.append(_protect_rule(index + 1, pattern))
    first_free = len(effective.protect_tags) + 1
    if first_free + len(protections.before_environments) > FIRST_ENV_PRIORITY:
        raise ValueError("in-use protections before the environment rules must fit in priorities 1 to 9")
    for offset, in_use in enumerate(protections.before_environments):
        rules.append(_in_use_rule(first_free + offset, in_use))
    priority = FIRST_ENV_PRIORITY
    for environment in effective.environments:
        keep = max(environment.keep, protections.keep.get(environment.name, environment.keep))
        rules.append(_environment_rule(priority, environment, keep))
        priority += PRIORITY_STEP
    last_env = priority - PRIORITY_STEP
    for offset, in_use in enumerate(protections.after_environments, start=1):
        rules.append(_in_use_rule(last_env + offset, in_use))
    if len(protections.after_environments) >= PRIORITY_STEP:  # the next rule starts at the next multiple of 10
        priority = (last_env + len(protections.after_environments)) // PRIORITY_STEP * PRIORITY_STEP + PRIORITY_STEP
    if effective.untagged is not None:
        rules.append(_untagged_rule(priority, effective.untagged))
        priority += PRIORITY_STEP
    rules.extend(_catch_all_rules(priority, effective.catch_all))
    return {"rules": rules}


def env_tag_pattern(environment: Environment) -> str:
    """The tag pattern of an environment's rule: `Prod-*` selects every `Prod-<build>` tag."""
    return f"{environment.tag_stem}*"


def _protect_rule(priority: int, pattern: str) -> dict[str, Any]:
    return {
        "rulePriority": priority,
        "description": f"Protect tags matching '{pattern}': never expired, and shielded from every later rule",
        "selection": {
            "tagStatus": "tagged",
            "tagPatternList": [pattern],
            "countType": "imageCountMoreThan",
            "countNumber": PROTECT_KEEP_COUNT,
        },
        "action": {"type": "expire"},
    }


def _in_use_rule(priority: int, rule: InUseRule) -> dict[str, Any]:
    """Selects the one image carrying `rule.tag` and never expires it, which shields it from every later rule.

    The archive class only admits `sinceImageTransitioned` rules, so an archived image is kept by an age no image
    reaches (ECR's 32-bit maximum of days); the standard class uses the same count as the protectTags rules.
    """
    description = f"{IN_USE_DESCRIPTION}: keep {rule.digest[:19]} (tag {rule.tag}) while something uses it"
    selection: dict[str, Any] = {"tagStatus": "tagged", "tagPatternList": [rule.tag]}
    if rule.storage_class == ARCHIVE_CLASS:
        selection.update(
            storageClass=ARCHIVE_CLASS, countType="sinceImageTransitioned", countUnit="days", countNumber=MAX_INTEGER
        )
        description += " (archived)"
    else:
        selection.update(countType="imageCountMoreThan", countNumber=PROTECT_KEEP_COUNT)
    return {"rulePriority": priority, "description": description, "selection": selection, "action": {"type": "expire"}}


def _environment_rule(priority: int, environment: Environment, keep: int) -> dict[str, Any]:
    raised = f" (raised from {environment.keep}: images in use)" if keep != environment.keep else ""
    return {
        "rulePriority": priority,
        "description": (
            f"Environment '{environment.name}': keep the newest {keep} '{environment.tag_stem}' images{raised}, "
            "expire older ones"
        ),
        "selection": {
            "tagStatus": "tagged",
            "tagPatternList": [env_tag_pattern(environment)],
            "countType": "imageCountMoreThan",
            "countNumber": keep,
        },
        "action": {"type": "expire"},
    }


def _untagged_rule(priority: int, untagged: UntaggedRule) -> dict[str, Any]:
    return {
        "rulePriority": priority,
        "description": f"Expire untagged images pushed more than {untagged.expire_after_days} days ago",
        "selection": {
            "tagStatus": "untagged",
            "countType": "sinceImagePushed",
            "countUnit": "days",
            "countNumber": untagged.expire_after_days,
        },
        "action": {"type": "expire"},
    }


def _catch_all_rules(priority: int, catch_all: CatchAll) -> list[dict[str, Any]]:
    if not catch_all.archives:
        assert catch_all.expire_after_days is not None
        return [
            {
                "rulePriority": priority,
                "description": (
                    f"Catch-all: expire any other image pushed more than {catch_all.expire_after_days} days ago"
                ),
                "selection": {
                    "tagStatus": "any",
                    "countType": "sinceImagePushed",
                    "countUnit": "days",
                    "countNumber": catch_all.expire_after_days,
                },
                "action": {"type": "expire"},
            }
        ]
    assert catch_all.archive_after_days is not None
    # sinceImagePulled, not sinceImagePushed: an image that is still being pulled stays pullable. ECR allows
    # sinceImagePulled only with transition, and falls back to the push time for images never pulled.
    rules: list[dict[str, Any]] = [
        {
            "rulePriority": priority,
            "description": (f"Catch-all: archive any other image not pulled for {catch_all.archive_after_days} days"),
            "selection": {
                "tagStatus": "any",
                "countType": "sinceImagePulled",
                "countUnit": "days",
                "countNumber": catch_all.archive_after_days,
            },
            "action": {"type": "transition", "targetStorageClass": "archive"},
        }
    ]
    if catch_all.expire_archived_after_days is not None:
        rules.append(
            {
                "rulePriority": priority + PRIORITY_STEP,
                "description": (
                    f"Delete archived images {catch_all.expire_archived_after_days} days after they were archived"
                ),
                "selection": {
                    "tagStatus": "any",
                    "storageClass": "archive",
                    "countType": "sinceImageTransitioned",
                    "countUnit": "days",
                    "countNumber": catch_all.expire_archived_after_days,
                },
                "action": {"type": "expire"},
            }
        )
    return rules
