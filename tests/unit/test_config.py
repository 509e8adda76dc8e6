"""Config loading: defaults, every rejection the issue lists (with JSON paths), overrides and round-trips."""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

import pytest
from housekeeper.core.config import (
    CatchAll,
    Config,
    Safety,
    UntaggedRule,
    dump_config,
    load_config,
)
from housekeeper.core.errors import ConfigInvalid

from tests.fakes import example_config
from tests.unit.helpers import problems_of

ROOT = Path(__file__).resolve().parents[2]
EXAMPLE = ROOT / "config" / "example.json"
DEFAULT = ROOT / "config" / "default.json"
FIXTURES = ROOT / "tests" / "fixtures" / "configs"


# ---------------------------------------------------------------------------------------------------------------
# The shipped configs
# ---------------------------------------------------------------------------------------------------------------


def test_design_example_loads_with_its_values() -> None:
    config = load_config(EXAMPLE.read_text())

    assert [(e.name, e.tag_prefix, e.keep) for e in config.environments] == [
        ("prod", "Prod", 5),
        ("staging", "Staging", 5),
        ("dev", "Dev", 3),
    ]
    assert config.environments[0].clusters == ("prod-*",)
    assert config.mode == "preview"
    assert not config.enforcing
    assert config.protect_tags == ("latest",)
    assert config.untagged == UntaggedRule(14)
    assert config.catch_all == CatchAll(expire_after_days=90)
    assert config.safety == Safety(protect_in_use=True, max_expire_fraction=0.5)


def test_design_example_file_is_verbatim_from_the_design_card() -> None:
    design = ROOT.parent / "shared" / "DESIGN.md"
    if not design.exists():
        pytest.skip("the design card is not next to this checkout")
    card = design.read_text()
    block = card.split("### Central config", 1)[1].split("```json", 1)[1].split("```", 1)[0]
    assert json.loads(block) == example_config()


@pytest.mark.parametrize("path", [DEFAULT, *sorted(FIXTURES.glob("*.json"))], ids=lambda p: p.name)
def test_shipped_configs_are_valid_except_the_broken_fixture(path: Path) -> None:
    if path.name == "many_problems.json":
        with pytest.raises(ConfigInvalid):
            load_config(path.read_text())
    else:
        load_config(path.read_text())


def test_minimal_config_gets_the_documented_defaults() -> None:
    config = load_config((FIXTURES / "minimal.json").read_text())

    assert config.version == 1
    assert config.mode == "preview"
    assert config.build_tag_pattern == "^[0-9]+$"
    assert config.protect_tags == ()
    assert config.untagged is None
    assert config.repositories.include == ("*",)
    assert config.repositories.exclude == ()
    assert config.overrides == ()
    assert config.safety == Safety(protect_in_use=True, max_expire_fraction=0.5)
    assert config.environments[0].clusters == ()


def test_null_untagged_means_no_untagged_rule() -> None:
    data = example_config()
    data["untagged"] = None
    assert load_config(data).untagged is None


# ---------------------------------------------------------------------------------------------------------------
# Rejections, each with its JSON path
# ---------------------------------------------------------------------------------------------------------------


def test_every_problem_is_reported_at_once_with_its_json_path() -> None:
    problems = problems_of((FIXTURES / "many_problems.json").read_text())

    assert set(problems) == {
        "$.version",
        "$.mode",
        "$.environments[0].keep",
        "$.environments[1].name",
        "$.environments[1].tagPrefix",
        "$.environments[2].cluster",
        "$.environments[2].tagPrefix",
        "$.protectTags[0]",
        "$.untaged",
        "$.safety.maxExpireFraction",
    }
    assert "did you mean 'untagged'" in problems["$.untaged"]
    assert "did you mean 'clusters'" in problems["$.environments[2].cluster"]
    assert "duplicate environment name 'prod'" in problems["$.environments[1].name"]
    assert "duplicate tag prefix 'Prod'" in problems["$.environments[1].tagPrefix"]
    assert "illegal Docker tags" in problems["$.environments[2].tagPrefix"]
    assert "at most 4" in problems["$.protectTags[0]"]


@pytest.mark.parametrize("prefix", ["-prod", ".prod", "prod env", "prod/eu", "prød", "prod:1", "Prod*", ""])
def test_tag_prefixes_that_make_illegal_docker_tags_are_rejected(prefix: str) -> None:
    data = example_config()
    data["environments"][0]["tagPrefix"] = prefix
    assert "$.environments[0].tagPrefix" in problems_of(data)


