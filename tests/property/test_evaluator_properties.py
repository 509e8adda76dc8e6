"""Invariants of the lifecycle evaluator, checked on generated repositories and policies.

The policies are structurally usable but not necessarily accepted by ECR (several `any` rules, mixed lists, ...):
the invariants must hold for everything the evaluator accepts. A plain per-image reference implementation of the
documented rules serves as the oracle for the indexed, set-based evaluator.
"""

from __future__ import annotations

import re
from dataclasses import replace
from typing import Any

from housekeeper.core.evaluator import evaluate
from housekeeper.core.images import ARCHIVE, STANDARD, ImageRecord
from hypothesis import given, settings
from hypothesis import strategies as st

NOW = 1_717_243_200.0
DAY = 86_400.0
TAGS = ["prod", "prod-1", "prod-2", "prod1", "pro", "Prod-3", "dev-1", "dev-2", "beta-1", "x-prod", "latest", "v1.2"]
PREFIXES = ["prod", "prod-", "dev", "beta", "Prod", "x", "la", "v1."]
PATTERNS = ["prod*", "*prod*", "*-1", "dev-*", "*", "latest", "p*d*", "v1.*", "*2"]


@st.composite
def images(draw: st.DrawFn) -> list[ImageRecord]:
    count = draw(st.integers(min_value=0, max_value=25))
    result = []
    for number in range(count):
        archived = draw(st.booleans()) and draw(st.booleans())
        pushed = NOW - draw(st.integers(min_value=0, max_value=400)) * DAY  # whole days: ties happen
        result.append(
            ImageRecord(
                digest=f"sha256:{number:04d}",
                tags=tuple(draw(st.lists(st.sampled_from(TAGS), max_size=3, unique=True))),
                pushed_at=pushed,
                last_pulled_at=draw(st.none() | st.just(pushed + draw(st.integers(0, 300)) * DAY)),
                last_activated_at=draw(st.none() | st.just(pushed + draw(st.integers(0, 300)) * DAY)),
                last_archived_at=NOW - draw(st.integers(0, 400)) * DAY if archived else None,
                storage_class=ARCHIVE if archived else STANDARD,
            )
        )
    return result


@st.composite
def rules(draw: st.DrawFn, priorities: st.SearchStrategy[int] | None = None) -> dict[str, Any]:
    tag_status = draw(st.sampled_from(["tagged", "tagged", "untagged", "any"]))
    selection: dict[str, Any] = {"tagStatus": tag_status}
    if tag_status == "tagged":
        if draw(st.booleans()):
            selection["tagPrefixList"] = draw(st.lists(st.sampled_from(PREFIXES), min_size=1, max_size=2, unique=True))
        else:
            selection["tagPatternList"] = draw(st.lists(st.sampled_from(PATTERNS), min_size=1, max_size=2, unique=True))
    # Only rules the one reader (housekeeper.core.rules) accepts, as ECR does: the archive class takes only
    # sinceImageTransitioned (at least 90 days, expire); sinceImagePulled only transitions; counts are positive.
    archive_class = draw(st.booleans()) and draw(st.booleans())
    action: dict[str, Any] = {"type": "expire"}
    if archive_class:
        selection["storageClass"] = "archive"
        count_type = "sinceImageTransitioned"
        selection["countNumber"] = draw(st.integers(min_value=90, max_value=300))
    else:
        count_type = draw(st.sampled_from(["imageCountMoreThan", "sinceImagePushed", "sinceImagePulled"]))
        high = 200 if count_type != "imageCountMoreThan" else 6
        selection["countNumber"] = draw(st.integers(min_value=1, max_value=high))
        if count_type == "sinceImagePulled" or draw(st.booleans()):
            action = {"type": "transition", "targetStorageClass": "archive"}
    selection["countType"] = count_type
    if count_type != "imageCountMoreThan":
        selection["countUnit"] = "days"
    return {"rulePriority": 0, "selection": selection, "action": action}


