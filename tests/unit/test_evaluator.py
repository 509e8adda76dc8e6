"""The evaluator follows each documented ECR lifecycle evaluation rule (see the module docstring for sources)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest
from housekeeper.core.errors import InvalidInput, PolicyInvalid
from housekeeper.core.evaluator import EXPIRE, TRANSITION, evaluate
from housekeeper.core.images import ARCHIVE, STANDARD, ImageRecord

NOW = 1_717_243_200.0  # 2024-06-01T12:00:00Z
DAY = 86_400.0


def image(name: str, *tags: str, age_days: float, **fields: Any) -> ImageRecord:
    return ImageRecord(digest=f"sha256:{name}", tags=tags, pushed_at=NOW - age_days * DAY, **fields)


def everything(priority: int, **selection: Any) -> dict[str, Any]:
    """A rule that selects every image of its pool older than a day (countNumber 0 is not a valid count)."""
    return rule(priority, "sinceImagePushed", 1, **selection)


def days_ago(days: float) -> float:
    return NOW - days * DAY


def rule(
    priority: int,
    count_type: str = "imageCountMoreThan",
    number: int = 1,
    tag_status: str = "tagged",
    prefixes: list[str] | None = None,
    patterns: list[str] | None = None,
    action: str = "expire",
    storage_class: str | None = None,
) -> dict[str, Any]:
    selection: dict[str, Any] = {"tagStatus": tag_status, "countType": count_type, "countNumber": number}
    if count_type != "imageCountMoreThan":
        selection["countUnit"] = "days"
    if prefixes is not None:
        selection["tagPrefixList"] = prefixes
    if patterns is not None:
        selection["tagPatternList"] = patterns
    if storage_class is not None:
        selection["storageClass"] = storage_class
    body: dict[str, Any] = {"type": action}
    if action == "transition":
        body["targetStorageClass"] = "archive"
    return {"rulePriority": priority, "selection": selection, "action": body}


def expired(rules: list[dict[str, Any]], images: list[ImageRecord], now: float = NOW) -> list[str]:
    result = evaluate({"rules": rules}, images, now)
    return sorted(d.removeprefix("sha256:") for d in result.expiring_digests)


def transitioned(rules: list[dict[str, Any]], images: list[ImageRecord]) -> list[str]:
    result = evaluate({"rules": rules}, images, NOW)
    return sorted(d.removeprefix("sha256:") for d in result.transitioning_digests)


# --- priority, one rule per image, protection ----------------------------------------------------------------


def test_rules_apply_in_priority_order_whatever_their_order_in_the_document() -> None:
    images = [image("a", "beta-1", "prod-1", age_days=10), image("b", "beta-2", "prod-2", age_days=9)]
    beta_first = [rule(2, prefixes=["prod"]), rule(1, prefixes=["beta"])]
    assert expired(beta_first, images) == ["a"]
    result = evaluate({"rules": beta_first}, images, NOW)
    assert [a.rule_priority for a in result.actions] == [1]


def test_an_image_gets_at_most_one_action_from_the_highest_priority_rule_that_acts() -> None:
    images = [image("old", "prod-1", age_days=100), image("new", "prod-2", age_days=1)]
    rules = [rule(1, prefixes=["prod"]), rule(2, "sinceImagePushed", 30, prefixes=["prod"], action="transition")]
    result = evaluate({"rules": rules}, images, NOW)
    assert [(a.image.digest, a.action_type, a.rule_priority) for a in result.actions] == [("sha256:old", EXPIRE, 1)]


def test_image_matched_by_a_higher_rules_tags_is_never_expired_by_a_lower_rule() -> None:
    """Keep-5 on prod protects prod images from the catch-all, even when they are very old."""
    images = [image(f"p{i}", f"prod-{i}", age_days=200 + i) for i in range(3)]
    images.append(image("dev", "dev-1", age_days=200))
    rules = [rule(1, number=5, prefixes=["prod"]), rule(2, "sinceImagePushed", 90, tag_status="any")]
    assert expired(rules, images) == ["dev"]


def test_protected_images_still_count_in_a_lower_rules_keep_n() -> None:
    """B (prod+beta) is the newest beta image; the beta rule keeps it, so C (beta only, older) is expired."""
    images = [image("a", "beta-1", age_days=10), image("b", "beta-2", "prod-2", age_days=1)]
    images.append(image("c", "beta-3", age_days=5))
    rules = [rule(1, number=5, prefixes=["prod"]), rule(2, number=1, prefixes=["beta"])]
    assert expired(rules, images) == ["a", "c"]


def test_protection_is_by_tags_not_by_age_of_the_higher_rule() -> None:
    images = [image("young", "prod-1", age_days=2), image("old-dev", "dev-1", age_days=50)]
    rules = [rule(1, "sinceImagePushed", 30, prefixes=["prod"]), everything(2, tag_status="any")]
    assert expired(rules, images) == ["old-dev"]


# --- tag matching ---------------------------------------------------------------------------------------------


def test_prefix_list_is_an_and_over_the_images_tags() -> None:
    images = [image("both", "alpha-1", "beta-1", age_days=9), image("alpha", "alpha-2", age_days=9)]
    images.append(image("beta", "beta-2", age_days=9))
    assert expired([everything(1, prefixes=["alpha", "beta"])], images) == ["both"]


@pytest.mark.parametrize(
    ("pattern", "tags_matched"),
    [
        ("prod*", ["prod", "prod1", "production-team1"]),
        ("*prod*", ["prod", "prod1", "production-team1", "repo-production", "x-prod"]),
        ("prod", ["prod"]),
        ("*-prod", ["x-prod"]),
        ("p*d*1", ["prod1", "production-team1"]),
        ("*", ["prod", "prod1", "production-team1", "repo-production", "x-prod", "v1.2"]),
        ("v1.2", ["v1.2"]),
        ("v1?2", []),
    ],
)
def test_pattern_is_a_whole_tag_glob_with_star_only(pattern: str, tags_matched: list[str]) -> None:
    tags = ["prod", "prod1", "production-team1", "repo-production", "x-prod", "v1.2"]
    images = [image(tag, tag, age_days=3) for tag in tags]
    assert expired([everything(1, patterns=[pattern])], images) == sorted(tags_matched)


def test_prefix_is_literal_and_case_sensitive() -> None:
    images = [image("upper", "Prod-1", age_days=3), image("lower", "prod-1", age_days=3)]
    assert expired([everything(1, prefixes=["Prod-"])], images) == ["upper"]


def test_untagged_and_any() -> None:
    images = [image("t", "v1", age_days=3), image("u", age_days=3)]
    assert expired([everything(1, tag_status="untagged")], images) == ["u"]
    assert expired([everything(1, tag_status="any")], images) == ["t", "u"]


# --- counts and ages ------------------------------------------------------------------------------------------


def test_count_keeps_the_n_most_recently_pushed() -> None:
    images = [image(str(age), f"v{age}", age_days=age) for age in (5, 1, 9, 3, 7)]
    assert expired([rule(1, number=2, prefixes=["v"])], images) == ["5", "7", "9"]


def test_count_ranks_a_restored_image_by_its_restore_time() -> None:
    restored = image("restored", "v1", age_days=300, last_activated_at=days_ago(1))
    images = [restored, image("recent", "v2", age_days=10)]
    assert expired([rule(1, number=1, prefixes=["v"])], images) == ["recent"]


def test_equal_push_times_are_ranked_by_digest() -> None:
    images = [image("b", "v1", age_days=1), image("a", "v2", age_days=1)]
    assert expired([rule(1, number=1, prefixes=["v"])], images) == ["b"]


def test_since_pushed_is_strictly_older_than_n_days() -> None:
    images = [image("exact", "v1", age_days=14), image("older", "v2", age_days=14.0001)]
    assert expired([rule(1, "sinceImagePushed", 14, prefixes=["v"])], images) == ["older"]


def test_since_pulled_uses_last_pull_else_push_else_restore() -> None:
    images = [
        image("pulled-long-ago", "a", age_days=400, last_pulled_at=days_ago(100)),
        image("pulled-lately", "b", age_days=400, last_pulled_at=days_ago(5)),
        image("never-pulled-old", "c", age_days=100),
        image("never-pulled-new", "d", age_days=10),
        image("restored-unpulled", "e", age_days=400, last_pulled_at=days_ago(300), last_activated_at=days_ago(3)),
        image("restored-then-pulled", "f", age_days=400, last_activated_at=days_ago(200), last_pulled_at=days_ago(95)),
    ]
    rules = [rule(1, "sinceImagePulled", 90, tag_status="any", action="transition")]
    assert transitioned(rules, images) == ["never-pulled-old", "pulled-long-ago", "restored-then-pulled"]


def test_since_transitioned_uses_archive_time_and_needs_it() -> None:
    images = [
        image("long", "a", age_days=900, storage_class=ARCHIVE, last_archived_at=days_ago(120)),
        image("short", "b", age_days=900, storage_class=ARCHIVE, last_archived_at=days_ago(60)),
        image("unknown", "c", age_days=900, storage_class=ARCHIVE),
    ]
    rules = [rule(1, "sinceImageTransitioned", 90, tag_status="any", storage_class="archive")]
    assert expired(rules, images) == ["long"]


def test_now_may_be_a_datetime_naive_meaning_utc() -> None:
    images = [image("old", "v1", age_days=15)]
    rules = [rule(1, "sinceImagePushed", 14, prefixes=["v"])]
    moment = datetime.fromtimestamp(NOW, tz=UTC)
    assert evaluate({"rules": rules}, images, moment).expiring_digests == {"sha256:old"}
    assert evaluate({"rules": rules}, images, moment.replace(tzinfo=None)).expiring_digests == {"sha256:old"}


# --- storage classes, transitions -----------------------------------------------------------------------------


def test_storage_classes_are_evaluated_separately() -> None:
    """The standard any-rule neither sees nor counts archived images; archive rules see only them."""
    images = [
        image("std-new", "v3", age_days=1),
        image("std-old", "v2", age_days=2),
        image("arch", "v1", age_days=300, storage_class=ARCHIVE, last_archived_at=days_ago(200)),
    ]
    rules = [
        rule(1, number=1, tag_status="any"),
        rule(2, "sinceImageTransitioned", 90, tag_status="any", storage_class="archive"),
    ]
    assert expired(rules, images) == ["arch", "std-old"]
    archived_only = [rule(1, "sinceImageTransitioned", 90, tag_status="any", storage_class="archive")]
    assert expired(archived_only, images) == ["arch"]


def test_archived_images_are_untouched_by_standard_rules() -> None:
    images = [image("arch", "v1", age_days=300, storage_class=ARCHIVE, last_archived_at=days_ago(200))]
    assert expired([rule(1, "sinceImagePushed", 1, tag_status="any")], images) == []


def test_protection_does_not_cross_storage_classes() -> None:
    images = [image("arch", "prod-1", age_days=300, storage_class=ARCHIVE, last_archived_at=days_ago(200))]
    rules = [
        rule(1, number=9, prefixes=["prod"]),
        rule(2, "sinceImageTransitioned", 90, tag_status="any", storage_class="archive"),
    ]
    assert expired(rules, images) == ["arch"]


def test_transition_then_expire_in_the_preview_shape() -> None:
    images = [
        image("old", "v1", age_days=40),
        image("arch", "v0", age_days=900, storage_class=ARCHIVE, last_archived_at=days_ago(400)),
    ]
    rules = [
        rule(1, "sinceImagePushed", 30, tag_status="any", action="transition"),
        rule(2, "sinceImageTransitioned", 365, tag_status="any", storage_class="archive"),
    ]
    preview = evaluate({"rules": rules}, images, NOW).to_preview_response()
    assert [(r["imageDigest"], r["action"], r["storageClass"]) for r in preview["previewResults"]] == [
        ("sha256:old", {"type": TRANSITION, "targetStorageClass": ARCHIVE}, STANDARD),
        ("sha256:arch", {"type": EXPIRE}, ARCHIVE),
    ]
    assert preview["summary"] == {
        "expiringImageTotalCount": 1,
        "transitioningImageTotalCounts": [{"targetStorageClass": ARCHIVE, "imageTotalCount": 1}],
    }


def test_activating_images_are_never_acted_on() -> None:
    images = [image("restoring", "v1", age_days=10, image_status="ACTIVATING"), image("newer", "v2", age_days=1)]
    images.append(image("older", "v3", age_days=20))
    assert expired([rule(1, number=1, prefixes=["v"])], images) == ["older"]


def test_an_image_being_restored_stays_in_the_archive_class() -> None:
    """'During the restore process, the image remains in the archived state' (ECR user guide, Restoring an image):
    it does not count towards the standard class's keep-N, and archive-class rules leave it alone."""
    from housekeeper.core.images import image_from_detail

    restoring = image_from_detail(
        {
            "imageDigest": "sha256:" + "7" * 64,
            "imageTags": ["v1"],
            "imagePushedAt": days_ago(400),
            "imageStatus": "ACTIVATING",
            "lastArchivedAt": days_ago(200),
        }
    )
    assert restoring.storage_class == ARCHIVE and restoring.activating
    images = [restoring, image("newer", "v2", age_days=1), image("older", "v3", age_days=20)]
    expire_archived = rule(2, count_type="sinceImageTransitioned", number=90, tag_status="any", storage_class="archive")
    assert expired([rule(1, number=1, prefixes=["v"]), expire_archived], images) == ["older"]


