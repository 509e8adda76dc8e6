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
from demo.scenario import BIG_REPOSITORY, MULTI_ARCH_REPOSITORY, reduced_scenario
from demo.story import StoryResult, in_use_digests, in_use_rules, run_story

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
    for service in result.account.running_services:
        prefix = {"prod": "Prod", "staging": "Staging", "dev": "Dev"}[service.cluster.split("-")[0]]
        assert f"{prefix}-{service.build}" in result.env_tags[f"{service.cluster}/{service.service}"]


def test_every_repository_ends_with_the_config_policy_plus_protections_for_what_is_in_use(
    story: tuple[StoryResult, str],
) -> None:
    result, _ = story
    config = load_config(result.account.scenario.config)
    function = result.account.functions[0]
    for spec in result.account.scenario.repositories:
        stored = result.policies[spec.name]
        assert stored is not None, spec.name
        own = {"rules": [r for r in stored["rules"] if not r["description"].startswith("In use")]}
        assert normalise_policy(own) == normalise_policy(compile_policy(config, spec.name))
        expected = [str(function.alias_build)] if spec.name == function.repository else []
        assert in_use_rules(stored) == expected, spec.name


def test_the_protection_of_a_service_scaled_to_zero_is_put_on_then_released(story: tuple[StoryResult, str]) -> None:
    result, output = story
    idle = result.account.idle_services[0]
    assert result.protections_on[idle.repository] == [str(idle.build)]
    assert idle.repository not in result.protections_after_release
    assert result.decision(result.release_decisions, idle.repository)["action"] == "updated"
    assert f"released: {idle.repository} {idle.build}" in output
    # Once released, ECR's (emulated) run may expire it: the config's rules decide again.
    assert idle.digest in result.deleted[idle.repository]


def test_the_inventory_names_every_kind_of_consumer(story: tuple[StoryResult, str]) -> None:
    result, _ = story
    table = result.inventory_output
    assert "ecs-service:prod-eu-west/reports-nightly" in table  # desired count 0
    assert "ecs-task:prod-eu-west/" in table
    assert "lambda:thumbnailer:live" in table and "lambda:thumbnailer:$LATEST" in table


def test_multi_arch_builds_are_kept_or_expired_whole(story: tuple[StoryResult, str]) -> None:
    result, _ = story
    kept = {image.digest for image in result.remaining[MULTI_ARCH_REPOSITORY]}
    indexes = result.account.digests_by_build[MULTI_ARCH_REPOSITORY]
    children = result.account.children[MULTI_ARCH_REPOSITORY]
    for build, index in indexes.items():
        assert (index in kept) == (set(children[build]) <= kept), build
        assert (index in kept) or not (set(children[build]) & kept), build
    gateway = next(s for s in result.account.services if s.repository == MULTI_ARCH_REPOSITORY)
    assert gateway.digest in kept and set(children[gateway.build]) <= kept


def test_the_guard_blocks_the_large_clean_up_until_the_operator_raises_the_limit(
    story: tuple[StoryResult, str],
) -> None:
    result, output = story
    preview = result.decision(result.preview_decisions, BIG_REPOSITORY)
    # Before tagging, the config alone would expire production's old build: the desired policy protects it.
    assert preview["action"] == "blocked"
    assert preview["reasons"] == ["EXCEEDS_MAX_EXPIRE_FRACTION"]
    assert preview["protected"] == 1

    enforce = result.decision(result.enforce_decisions, BIG_REPOSITORY)
    assert enforce["action"] == "blocked"
    assert enforce["reasons"] == ["EXCEEDS_MAX_EXPIRE_FRACTION"]
    others = [d for d in result.enforce_decisions if d["repository"] != BIG_REPOSITORY]
    assert {d["action"] for d in others} == {"updated"}

    assert result.decision(result.proceed_decisions, BIG_REPOSITORY)["action"] == "updated"
    assert {d["action"] for d in result.restore_decisions} == {"in_sync"}
    assert {d["action"] for d in result.preview_decisions + result.enforce_decisions} <= {
        "would_update",
        "updated",
        "blocked",
    }
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


def test_no_image_in_use_is_deleted(story: tuple[StoryResult, str]) -> None:
    result, output = story
    assert result.lost_in_use == []
    for consumer, repository, digests in in_use_digests(result.account):
        assert set(digests) <= {image.digest for image in result.remaining[repository]}, consumer
    assert "Every image in use (services, their platform images, the Lambda function's versions) is still there." in (
        output
    )


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
