"""The policy validator names the broken rule and the ECR constraint; the normaliser makes read-back compare equal."""

from __future__ import annotations

import copy
import json
from typing import Any

import pytest
from housekeeper.core.errors import PolicyInvalid
from housekeeper.core.policy import (
    describe_drift,
    normalise_policy,
    policy_text,
    read_policy_document,
    require_valid_policy,
    validate_policy,
)


def rule(priority: int, tag_status: str = "any", **selection: Any) -> dict[str, Any]:
    action = selection.pop("action", {"type": "expire"})
    body: dict[str, Any] = {"tagStatus": tag_status}
    body.update(selection)
    if "countType" not in body:
        body.update({"countType": "sinceImagePushed", "countUnit": "days", "countNumber": 30})
    return {"rulePriority": priority, "description": f"rule at {priority}", "selection": body, "action": action}


def tagged(priority: int, prefix: str, keep: int = 5) -> dict[str, Any]:
    return rule(priority, "tagged", tagPrefixList=[prefix], countType="imageCountMoreThan", countNumber=keep)


def good_policy() -> dict[str, Any]:
    return {"rules": [tagged(1, "prod"), tagged(2, "dev"), rule(3, "untagged"), rule(9)]}


def messages(policy: Any) -> list[str]:
    return [str(problem) for problem in validate_policy(policy)]


def only_problem(policy: Any) -> str:
    found = messages(policy)
    assert len(found) == 1, found
    return found[0]


# ---------------------------------------------------------------------------------------------------------------
# Accepted policies
# ---------------------------------------------------------------------------------------------------------------


def test_a_well_formed_policy_has_no_problems() -> None:
    assert validate_policy(good_policy()) == []
    require_valid_policy(good_policy())


def test_documented_archive_example_is_accepted() -> None:
    policy = {
        "rules": [
            rule(1, countType="sinceImagePulled", countUnit="days", countNumber=90,
                 action={"type": "transition", "targetStorageClass": "archive"}),
            rule(2, storageClass="archive", countType="sinceImageTransitioned", countUnit="days", countNumber=365),
        ]
    }  # fmt: skip
    assert validate_policy(policy) == []


def test_any_rules_in_both_storage_classes_are_each_last_in_their_class() -> None:
    policy = {
        "rules": [
            rule(5, storageClass="archive", countType="sinceImageTransitioned", countUnit="days", countNumber=90),
            tagged(1, "prod"),
            rule(3, "untagged", storageClass="archive", countType="sinceImageTransitioned", countUnit="days",
                 countNumber=90),
            rule(4, countType="sinceImagePushed", countUnit="days", countNumber=30,
                 action={"type": "transition", "targetStorageClass": "archive"}),
            rule(2, "untagged"),
        ]
    }  # fmt: skip
    assert validate_policy(policy) == []


def test_enum_values_are_matched_case_insensitively() -> None:
    policy = good_policy()
    policy["rules"][0]["action"]["type"] = "EXPIRE"
    policy["rules"][3]["selection"]["tagStatus"] = "ANY"
    assert validate_policy(policy) == []


# ---------------------------------------------------------------------------------------------------------------
# Each ECR constraint, named with its rule
# ---------------------------------------------------------------------------------------------------------------


def test_problem_names_the_rule_by_index_and_priority() -> None:
    policy = good_policy()
    policy["rules"][2]["selection"]["countNumber"] = 0
    problem = only_problem(policy)
    assert problem.startswith("$.rules[2].selection.countNumber: rule $.rules[2] (rulePriority 3): ")
    assert "positive integer" in problem


def test_rule_count_must_be_between_one_and_fifty() -> None:
    assert "$.rules: a lifecycle policy needs at least 1 rule" in messages({"rules": []})
    policy = {"rules": [tagged(i, f"p{i}-", 1) for i in range(1, 51)]}
    assert validate_policy(policy) == []
    policy["rules"].append(rule(51))
    assert "51 rules; ECR allows at most 50" in only_problem(policy)


def test_policy_text_must_be_at_least_100_characters() -> None:
    # The smallest valid rule is longer than 100 characters, so only a broken policy is this short.
    assert "$: policy text is 12 characters; ECR needs at least 100" in messages({"rules": []})


def test_policy_text_must_be_at_most_30720_characters_of_compact_json() -> None:
    policy = good_policy()
    policy["rules"][0]["description"] = "x" * 30_720
    assert "ECR allows at most 30720" in only_problem(policy)

    fits = good_policy()
    fits["rules"][0]["description"] = ""
    fits["rules"][0]["description"] = "x" * (30_720 - len(policy_text(fits)))
    assert len(policy_text(fits)) == 30_720
    assert validate_policy(fits) == []