# --- manifest lists and referrers -----------------------------------------------------------------------------


def test_a_child_of_a_kept_manifest_list_is_not_expired() -> None:
    index = image("index", "v1", age_days=2, child_digests=("sha256:amd64", "sha256:arm64"))
    images = [index, image("amd64", age_days=2), image("arm64", age_days=2), image("orphan", age_days=2)]
    result = evaluate({"rules": [everything(1, tag_status="untagged")]}, images, NOW)
    assert result.expiring_digests == {"sha256:orphan"}
    assert result.kept_by_manifest_list == {"sha256:amd64", "sha256:arm64"}


def test_children_go_with_their_manifest_list() -> None:
    index = image("index", age_days=30, child_digests=("sha256:amd64",))
    images = [index, image("amd64", age_days=30)]
    assert expired([rule(1, "sinceImagePushed", 7, tag_status="untagged")], images) == ["amd64", "index"]


def test_nested_indexes_keep_grandchildren() -> None:
    top = image("top", "v1", age_days=2, child_digests=("sha256:mid",))
    mid = image("mid", age_days=2, child_digests=("sha256:leaf",))
    images = [top, mid, image("leaf", age_days=2)]
    assert expired([everything(1, tag_status="untagged")], images) == []


def test_referrers_of_expired_subjects_are_reported_as_cascading_not_as_actions() -> None:
    images = [image("subject", "v1", age_days=50), image("sig", "v1.sig", age_days=50, subject_digest="sha256:subject")]
    result = evaluate({"rules": [rule(1, "sinceImagePushed", 30, patterns=["v1"])]}, images, NOW)
    assert result.expiring_digests == {"sha256:subject"}
    assert result.cascading_referrers == {"sha256:sig"}