@st.composite
def policies(draw: st.DrawFn) -> dict[str, Any]:
    drawn = draw(st.lists(rules(), min_size=1, max_size=6))
    priorities = draw(st.lists(st.integers(1, 100), min_size=len(drawn), max_size=len(drawn), unique=True))
    for rule, priority in zip(drawn, priorities, strict=True):
        rule["rulePriority"] = priority
    return {"rules": drawn}


# --- a plain reference of the documented rules ----------------------------------------------------------------


def glob_matches(pattern: str, tag: str) -> bool:
    return re.fullmatch(".*".join(re.escape(part) for part in pattern.split("*")), tag) is not None


def storage_class_of(rule: dict[str, Any]) -> str:
    return ARCHIVE if rule["selection"].get("storageClass") == "archive" else STANDARD


def selects(rule: dict[str, Any], image: ImageRecord) -> bool:
    """The rule's tag selection (and storage class) matches the image."""
    selection = rule["selection"]
    if image.storage_class != storage_class_of(rule):
        return False
    if selection["tagStatus"] == "any":
        return True
    if selection["tagStatus"] == "untagged":
        return not image.tags
    prefixes = selection.get("tagPrefixList", [])
    patterns = selection.get("tagPatternList", [])
    return all(any(t.startswith(p) for t in image.tags) for p in prefixes) and all(
        any(glob_matches(p, t) for t in image.tags) for p in patterns
    )


def rank_key(image: ImageRecord) -> tuple[float, str]:
    if image.storage_class == ARCHIVE:
        return (-(image.last_archived_at or image.pushed_at), image.digest)
    return (-(image.last_activated_at if image.last_activated_at is not None else image.pushed_at), image.digest)


def pool(rule: dict[str, Any], repository: list[ImageRecord]) -> list[ImageRecord]:
    """Images the rule selects, youngest first."""
    return sorted((i for i in repository if selects(rule, i)), key=rank_key)


def reference(policy: dict[str, Any], repository: list[ImageRecord]) -> dict[str, tuple[str, int]]:
    """digest -> (action type, priority), image by image, rule by rule, straight from the documented wording."""
    ordered = sorted(policy["rules"], key=lambda r: r["rulePriority"])
    outcome: dict[str, tuple[str, int]] = {}
    for position, rule in enumerate(ordered):
        selection, span = rule["selection"], rule["selection"]["countNumber"] * DAY
        members = pool(rule, repository)
        if selection["countType"] == "imageCountMoreThan":
            picked = members[selection["countNumber"] :]
        elif selection["countType"] == "sinceImagePushed":
            picked = [i for i in members if NOW - i.pushed_at > span]
        elif selection["countType"] == "sinceImagePulled":
            picked = []
            for i in members:
                if i.last_activated_at is not None and (
                    i.last_pulled_at is None or i.last_pulled_at < i.last_activated_at
                ):
                    clock = i.last_activated_at
                else:
                    clock = i.last_pulled_at if i.last_pulled_at is not None else i.pushed_at
                if NOW - clock > span:
                    picked.append(i)
        else:
            picked = [i for i in members if i.last_archived_at is not None and NOW - i.last_archived_at > span]
        for image in picked:
            if any(selects(higher, image) for higher in ordered[:position]):
                continue
            outcome[image.digest] = (rule["action"]["type"].upper(), rule["rulePriority"])
    return outcome


def actions_of(policy: dict[str, Any], repository: list[ImageRecord]) -> dict[str, tuple[str, int]]:
    result = evaluate(policy, repository, NOW)
    return {a.image.digest: (a.action_type, a.rule_priority) for a in result.actions}


# --- properties -----------------------------------------------------------------------------------------------


@settings(max_examples=200, deadline=None)
@given(policies(), images())
def test_matches_the_plain_reference(policy: dict[str, Any], repository: list[ImageRecord]) -> None:
    assert actions_of(policy, repository) == reference(policy, repository)


