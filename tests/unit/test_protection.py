"""Standing in-use protection: the desired policy keeps every image something uses, how it does that (a rule before
the environment rules, a pin tag and a rule after them, a raised keep), what it cannot protect and why; plus the
guard and config pieces the protection relies on (archive fraction, protective writes, consumers, relaxations,
safety.inUse). Pure: no AWS, no clock.
"""

from __future__ import annotations

import json
from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import pytest
from housekeeper.core.compiler import PROTECT_KEEP_COUNT, compile_policy_for
from housekeeper.core.config import (
    IN_USE_SOURCES,
    MAX_COUNT,
    Config,
    InUseSettings,
    Safety,
    dump_config,
    load_config,
)
from housekeeper.core.errors import ConfigInvalid
from housekeeper.core.evaluator import DAY_SECONDS, EXPIRE, TRANSITION, evaluate
from housekeeper.core.guard import GuardReason, check_guard, expand_in_use, is_protective
from housekeeper.core.images import ARCHIVE, STANDARD, ImageRecord
from housekeeper.core.policy import MAX_RULES, policy_text, validate_policy
from housekeeper.core.protection import (
    LOOKAHEAD_DAYS,
    Protected,
    ProtectionPlan,
    Unprotected,
    UnprotectedReason,
    pin_tag,
    plan_protection,
    threats,
)

from tests.fakes import EXAMPLE_CONFIG_FILE
from tests.unit.helpers import problems_of

NOW = 1_750_000_000.0
DAY = 86_400.0
WEB = ("ecs-service:prod/web",)


def d(n: int) -> str:
    return f"sha256:{n:064x}"


def image(
    n: int,
    *tags: str,
    age: float = 1.0,
    archived_days_ago: float | None = None,
    pulled_days_ago: float | None = None,
    children: tuple[str, ...] = (),
) -> ImageRecord:
    """Image number `n`, pushed `age` days before NOW; archived when `archived_days_ago` is given."""
    return ImageRecord(
        digest=d(n),
        tags=tags,
        pushed_at=NOW - age * DAY,
        last_pulled_at=None if pulled_days_ago is None else NOW - pulled_days_ago * DAY,
        last_archived_at=None if archived_days_ago is None else NOW - archived_days_ago * DAY,
        storage_class=STANDARD if archived_days_ago is None else ARCHIVE,
        child_digests=children,
    )


def config_data(**changes: Any) -> dict[str, Any]:
    """Layout of the policy: 1 'latest', 10 prod (keep 2), 20 staging (keep 2), 30 untagged (7 days), 40 catch-all
    (90 days); in-use rules against the environments at 2..9, against untagged/catch-all at 21, 22, ..."""
    data: dict[str, Any] = {
        "version": 1,
        "mode": "enforce",
        "environments": [
            {"name": "prod", "tagPrefix": "Prod", "keep": 2, "clusters": ["prod-*"]},
            {"name": "staging", "tagPrefix": "Staging", "keep": 2, "clusters": ["staging-*"]},
        ],
        "protectTags": ["latest"],
        "untagged": {"expireAfterDays": 7},
        "catchAll": {"expireAfterDays": 90},
    }
    data.update(changes)
    return data


def make_config(**changes: Any) -> Config:
    return load_config(config_data(**changes))


CONFIG = make_config()
# Archiving: 30 untagged, 40 transition after 30 days without a pull, 50 expire archived images after 90 days.
ARCHIVE_CONFIG = make_config(catchAll={"archiveAfterDays": 30, "expireArchivedAfterDays": 90})


def rule_at(policy: Mapping[str, Any], priority: int) -> dict[str, Any]:
    return next(rule for rule in policy["rules"] if rule["rulePriority"] == priority)


def priorities(policy: Mapping[str, Any]) -> list[int]:
    return [rule["rulePriority"] for rule in policy["rules"]]


def in_use_rules(policy: Mapping[str, Any]) -> list[dict[str, Any]]:
    return [rule for rule in policy["rules"] if rule["description"].startswith("In use")]


def selected_tag(rule: Mapping[str, Any]) -> str:
    tags: list[str] = rule["selection"]["tagPatternList"]
    assert len(tags) == 1
    return tags[0]


def lost(plan: ProtectionPlan, moment: float = NOW) -> set[str]:
    """What the desired policy expires or archives on the repository as it will be (pins included)."""
    evaluation = evaluate(plan.policy, plan.images, moment)
    return set(evaluation.expiring_digests | evaluation.transitioning_digests)


def base_lost(plan: ProtectionPlan, images: Sequence[ImageRecord], moment: float = NOW) -> set[str]:
    evaluation = evaluate(plan.base_policy, images, moment)
    return set(evaluation.expiring_digests | evaluation.transitioning_digests)


def plan_for(
    images: Sequence[ImageRecord],
    in_use: Mapping[str, Collection[str]],
    config: Config = CONFIG,
    **kwargs: Any,
) -> ProtectionPlan:
    return plan_protection(config, images, in_use, NOW, **kwargs)


# ---------------------------------------------------------------------------------------------------------------
# No protection needed
# ---------------------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "in_use",
    [{}, {"sha256:" + "e" * 64: WEB}],
    ids=["nothing-in-use", "in-use-elsewhere"],
)
def test_with_nothing_in_use_here_the_desired_policy_is_the_config_policy(in_use: dict[str, Any]) -> None:
    images = [image(n, f"Prod-{n}", age=n) for n in range(1, 6)] + [image(9, age=30)]
    plan = plan_for(images, in_use)

    assert plan.policy == plan.base_policy == compile_policy_for(CONFIG)
    assert plan.protected == ()
    assert plan.unprotected == ()
    assert plan.pins == {}
    assert not plan.protects
    assert plan.images == tuple(images)
    assert plan.evaluation.expiring_digests == {d(3), d(4), d(5), d(9)}