def test_priorities_must_be_unique() -> None:
    policy = good_policy()
    policy["rules"][1]["rulePriority"] = 1
    problem = only_problem(policy)
    assert "$.rules[1] (rulePriority 1)" in problem
    assert "unique" in problem
    assert "$.rules[0] (rulePriority 1) has it too" in problem


@pytest.mark.parametrize("priority", [0, -3, 1.5, "1", True])
def test_priorities_must_be_positive_integers(priority: Any) -> None:
    policy = good_policy()
    policy["rules"][0]["rulePriority"] = priority
    assert any("rulePriority must be a positive integer" in m for m in messages(policy))


def test_any_rule_must_be_last_in_its_storage_class() -> None:
    policy = good_policy()
    policy["rules"][3]["rulePriority"] = 2
    policy["rules"][1]["rulePriority"] = 7
    problem = only_problem(policy)
    assert "(rulePriority 2)" in problem
    assert "highest rulePriority of its storage class (standard); 7 is higher" in problem


def test_two_any_rules_in_one_storage_class_are_rejected() -> None:
    policy = good_policy()
    policy["rules"].append(rule(10))
    assert "(rulePriority 9): a tagStatus 'any' rule must have the highest" in only_problem(policy)


def test_only_one_untagged_rule_per_storage_class() -> None:
    policy = good_policy()
    policy["rules"].insert(3, rule(4, "untagged"))
    problem = only_problem(policy)
    assert "(rulePriority 4): only one rule per storage class may select untagged images" in problem


def test_tag_lists_only_with_tagged() -> None:
    policy = good_policy()
    policy["rules"][2]["selection"]["tagPrefixList"] = ["x"]
    assert "tagPrefixList is only allowed with tagStatus 'tagged', not 'untagged'" in only_problem(policy)
    policy = good_policy()
    policy["rules"][3]["selection"]["tagPatternList"] = ["x*"]
    assert "tagPatternList is only allowed with tagStatus 'tagged', not 'any'" in only_problem(policy)


def test_tagged_needs_exactly_one_kind_of_tag_list() -> None:
    policy = good_policy()
    policy["rules"][0]["selection"]["tagPatternList"] = ["prod*"]
    assert "tagPatternList or tagPrefixList, not both" in only_problem(policy)
    policy = good_policy()
    del policy["rules"][0]["selection"]["tagPrefixList"]
    assert "needs a tagPatternList or a tagPrefixList" in only_problem(policy)
    policy = good_policy()
    policy["rules"][0]["selection"]["tagPrefixList"] = []
    assert "must not be empty" in only_problem(policy)


def test_at_most_four_wildcards_per_pattern() -> None:
    policy = good_policy()
    policy["rules"][0]["selection"] = {"tagStatus": "tagged", "tagPatternList": ["*test*1*2*3", "test*1*2*3*4*5*6"],
                                       "countType": "imageCountMoreThan", "countNumber": 1}  # fmt: skip
    problem = only_problem(policy)
    assert problem.startswith("$.rules[0].selection.tagPatternList[1]:")
    assert "6 wildcards; ECR allows at most 4" in problem


def test_count_unit_only_with_since_count_types_and_required_there() -> None:
    policy = good_policy()
    policy["rules"][0]["selection"]["countUnit"] = "days"
    assert "countUnit is only allowed with countType sinceImagePushed" in only_problem(policy)
    policy = good_policy()
    del policy["rules"][3]["selection"]["countUnit"]
    assert "countType sinceImagePushed needs countUnit 'days'" in only_problem(policy)
    policy = good_policy()
    policy["rules"][3]["selection"]["countUnit"] = "hours"
    assert "countUnit must be 'days'" in only_problem(policy)


@pytest.mark.parametrize("number", [0, -1, 2.5, "5", 2**31])
def test_count_number_must_be_a_positive_integer(number: Any) -> None:
    policy = good_policy()
    policy["rules"][0]["selection"]["countNumber"] = number
    assert "countNumber must be a positive integer" in only_problem(policy)


def test_since_image_pulled_only_with_transition() -> None:
    policy = good_policy()
    policy["rules"][3]["selection"]["countType"] = "sinceImagePulled"
    assert "(rulePriority 9): countType sinceImagePulled is only allowed with a transition" in only_problem(policy)