def test_tag_prefix_longer_than_a_docker_tag_allows_is_rejected() -> None:
    data = example_config()
    data["environments"][0]["tagPrefix"] = "P" * 101
    assert "at most 100" in problems_of(data)["$.environments[0].tagPrefix"]


@pytest.mark.parametrize("prefix", ["Prod", "prod_eu", "v1.2", "9lives", "A-B"])
def test_legal_tag_prefixes_are_accepted(prefix: str) -> None:
    data = example_config()
    data["environments"][0]["tagPrefix"] = prefix
    assert load_config(data).environments[0].tag_prefix == prefix


def test_a_prefix_that_swallows_another_environments_tags_is_rejected() -> None:
    data = example_config()
    data["environments"][1]["tagPrefix"] = "Prod-eu"
    message = problems_of(data)["$.environments[1].tagPrefix"]
    assert "'Prod-'" in message


@pytest.mark.parametrize("keep", [0, -1, 1.5, "5", True, None])
def test_keep_must_be_a_whole_number_of_at_least_one(keep: Any) -> None:
    data = example_config()
    data["environments"][2]["keep"] = keep
    assert "$.environments[2].keep" in problems_of(data)


def test_override_keep_below_one_is_rejected() -> None:
    data = example_config()
    data["overrides"][0]["environments"]["prod"]["keep"] = 0
    assert "$.overrides[0].environments.prod.keep" in problems_of(data)


def test_unknown_keys_are_reported_with_a_did_you_mean() -> None:
    data = example_config()
    data["catchALL"] = data.pop("catchAll")
    data["safety"]["protectInUs"] = True
    data["overrides"][0]["environments"]["prd"] = {"keep": 2}
    problems = problems_of(data)

    assert "did you mean 'catchAll'" in problems["$.catchALL"]
    assert "did you mean 'protectInUse'" in problems["$.safety.protectInUs"]
    assert "unknown environment 'prd'; did you mean 'prod'" in problems["$.overrides[0].environments.prd"]
    assert "$.catchAll" in problems  # still required


def test_an_unknown_key_without_a_close_match_lists_the_allowed_keys() -> None:
    data = example_config()
    data["environments"][0]["colour"] = "blue"
    assert "allowed: name, tagPrefix, keep, clusters" in problems_of(data)["$.environments[0].colour"]


@pytest.mark.parametrize("pattern", ["*a*b*c*d*", "a*b*c*d*e*f", "******"])
def test_protect_patterns_with_more_than_four_wildcards_are_rejected(pattern: str) -> None:
    data = example_config()
    data["protectTags"] = ["latest", pattern]
    assert "ECR allows at most 4" in problems_of(data)["$.protectTags[1]"]


def test_protect_pattern_with_four_wildcards_is_accepted() -> None:
    data = example_config()
    data["protectTags"] = ["*test*1*2*3"]
    assert load_config(data).protect_tags == ("*test*1*2*3",)


def test_override_protect_patterns_are_checked_too() -> None:
    data = example_config()
    data["overrides"][0]["protectTags"] = ["ok", "a*b*c*d*e*"]
    assert "$.overrides[0].protectTags[1]" in problems_of(data)


def test_duplicate_protect_patterns_are_rejected() -> None:
    data = example_config()
    data["protectTags"] = ["latest", "stable", "latest"]
    assert "duplicate protect pattern 'latest'" in problems_of(data)["$.protectTags[2]"]


def test_more_protect_patterns_than_fit_below_the_environment_rules_are_rejected() -> None:
    data = example_config()
    data["protectTags"] = [f"keep{i}" for i in range(10)]
    assert "at most 9" in problems_of(data)["$.protectTags"]
    data["protectTags"] = data["protectTags"][:9]
    assert len(load_config(data).protect_tags) == 9


def test_environments_are_required_and_not_empty() -> None:
    data = example_config()
    del data["environments"]
    assert "is required" in problems_of(data)["$.environments"]
    data["environments"] = []
    assert "$.environments" in problems_of(data)


def test_catch_all_needs_exactly_one_of_expire_or_archive() -> None:
    data = example_config()
    data["catchAll"] = {"expireAfterDays": 90, "archiveAfterDays": 30}
    assert "exactly one" in problems_of(data)["$.catchAll"]
    data["catchAll"] = {}
    assert "exactly one" in problems_of(data)["$.catchAll"]