def test_an_in_use_image_that_nothing_threatens_adds_no_rule() -> None:
    images = [image(n, f"Prod-{n}", age=n) for n in range(1, 6)]
    plan = plan_for(images, {d(1): WEB, d(2): WEB})
    assert plan.policy == plan.base_policy
    assert plan.protected == ()


# ---------------------------------------------------------------------------------------------------------------
# How an image is protected
# ---------------------------------------------------------------------------------------------------------------


def test_an_in_use_env_image_beyond_keep_gets_a_rule_before_the_first_environment_rule() -> None:
    images = [image(n, f"Prod-{n}", age=n) for n in range(1, 5)]  # keep 2: Prod-3 and Prod-4 would go
    assert base_lost(plan_for(images, {}), images) == {d(3), d(4)}

    plan = plan_for(images, {d(4): WEB})

    assert priorities(plan.policy) == [1, 2, 10, 20, 30, 40]
    rule = rule_at(plan.policy, 2)
    assert rule["selection"] == {
        "tagStatus": "tagged",
        "tagPatternList": ["Prod-4"],
        "countType": "imageCountMoreThan",
        "countNumber": PROTECT_KEEP_COUNT,
    }
    assert rule["action"] == {"type": "expire"}
    assert "Prod-4" in rule["description"]
    assert rule_at(plan.policy, 10)["selection"]["countNumber"] == 2  # the keep itself is unchanged
    assert plan.protected == (Protected(d(4), "Prod-4", threatened_by=10),)
    assert plan.evaluation.expiring_digests == {d(3)}  # the unused one still goes
    assert plan.pins == {}


def test_an_untagged_in_use_image_gets_a_pin_tag_and_a_rule_after_the_environments() -> None:
    images = [image(1, "Prod-1"), image(10, age=30), image(11, age=30)]
    plan = plan_for(images, {d(10): WEB})

    pin = "hk-pin-" + d(10).removeprefix("sha256:")
    assert pin_tag(d(10)) == pin
    assert plan.pins == {d(10): pin}
    assert [i.tags for i in plan.images] == [("Prod-1",), (pin,), ()]
    assert images[1].tags == ()  # the caller's records are not changed
    assert priorities(plan.policy) == [1, 10, 20, 21, 30, 40]
    assert selected_tag(rule_at(plan.policy, 21)) == pin
    assert plan.protected == (Protected(d(10), pin, threatened_by=30, pinned=True),)
    assert plan.evaluation.expiring_digests == {d(11)}  # the untagged image nobody uses still goes


def test_a_tagged_image_the_catch_all_would_expire_gets_a_rule_after_the_environments() -> None:
    images = [image(1, "Prod-1"), image(5, "feature-x", age=120), image(6, "feature-y", age=120)]
    plan = plan_for(images, {d(5): WEB})

    assert priorities(plan.policy) == [1, 10, 20, 21, 30, 40]
    assert selected_tag(rule_at(plan.policy, 21)) == "feature-x"
    assert plan.protected == (Protected(d(5), "feature-x", threatened_by=40),)
    assert plan.pins == {}
    assert plan.evaluation.expiring_digests == {d(6)}


def test_the_plan_reports_the_evaluation_of_the_desired_policy_on_the_pinned_repository() -> None:
    images = [image(n, f"Prod-{n}", age=n) for n in range(1, 6)] + [image(10, age=30), image(11, "x", age=100)]
    plan = plan_for(images, {d(5): WEB, d(10): WEB, d(11): WEB})
    again = evaluate(plan.policy, plan.images, NOW)
    assert plan.evaluation.expiring_digests == again.expiring_digests == {d(3), d(4)}
    assert plan.evaluation.transitioning_digests == again.transitioning_digests


# ---------------------------------------------------------------------------------------------------------------
# The look-ahead
# ---------------------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(("age", "protected"), [(89.0, True), (88.5, True), (88.0, False), (87.0, False)])
def test_an_image_is_protected_when_the_catch_all_would_take_it_within_the_look_ahead(
    age: float, protected: bool
) -> None:
    images = [image(1, "Prod-1"), image(5, "feature-x", age=age)]
    assert d(5) not in base_lost(plan_for(images, {}), images)  # not at risk today

    plan = plan_for(images, {d(5): WEB})

    assert LOOKAHEAD_DAYS == 2
    assert plan.protects is protected
    assert (plan.policy != plan.base_policy) is protected
    assert d(5) not in lost(plan, NOW + LOOKAHEAD_DAYS * DAY_SECONDS) or not protected


def test_an_image_only_at_risk_within_the_look_ahead_is_not_protected_without_one() -> None:
    images = [image(1, "Prod-1"), image(5, "feature-x", age=89)]
    assert plan_for(images, {d(5): WEB}, lookahead_days=0).policy == compile_policy_for(CONFIG)


def test_an_untagged_image_a_day_before_the_untagged_rule_takes_it_is_pinned() -> None:
    images = [image(1, "Prod-1"), image(10, age=6), image(11, age=3)]
    plan = plan_for(images, {d(10): WEB, d(11): WEB})
    assert set(plan.pins) == {d(10)}  # 6 + 2 days is past 7; 3 + 2 is not


