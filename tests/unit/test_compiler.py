"""The compiler: priorities and layout per the design card, no AND-trap, archive support, deterministic output."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from housekeeper.core.compiler import PROTECT_KEEP_COUNT, compile_policy, compile_policy_for
from housekeeper.core.config import load_config
from housekeeper.core.policy import normalise_policy, policy_text, validate_policy

from tests.fakes import example_config

ROOT = Path(__file__).resolve().parents[2]
EXAMPLE = ROOT / "config" / "example.json"
FIXTURES = ROOT / "tests" / "fixtures" / "configs"


def priorities(policy: dict[str, Any]) -> list[int]:
    return [rule["rulePriority"] for rule in policy["rules"]]


def test_design_example_compiles_to_the_documented_layout() -> None:
    policy = compile_policy(load_config(example_config()), "orders/api")

    assert validate_policy(policy) == []
    assert priorities(policy) == [1, 10, 20, 30, 40, 50]
    protect, prod, staging, dev, untagged, catch_all = policy["rules"]
    assert protect["selection"] == {
        "tagStatus": "tagged",
        "tagPatternList": ["latest"],
        "countType": "imageCountMoreThan",
        "countNumber": PROTECT_KEEP_COUNT,
    }
    assert prod["selection"] == {
        "tagStatus": "tagged",
        "tagPatternList": ["Prod-*"],
        "countType": "imageCountMoreThan",
        "countNumber": 5,
    }
    assert staging["selection"]["tagPatternList"] == ["Staging-*"]
    assert dev["selection"]["countNumber"] == 3
    assert untagged["selection"] == {
        "tagStatus": "untagged",
        "countType": "sinceImagePushed",
        "countUnit": "days",
        "countNumber": 14,
    }
    assert catch_all["selection"] == {
        "tagStatus": "any",
        "countType": "sinceImagePushed",
        "countUnit": "days",
        "countNumber": 90,
    }
    assert all(rule["action"] == {"type": "expire"} for rule in policy["rules"])


def test_overrides_change_only_matching_repositories() -> None:
    config = load_config(example_config())
    assert compile_policy(config, "payments/api")["rules"][1]["selection"]["countNumber"] == 10
    assert compile_policy(config, "orders/api")["rules"][1]["selection"]["countNumber"] == 5


def test_every_rule_says_what_it_is_for() -> None:
    policy = compile_policy(load_config(example_config()), "payments/api")
    descriptions = [rule["description"] for rule in policy["rules"]]
    assert "latest" in descriptions[0]
    assert "Protect" in descriptions[0]
    assert "'prod'" in descriptions[1]
    assert "newest 10 'Prod-'" in descriptions[1]
    assert "untagged" in descriptions[4].lower()
    assert "14 days" in descriptions[4]
    assert "Catch-all" in descriptions[5]
    assert "90 days" in descriptions[5]
    assert len(set(descriptions)) == len(descriptions)


def test_each_protect_pattern_gets_its_own_rule_before_the_environments() -> None:
    data = example_config()
    data["protectTags"] = ["latest", "release-*", "stable"]
    policy = compile_policy(load_config(data), "web")

    assert priorities(policy)[:4] == [1, 2, 3, 10]
    assert [rule["selection"]["tagPatternList"] for rule in policy["rules"][:3]] == [
        ["latest"],
        ["release-*"],
        ["stable"],
    ]


def test_no_rule_lists_several_tags_because_ecr_would_and_them() -> None:
    data = example_config()
    data["protectTags"] = [f"keep{i}" for i in range(9)]
    policy = compile_policy(load_config(data), "web")
    for rule in policy["rules"]:
        tags = rule["selection"].get("tagPatternList", rule["selection"].get("tagPrefixList", []))
        assert len(tags) <= 1


def test_nine_protect_patterns_still_fit_below_the_first_environment_rule() -> None:
    data = example_config()
    data["protectTags"] = [f"keep{i}" for i in range(9)]
    policy = compile_policy(load_config(data), "web")
    assert priorities(policy)[:10] == [1, 2, 3, 4, 5, 6, 7, 8, 9, 10]
    assert validate_policy(policy) == []


def test_without_untagged_rule_the_catch_all_follows_the_environments() -> None:
    data = example_config()
    data["untagged"] = None
    data["protectTags"] = []
    policy = compile_policy(load_config(data), "web")
    assert priorities(policy) == [10, 20, 30, 40]
    assert policy["rules"][-1]["selection"]["tagStatus"] == "any"
    assert validate_policy(policy) == []


def test_override_can_drop_the_untagged_rule_and_replace_protect_tags() -> None:
    data = example_config()
    data["overrides"] = [{"repositories": ["tools/*"], "untagged": None, "protectTags": ["v*", "stable"]}]
    policy = compile_policy(load_config(data), "tools/ci")
    assert [r["selection"]["tagStatus"] for r in policy["rules"]] == ["tagged"] * 5 + ["any"]
    assert policy["rules"][0]["selection"]["tagPatternList"] == ["v*"]


def test_catch_all_is_always_the_last_rule_with_the_highest_priority() -> None:
    for path in [EXAMPLE, *FIXTURES.glob("*.json")]:
        if path.name == "many_problems.json":
            continue
        config = load_config(path.read_text())
        for repository in ("web", "team-b/api", "payments/api"):
            standard = [r for r in compile_policy(config, repository)["rules"] if "storageClass" not in r["selection"]]
            assert standard[-1]["selection"]["tagStatus"] == "any"
            assert standard[-1]["rulePriority"] == max(r["rulePriority"] for r in standard)


def test_archive_catch_all_transitions_then_expires_archived_images() -> None:
    config = load_config((FIXTURES / "archive.json").read_text())
    policy = compile_policy(config, "team-a/api")

    assert validate_policy(policy) == []
    assert priorities(policy) == [1, 2, 10, 20, 30, 40]
    transition, expire_archived = policy["rules"][-2:]
    assert transition["selection"] == {
        "tagStatus": "any",
        "countType": "sinceImagePulled",
        "countUnit": "days",
        "countNumber": 30,
    }
    assert transition["action"] == {"type": "transition", "targetStorageClass": "archive"}
    assert expire_archived["selection"] == {
        "tagStatus": "any",
        "storageClass": "archive",
        "countType": "sinceImageTransitioned",
        "countUnit": "days",
        "countNumber": 180,
    }
    assert expire_archived["action"] == {"type": "expire"}


def test_archive_without_a_later_expiry_only_transitions() -> None:
    data = example_config()
    data["catchAll"] = {"archiveAfterDays": 60}
    policy = compile_policy(load_config(data), "web")
    assert policy["rules"][-1]["action"] == {"type": "transition", "targetStorageClass": "archive"}
    assert validate_policy(policy) == []


def test_archive_override_switches_back_to_expiry_for_its_repositories() -> None:
    config = load_config((FIXTURES / "archive.json").read_text())
    policy = compile_policy(config, "team-b/api")
    assert [r["action"]["type"] for r in policy["rules"][-2:]] == ["expire", "expire"]
    assert policy["rules"][-2]["selection"]["tagStatus"] == "untagged"
    assert policy["rules"][-1]["selection"]["countNumber"] == 60


@pytest.mark.parametrize("repository", ["web", "payments/api"])
def test_output_is_deterministic_byte_for_byte(repository: str) -> None:
    texts = {policy_text(compile_policy(load_config(EXAMPLE.read_text()), repository)) for _ in range(3)}
    assert len(texts) == 1


def test_compiled_policy_is_already_close_to_canonical() -> None:
    policy = compile_policy(load_config(example_config()), "web")
    normal = normalise_policy(policy)
    assert [r["rulePriority"] for r in normal["rules"]] == priorities(policy)
    assert normalise_policy(json.loads(json.dumps(policy))) == normal


def test_compile_policy_for_takes_an_effective_config() -> None:
    config = load_config(example_config())
    assert compile_policy_for(config.for_repository("payments/x")) == compile_policy(config, "payments/x")


def test_the_protect_rules_fit_below_the_first_environment_rule() -> None:
    from housekeeper.core.compiler import FIRST_ENV_PRIORITY
    from housekeeper.core.config import MAX_PROTECT_TAGS

    assert MAX_PROTECT_TAGS < FIRST_ENV_PRIORITY
