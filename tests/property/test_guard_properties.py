"""Properties of the safety guard over random repositories, running sets and configs, with the real compiler
and evaluator: a policy the guard lets through never expires or archives an image that ECS runs."""

from __future__ import annotations

from typing import Any

from housekeeper.core.compiler import compile_policy
from housekeeper.core.config import load_config
from housekeeper.core.evaluator import evaluate
from housekeeper.core.guard import GuardReason, check_guard, expand_in_use
from housekeeper.core.images import ImageRecord
from hypothesis import given, settings
from hypothesis import strategies as st

NOW = 1_750_000_000.0
DAY = 86_400.0
PREFIXES = ("Prod", "Staging", "Dev")


@st.composite
def configs(draw: st.DrawFn) -> dict[str, Any]:
    environments = [
        {"name": prefix.lower(), "tagPrefix": prefix, "keep": draw(st.integers(1, 6)), "clusters": [f"{prefix}-*"]}
        for prefix in PREFIXES[: draw(st.integers(1, 3))]
    ]
    archive = draw(st.booleans())
    catch_all = (
        {"archiveAfterDays": draw(st.integers(1, 120))} if archive else {"expireAfterDays": draw(st.integers(1, 120))}
    )
    config: dict[str, Any] = {
        "version": 1,
        "mode": "enforce",
        "environments": environments,
        "catchAll": catch_all,
        "protectTags": draw(st.sampled_from([[], ["latest"], ["release-*"]])),
        "safety": {"protectInUse": True, "maxExpireFraction": draw(st.sampled_from([0.1, 0.25, 0.5, 0.9, 1.0]))},
    }
    if draw(st.booleans()):
        config["untagged"] = {"expireAfterDays": draw(st.integers(1, 30))}
    return config


@st.composite
def repositories(draw: st.DrawFn) -> list[ImageRecord]:
    count = draw(st.integers(0, 25))
    images: list[ImageRecord] = []
    for index in range(count):
        tags = draw(
            st.lists(
                st.one_of(
                    st.builds(lambda p, b: f"{p}-{b}", st.sampled_from(PREFIXES), st.integers(1, 40)),
                    st.sampled_from(["latest", "release-1", "feature-x", "1234"]),
                ),
                max_size=3,
                unique=True,
            )
        )
        images.append(
            ImageRecord(
                digest=f"sha256:{index:064x}",
                tags=tuple(tags),
                pushed_at=NOW - draw(st.floats(0, 400)) * DAY,
                storage_class=draw(st.sampled_from(["STANDARD", "STANDARD", "STANDARD", "ARCHIVE"])),
            )
        )
    # Some images are manifest lists over later images (their platform images are untagged children).
    if count >= 3 and draw(st.booleans()):
        parent = draw(st.integers(0, count - 1))
        children = tuple(images[i].digest for i in draw(st.sets(st.integers(0, count - 1), max_size=2)) if i != parent)
        image = images[parent]
        images[parent] = ImageRecord(image.digest, image.tags, image.pushed_at, child_digests=children)
    return images


@settings(max_examples=150, deadline=None)
@given(config=configs(), images=repositories(), data=st.data())
def test_a_policy_the_guard_allows_never_expires_or_archives_a_running_image(
    config: dict[str, Any], images: list[ImageRecord], data: st.DataObject
) -> None:
    digests = [image.digest for image in images]
    foreign = ["sha256:" + "e" * 64]  # runs, but lives in another repository
    in_use = set(data.draw(st.lists(st.sampled_from(digests + foreign), max_size=6))) if digests else set()
    loaded = load_config(config)
    evaluation = evaluate(compile_policy(loaded, "any/repo"), images, NOW)

    verdict = check_guard(loaded.safety, images, evaluation, in_use)

    acted_on = evaluation.expiring_digests | evaluation.transitioning_digests
    if verdict.allowed:
        assert not (in_use & acted_on)
        assert not (expand_in_use(images, in_use) & acted_on)
        assert len(evaluation.expiring_digests) <= loaded.safety.max_expire_fraction * len(images)
        archiving = evaluation.transitioning_digests - evaluation.expiring_digests
        assert len(archiving) <= loaded.safety.max_archive_fraction * len(images)
    else:
        assert verdict.reasons
    if in_use & acted_on:
        assert GuardReason.EXPIRES_IN_USE_IMAGE in verdict.reasons
        assert {c.digest for c in verdict.conflicts} >= in_use & acted_on
    if len(evaluation.expiring_digests) > loaded.safety.max_expire_fraction * len(images):
        assert GuardReason.EXCEEDS_MAX_EXPIRE_FRACTION in verdict.reasons


@settings(max_examples=80, deadline=None)
@given(config=configs(), images=repositories())
def test_with_nothing_running_only_the_fraction_rule_can_block(
    config: dict[str, Any], images: list[ImageRecord]
) -> None:
    loaded = load_config(config)
    evaluation = evaluate(compile_policy(loaded, "any/repo"), images, NOW)
    verdict = check_guard(loaded.safety, images, evaluation, set())
    assert verdict.conflicts == ()
    assert set(verdict.reasons) <= {GuardReason.EXCEEDS_MAX_EXPIRE_FRACTION, GuardReason.EXCEEDS_MAX_ARCHIVE_FRACTION}
