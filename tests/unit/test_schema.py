"""The published JSON Schema is the generated one, and it agrees with load_config on valid and invalid configs."""

from __future__ import annotations

import copy
import json
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import jsonschema
import pytest
from housekeeper.core.config import load_config
from housekeeper.core.errors import ConfigInvalid
from housekeeper.core.schema import config_json_schema, render_schema

ROOT = Path(__file__).resolve().parents[2]
PUBLISHED = ROOT / "schema" / "config.schema.json"
EXAMPLE = ROOT / "config" / "example.json"
VALID_CONFIGS = [
    EXAMPLE,
    ROOT / "config" / "default.json",
    ROOT / "tests" / "fixtures" / "configs" / "minimal.json",
    ROOT / "tests" / "fixtures" / "configs" / "archive.json",
]


@pytest.fixture(scope="module")
def validator() -> jsonschema.Draft202012Validator:
    schema = json.loads(PUBLISHED.read_text())
    jsonschema.Draft202012Validator.check_schema(schema)
    return jsonschema.Draft202012Validator(schema)


def test_published_schema_is_the_generated_one() -> None:
    assert PUBLISHED.read_text() == render_schema(), (
        "run: python -m housekeeper.core.schema > schema/config.schema.json"
    )


def test_module_prints_the_schema() -> None:
    result = subprocess.run(
        [sys.executable, "-m", "housekeeper.core.schema"], capture_output=True, text=True, check=True, cwd=ROOT
    )
    assert json.loads(result.stdout) == config_json_schema()


def test_schema_is_draft_2020_12() -> None:
    assert config_json_schema()["$schema"] == "https://json-schema.org/draft/2020-12/schema"


@pytest.mark.parametrize("path", VALID_CONFIGS, ids=lambda p: p.name)
def test_schema_accepts_the_shipped_configs(validator: jsonschema.Draft202012Validator, path: Path) -> None:
    data = json.loads(path.read_text())
    assert list(validator.iter_errors(data)) == []
    load_config(data)


def _set(path: str, value: Any) -> Callable[[dict[str, Any]], None]:
    """A mutation that sets a dotted path (list indexes as numbers) in the example config."""

    def mutate(data: dict[str, Any]) -> None:
        keys: list[Any] = [int(k) if k.isdigit() else k for k in path.split(".")]
        target: Any = data
        for key in keys[:-1]:
            target = target[key]
        target[keys[-1]] = value

    return mutate


def _delete(key: str) -> Callable[[dict[str, Any]], None]:
    return lambda data: data.pop(key)


INVALID = {
    "keep zero": _set("environments.0.keep", 0),
    "keep as text": _set("environments.0.keep", "5"),
    "illegal tag prefix": _set("environments.1.tagPrefix", "-staging"),
    "tag prefix too long": _set("environments.1.tagPrefix", "S" * 101),
    "unknown top-level key": _set("catchAl", {"expireAfterDays": 1}),
    "unknown environment key": _set("environments.0.kep", 1),
    "unknown safety key": _set("safety.protect", True),
    "five wildcards": _set("protectTags", ["a*b*c*d*e*"]),
    "ten protect tags": _set("protectTags", [f"p{i}" for i in range(10)]),
    "duplicate protect tags": _set("protectTags", ["latest", "latest"]),
    "bad mode": _set("mode", "enforcing"),
    "version 2": _set("version", 2),
    "no environments": _delete("environments"),
    "empty environments": _set("environments", []),
    "no catch-all": _delete("catchAll"),
    "catch-all with both": _set("catchAll", {"expireAfterDays": 9, "archiveAfterDays": 9}),
    "catch-all empty": _set("catchAll", {}),
    "archive expiry too soon": _set("catchAll", {"archiveAfterDays": 9, "expireArchivedAfterDays": 30}),
    "archive expiry without archive": _set("catchAll", {"expireAfterDays": 9, "expireArchivedAfterDays": 90}),
    "fraction above one": _set("safety.maxExpireFraction", 1.5),
    "fraction zero": _set("safety.maxExpireFraction", 0),
    "protectInUse text": _set("safety.protectInUse", "yes"),
    "override without repositories": _set("overrides", [{"environments": {"prod": {"keep": 2}}}]),
    "override keep zero": _set("overrides.0.environments.prod.keep", 0),
    "override unknown key": _set("overrides.0.repos", ["x"]),
    "untagged zero days": _set("untagged", {"expireAfterDays": 0}),
    "include not a list": _set("repositories.include", "*"),
}


@pytest.mark.parametrize("mutation", INVALID.values(), ids=INVALID.keys())
def test_schema_rejects_what_load_config_rejects(
    validator: jsonschema.Draft202012Validator, mutation: Callable[[dict[str, Any]], None]
) -> None:
    data = json.loads(EXAMPLE.read_text())
    mutation(data)
    with pytest.raises(ConfigInvalid):
        load_config(copy.deepcopy(data))
    assert list(validator.iter_errors(data)), "the schema accepted a config that load_config rejects"


def test_cross_field_rules_are_left_to_load_config(validator: jsonschema.Draft202012Validator) -> None:
    """Duplicate names cannot be expressed in JSON Schema; docs/configuration.md says load_config is the authority."""
    data = json.loads(EXAMPLE.read_text())
    data["environments"][1]["name"] = "prod"
    assert list(validator.iter_errors(data)) == []
    with pytest.raises(ConfigInvalid):
        load_config(data)


def test_schema_lists_the_model_keys() -> None:
    schema = config_json_schema()
    assert set(schema["properties"]) >= {"environments", "catchAll", "overrides", "safety", "protectTags"}
    assert schema["$defs"]["environment"]["required"] == ["name", "tagPrefix", "keep"]
    assert schema["additionalProperties"] is False