# ---------------------------------------------------------------------------------------------------------------
# Which tag a protection selects
# ---------------------------------------------------------------------------------------------------------------

PIN_5 = pin_tag(d(5))


@pytest.mark.parametrize(
    ("tags", "chosen", "threatened_by"),
    [
        (("feature-x", "1234", "Prod-3", PIN_5), PIN_5, 10),
        (("feature-x", "1234", "Prod-3"), "Prod-3", 10),
        (("Staging-7", "Prod-3"), "Prod-3", 10),
        (("feature-x", "1234"), "1234", 30),
        (("zeta", "alpha"), "alpha", 30),
        ((PIN_5,), PIN_5, 30),
    ],
    ids=["pin-first", "env-tag-over-build-tag", "first-env-tag", "build-tag-over-other", "other-tags", "old-pin"],
)
def test_the_tag_least_likely_to_move_is_selected(tags: tuple[str, ...], chosen: str, threatened_by: int) -> None:
    # prod keeps 1 (rules: 1 latest, 10 prod, 20 untagged, 30 catch-all), so a Prod-tagged image 100 days old is
    # the third newest Prod image and beyond keep; any other image of that age is the catch-all's.
    config = make_config(environments=[{"name": "prod", "tagPrefix": "Prod", "keep": 1}])
    images = [image(1, "Prod-90"), image(2, "Prod-91", age=2), image(5, *tags, age=100)]
    plan = plan_for(images, {d(5): WEB}, config)

    assert plan.protected == (Protected(d(5), chosen, threatened_by=threatened_by),)
    assert [selected_tag(rule) for rule in in_use_rules(plan.policy)] == [chosen]
    assert plan.pins == {}  # a pin already on the image is reused, never a second one
    assert d(5) not in plan.evaluation.expiring_digests


@pytest.mark.parametrize(("pattern", "chosen"), [("^build-[0-9]+$", "build-7"), ("^[0-9]+$", "aaa")])
def test_build_tags_are_recognised_by_the_configured_build_tag_pattern(pattern: str, chosen: str) -> None:
    config = make_config(buildTagPattern=pattern)
    images = [image(1, "Prod-1"), image(5, "aaa", "build-7", age=100)]
    plan = plan_for(images, {d(5): WEB}, config)
    assert [p.tag for p in plan.protected] == [chosen]


# ---------------------------------------------------------------------------------------------------------------
# More environment-threatened images than priorities 1 to 9 hold: the keep is raised
# ---------------------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("protect_tags", [[], ["latest"], ["latest", "stable", "release-*"]])
def test_when_priorities_1_to_9_are_full_the_environments_keep_is_raised(protect_tags: list[str]) -> None:
    config = make_config(
        protectTags=protect_tags,
        environments=[{"name": "prod", "tagPrefix": "Prod", "keep": 1}, {"name": "dev", "tagPrefix": "Dev", "keep": 1}],
    )
    images = [image(n, f"Prod-{n}", age=n) for n in range(1, 15)]  # Prod-1 newest ... Prod-14 oldest
    in_use = {d(n): WEB for n in range(3, 14)}  # 11 rollbacks and scaled-to-0 services, ranks 3 to 13
    plan = plan_for(images, in_use, config)

    slots = 9 - len(protect_tags)
    below_ten = [p for p in priorities(plan.policy) if p < 10]
    assert below_ten == list(range(1, 10))  # every priority below the first environment rule is used
    assert len(in_use_rules(plan.policy)) == slots
    raised = [p for p in plan.protected if p.raised_keep is not None]
    assert len(raised) == len(in_use) - slots
    assert {p.raised_keep for p in raised} == {"prod"}
    assert all(p.tag is None for p in raised)
    assert {p.digest for p in plan.protected} == set(in_use)

    prod_rule = rule_at(plan.policy, 10)
    keep = prod_rule["selection"]["countNumber"]
    assert keep > 1
    assert "raised from 1" in prod_rule["description"]
    assert rule_at(plan.policy, 20)["selection"]["countNumber"] == 1  # dev is untouched
    for moment in (NOW, NOW + LOOKAHEAD_DAYS * DAY_SECONDS):
        assert not lost(plan, moment) & in_use.keys()
    assert d(14) in plan.evaluation.expiring_digests  # older than every in-use image: still expired
    assert validate_policy(plan.policy) == []


# ---------------------------------------------------------------------------------------------------------------
# What cannot be protected
# ---------------------------------------------------------------------------------------------------------------


def test_past_ecrs_fifty_rules_the_rest_is_reported_unprotected_and_the_guard_refuses_it() -> None:
    # 5 rules of the config's own; 45 in-use rules fit; 47 untagged in-use images need one.
    images = [image(1, "Prod-1")] + [image(100 + n, age=30) for n in range(47)]
    in_use = {d(100 + n): (f"ecs-service:prod/svc-{n}",) for n in range(47)}
    plan = plan_for(images, in_use)

    assert len(plan.policy["rules"]) == MAX_RULES
    assert validate_policy(plan.policy) == []
    assert len(plan.protected) == 45
    assert len(plan.unprotected) == 2
    assert {u.reason for u in plan.unprotected} == {UnprotectedReason.PROTECTION_LIMIT}
    unprotected = {u.digest for u in plan.unprotected}
    assert not unprotected & plan.pins.keys()  # no pin for an image no rule will select
    assert len(plan.pins) == 45
    # After-rules 21..65, so the untagged and catch-all rules move to the next multiples of 10.
    assert priorities(plan.policy) == [1, 10, 20, *range(21, 66), 70, 80]
    assert plan.evaluation.expiring_digests == unprotected

    verdict = check_guard(CONFIG.safety, plan.images, plan.evaluation, in_use)
    assert not verdict.allowed
    assert GuardReason.EXPIRES_IN_USE_IMAGE in verdict.reasons
    assert {c.digest for c in verdict.conflicts} == unprotected
    assert all(c.consumers == in_use[c.digest] for c in verdict.conflicts)


