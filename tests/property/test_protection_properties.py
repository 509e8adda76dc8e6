"""Properties of the standing in-use protection over random configs, repositories and in-use sets, with the real
compiler, evaluator, validator and guard: the desired policy keeps every in-use image it does not report as
unprotected, now and over the look-ahead, and it only ever keeps more than the config's policy would.
"""

from __future__ import annotations

import random as random_module
from typing import Any

from housekeeper.core.config import Config, load_config
from housekeeper.core.evaluator import DAY_SECONDS, evaluate, newest_first
from housekeeper.core.guard import GuardReason, check_guard, expand_in_use
from housekeeper.core.images import ARCHIVE, STANDARD, ImageRecord
from housekeeper.core.policy import policy_text, validate_policy
from housekeeper.core.protection import LOOKAHEAD_DAYS, ProtectionPlan, pin_tag, plan_protection
from hypothesis import assume, given, settings
from hypothesis import strategies as st

NOW = 1_750_000_000.0
DAY = 86_400.0
# No prefix here may make a stem ("<prefix>-") that starts the reserved pin prefix "hk-pin-" (see the unit tests).
PREFIXES = ("Prod", "Staging", "Dev")
PROTECT_PATTERNS = ("latest", "release-*", "stable")
OTHER_TAGS = ("latest", "stable", "release-1", "release-2", "feature-x", "feature-y", "main", "v1.2")
BUILD_TAGS = tuple(str(n) for n in (7, 42, 1234, 1235, 99999))
FOREIGN = "sha256:" + "e" * 64  # runs, but lives in another repository


def digest(n: int) -> str:
    return f"sha256:{n:064x}"


@st.composite
def configs(draw: st.DrawFn) -> Config:
    environments = [
        {"name": prefix.lower(), "tagPrefix": prefix, "keep": draw(st.integers(1, 6)), "clusters": [f"{prefix}-*"]}
        for prefix in PREFIXES[: draw(st.integers(1, 3))]
    ]
    catch_all: dict[str, Any]
    if draw(st.booleans()):
        catch_all = {"archiveAfterDays": draw(st.integers(1, 120))}
        if draw(st.booleans()):
            catch_all["expireArchivedAfterDays"] = draw(st.integers(90, 200))
    else:
        catch_all = {"expireAfterDays": draw(st.integers(1, 120))}
    data: dict[str, Any] = {
        "version": 1,
        "mode": "enforce",
        "environments": environments,
        "catchAll": catch_all,
        "protectTags": draw(st.lists(st.sampled_from(PROTECT_PATTERNS), unique=True, max_size=3)),
    }
    if draw(st.booleans()):
        data["untagged"] = {"expireAfterDays": draw(st.integers(1, 30))}
    return load_config(data)


@st.composite
def repositories(draw: st.DrawFn) -> list[ImageRecord]:
    """0-40 images; every tag on at most one image (as in ECR); some archived; some manifest lists over untagged
    children; ages 0-400 days (whole and fractional days, so ties and near-boundary ages both occur)."""
    count = draw(st.integers(0, 40))
    env_tags = st.builds(lambda p, b: f"{p}-{b}", st.sampled_from(PREFIXES), st.integers(1, 60))
    tag = st.one_of(env_tags, env_tags, st.sampled_from(OTHER_TAGS), st.sampled_from(BUILD_TAGS))
    used: set[str] = set()
    images: list[ImageRecord] = []
    for index in range(count):
        wanted = draw(st.lists(tag, max_size=3, unique=True)) if draw(st.integers(0, 3)) else []
        tags = [t for t in wanted if t not in used]
        used.update(tags)
        if tags and draw(st.integers(0, 9)) == 0:  # an old pin, left on the image by an earlier protection
            tags.append(pin_tag(digest(index)))
        age = draw(st.one_of(st.integers(0, 400).map(float), st.floats(0, 400)))
        pushed = NOW - age * DAY
        archived = draw(st.integers(0, 4)) == 0
        pulled_days_ago = draw(st.none() | st.integers(0, 400))
        images.append(
            ImageRecord(
                digest=digest(index),
                tags=tuple(tags),
                pushed_at=pushed,
                last_pulled_at=None if pulled_days_ago is None else max(pushed, NOW - pulled_days_ago * DAY),
                last_archived_at=NOW - draw(st.floats(0, age)) * DAY if archived else None,
                storage_class=ARCHIVE if archived else STANDARD,
            )
        )
    # Some images are manifest lists (tagged or not, possibly nested) over untagged platform images.
    untagged = [i for i, image in enumerate(images) if not image.tags]
    for _ in range(draw(st.integers(0, 3)) if untagged and count >= 2 else 0):
        parent = draw(st.integers(0, count - 1))
        # A list references only images numbered after it: digests are content hashes, so there are no cycles.
        children = {c for c in draw(st.sets(st.sampled_from(untagged), min_size=1, max_size=3)) if c > parent}
        image = images[parent]
        if image.child_digests or not children:
            continue
        images[parent] = ImageRecord(
            image.digest,
            image.tags,
            image.pushed_at,
            last_pulled_at=image.last_pulled_at,
            last_archived_at=image.last_archived_at,
            storage_class=image.storage_class,
            child_digests=tuple(images[c].digest for c in sorted(children)),
        )
    return images


