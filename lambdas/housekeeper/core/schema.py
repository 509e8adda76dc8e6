"""The JSON Schema (draft 2020-12) of the central config, built from the model's own key lists and limits.

Editors use the published copy (`schema/config.schema.json`) to check the SSM value as it is typed. The schema
catches shapes, types, ranges and unknown keys; the checks that span several fields (unique environment names and
tag prefixes, overlapping prefixes, overrides naming known environments, the compiled policy's ECR limits) are
only in `load_config`, which stays the authority.

`python -m housekeeper.core.schema` prints the schema; the committed file is that output.
"""

from __future__ import annotations

import json
import sys
from typing import Any

from housekeeper.core import config as model
from housekeeper.core.names import ACCOUNT_ID_RE, REGION_RE, ROLE_NAME_RE
from housekeeper.core.places import DEFAULT_READER_ROLE


def _closed(properties: dict[str, Any], keys: tuple[str, ...], **extra: Any) -> dict[str, Any]:
    """An object that allows exactly the model's keys; the key list and the properties must agree."""
    if set(properties) != set(keys):
        raise AssertionError(f"schema and model disagree: {sorted(set(properties) ^ set(keys))}")
    return {"type": "object", "properties": properties, "additionalProperties": False, **extra}


def _positive_integer(description: str, minimum: int = 1) -> dict[str, Any]:
    return {"type": "integer", "minimum": minimum, "maximum": model.MAX_COUNT, "description": description}


def _protect_tags(description: str) -> dict[str, Any]:
    wildcards = model.MAX_WILDCARDS
    return {
        "type": "array",
        "description": description,
        "maxItems": model.MAX_PROTECT_TAGS,
        "uniqueItems": True,
        "items": {
            "type": "string",
            "allOf": [
                {"pattern": model.PROTECT_PATTERN_RE.pattern},
                {"pattern": f"^[^*]*(\\*[^*]*){{0,{wildcards}}}$"},
            ],
            "description": f"A tag pattern with at most {wildcards} '*' wildcards, e.g. 'latest' or 'release-*'.",
        },
    }


def _fraction(description: str) -> dict[str, Any]:
    return {
        "type": "number",
        "exclusiveMinimum": 0,
        "maximum": 1,
        "default": model.DEFAULT_MAX_FRACTION,
        "description": description,
    }


def _safety() -> dict[str, Any]:
    switches = {
        key: {"type": "boolean", "default": True, "description": f"Count {label} as in use."}
        for key, label in model.IN_USE_SOURCES
    }
    in_use = _closed(
        {
            "clusters": {
                "type": "array",
                "minItems": 1,
                "items": {"type": "string", "minLength": 1},
                "default": ["*"],
                "description": "Glob patterns on the ECS cluster names whose tasks and services count as in use.",
            },
            **switches,
            "taskDefinitionRevisions": {
                "type": "integer",
                "minimum": 0,
                "maximum": model.MAX_TASK_DEFINITION_REVISIONS,
                "default": 0,
                "description": "Also count the images of the newest N revisions of every ACTIVE task definition "
                "family (rollback targets).",
            },
        },
        model.IN_USE_KEYS,
        description="The in-use inventory: which consumers count. Switching a source off relaxes safety.",
    )
    return _closed(
        {
            "protectInUse": {
                "type": "boolean",
                "default": True,
                "description": "Never expire or archive an image that something uses (see inUse).",
            },
            "maxExpireFraction": _fraction(
                "Block a policy change that would expire more than this fraction of a repository's images."
            ),
            "maxArchiveFraction": _fraction(
                "Block a policy change that would archive more than this fraction of a repository's images."
            ),
            "inUse": in_use,
        },
        model.SAFETY_KEYS,
    )


_REPOSITORY_GLOBS: dict[str, Any] = {"type": "array", "items": {"type": "string", "minLength": 1}}
_ACCOUNT_IDS: dict[str, Any] = {
    "type": "array",
    "uniqueItems": True,
    "items": {"type": "string", "pattern": f"^{ACCOUNT_ID_RE.pattern}$"},
}
_REGIONS: dict[str, Any] = {
    "type": "array",
    "uniqueItems": True,
    "items": {"type": "string", "pattern": f"^{REGION_RE.pattern}$"},
}


def _account() -> dict[str, Any]:
    return _closed(
        {
            "id": {"type": "string", "pattern": f"^{ACCOUNT_ID_RE.pattern}$", "description": "The account id."},
            "regions": {
                **_REGIONS,
                "default": [],
                "description": "Where it runs images; empty means the registry regions.",
            },
            "roleName": {
                "type": "string",
                "pattern": f"^{ROLE_NAME_RE.pattern}$",
                "default": DEFAULT_READER_ROLE,
                "description": "The read-only role the hub assumes there (the spoke stack's).",
            },
        },
        model.ACCOUNT_KEYS,
        required=["id"],
    )


def _environment() -> dict[str, Any]:
    return _closed(
        {
            "name": {
                "type": "string",
                "pattern": model.ENV_NAME_RE.pattern,
                "description": "Environment name, unique; overrides refer to it.",
            },
            "tagPrefix": {
                "type": "string",
                "pattern": model.DOCKER_TAG_RE.pattern,
                "maxLength": model.MAX_TAG_PREFIX_LENGTH,
                "description": "Env tags are '<tagPrefix>-<build>', e.g. 'Prod-1234'. Unique; must be a legal "
                "Docker tag start.",
            },
            "keep": _positive_integer("How many of the newest images with this environment's tags to keep."),
            "clusters": {
                "type": "array",
                "items": {"type": "string", "minLength": 1},
                "description": "Glob patterns on the ECS cluster name that belong to this environment.",
                "default": [],
            },
            "accounts": {
                **_ACCOUNT_IDS,
                "description": "Account ids whose deployments belong to this environment (with clusters: both must "
                "match).",
                "default": [],
            },
        },
        model.ENVIRONMENT_KEYS,
        required=["name", "tagPrefix", "keep"],
    )