def test_an_image_whose_pin_could_not_be_added_is_reported_unprotected() -> None:
    images = [image(1, "Prod-1"), image(10, age=30), image(11, age=30)]
    in_use = {d(10): WEB, d(11): WEB}
    plan = plan_for(images, in_use, cannot_pin=[d(10)])

    assert plan.unprotected == (Unprotected(d(10), (), UnprotectedReason.CANNOT_PIN),)
    assert plan.pins == {d(11): pin_tag(d(11))}
    assert d(10) in plan.evaluation.expiring_digests
    verdict = check_guard(CONFIG.safety, plan.images, plan.evaluation, in_use)
    assert [c.digest for c in verdict.conflicts] == [d(10)]


def test_an_archived_untagged_in_use_image_cannot_be_protected() -> None:
    images = [image(1, "Prod-1"), image(20, age=200, archived_days_ago=100)]
    plan = plan_for(images, {d(20): WEB}, ARCHIVE_CONFIG)

    assert plan.unprotected == (Unprotected(d(20), (), UnprotectedReason.ARCHIVED_UNTAGGED),)
    assert plan.pins == {}  # a pin on an archived image would restore it
    assert d(20) in plan.evaluation.expiring_digests
    verdict = check_guard(ARCHIVE_CONFIG.safety, plan.images, plan.evaluation, {d(20): WEB})
    assert verdict.reasons[0] == GuardReason.EXPIRES_IN_USE_IMAGE


# ---------------------------------------------------------------------------------------------------------------
# Archive class
# ---------------------------------------------------------------------------------------------------------------


def test_an_archived_tagged_in_use_image_gets_an_archive_class_rule_that_keeps_it() -> None:
    images = [
        image(1, "Prod-1"),
        image(20, "feature-x", age=200, archived_days_ago=100),
        image(21, "feature-y", age=200, archived_days_ago=100),
    ]
    base = plan_for(images, {}, ARCHIVE_CONFIG)
    assert base.evaluation.expiring_digests == {d(20), d(21)}

    plan = plan_for(images, {d(20): WEB}, ARCHIVE_CONFIG)

    assert priorities(plan.policy) == [1, 10, 20, 21, 30, 40, 50]
    assert rule_at(plan.policy, 21)["selection"] == {
        "tagStatus": "tagged",
        "tagPatternList": ["feature-x"],
        "storageClass": "archive",
        "countType": "sinceImageTransitioned",
        "countUnit": "days",
        "countNumber": MAX_COUNT,
    }
    assert plan.evaluation.expiring_digests == {d(21)}
    assert validate_policy(plan.policy) == []


def test_an_in_use_image_not_pulled_for_long_is_kept_in_the_standard_class() -> None:
    images = [
        image(1, "Prod-1"),
        image(5, "feature-x", age=60, pulled_days_ago=40),
        image(6, "feature-y", age=60, pulled_days_ago=40),
    ]
    plan = plan_for(images, {d(5): WEB}, ARCHIVE_CONFIG)

    rule = rule_at(plan.policy, 21)
    assert selected_tag(rule) == "feature-x"
    assert "storageClass" not in rule["selection"]
    assert plan.protected == (Protected(d(5), "feature-x", threatened_by=40),)
    assert plan.evaluation.transitioning_digests == {d(6)}


# ---------------------------------------------------------------------------------------------------------------
# Multi-arch images
# ---------------------------------------------------------------------------------------------------------------


def multi_arch(*index_tags: str) -> list[ImageRecord]:
    """An index (tagged or not) over two untagged platform images, all 120 days old, next to a fresh Prod image."""
    return [
        image(1, "Prod-1"),
        image(50, *index_tags, age=120, children=(d(501), d(502))),
        image(501, age=120),
        image(502, age=120),
    ]


@pytest.mark.parametrize("index_tags", [("feature-x",), ()], ids=["tagged-index", "untagged-index"])
def test_an_in_use_index_is_protected_and_its_platform_images_need_no_pin(index_tags: tuple[str, ...]) -> None:
    images = multi_arch(*index_tags)
    assert {d(50), d(501), d(502)} <= base_lost(plan_for(images, {}), images)

    plan = plan_for(images, {d(50): WEB})

    assert [p.digest for p in plan.protected] == [d(50)]
    assert plan.pins == ({} if index_tags else {d(50): pin_tag(d(50))})
    assert len(in_use_rules(plan.policy)) == 1
    for moment in (NOW, NOW + LOOKAHEAD_DAYS * DAY_SECONDS):
        assert not lost(plan, moment) & {d(50), d(501), d(502)}
    assert {d(501), d(502)} <= plan.evaluation.kept_by_manifest_list


def test_a_running_platform_image_protects_its_index() -> None:
    images = multi_arch("feature-x")
    plan = plan_for(images, {d(501): WEB})

    assert [(p.digest, p.tag) for p in plan.protected] == [(d(50), "feature-x")]
    assert plan.pins == {}
    assert not lost(plan) & {d(50), d(501), d(502)}


