"""The policy compiler: the central config plus a repository name gives that repository's lifecycle policy.

Layout of the generated policy (priorities leave gaps so a hand edit or a new rule type fits in between):

| priority             | rule                                                                 |
|----------------------|----------------------------------------------------------------------|
| 1 .. 9               | one protect rule per `protectTags` pattern (at most 9 fit below 10)  |
| 10, 20, 30, ...      | one rule per environment, in listed order (highest precedence first) |
| next multiple of 10  | the untagged rule, when configured                                   |
| next multiple of 10  | the catch-all `tagStatus: any` rule, last in the standard class      |
| next multiple of 10  | with archiving: expire archived images (`storageClass: archive`)     |

Every pattern gets a rule of its own: several entries in one tag list are AND-ed by ECR, so a list like
["Prod-*", "Staging-*"] would select only images carrying both tags (the "AND-trap").
"""

from __future__ import annotations

from typing import Any

from housekeeper.core.config import MAX_PROTECT_TAGS, CatchAll, Config, Environment, UntaggedRule

# Protect rules take the priorities below the first environment rule; config validation caps their number.
FIRST_ENV_PRIORITY = 10
PRIORITY_STEP = 10
assert MAX_PROTECT_TAGS < FIRST_ENV_PRIORITY, "protect rules must fit below the first environment rule"
# A protect rule is "keep the newest N images matching the pattern" with N far above what a repository can hold:
# ECR documents no maximum countNumber, the default "images per repository" quota is 100,000, and the value stays
# well inside the 32-bit integer the API uses. Matching the rule is what protects an image from every later rule.
PROTECT_KEEP_COUNT = 1_000_000


def compile_policy(config: Config, repository: str) -> dict[str, Any]:
    """The lifecycle policy for one repository: the config with the overrides that match it."""
    return compile_policy_for(config.for_repository(repository))


def compile_policy_for(effective: Config) -> dict[str, Any]:
    """The lifecycle policy for an effective (already overridden) config. Same input, byte-identical JSON."""
    rules: list[dict[str, Any]] = []
    for index, pattern in enumerate(effective.protect_tags):
        rules.append(_protect_rule(index + 1, pattern))
    priority = FIRST_ENV_PRIORITY
    for environment in effective.environments:
        rules.append(_environment_rule(priority, environment))
        priority += PRIORITY_STEP
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


def _environment_rule(priority: int, environment: Environment) -> dict[str, Any]:
    return {
        "rulePriority": priority,
        "description": (
            f"Environment '{environment.name}': keep the newest {environment.keep} "
            f"'{environment.tag_stem}' images, expire older ones"
        ),
        "selection": {
            "tagStatus": "tagged",
            "tagPatternList": [env_tag_pattern(environment)],
            "countType": "imageCountMoreThan",
            "countNumber": environment.keep,
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