def test_since_image_transitioned_needs_expire_archive_class_and_ninety_days() -> None:
    policy = good_policy()
    policy["rules"][3]["selection"].update(countType="sinceImageTransitioned", countNumber=30)
    policy["rules"][3]["action"] = {"type": "transition", "targetStorageClass": "archive"}
    found = messages(policy)
    assert len(found) == 3, found
    assert any("sinceImageTransitioned is only allowed with an expire action" in m for m in found)
    assert any("sinceImageTransitioned needs storageClass 'archive'" in m for m in found)
    assert any("at least 90 days; countNumber is 30" in m for m in found)


def test_archive_storage_class_only_with_since_image_transitioned() -> None:
    policy = good_policy()
    policy["rules"][0]["selection"]["storageClass"] = "archive"
    assert "storageClass 'archive' is only allowed with countType sinceImageTransitioned" in only_problem(policy)


def test_action_types_and_target_storage_class() -> None:
    policy = good_policy()
    policy["rules"][0]["action"] = {"type": "delete"}
    assert "action type must be one of expire, transition" in only_problem(policy)
    policy["rules"][0]["action"] = {"type": "transition"}
    assert "needs targetStorageClass 'archive'" in only_problem(policy)
    policy["rules"][0]["action"] = {"type": "transition", "targetStorageClass": "glacier"}
    assert "targetStorageClass must be 'archive'" in only_problem(policy)
    policy["rules"][0]["action"] = {"type": "expire", "targetStorageClass": "archive"}
    assert "only allowed with a transition action" in only_problem(policy)


def test_nulls_are_rejected_anywhere() -> None:
    policy = good_policy()
    policy["rules"][0]["description"] = None
    policy["rules"][1]["selection"]["tagPrefixList"] = ["dev", None]
    policy["rules"][3]["action"]["targetStorageClass"] = None
    paths = [problem.path for problem in validate_policy(policy)]
    assert "$.rules[0].description" in paths
    assert "$.rules[1].selection.tagPrefixList[1]" in paths
    assert "$.rules[3].action.targetStorageClass" in paths


def test_prefixes_must_be_unique_within_a_storage_class() -> None:
    policy = good_policy()
    policy["rules"][1]["selection"]["tagPrefixList"] = ["prod"]
    problem = only_problem(policy)
    assert "(rulePriority 2): tag prefix 'prod' is already used by rule $.rules[0] (rulePriority 1)" in problem


def test_the_same_pattern_list_twice_in_a_storage_class_is_rejected() -> None:
    policy = {"rules": [rule(1, "tagged", tagPatternList=["a*", "b*"], countType="imageCountMoreThan", countNumber=1),
                        rule(2, "tagged", tagPatternList=["b*", "a*"]), rule(3)]}  # fmt: skip
    assert "the same tag patterns are already selected by rule $.rules[0]" in only_problem(policy)


def test_unknown_keys_and_missing_keys_are_reported() -> None:
    policy = good_policy()
    policy["version"] = 1
    policy["rules"][0]["priority"] = 1
    policy["rules"][1]["selection"]["tagPrefix"] = ["dev"]
    del policy["rules"][2]["action"]
    del policy["rules"][3]["selection"]["countType"]
    found = {problem.path: problem.message for problem in validate_policy(policy)}
    assert "unknown key 'version'" in found["$.version"]
    assert "unknown key 'priority'" in found["$.rules[0].priority"]
    assert "unknown key 'tagPrefix'" in found["$.rules[1].selection.tagPrefix"]
    assert "action is required" in found["$.rules[2].action"]
    assert "countType is required" in found["$.rules[3].selection.countType"]


def test_not_a_policy_at_all() -> None:
    assert "must be a JSON object" in only_problem([])
    assert "rules" in only_problem({})
    assert "must be a list of rules" in only_problem({"rules": {}})
    assert "rule $.rules[0]: must be an object, got string" in messages({"rules": ["x", rule(2)]})[0]


def test_require_valid_policy_raises_with_every_problem() -> None:
    policy = good_policy()
    policy["rules"][0]["selection"]["countNumber"] = 0
    policy["rules"][1]["rulePriority"] = 1
    with pytest.raises(PolicyInvalid) as caught:
        require_valid_policy(policy)
    assert len(caught.value.problems) == 2
    assert "invalid lifecycle policy: 2 problem(s)" in str(caught.value)


# ---------------------------------------------------------------------------------------------------------------
# Normalising and reading
# ---------------------------------------------------------------------------------------------------------------