def test_threats_name_the_consumer_of_an_index_on_its_platform_images() -> None:
    images = multi_arch("feature-x")
    found = threats(compile_policy_for(CONFIG), images, {d(50): WEB}, NOW)

    assert set(found) == {d(50), d(501), d(502)}
    assert found[d(50)].action == EXPIRE
    assert found[d(50)].rule_priority == 40
    assert found[d(501)].consumers == WEB
    assert found[d(501)].to_dict()["consumers"] == list(WEB)


def test_threats_look_ahead_only_when_asked() -> None:
    images = [image(1, "Prod-1"), image(5, "feature-x", age=89)]
    policy = compile_policy_for(CONFIG)
    assert set(threats(policy, images, {d(5): WEB}, NOW)) == {d(5)}
    assert threats(policy, images, {d(5): WEB}, NOW, lookahead_days=0) == {}
    assert threats(policy, images, {}, NOW) == {}


# ---------------------------------------------------------------------------------------------------------------
# The protected policy as a whole
# ---------------------------------------------------------------------------------------------------------------


def busy_repository() -> tuple[Config, list[ImageRecord], dict[str, tuple[str, ...]]]:
    """Every kind of protection at once, with three protectTags and archiving."""
    config = make_config(
        protectTags=["latest", "stable", "release-*"],
        catchAll={"archiveAfterDays": 30, "expireArchivedAfterDays": 90},
    )
    images = [
        *(image(n, f"Prod-{n}", age=n) for n in range(1, 7)),  # keep 2
        *(image(n, f"Staging-{n}", "1234" if n == 13 else f"b{n}", age=n) for n in range(10, 15)),
        image(20, "feature-x", age=200, archived_days_ago=100),
        image(21, age=200, archived_days_ago=100),
        image(30, age=30),
        image(31, "feature-y", age=60, pulled_days_ago=45),
        image(50, age=120, children=(d(501), d(502))),
        image(501, age=120),
        image(502, age=120),
    ]
    in_use: dict[str, tuple[str, ...]] = {
        d(4): ("ecs-task:prod/web",),
        d(6): ("ecs-service:prod/batch",),
        d(13): ("lambda:staging-api",),
        d(20): ("ecs-service:prod/idle",),
        d(30): ("scheduler:nightly",),
        d(31): ("event-rule:hourly",),
        d(502): ("ecs-task:prod/arm",),
    }
    return config, images, in_use


def test_the_protected_policy_passes_every_ecr_constraint_and_keeps_everything_in_use() -> None:
    config, images, in_use = busy_repository()
    plan = plan_for(images, in_use, config)

    assert validate_policy(plan.policy) == []
    assert plan.unprotected == ()
    protected = expand_in_use(plan.images, frozenset(in_use))
    assert d(50) in protected  # the index of the running platform image
    for moment in (NOW, NOW + LOOKAHEAD_DAYS * DAY_SECONDS):
        assert not lost(plan, moment) & protected
    assert lost(plan) <= base_lost(plan, images)  # protection only ever keeps more
    assert set(plan.pins) == {d(30), d(50)}
    verdict = check_guard(config.safety, plan.images, plan.evaluation, in_use)
    assert GuardReason.EXPIRES_IN_USE_IMAGE not in verdict.reasons


def test_the_same_inputs_give_the_byte_identical_policy_in_any_order() -> None:
    config, images, in_use = busy_repository()
    first = plan_for(images, in_use, config)
    again = plan_for(images, in_use, config)
    reordered = plan_for(list(reversed(images)), dict(reversed(list(in_use.items()))), config)

    assert policy_text(again.policy) == policy_text(first.policy)
    assert policy_text(reordered.policy) == policy_text(first.policy)
    assert reordered.pins == first.pins
    assert set(reordered.protected) == set(first.protected)


def test_protection_rules_are_ordered_by_tag_within_their_group() -> None:
    # Newest first: Prod-1, Prod-2, Prod-9, Prod-10, Prod-8, Prod-11 (keep 2): tag order is neither age nor digest.
    prod_tags = {1: "Prod-1", 2: "Prod-2", 3: "Prod-9", 4: "Prod-10", 5: "Prod-8", 6: "Prod-11"}
    images = [
        *(image(n, tag, age=n) for n, tag in prod_tags.items()),
        image(40, "zeta", age=120),
        image(41, "alpha", age=120),
        image(42, "mid", age=200, archived_days_ago=100),
    ]
    in_use = {d(n): WEB for n in (3, 4, 5, 6, 40, 41, 42)}
    plan = plan_for(images, in_use, ARCHIVE_CONFIG)

    before = [selected_tag(r) for r in in_use_rules(plan.policy) if r["rulePriority"] < 10]
    assert before == ["Prod-10", "Prod-11", "Prod-8", "Prod-9"]
    after = [r for r in in_use_rules(plan.policy) if r["rulePriority"] > 10]
    # After the environments: the archive-class rules first, then the standard class, each by tag.
    assert [(r["selection"].get("storageClass", "standard"), selected_tag(r)) for r in after] == [
        ("archive", "mid"),
        ("standard", "alpha"),
        ("standard", "zeta"),
    ]


# ---------------------------------------------------------------------------------------------------------------
# Protection ends with the consumer
# ---------------------------------------------------------------------------------------------------------------


def test_protection_ends_when_the_consumer_is_gone() -> None:
    images = [image(n, f"Prod-{n}", age=n) for n in range(1, 5)]
    assert plan_for(images, {d(4): WEB}).protects

    released = plan_for(images, {})
    assert released.policy == released.base_policy
    assert d(4) in released.evaluation.expiring_digests
    assert next(a for a in released.evaluation.actions if a.image.digest == d(4)).rule_priority == 10


