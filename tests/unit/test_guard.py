"""The safety guard blocks writes that would expire in-use images or too much of a repository."""

from __future__ import annotations

from dataclasses import dataclass, field

from housekeeper.core.config import Safety
from housekeeper.core.guard import GuardReason, check_guard
from housekeeper.core.images import ImageRecord


@dataclass
class Outcome:
    expiring_digests: frozenset[str] = field(default_factory=frozenset)
    transitioning_digests: frozenset[str] = field(default_factory=frozenset)


def image(n: int, *tags: str, children: tuple[str, ...] = ()) -> ImageRecord:
    return ImageRecord(digest=f"sha256:{n:064x}", tags=tags, pushed_at=1_700_000_000 + n, child_digests=children)


def d(n: int) -> str:
    return f"sha256:{n:064x}"


IMAGES = [image(n, f"Prod-{n}") for n in range(1, 11)]


def test_allows_a_policy_that_expires_nothing_in_use_and_few_images() -> None:
    verdict = check_guard(Safety(), IMAGES, Outcome(frozenset({d(1), d(2)})), {d(9), d(10)})
    assert verdict.allowed
    assert verdict.reasons == ()
    assert verdict.conflicts == ()


def test_blocks_expiring_an_image_a_task_runs_and_names_its_digest_and_tags() -> None:
    verdict = check_guard(Safety(), IMAGES, Outcome(frozenset({d(1), d(2)})), {d(2)})
    assert not verdict.allowed
    assert verdict.reasons == (GuardReason.EXPIRES_IN_USE_IMAGE,)
    assert [(c.digest, c.tags, c.action) for c in verdict.conflicts] == [(d(2), ("Prod-2",), "EXPIRE")]


def test_blocks_archiving_an_image_a_task_runs() -> None:
    verdict = check_guard(Safety(), IMAGES, Outcome(transitioning_digests=frozenset({d(3)})), {d(3)})
    assert verdict.reasons == (GuardReason.EXPIRES_IN_USE_IMAGE,)
    assert verdict.conflicts[0].action == "TRANSITION"


def test_a_manifest_list_is_in_use_when_one_of_its_platform_images_runs() -> None:
    images = [image(1, "Prod-1", children=(d(101), d(102))), image(101), image(102)]
    verdict = check_guard(Safety(), images, Outcome(frozenset({d(1)})), {d(101)})
    assert verdict.reasons == (GuardReason.EXPIRES_IN_USE_IMAGE,)
    assert verdict.conflicts[0].digest == d(1)


def test_the_platform_images_of_a_running_manifest_list_are_in_use() -> None:
    images = [image(1, "Prod-1", children=(d(101), d(102))), image(101), image(102)]
    verdict = check_guard(Safety(), images, Outcome(frozenset({d(102)})), {d(1)})
    assert verdict.reasons == (GuardReason.EXPIRES_IN_USE_IMAGE,)


def test_protect_in_use_off_lets_in_use_images_expire() -> None:
    verdict = check_guard(Safety(protect_in_use=False), IMAGES, Outcome(frozenset({d(2)})), {d(2)})
    assert verdict.allowed


def test_blocks_expiring_more_than_the_configured_fraction() -> None:
    expiring = frozenset(d(n) for n in range(1, 7))
    verdict = check_guard(Safety(max_expire_fraction=0.5), IMAGES, Outcome(expiring), set())
    assert verdict.reasons == (GuardReason.EXCEEDS_MAX_EXPIRE_FRACTION,)
    assert "6 of 10" in verdict.details[0]


def test_exactly_the_configured_fraction_is_allowed() -> None:
    expiring = frozenset(d(n) for n in range(1, 6))
    assert check_guard(Safety(max_expire_fraction=0.5), IMAGES, Outcome(expiring), set()).allowed


def test_both_reasons_are_reported_together() -> None:
    expiring = frozenset(d(n) for n in range(1, 10))
    verdict = check_guard(Safety(), IMAGES, Outcome(expiring), {d(1)})
    assert set(verdict.reasons) == {GuardReason.EXPIRES_IN_USE_IMAGE, GuardReason.EXCEEDS_MAX_EXPIRE_FRACTION}


def test_an_empty_repository_is_always_allowed() -> None:
    assert check_guard(Safety(), [], Outcome(), {d(1)}).allowed