def in_use_sets(images: list[ImageRecord], max_size: int) -> st.SearchStrategy[dict[str, tuple[str, ...]]]:
    """Digests of the repository (children of manifest lists among them, and sometimes a digest of another
    repository) mapped to their consumers; never empty when the repository is not."""
    candidates = [image.digest for image in images] + [FOREIGN]
    consumers = st.lists(st.sampled_from(["ecs-task:prod/web", "ecs-service:dev/api", "lambda:jobs"]), min_size=1)
    return st.dictionaries(
        st.sampled_from(candidates),
        consumers.map(lambda c: tuple(sorted(set(c)))),
        min_size=1 if images else 0,
        max_size=max_size,
    )


def acted_on(policy: dict[str, Any], images: tuple[ImageRecord, ...] | list[ImageRecord], moment: float) -> set[str]:
    evaluation = evaluate(policy, images, moment)
    return set(evaluation.expiring_digests | evaluation.transitioning_digests)


def unprotected_digests(plan: ProtectionPlan) -> set[str]:
    return {item.digest for item in plan.unprotected}


@settings(max_examples=200, deadline=None)
@given(config=configs(), images=repositories(), data=st.data())
def test_the_desired_policy_keeps_every_in_use_image_it_does_not_report(
    config: Config, images: list[ImageRecord], data: st.DataObject
) -> None:
    """(a) Now and at the end of the look-ahead, the desired policy expires or archives no in-use digest (children
    and parents of in-use manifest lists included) except those the plan lists as unprotected; (d) ECR accepts it;
    (e) the guard then sees no in-use conflict unless something is unprotected."""
    in_use = data.draw(in_use_sets(images, 14))
    plan = plan_protection(config, images, in_use, NOW)
    protected = expand_in_use(plan.images, frozenset(in_use))
    allowed_losses = unprotected_digests(plan)

    lost: set[str] = set()
    for moment in (NOW, NOW + LOOKAHEAD_DAYS * DAY_SECONDS):
        lost |= acted_on(plan.policy, plan.images, moment)
    assert lost & protected <= allowed_losses

    # Pins go only where they are needed: on untagged in-use images, never on a platform image that a manifest
    # list the policy keeps (in the standard class) already keeps.
    by_digest = {image.digest: image for image in images}
    for pinned, tag in plan.pins.items():
        assert tag == pin_tag(pinned)
        assert pinned in protected
        assert not by_digest[pinned].tags
        assert by_digest[pinned].storage_class == STANDARD
        kept_parents = [
            image.digest
            for image in plan.images
            if pinned in image.child_digests and image.storage_class == STANDARD and image.digest not in lost
        ]
        assert kept_parents == []

    assert validate_policy(plan.policy) == []
    verdict = check_guard(config.safety, plan.images, plan.evaluation, in_use)
    if not plan.unprotected:
        assert GuardReason.EXPIRES_IN_USE_IMAGE not in verdict.reasons
    else:
        # What the plan could not protect and the policy still acts on, the guard names.
        now_lost = (plan.evaluation.expiring_digests | plan.evaluation.transitioning_digests) & allowed_losses
        assert now_lost <= {conflict.digest for conflict in verdict.conflicts}


@settings(max_examples=150, deadline=None)
@given(config=configs(), images=repositories(), data=st.data())
def test_a_few_in_use_images_are_always_protected(
    config: Config, images: list[ImageRecord], data: st.DataObject
) -> None:
    """(b) With at most 5 in-use digests and none of the in-use images archived and untagged (those can carry no
    tag for a rule to select), there is room for every protection: nothing is reported unprotected."""
    in_use = data.draw(in_use_sets(images, 5))
    by_digest = {image.digest: image for image in images}
    expanded = expand_in_use(images, frozenset(in_use))
    assume(not any(by_digest[d].storage_class == ARCHIVE and not by_digest[d].tags for d in expanded if d in by_digest))
    plan = plan_protection(config, images, in_use, NOW)
    assert plan.unprotected == ()
    assert not (acted_on(plan.policy, plan.images, NOW) & expanded)


@settings(max_examples=150, deadline=None)
@given(config=configs(), images=repositories(), data=st.data())
def test_protection_only_ever_keeps_more_than_the_config_policy(
    config: Config, images: list[ImageRecord], data: st.DataObject
) -> None:
    """(c) The desired policy expires a subset of what the config's policy expires, and archives a subset of what
    it archives.

    Two comparisons, both at `now`:
    - against the base policy on the *original* images: this is the one that matters to a user, because it is
      what ECR would do to the repository as it stands today without protection. Pins are part of the change
      being judged (they move an untagged image from the untagged rule to an in-use rule), so the base must see
      the repository without them;
    - against the base policy on `plan.images` (pins included): both policies see the same images, so this
      isolates the rules the protection adds; a pin alone must not make the desired policy act on anything.
    The manifest-list guard can only spare more children when protection keeps a list, never fewer.
    """
    in_use = data.draw(in_use_sets(images, 14))
    plan = plan_protection(config, images, in_use, NOW)
    desired = evaluate(plan.policy, plan.images, NOW)
    for base in (evaluate(plan.base_policy, images, NOW), evaluate(plan.base_policy, plan.images, NOW)):
        assert desired.expiring_digests <= base.expiring_digests
        assert desired.transitioning_digests <= base.transitioning_digests
    assert plan.evaluation.expiring_digests == desired.expiring_digests
    assert plan.evaluation.transitioning_digests == desired.transitioning_digests