@pytest.mark.parametrize(("age", "expired"), [(30.0, False), (120.0, True)])
def test_a_released_pinned_image_is_treated_as_a_tagged_image(age: float, expired: bool) -> None:
    images = [image(1, "Prod-1"), image(10, age=age)]
    pinned = plan_for(images, {d(10): WEB})
    assert set(pinned.pins) == {d(10)}

    # The next sync: the pin is on the image (housekeeper never removes a tag), the consumer is gone.
    released = plan_for(pinned.images, {})

    assert released.policy == released.base_policy
    assert released.pins == {}
    assert released.protected == ()
    assert (d(10) in released.evaluation.expiring_digests) is expired
    if expired:  # by the catch-all, not by the untagged rule: it carries a tag now
        assert [a.rule_priority for a in released.evaluation.actions if a.image.digest == d(10)] == [40]


# ---------------------------------------------------------------------------------------------------------------
# Product bugs found while writing these tests
# ---------------------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("prefix", ["hk", "hk-pin"])
def test_a_pinned_image_is_not_expired_by_an_environment_whose_prefix_matches_pin_tags(prefix: str) -> None:
    data = config_data(environments=[{"name": "ops", "tagPrefix": prefix, "keep": 1}])
    try:
        config = load_config(data)
    except ConfigInvalid:
        return  # rejecting the reserved prefix is a fix too
    images = [image(1, f"{prefix}-1"), image(10, age=30)]
    in_use = {d(10): WEB}
    plan = plan_for(images, in_use, config)

    unprotected = {u.digest for u in plan.unprotected}
    assert d(10) in unprotected or d(10) not in lost(plan)
    assert not {p.digest for p in plan.protected} & lost(plan)


@pytest.mark.parametrize("case", ["many-environments", "after-rules-full-then-a-platform-image"])
def test_protection_before_the_environments_never_takes_the_policy_past_fifty_rules(case: str) -> None:
    if case == "many-environments":
        # 45 environments + untagged + catch-all = 47 rules, which load_config accepts.
        environments = [{"name": f"e{n}", "tagPrefix": f"E{n}", "keep": 1} for n in range(45)]
        config = make_config(environments=environments, protectTags=[])
        images = [image(n, f"E0-{n}", age=n) for n in range(1, 7)]
        in_use = {d(n): WEB for n in range(2, 7)}  # five images beyond keep 1
    else:
        # One environment: 3 rules, 47 after-environment rules fill the policy; then the index of a Prod-tagged
        # platform image is the one left unprotected, and the platform image gets a rule before the environments.
        config = make_config(environments=[{"name": "prod", "tagPrefix": "Prod", "keep": 1}], protectTags=[])
        images = [image(n, age=30) for n in range(100, 147)]
        images += [image(900, age=30, children=(d(901),)), image(901, "Prod-1", age=30), image(902, "Prod-2")]
        in_use = {i.digest: WEB for i in images if i.digest not in (d(901), d(902))}
    plan = plan_for(images, in_use, config)

    assert validate_policy(plan.policy) == []
    unprotected = {u.digest for u in plan.unprotected}
    assert lost(plan) & expand_in_use(plan.images, frozenset(in_use)) <= unprotected


# ---------------------------------------------------------------------------------------------------------------
# The guard
# ---------------------------------------------------------------------------------------------------------------


@dataclass
class Outcome:
    expiring_digests: frozenset[str] = field(default_factory=frozenset)
    transitioning_digests: frozenset[str] = field(default_factory=frozenset)


TEN = [image(n, f"Prod-{n}", age=n) for n in range(1, 11)]


def digests(*numbers: int) -> frozenset[str]:
    return frozenset(d(n) for n in numbers)


def test_archiving_more_than_the_configured_fraction_is_blocked() -> None:
    verdict = check_guard(Safety(), TEN, Outcome(transitioning_digests=digests(*range(1, 7))), set())
    assert verdict.reasons == (GuardReason.EXCEEDS_MAX_ARCHIVE_FRACTION,)
    assert verdict.transitioning == 6
    assert "archive 6 of 10" in verdict.details[0]
    assert "maxArchiveFraction" in verdict.details[0]


def test_archiving_up_to_the_configured_fraction_is_allowed() -> None:
    assert check_guard(Safety(), TEN, Outcome(transitioning_digests=digests(*range(1, 6))), set()).allowed
    relaxed = Safety(max_archive_fraction=0.8)
    assert check_guard(relaxed, TEN, Outcome(transitioning_digests=digests(*range(1, 9))), set()).allowed


def test_the_expire_and_archive_fractions_are_separate() -> None:
    outcome = Outcome(expiring_digests=digests(1, 2, 3, 4), transitioning_digests=digests(5, 6, 7, 8))
    assert check_guard(Safety(), TEN, outcome, set()).allowed


def test_a_protective_write_is_allowed_above_the_expire_fraction() -> None:
    stored = Outcome(digests(*range(1, 9)))  # the policy ECR holds expires 8 of 10
    candidate = Outcome(digests(*range(1, 8)))  # 7 of 10, all of which the stored policy expires anyway
    verdict = check_guard(Safety(), TEN, candidate, set(), stored=stored)
    assert verdict.allowed
    assert verdict.protective
    assert verdict.expiring == 7