def _untagged() -> dict[str, Any]:
    return _closed(
        {"expireAfterDays": _positive_integer("Expire untagged images pushed more than this many days ago.")},
        model.UNTAGGED_KEYS,
        required=["expireAfterDays"],
    )


def _catch_all() -> dict[str, Any]:
    return _closed(
        {
            "expireAfterDays": _positive_integer("Expire any other image pushed more than this many days ago."),
            "archiveAfterDays": _positive_integer(
                "Instead of expiring: move any other image not pulled for this many days to the archive storage class."
            ),
            "expireArchivedAfterDays": _positive_integer(
                f"With archiveAfterDays: delete archived images this many days after archiving "
                f"(at least {model.MIN_ARCHIVE_DAYS}).",
                minimum=model.MIN_ARCHIVE_DAYS,
            ),
        },
        model.CATCH_ALL_KEYS,
        oneOf=[
            {
                "required": ["expireAfterDays"],
                "not": {"anyOf": [{"required": ["archiveAfterDays"]}, {"required": ["expireArchivedAfterDays"]}]},
            },
            {"required": ["archiveAfterDays"], "not": {"required": ["expireAfterDays"]}},
        ],
        description="The last rule. Set exactly one of expireAfterDays or archiveAfterDays.",
    )


def _override() -> dict[str, Any]:
    return _closed(
        {
            "repositories": {
                **_REPOSITORY_GLOBS,
                "minItems": 1,
                "description": "Repository name globs this override applies to.",
            },
            "environments": {
                "type": "object",
                "description": "Per-environment changes, keyed by environment name.",
                "additionalProperties": _closed(
                    {"keep": _positive_integer("Keep this many images for the environment instead.")},
                    model.OVERRIDE_ENV_KEYS,
                ),
            },
            "protectTags": _protect_tags("Replaces the top-level protectTags for matching repositories."),
            "untagged": {
                "oneOf": [{"type": "null"}, {"$ref": "#/$defs/untagged"}],
                "description": "Replaces the untagged rule; null removes it for matching repositories.",
            },
            "catchAll": {"$ref": "#/$defs/catchAll", "description": "Replaces the catch-all rule."},
        },
        model.OVERRIDE_KEYS,
        required=["repositories"],
    )


def _root() -> dict[str, Any]:
    return _closed(
        {
            "$schema": {"type": "string"},
            "description": {"type": "string", "description": "Free text for people; ignored."},
            "version": {"const": model.CONFIG_VERSION, "description": "Config format version."},
            "mode": {
                "enum": list(model.MODES),
                "default": "preview",
                "description": "preview computes and reports only; enforce writes lifecycle policies.",
            },
            "environments": {
                "type": "array",
                "minItems": 1,
                "items": {"$ref": "#/$defs/environment"},
                "description": "From highest to lowest precedence.",
            },
            "buildTagPattern": {
                "type": "string",
                "minLength": 1,
                "format": "regex",
                "default": model.DEFAULT_BUILD_TAG_PATTERN,
                "description": "Regex that picks the build-number tag among a deployed image's tags.",
            },
            "protectTags": _protect_tags("Tag patterns that are never expired; one rule each, before env rules."),
            "untagged": {
                "oneOf": [{"type": "null"}, {"$ref": "#/$defs/untagged"}],
                "description": "Optional rule for untagged images; absent or null means none.",
            },
            "catchAll": {"$ref": "#/$defs/catchAll"},
            "repositories": _closed(
                {
                    "include": {**_REPOSITORY_GLOBS, "default": ["*"]},
                    "exclude": {**_REPOSITORY_GLOBS, "default": []},
                },
                model.REPOSITORIES_KEYS,
                description="Which repositories housekeeper manages: include globs, exclude globs win.",
            ),
            "overrides": {
                "type": "array",
                "items": {"$ref": "#/$defs/override"},
                "default": [],
                "description": "Applied in listed order to repositories matching their globs.",
            },
            "safety": _safety(),
            "accounts": {
                "type": "array",
                "items": {"$ref": "#/$defs/account"},
                "default": [],
                "description": "Workload accounts that run the registry's images; the registry's own is always read.",
            },
            "regions": {
                **_REGIONS,
                "default": [],
                "description": "Registry regions whose repositories get policies; empty means the hub's region.",
            },
        },
        model.TOP_LEVEL_KEYS,
        required=["environments", "catchAll"],
    )


def config_json_schema() -> dict[str, Any]:
    """The schema as a dict; deterministic, so the published file can be compared byte for byte."""
    return {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "title": "ECR Housekeeper central config",
        **_root(),
        "$defs": {
            "environment": _environment(),
            "untagged": _untagged(),
            "catchAll": _catch_all(),
            "override": _override(),
            "account": _account(),
        },
    }


def render_schema() -> str:
    """The published file's exact text."""
    return json.dumps(config_json_schema(), indent=2) + "\n"


def main() -> int:
    sys.stdout.write(render_schema())
    return 0


if __name__ == "__main__":
    sys.exit(main())