def test_archived_images_cannot_be_expired_before_ninety_days() -> None:
    data = example_config()
    data["catchAll"] = {"archiveAfterDays": 30, "expireArchivedAfterDays": 89}
    assert "at least 90" in problems_of(data)["$.catchAll.expireArchivedAfterDays"]
    data["catchAll"] = {"expireAfterDays": 30, "expireArchivedAfterDays": 120}
    assert "only goes with 'archiveAfterDays'" in problems_of(data)["$.catchAll.expireArchivedAfterDays"]


def test_bad_regex_and_bad_types_are_reported() -> None:
    data = example_config()
    data["buildTagPattern"] = "^[0-9+$"
    data["repositories"]["include"] = "payments/*"
    data["safety"]["protectInUse"] = "yes"
    data["overrides"][0]["repositories"] = []
    problems = problems_of(data)

    assert "not a valid regular expression" in problems["$.buildTagPattern"]
    assert "must be a list of strings" in problems["$.repositories.include"]
    assert "true or false" in problems["$.safety.protectInUse"]
    assert "must not be empty" in problems["$.overrides[0].repositories"]


def test_an_override_without_repositories_is_reported_once() -> None:
    data = example_config()
    del data["overrides"][0]["repositories"]
    with pytest.raises(ConfigInvalid) as caught:
        load_config(data)
    paths = [p.path for p in caught.value.problems]
    assert paths == ["$.overrides[0].repositories"]


def test_text_that_is_not_json_or_not_an_object_is_rejected() -> None:
    assert "not valid JSON" in problems_of("{ not json")["line 1 column 3"]
    assert "must be an object" in problems_of("[1, 2]")["$"]


def test_version_must_be_exactly_one() -> None:
    for version in (2, "1", 1.0, True):
        data = example_config()
        data["version"] = version
        assert "$.version" in problems_of(data)


# ---------------------------------------------------------------------------------------------------------------
# Configs whose compiled policy would break an ECR limit
# ---------------------------------------------------------------------------------------------------------------


def test_a_config_compiling_to_more_than_fifty_rules_is_rejected() -> None:
    data = example_config()
    data["overrides"] = []
    data["environments"] = [{"name": f"env{i}", "tagPrefix": f"E{i}", "keep": 1} for i in range(48)]
    # 1 protect + 48 environments + untagged + catch-all = 51 rules.
    message = problems_of(data)["$"]
    assert "would break an ECR limit" in message
    assert "51 rules" in message
    assert "at most 50" in message

    data["untagged"] = None
    assert len(load_config(data).environments) == 48


def test_an_override_that_pushes_its_policy_over_a_limit_is_reported_at_the_override() -> None:
    data = example_config()
    data["protectTags"] = []
    data["untagged"] = None
    data["environments"] = [{"name": f"env{i}", "tagPrefix": f"E{i}", "keep": 1} for i in range(45)]
    data["overrides"] = [
        {"repositories": ["a/*"], "untagged": {"expireAfterDays": 1}},
        {"repositories": ["big/*"], "protectTags": [f"p{i}" for i in range(9)]},
    ]
    problems = problems_of(data)
    assert "$" not in problems
    assert "$.overrides[0]" not in problems
    assert "55 rules" in problems["$.overrides[1]"]


def test_overrides_that_are_fine_alone_but_not_together_are_rejected() -> None:
    data = example_config()
    data["protectTags"] = []
    data["untagged"] = None
    data["environments"] = [{"name": f"env{i}", "tagPrefix": f"E{i}", "keep": 1} for i in range(46)]
    data["overrides"] = [
        {"repositories": ["*"], "protectTags": ["a", "b"]},
        {"repositories": ["*"], "untagged": {"expireAfterDays": 1}, "catchAll": {"archiveAfterDays": 9}},
    ]
    # alone: 49 and 48 rules; a repository matching both gets 2 + 46 + 1 + 1 = 50: fine. One more env breaks it.
    load_config(data)
    data["overrides"][1]["catchAll"]["expireArchivedAfterDays"] = 90
    problems = problems_of(data)
    assert set(problems) == {"$.overrides"}
    assert "matches every override" in problems["$.overrides"]


def test_limit_checks_can_be_skipped() -> None:
    data = example_config()
    data["environments"] = [{"name": f"env{i}", "tagPrefix": f"E{i}", "keep": 1} for i in range(48)]  # 51 rules
    data["overrides"] = []
    assert len(load_config(data, check_limits=False).environments) == 48


# ---------------------------------------------------------------------------------------------------------------
# Overrides and round-trips
# ---------------------------------------------------------------------------------------------------------------