def test_a_write_that_expires_anything_the_stored_policy_keeps_is_held_to_the_fraction() -> None:
    stored = Outcome(digests(*range(1, 9)))
    candidate = Outcome(digests(1, 2, 3, 4, 5, 6, 9))  # image 9 is kept today
    verdict = check_guard(Safety(), TEN, candidate, set(), stored=stored)
    assert verdict.reasons == (GuardReason.EXCEEDS_MAX_EXPIRE_FRACTION,)
    assert not verdict.protective


def test_without_a_stored_policy_no_write_is_protective() -> None:
    verdict = check_guard(Safety(), TEN, Outcome(digests(*range(1, 8))), set(), stored=None)
    assert verdict.reasons == (GuardReason.EXCEEDS_MAX_EXPIRE_FRACTION,)


@pytest.mark.parametrize(
    ("candidate", "protective"),
    [
        (Outcome(transitioning_digests=digests(8)), True),  # archives what the stored policy deletes
        (Outcome(transitioning_digests=digests(9)), False),  # archives what the stored policy keeps
        (Outcome(digests(7), digests(8)), True),
        (Outcome(digests(9)), False),
    ],
    ids=["archive-instead-of-expire", "archive-a-kept-image", "subset", "expire-a-kept-image"],
)
def test_what_counts_as_protective(candidate: Outcome, protective: bool) -> None:
    stored = Outcome(digests(*range(1, 9)))
    assert is_protective(candidate, stored) is protective


def test_a_protective_write_is_still_refused_when_it_expires_an_image_in_use() -> None:
    stored = Outcome(digests(*range(1, 9)))
    verdict = check_guard(Safety(), TEN, Outcome(digests(*range(1, 8))), {d(7): WEB}, stored=stored)
    assert verdict.reasons == (GuardReason.EXPIRES_IN_USE_IMAGE,)


def test_conflicts_carry_their_consumers_when_in_use_is_a_mapping() -> None:
    in_use = {d(2): ["lambda:api:live", "ecs-service:prod/web"]}
    verdict = check_guard(Safety(), TEN, Outcome(digests(1, 2)), in_use)
    (conflict,) = verdict.conflicts
    assert conflict.consumers == ("ecs-service:prod/web", "lambda:api:live")
    assert conflict.used_by == "ecs-service:prod/web, lambda:api:live"
    assert conflict.to_dict()["consumers"] == ["ecs-service:prod/web", "lambda:api:live"]
    assert "used by ecs-service:prod/web, lambda:api:live" in verdict.details[0]


def test_a_conflict_names_at_most_three_consumers() -> None:
    in_use = {d(2): [f"ecs-task:prod/t{n}" for n in range(5)]}
    (conflict,) = check_guard(Safety(), TEN, Outcome(digests(2)), in_use).conflicts
    assert conflict.used_by == "ecs-task:prod/t0, ecs-task:prod/t1, ecs-task:prod/t2 and 2 more"


def test_a_platform_image_conflict_names_the_consumer_of_its_index() -> None:
    images = multi_arch("feature-x")
    verdict = check_guard(Safety(), images, Outcome(digests(501)), {d(50): WEB})
    assert [(c.digest, c.consumers) for c in verdict.conflicts] == [(d(501), WEB)]


def test_conflicts_without_consumers_say_in_use() -> None:
    (conflict,) = check_guard(Safety(), TEN, Outcome(digests(2)), {d(2)}).conflicts
    assert conflict.consumers == ()
    assert conflict.used_by == "in use"


def test_an_archived_in_use_image_is_a_transition_conflict() -> None:
    verdict = check_guard(Safety(), TEN, Outcome(transitioning_digests=digests(3)), {d(3): WEB})
    assert [(c.digest, c.action) for c in verdict.conflicts] == [(d(3), TRANSITION)]


# ---------------------------------------------------------------------------------------------------------------
# Safety relaxations
# ---------------------------------------------------------------------------------------------------------------


def test_the_default_safety_model_relaxes_nothing() -> None:
    assert Safety().relaxations() == ()
    assert Safety(in_use=InUseSettings(clusters=("prod-*", "*"))).relaxations() == ()
    assert Safety(max_expire_fraction=0.5, max_archive_fraction=0.1).relaxations() == ()


def test_protect_in_use_off_is_one_relaxation_that_covers_the_inventory() -> None:
    safety = Safety(protect_in_use=False, in_use=InUseSettings(clusters=("prod-*",), ecs_tasks=False))
    assert safety.relaxations() == ("safety.protectInUse is false: images in use are not protected",)


@pytest.mark.parametrize(
    ("safety", "expected"),
    [
        (Safety(max_expire_fraction=0.6), "safety.maxExpireFraction is 0.6 (default 0.5)"),
        (Safety(max_archive_fraction=1.0), "safety.maxArchiveFraction is 1 (default 0.5)"),
        (
            Safety(in_use=InUseSettings(clusters=("prod-*", "staging-*"))),
            "safety.inUse.clusters is ['prod-*', 'staging-*']: other clusters are not scanned",
        ),
    ],
    ids=["expire-fraction", "archive-fraction", "clusters"],
)
def test_each_weaker_setting_is_reported(safety: Safety, expected: str) -> None:
    assert safety.relaxations() == (expected,)


@pytest.mark.parametrize(("key", "label"), IN_USE_SOURCES, ids=[key for key, _ in IN_USE_SOURCES])
def test_a_source_switched_off_is_a_relaxation(key: str, label: str) -> None:
    config = make_config(safety={"inUse": {key: False}})
    assert config.safety.relaxations() == (f"safety.inUse.{key} is false: {label} are not in the inventory",)
    assert not config.safety.in_use.source_enabled(key)