# --- robustness -----------------------------------------------------------------------------------------------


def test_no_rules_and_no_images() -> None:
    assert evaluate({"rules": []}, [image("a", age_days=1)], NOW).actions == []
    assert evaluate({"rules": [rule(1, tag_status="any")]}, [], NOW).to_preview_response() == {
        "previewResults": [],
        "summary": {"expiringImageTotalCount": 0},
    }


@pytest.mark.parametrize(
    ("policy", "path"),
    [
        ([], "$"),
        ({"rules": "x"}, "$.rules"),
        ({"rules": [1]}, "$.rules[0]"),
        ({"rules": [{"rulePriority": "1", "selection": {}, "action": {}}]}, "$.rules[0].rulePriority"),
        ({"rules": [rule(1, tag_status="sometimes")]}, "$.rules[0].selection.tagStatus"),
        ({"rules": [rule(1, count_type="sinceForever")]}, "$.rules[0].selection.countType"),
        ({"rules": [rule(1, number=-1, tag_status="any")]}, "$.rules[0].selection.countNumber"),
        ({"rules": [rule(1, tag_status="any", action="delete")]}, "$.rules[0].action.type"),
        ({"rules": [rule(1, tag_status="tagged")]}, "$.rules[0].selection"),
        ({"rules": [rule(1, tag_status="any", storage_class="glacier")]}, "$.rules[0].selection.storageClass"),
        ({"rules": [rule(1, prefixes=["a"]), rule(1, prefixes=["b"])]}, "$.rules[1].rulePriority"),
    ],
)
def test_unusable_policies_raise_policy_invalid_naming_the_place(policy: Any, path: str) -> None:
    with pytest.raises(PolicyInvalid) as caught:
        evaluate(policy, [image("a", age_days=1)], NOW)
    assert path in [problem.path for problem in caught.value.problems]


def test_transition_without_target_is_unusable() -> None:
    broken = rule(1, tag_status="any")
    broken["action"] = {"type": "transition"}
    with pytest.raises(PolicyInvalid, match="targetStorageClass"):
        evaluate({"rules": [broken]}, [], NOW)


def test_duplicate_digests_are_rejected() -> None:
    with pytest.raises(InvalidInput, match="duplicate image digest sha256:a"):
        evaluate({"rules": []}, [image("a", age_days=1), image("a", "v1", age_days=2)], NOW)