def test_overrides_apply_only_to_matching_repositories() -> None:
    config = load_config(example_config())

    assert config.for_repository("payments/api").environment("prod").keep == 10  # type: ignore[union-attr]
    assert config.for_repository("payments/api").environment("dev").keep == 3  # type: ignore[union-attr]
    assert config.for_repository("orders/api").environment("prod").keep == 5  # type: ignore[union-attr]
    assert config.for_repository("payments").environment("prod").keep == 5  # type: ignore[union-attr]


def test_later_overrides_win_and_untagged_null_removes_the_rule() -> None:
    data = example_config()
    data["overrides"] = [
        {"repositories": ["*"], "environments": {"prod": {"keep": 7}}, "protectTags": ["stable"]},
        {"repositories": ["web/*"], "environments": {"prod": {"keep": 20}}, "untagged": None},
        {"repositories": ["web/legacy"], "catchAll": {"archiveAfterDays": 30, "expireArchivedAfterDays": 365}},
    ]
    config = load_config(data)

    web = config.for_repository("web/legacy")
    assert web.environment("prod").keep == 20  # type: ignore[union-attr]
    assert web.protect_tags == ("stable",)
    assert web.untagged is None
    assert web.catch_all == CatchAll(None, archive_after_days=30, expire_archived_after_days=365)
    assert web.overrides == ()

    other = config.for_repository("api")
    assert other.environment("prod").keep == 7  # type: ignore[union-attr]
    assert other.untagged == UntaggedRule(14)
    assert other.catch_all == CatchAll(expire_after_days=90)


def test_repository_scope_includes_and_excludes() -> None:
    config = load_config((FIXTURES / "archive.json").read_text())
    assert config.repositories.selects("team-a/api")
    assert not config.repositories.selects("team-a/legacy")
    assert not config.repositories.selects("team-c/api")


@pytest.mark.parametrize("path", [EXAMPLE, DEFAULT, FIXTURES / "minimal.json", FIXTURES / "archive.json"], ids=str)
def test_dump_config_round_trips(path: Path) -> None:
    config = load_config(path.read_text())
    dumped = dump_config(config)

    assert load_config(dumped) == config
    assert load_config(json.dumps(dumped)) == config
    assert dump_config(load_config(dumped)) == dumped


def test_dump_config_keeps_an_override_that_removes_the_untagged_rule() -> None:
    data = example_config()
    data["overrides"].append({"repositories": ["x/*"], "untagged": None})
    config = load_config(data)
    dumped = dump_config(config)
    assert dumped["overrides"][1] == {"repositories": ["x/*"], "untagged": None}
    assert load_config(dumped) == config


def test_load_config_does_not_change_its_input() -> None:
    data = example_config()
    before = copy.deepcopy(data)
    load_config(data)
    assert data == before


def test_config_is_frozen() -> None:
    config: Config = load_config(example_config())
    with pytest.raises(AttributeError):
        config.mode = "enforce"  # type: ignore[misc]


def test_a_keep_beyond_ecrs_32_bit_count_is_rejected_at_its_own_path() -> None:
    data = example_config()
    data["environments"][0]["keep"] = 2**31
    with pytest.raises(ConfigInvalid) as caught:
        load_config(data)
    assert [p.path for p in caught.value.problems] == ["$.environments[0].keep"]
    assert "at most 2147483647" in caught.value.problems[0].message


@pytest.mark.parametrize("prefix", ["hk", "hk-pin"])
def test_a_tag_prefix_whose_env_tags_would_select_pin_tags_is_reserved(prefix: str) -> None:
    data = example_config()
    data["environments"][0]["tagPrefix"] = prefix
    found = problems_of(data)
    assert "reserved" in found["$.environments[0].tagPrefix"]
    assert "hk-pin-*" in found["$.environments[0].tagPrefix"]


@pytest.mark.parametrize("pattern", ["*", "hk-*", "hk-pin-*", "*pin*"])
def test_a_protect_pattern_that_would_keep_pinned_images_for_ever_is_refused(pattern: str) -> None:
    data = example_config()
    data["protectTags"] = [pattern]
    assert "reserved pin tags" in problems_of(data)["$.protectTags[0]"]


def test_prefixes_near_the_pin_prefix_are_fine() -> None:
    data = example_config()
    data["environments"][0]["tagPrefix"] = "hkp"
    data["protectTags"] = ["hk-release-*"]
    load_config(data)