def test_fractions_and_a_switched_off_protection_are_all_reported() -> None:
    safety = Safety(protect_in_use=False, max_expire_fraction=0.9, max_archive_fraction=0.75)
    assert len(safety.relaxations()) == 3


# ---------------------------------------------------------------------------------------------------------------
# Config: safety.inUse and maxArchiveFraction
# ---------------------------------------------------------------------------------------------------------------


def test_safety_in_use_defaults_to_every_source_and_every_cluster() -> None:
    safety = make_config().safety
    assert safety == Safety()
    assert safety.in_use == InUseSettings()
    assert safety.in_use.clusters == ("*",)
    assert safety.in_use.task_definition_revisions == 0
    assert safety.max_archive_fraction == 0.5
    assert all(safety.in_use.source_enabled(key) for key, _ in IN_USE_SOURCES)


def test_safety_in_use_is_read() -> None:
    config = make_config(
        safety={
            "maxArchiveFraction": 0.2,
            "inUse": {
                "clusters": ["prod-*", "staging-*"],
                "ecsTasks": False,
                "schedulerSchedules": False,
                "taskDefinitionRevisions": 5,
            },
        }
    )
    in_use = config.safety.in_use
    assert config.safety.max_archive_fraction == 0.2
    assert in_use.clusters == ("prod-*", "staging-*")
    assert (in_use.ecs_tasks, in_use.ecs_services, in_use.lambda_functions) == (False, True, True)
    assert (in_use.scheduler_schedules, in_use.event_rules) == (False, True)
    assert in_use.task_definition_revisions == 5
    assert in_use.scans_cluster("prod-eu")
    assert not in_use.scans_cluster("dev-1")


@pytest.mark.parametrize(
    ("safety", "path", "message"),
    [
        ({"inUse": {"taskDefinitionRevisions": 101}}, "$.safety.inUse.taskDefinitionRevisions", "at most 100"),
        ({"inUse": {"taskDefinitionRevisions": -1}}, "$.safety.inUse.taskDefinitionRevisions", "at least 0"),
        ({"inUse": {"taskDefinitionRevisions": 2.5}}, "$.safety.inUse.taskDefinitionRevisions", "integer"),
        ({"inUse": {"taskDefinitionRevisions": True}}, "$.safety.inUse.taskDefinitionRevisions", "integer"),
        ({"inUse": {"lambdaFunctions": "yes"}}, "$.safety.inUse.lambdaFunctions", "true or false"),
        ({"inUse": {"ecsServices": 0}}, "$.safety.inUse.ecsServices", "true or false"),
        ({"inUse": {"eventRules": None}}, "$.safety.inUse.eventRules", "true or false"),
        ({"inUse": {"clusters": []}}, "$.safety.inUse.clusters", "must not be empty"),
        ({"inUse": {"clusters": "*"}}, "$.safety.inUse.clusters", "list of strings"),
        ({"inUse": {"clusters": [""]}}, "$.safety.inUse.clusters[0]", "non-empty string"),
        ({"inUse": {"ecsTask": False}}, "$.safety.inUse.ecsTask", "did you mean 'ecsTasks'?"),
        ({"inUse": []}, "$.safety.inUse", "must be an object"),
        ({"maxArchiveFraction": 0}, "$.safety.maxArchiveFraction", "greater than 0 and at most 1"),
        ({"maxArchiveFraction": 1.5}, "$.safety.maxArchiveFraction", "greater than 0 and at most 1"),
        ({"maxArchiveFraction": True}, "$.safety.maxArchiveFraction", "greater than 0 and at most 1"),
        ({"maxArchiveFraction": "0.5"}, "$.safety.maxArchiveFraction", "greater than 0 and at most 1"),
    ],
)
def test_bad_safety_values_are_reported_at_their_json_path(safety: dict[str, Any], path: str, message: str) -> None:
    problems = problems_of(config_data(safety=safety))
    assert path in problems, problems
    assert message in problems[path]


def test_every_safety_problem_is_reported_at_once() -> None:
    problems = problems_of(
        config_data(
            safety={
                "maxArchiveFraction": 2,
                "inUse": {"taskDefinitionRevisions": 101, "lambdaFunctions": "no", "clusters": []},
            }
        )
    )
    assert set(problems) == {
        "$.safety.maxArchiveFraction",
        "$.safety.inUse.taskDefinitionRevisions",
        "$.safety.inUse.lambdaFunctions",
        "$.safety.inUse.clusters",
    }


@pytest.mark.parametrize(
    "changes",
    [
        {},
        {
            "safety": {
                "protectInUse": False,
                "maxExpireFraction": 0.9,
                "maxArchiveFraction": 0.25,
                "inUse": {"clusters": ["prod-*"], "eventRules": False, "taskDefinitionRevisions": 100},
            }
        },
        {"catchAll": {"archiveAfterDays": 30, "expireArchivedAfterDays": 90}, "untagged": None},
        {"overrides": [{"repositories": ["tools/*"], "untagged": None, "environments": {"prod": {"keep": 9}}}]},
    ],
    ids=["defaults", "relaxed-safety", "archive", "override"],
)
def test_a_config_survives_dump_and_load(changes: dict[str, Any]) -> None:
    config = make_config(**changes)
    dumped = dump_config(config)
    assert load_config(dumped) == config
    assert load_config(json.dumps(dumped)) == config


def test_the_example_config_survives_dump_and_load() -> None:
    config = load_config(EXAMPLE_CONFIG_FILE.read_text())
    assert load_config(dump_config(config)) == config
