"""The demo's story at reduced size (about 200 images), through the same code `make demo` runs."""

from __future__ import annotations

import io
from pathlib import Path

import pytest
from housekeeper.aws.session import reset_clients
from housekeeper.core.compiler import compile_policy
from housekeeper.core.config import load_config
from housekeeper.core.policy import normalise_policy

from demo.emulator import EmulatedAccount
from demo.scenario import BIG_REPOSITORY, reduced_scenario
from demo.story import StoryResult, run_story

pytestmark = pytest.mark.xdist_group("demo")


@pytest.fixture(scope="module")
def story(emulator: EmulatedAccount, tmp_path_factory: pytest.TempPathFactory) -> tuple[StoryResult, str]:
    from demo.emulator import emulated_account_environment

    emulator.reset()
    with emulated_account_environment(emulator):
        reset_clients()
        out = io.StringIO()
        result = run_story(reduced_scenario(), out, tmp_path_factory.mktemp("demo"))
        reset_clients()
    return result, out.getvalue()


def test_running_images_carry_their_env_tags(story: tuple[StoryResult, str]) -> None:
    result, _ = story
    for service in result.account.services:
        prefix = {"prod": "Prod", "staging": "Staging", "dev": "Dev"}[service.cluster.split("-")[0]]
        assert f"{prefix}-{service.build}" in result.env_tags[f"{service.cluster}/{service.service}"]


def test_every_repository_ends_with_the_policy_the_config_compiles(story: tuple[StoryResult, str]) -> None:
    result, _ = story
    config = load_config(result.account.scenario.config)
    for spec in result.account.scenario.repositories:
        stored = result.policies[spec.name]
        assert stored is not None, spec.name
        assert normalise_policy(stored) == normalise_policy(compile_policy(config, spec.name))


def test_the_guard_blocks_the_large_clean_up_until_the_operator_raises_the_limit(
    story: tuple[StoryResult, str],
) -> None:
    result, output = story
    preview = result.decision(result.preview_decisions, BIG_REPOSITORY)
    # Before tagging, production's old build would be expired: the in-use guard says so even in preview.
    assert preview["action"] == "blocked"
    assert "EXPIRES_IN_USE_IMAGE" in preview["reasons"]

    enforce = result.decision(result.enforce_decisions, BIG_REPOSITORY)
    assert enforce["action"] == "blocked"
    assert enforce["reasons"] == ["EXCEEDS_MAX_EXPIRE_FRACTION"]
    others = [d for d in result.enforce_decisions if d["repository"] != BIG_REPOSITORY]
    assert {d["action"] for d in others} == {"updated"}

    assert result.decision(result.proceed_decisions, BIG_REPOSITORY)["action"] == "updated"
    assert {d["action"] for d in result.restore_decisions} == {"in_sync"}
    assert "BLOCKED storefront/web" in output


def test_the_emulated_lifecycle_run_keeps_recent_builds_and_running_images(story: tuple[StoryResult, str]) -> None:
    result, _ = story
    scenario = result.account.scenario
    big = scenario.repository(BIG_REPOSITORY)
    remaining = result.remaining[BIG_REPOSITORY]
    # The builds of the last 90 days, the untagged images of the last 14 days, and production's old build.
    assert len(remaining) == big.recent_builds + big.untagged_recent + 1
    assert len(result.deleted[BIG_REPOSITORY]) == result.account.image_count(BIG_REPOSITORY) - len(remaining)
    kept_builds = {tag for image in remaining for tag in image.tags if tag.isdigit()}
    newest = {str(build) for build in range(big.builds - big.recent_builds + 1, big.builds + 1)}
    assert newest <= kept_builds


def test_no_image_that_a_service_runs_is_deleted(story: tuple[StoryResult, str]) -> None:
    result, output = story
    assert result.lost_in_use == []
    for service in result.account.services:
        assert service.digest in {image.digest for image in result.remaining[service.repository]}
    assert "Every image a service runs is still there." in output


def test_the_report_shows_the_clean_up(story: tuple[StoryResult, str]) -> None:
    result, output = story
    assert result.before is not None and result.after is not None
    before = next(r for r in result.before.repositories if r.repository == BIG_REPOSITORY)
    after = next(r for r in result.after.repositories if r.repository == BIG_REPOSITORY)
    assert before.before.images == result.account.image_count(BIG_REPOSITORY)
    assert after.before.images == len(result.remaining[BIG_REPOSITORY])
    assert after.before.findings_total < 0.15 * before.before.findings_total
    assert after.before.bytes < before.before.bytes
    assert result.before.monthly_saving_usd > 0
    # Nothing is left for the policy to do once ECR (emulated) has run it.
    assert after.after.images == after.before.images
    assert result.change is not None
    measured = next(r for r in result.change.repositories if r.repository == BIG_REPOSITORY)
    assert (measured.before.images, measured.after.images) == (before.before.images, after.before.images)
    assert measured.monthly_saving_usd > 0
    assert result.html_path is not None and Path(result.html_path).read_text(encoding="utf-8").startswith(
        "<!DOCTYPE html>"
    )
    assert str(result.html_path) in output