@settings(max_examples=100, deadline=None)
@given(policies(), images())
def test_at_most_one_action_per_image(policy: dict[str, Any], repository: list[ImageRecord]) -> None:
    result = evaluate(policy, repository, NOW)
    digests = [a.image.digest for a in result.actions]
    assert len(digests) == len(set(digests))
    assert not result.expiring_digests & result.transitioning_digests


@settings(max_examples=200, deadline=None)
@given(policies(), images())
def test_no_image_matched_by_a_higher_rules_selection_is_acted_on_by_a_lower_rule(
    policy: dict[str, Any], repository: list[ImageRecord]
) -> None:
    for action in evaluate(policy, repository, NOW).actions:
        higher = [r for r in policy["rules"] if r["rulePriority"] < action.rule_priority]
        assert not any(selects(rule, action.image) for rule in higher)


@settings(max_examples=200, deadline=None)
@given(policies(), images())
def test_a_count_rule_never_acts_on_the_n_newest_of_its_pool(
    policy: dict[str, Any], repository: list[ImageRecord]
) -> None:
    by_priority = {r["rulePriority"]: r for r in policy["rules"]}
    for action in evaluate(policy, repository, NOW).actions:
        rule = by_priority[action.rule_priority]
        if rule["selection"]["countType"] == "imageCountMoreThan":
            newest = pool(rule, repository)[: rule["selection"]["countNumber"]]
            assert action.image not in newest


@settings(max_examples=200, deadline=None)
@given(
    policies(), images(), st.lists(st.sampled_from([*PATTERNS, "prod-*", "dev*"]), min_size=1, max_size=2, unique=True)
)
def test_adding_a_higher_priority_protect_rule_never_expires_more(
    policy: dict[str, Any], repository: list[ImageRecord], protect: list[str]
) -> None:
    # Every rule moves down one priority (priorities are positive), making room at the top.
    policy = {"rules": [{**r, "rulePriority": r["rulePriority"] + 1} for r in policy["rules"]]}
    before = evaluate(policy, repository, NOW)
    top = min(r["rulePriority"] for r in policy["rules"]) - 1
    protect_rule = {
        "rulePriority": top,
        "selection": {
            "tagStatus": "tagged",
            "tagPatternList": protect,
            "countType": "imageCountMoreThan",
            "countNumber": 9999,
        },
        "action": {"type": "expire"},
    }
    after = evaluate({"rules": [protect_rule, *policy["rules"]]}, repository, NOW)
    assert after.expiring_digests <= before.expiring_digests
    assert after.transitioning_digests <= before.transitioning_digests


@settings(max_examples=200, deadline=None)
@given(policies(), images(), st.randoms(use_true_random=False))
def test_result_is_independent_of_input_order(
    policy: dict[str, Any], repository: list[ImageRecord], random: Any
) -> None:
    shuffled_images = list(repository)
    random.shuffle(shuffled_images)
    shuffled_rules = list(policy["rules"])
    random.shuffle(shuffled_rules)
    expected = evaluate(policy, repository, NOW).to_preview_response()
    assert evaluate({"rules": shuffled_rules}, shuffled_images, NOW).to_preview_response() == expected


@st.composite
def manifest_repositories(draw: st.DrawFn) -> list[ImageRecord]:
    """Untagged children referenced by tagged or untagged manifest lists."""
    repository = draw(images())
    digests = [i.digest for i in repository]
    linked = []
    for image in repository:
        children = draw(st.lists(st.sampled_from(digests), max_size=3, unique=True)) if digests else []
        linked.append(replace(image, child_digests=tuple(c for c in children if c != image.digest)))
    return linked


@settings(max_examples=200, deadline=None)
@given(policies(), manifest_repositories())
def test_no_image_referenced_by_a_kept_manifest_list_is_acted_on(
    policy: dict[str, Any], repository: list[ImageRecord]
) -> None:
    result = evaluate(policy, repository, NOW)
    acted = {a.image.digest for a in result.actions}
    for parent in repository:
        kept = parent.digest not in acted and parent.storage_class == STANDARD
        if kept:
            assert not acted & set(parent.child_digests)