@settings(max_examples=100, deadline=None)
@given(config=configs(), images=repositories(), data=st.data())
def test_the_plan_is_independent_of_input_order(config: Config, images: list[ImageRecord], data: st.DataObject) -> None:
    """The same repository and inventory, listed in another order, give the byte-identical policy and pins."""
    in_use = data.draw(in_use_sets(images, 8))
    seed = data.draw(st.integers(0, 2**32 - 1))
    shuffle = random_module.Random(seed)
    reordered_images = list(images)
    shuffle.shuffle(reordered_images)
    reordered_in_use = dict(shuffle.sample(sorted(in_use.items()), len(in_use)))

    first = plan_protection(config, images, in_use, NOW)
    second = plan_protection(config, reordered_images, reordered_in_use, NOW)
    assert policy_text(second.policy) == policy_text(first.policy)
    assert second.pins == first.pins
    assert set(second.protected) == set(first.protected)
    assert set(second.unprotected) == set(first.unprotected)


@settings(max_examples=100, deadline=None)
@given(config=configs(), images=repositories())
def test_with_nothing_in_use_the_plan_is_the_config_policy(config: Config, images: list[ImageRecord]) -> None:
    plan = plan_protection(config, images, {}, NOW)
    assert plan.policy == plan.base_policy
    assert plan.pins == {}
    assert plan.protected == ()
    assert plan.images == tuple(images)


@st.composite
def crowded(draw: st.DrawFn) -> tuple[Config, list[ImageRecord], dict[str, tuple[str, ...]]]:
    """One busy environment with a small keep and many of its images in use (rollbacks, services scaled to 0):
    more need protecting than priorities 1 to 9 can hold, so the planner has to raise the keep count."""
    protect_tags = draw(st.lists(st.sampled_from(PROTECT_PATTERNS), unique=True, max_size=3))
    config = load_config(
        {
            "environments": [
                {"name": "prod", "tagPrefix": "Prod", "keep": draw(st.integers(1, 3))},
                {"name": "dev", "tagPrefix": "Dev", "keep": draw(st.integers(1, 3))},
            ],
            "protectTags": protect_tags,
            "untagged": {"expireAfterDays": 7},
            "catchAll": {"expireAfterDays": draw(st.integers(30, 120))},
        }
    )
    count = draw(st.integers(10, 30))
    images = [
        ImageRecord(
            digest=digest(n),
            tags=(f"{draw(st.sampled_from(['Prod', 'Prod', 'Dev']))}-{n}",),
            pushed_at=NOW - draw(st.integers(0, 200)) * DAY,  # whole days: equal push times are broken by digest
        )
        for n in range(count)
    ]
    chosen = draw(st.sets(st.integers(0, count - 1), min_size=5, max_size=count))
    return config, images, {digest(n): ("ecs-service:prod/web",) for n in chosen}


@settings(max_examples=150, deadline=None)
@given(case=crowded())
def test_a_crowded_environment_keeps_every_in_use_image_by_raising_its_keep(
    case: tuple[Config, list[ImageRecord], dict[str, tuple[str, ...]]],
) -> None:
    config, images, in_use = case
    plan = plan_protection(config, images, in_use, NOW)

    assert plan.unprotected == ()
    for moment in (NOW, NOW + LOOKAHEAD_DAYS * DAY_SECONDS):
        assert not acted_on(plan.policy, plan.images, moment) & in_use.keys()
    assert validate_policy(plan.policy) == []
    base = evaluate(plan.base_policy, images, NOW)
    assert plan.evaluation.expiring_digests <= base.expiring_digests
    # Rules before the first environment rule: the protectTags, then in-use rules, at priorities 1, 2, ... 9 at most;
    # a keep count is raised only once those priorities are full.
    below = [rule["rulePriority"] for rule in plan.policy["rules"] if rule["rulePriority"] < 10]
    assert below == list(range(1, len(below) + 1))
    if any(p.raised_keep for p in plan.protected):
        assert len(below) == 9
    # A raised keep is just enough: the new count is the rank (newest first, as ECR counts) of the oldest image it
    # had to keep, so Prod images older than that are still expired.
    prod_rule = next(r for r in plan.policy["rules"] if r["selection"].get("tagPatternList") == ["Prod-*"])
    prod = [image.digest for image in newest_first([i for i in images if i.tags[0].startswith("Prod-")], STANDARD)]
    raised = [prod.index(p.digest) + 1 for p in plan.protected if p.raised_keep == "prod"]
    assert prod_rule["selection"]["countNumber"] == max([config.environments[0].keep, *raised])