def test_a_policy_read_back_from_ecr_normalises_equal_to_the_generated_one() -> None:
    generated = {
        "rules": [
            rule(1, "tagged", tagPatternList=["b*", "a*"], countType="imageCountMoreThan", countNumber=3),
            {"rulePriority": 5, "selection": {"tagStatus": "any", "countType": "sinceImagePushed",
                                              "countUnit": "days", "countNumber": 9}, "action": {"type": "expire"}},
        ]
    }  # fmt: skip
    read_back = {
        "rules": [
            {"action": {"type": "EXPIRE"}, "selection": {"countNumber": 9, "countUnit": "days",
                                                          "countType": "sinceImagePushed", "tagStatus": "ANY",
                                                          "storageClass": "standard"},
             "description": "", "rulePriority": 5},
            {"rulePriority": 1, "description": "rule at 1", "action": {"type": "expire"},
             "selection": {"tagStatus": "tagged", "tagPatternList": ["a*", "b*"], "countType": "imageCountMoreThan",
                           "countNumber": 3}},
        ]
    }  # fmt: skip
    response = {"registryId": "123456789012", "repositoryName": "web", "lifecyclePolicyText": json.dumps(read_back)}

    assert normalise_policy(read_policy_document(response)) == normalise_policy(generated)
    assert policy_text(normalise_policy(read_back)) == policy_text(normalise_policy(generated))


def test_normalised_form_is_canonical_and_does_not_touch_its_input() -> None:
    policy = {"rules": [rule(9), tagged(2, "dev")]}
    before = copy.deepcopy(policy)
    normal = normalise_policy(policy)

    assert policy == before
    assert [r["rulePriority"] for r in normal["rules"]] == [2, 9]
    assert normal["rules"][0]["selection"]["storageClass"] == "standard"
    assert list(normal["rules"][1]["selection"]) == ["tagStatus", "storageClass", "countType", "countUnit",
                                                      "countNumber"]  # fmt: skip
    assert normalise_policy(normal) == normal


def test_a_real_difference_survives_normalising() -> None:
    changed = good_policy()
    changed["rules"][0]["selection"]["countNumber"] = 6
    assert normalise_policy(changed) != normalise_policy(good_policy())


def test_normalise_rejects_what_is_not_a_policy() -> None:
    with pytest.raises(PolicyInvalid):
        normalise_policy({"rules": "nope"})


def test_read_policy_document_accepts_a_policy_text_or_get_lifecycle_policy_output() -> None:
    policy = good_policy()
    assert read_policy_document(policy) == policy
    assert read_policy_document(json.dumps(policy)) == policy
    assert read_policy_document({"lifecyclePolicyText": json.dumps(policy), "repositoryName": "x"}) == policy


@pytest.mark.parametrize(
    ("document", "expected"),
    [
        ("{oops", "not valid JSON"),
        ("[]", "expected a JSON object"),
        ({"imageDetails": []}, "not a lifecycle policy"),
        ({"lifecyclePolicyText": {"rules": []}}, "must be the policy as a JSON string"),
        ({"lifecyclePolicyText": "{bad"}, "not valid JSON"),
        ({"lifecyclePolicyText": "[1]"}, "must hold a JSON object"),
    ],
)
def test_read_policy_document_explains_what_it_cannot_read(document: Any, expected: str) -> None:
    with pytest.raises(PolicyInvalid) as caught:
        read_policy_document(document)
    assert expected in str(caught.value)


def test_a_null_under_an_unknown_key_is_one_problem_not_two() -> None:
    policy = good_policy()
    policy["rules"][0]["extra"] = None
    problems = [p for p in validate_policy(policy) if p.path == "$.rules[0].extra"]
    assert len(problems) == 1
    assert "unknown key 'extra'" in problems[0].message


def test_drift_names_the_rules_and_fields_that_differ() -> None:
    desired = good_policy()
    current = copy.deepcopy(desired)
    current["rules"][0]["selection"]["countNumber"] += 1
    removed = current["rules"].pop(1)
    current["rules"].append({**copy.deepcopy(removed), "rulePriority": 999, "description": "hand-made"})

    drift = describe_drift(current, desired)

    number = desired["rules"][0]["selection"]["countNumber"]
    assert f"rule {desired['rules'][0]['rulePriority']}: selection.countNumber {number + 1} -> {number}" in drift
    assert f"rule {removed['rulePriority']} missing" in drift
    assert "rule 999 not in the config" in drift
    assert describe_drift(desired, copy.deepcopy(desired)) == []
