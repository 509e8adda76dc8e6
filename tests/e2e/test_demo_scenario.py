"""The demo's story at reduced size (about 200 images), through the same code `make demo` runs.

The emulated estate: the registry account with every repository in its home region and replicas of two of them in a
second region, and a workload account where production runs (in the replica region).
"""

from __future__ import annotations

import io
from pathlib import Path

import pytest
from housekeeper.aws.session import reset_clients
from housekeeper.core.compiler import compile_policy
from housekeeper.core.config import load_config
from housekeeper.core.policy import normalise_policy

from demo.emulator import EmulatedAccount
from demo.scenario import (
    BIG_REPOSITORY,
    HOME_REGION,
    IDLE_SERVICE,
    MULTI_ARCH_REPOSITORY,
    REPLICA_REGION,
    REPLICATED,
    WORKLOAD_ACCOUNT,
    reduced_scenario,
)
from demo.story import StoryResult, consumer_name, in_use_digests, in_use_rules, run_story

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


def every_repository(result: StoryResult) -> set[tuple[str, str]]:
    """(region, repository) of every repository in every registry region."""
    account = result.account
    return {(region, name) for region in account.regions for name in account.repositories_in(region)}


def test_the_estate_has_a_replica_region_and_a_workload_account(story: tuple[StoryResult, str]) -> None:
    result, output = story
    account = result.account
    assert account.regions == (HOME_REGION, REPLICA_REGION)
    assert set(account.repositories_in(REPLICA_REGION)) == set(REPLICATED)
    prod = [s for s in account.services if s.cluster.startswith("prod-")]
    assert prod and {(s.account, s.region) for s in prod} == {(WORKLOAD_ACCOUNT, REPLICA_REGION)}
    assert {s.account for s in account.services if not s.cluster.startswith("prod-")} == {account.registry_account}
    # Production pulls the replicated repositories from its own region's registry, the others from the home region.
    assert {s.repository: s.registry_region for s in prod} == {
        "storefront/web": HOME_REGION,
        MULTI_ARCH_REPOSITORY: HOME_REGION,
        "storefront/worker": REPLICA_REGION,
        "billing/api": REPLICA_REGION,
    }
    assert f"Replica region {REPLICA_REGION}: storefront/worker" in output
    assert f"Workload account {WORKLOAD_ACCOUNT}, {REPLICA_REGION}: production" in output
    assert "sts:AssumeRole of OrganizationAccountAccessRole" in output


def test_running_images_carry_their_env_tags(story: tuple[StoryResult, str]) -> None:
    result, _ = story
    for service in result.account.running_services:
        prefix = {"prod": "Prod", "staging": "Staging", "dev": "Dev"}[service.cluster.split("-")[0]]
        # Read in the registry region the service pulls from.
        assert f"{prefix}-{service.build}" in result.env_tags[f"{service.cluster}/{service.service}"]


def test_the_tagger_tags_a_prod_deployment_that_ran_in_the_workload_account(story: tuple[StoryResult, str]) -> None:
    result, output = story
    billing = next(s for s in result.account.services if s.cluster.startswith("prod-") and s.deployed_today)
    forwarded = [o for o in result.tag_outcomes if o["eventAccount"] == WORKLOAD_ACCOUNT]
    assert [(o["eventRegion"], o["cluster"], o["service"]) for o in forwarded] == [
        (REPLICA_REGION, billing.cluster, billing.service)
    ]
    outcome = forwarded[0]
    assert outcome["status"] == "tagged"
    assert outcome["account"] == WORKLOAD_ACCOUNT
    # Tagged in the registry region the image was pulled from: the replica.
    assert (outcome["region"], outcome["repository"], outcome["digest"]) == (
        REPLICA_REGION,
        billing.repository,
        billing.digest,
    )
    assert outcome["tag"] == f"Prod-{billing.build}"
    assert f"Prod-{billing.build}" in result.env_tags[f"{billing.cluster}/{billing.service}"]
    step = output.split("[4/9]", 1)[1].split("$ housekeeper backfill", 1)[0]
    row = next(line for line in step.splitlines() if f" {billing.cluster}/{billing.service} " in line)
    assert row.split() == [
        WORKLOAD_ACCOUNT,
        REPLICA_REGION,
        f"{billing.cluster}/{billing.service}",
        billing.repository,
        REPLICA_REGION,
        f"Prod-{billing.build}",
        "tagged",
    ]
    staging = [o for o in result.tag_outcomes if o["eventAccount"] == result.account.registry_account]
    assert staging and {o["status"] for o in staging} == {"tagged"}


def test_backfill_tags_production_in_the_workload_account(story: tuple[StoryResult, str]) -> None:
    result, output = story
    backfill = output.split("$ housekeeper backfill", 1)[1].split("(exit code", 1)[0]
    assert backfill.splitlines()[1].split()[:5] == ["account", "region", "registry", "region", "cluster"]
    prod_rows = [line.split() for line in backfill.splitlines() if "prod-eu-west" in line]
    assert prod_rows and {row[0] for row in prod_rows} == {WORKLOAD_ACCOUNT}
    web = next(
        s for s in result.account.running_services if s.cluster.startswith("prod-") and s.repository == BIG_REPOSITORY
    )
    assert {row[1] for row in prod_rows} == {"eu-west-1"}  # where production runs
    assert any(row[4] == BIG_REPOSITORY and row[6] == f"Prod-{web.build}" and row[7] == "tagged" for row in prod_rows)
    assert "(exit code 0)" in output.split("$ housekeeper backfill", 1)[1]


def test_every_repository_ends_with_the_config_policy_plus_protections_for_what_is_in_use(
    story: tuple[StoryResult, str],
) -> None:
    result, _ = story
    config = load_config(result.account.scenario.config)
    function = result.account.functions[0]
    assert set(result.policies) == every_repository(result)
    for (region, name), stored in result.policies.items():
        assert stored is not None, (region, name)
        own = {"rules": [r for r in stored["rules"] if not r["description"].startswith("In use")]}
        assert normalise_policy(own) == normalise_policy(compile_policy(config, name))
        expected = [str(function.alias_build)] if (region, name) == (HOME_REGION, function.repository) else []
        assert in_use_rules(stored) == expected, (region, name)


def test_the_replica_region_gets_its_policy(story: tuple[StoryResult, str]) -> None:
    result, _ = story
    for name in REPLICATED:
        enforce = result.decision(result.enforce_decisions, name, REPLICA_REGION)
        assert (enforce["action"], enforce["reason"]) == ("updated", "POLICY_MISSING")
        assert result.policies[(REPLICA_REGION, name)] is not None


def test_an_image_only_the_workload_account_runs_is_protected_then_released(story: tuple[StoryResult, str]) -> None:
    result, output = story
    idle = result.account.idle_services[0]
    assert (idle.service, idle.account) == (IDLE_SERVICE, WORKLOAD_ACCOUNT)
    # Protected in both regions that hold it, though nothing in the registry account uses it.
    for region in (HOME_REGION, REPLICA_REGION):
        assert result.protections_on[(region, idle.repository)] == [str(idle.build)]
        assert (region, idle.repository) not in result.protections_after_release
        assert result.decision(result.release_decisions, idle.repository, region)["action"] == "updated"
        assert f"released: {idle.repository} {idle.build} in {region}" in output
        # Once released, ECR's (emulated) run may expire it: the config's rules decide again.
        assert idle.digest in result.deleted[(region, idle.repository)]
    assert (
        f"{idle.short_image} is used only in the workload account ({consumer_name(result.account, idle)}): the "
        f"stored policies of {idle.repository} in {HOME_REGION} and {REPLICA_REGION} protect it" in output
    )
    assert f"DeleteService {idle.cluster}/{idle.service} in {WORKLOAD_ACCOUNT}/{REPLICA_REGION}" in output


def test_the_inventory_lists_consumers_in_both_accounts_with_account_and_region_columns(
    story: tuple[StoryResult, str],
) -> None:
    result, _ = story
    table = result.inventory_output
    assert table.splitlines()[0].split()[:5] == ["account", "region", "registry", "region", "repository"]
    workload = f"@{WORKLOAD_ACCOUNT}/{REPLICA_REGION}"
    assert f"ecs-service:prod-eu-west/{IDLE_SERVICE}{workload}" in table  # desired count 0
    task_rows = [line.split() for line in table.splitlines() if "ecs-task:prod-eu-west/" in line]
    assert task_rows and all(row[:2] == [WORKLOAD_ACCOUNT, REPLICA_REGION] for row in task_rows)
    assert all(any(workload in cell for cell in row) for row in task_rows)
    staging = [line.split() for line in table.splitlines() if "ecs-service:staging-us-east/" in line]
    assert staging and all(row[:3] == [result.account.registry_account, HOME_REGION, HOME_REGION] for row in staging)
    # Production pulls storefront/worker from the replica: its images are found in that registry region.
    worker = next(line.split() for line in table.splitlines() if "ecs-service:prod-eu-west/storefront-worker" in line)
    assert worker[2:4] == [REPLICA_REGION, "storefront/worker"]
    assert "lambda:thumbnailer:live" in table and "lambda:thumbnailer:$LATEST" in table
    assert "places read: 3 of 3" in table


def test_the_sweep_syncs_every_repository_in_both_regions(story: tuple[StoryResult, str]) -> None:
    result, output = story
    synced = [(d["region"], d["repository"]) for d in result.release_decisions]
    assert sorted(synced) == sorted(every_repository(result))  # one message per region and repository
    home = len(result.account.repositories_in(HOME_REGION))
    line = f"one per region and repository ({HOME_REGION}: {home}, {REPLICA_REGION}: {len(REPLICATED)})"
    assert output.count(line) >= 5  # four config edits and the sweep


def test_multi_arch_builds_are_kept_or_expired_whole(story: tuple[StoryResult, str]) -> None:
    result, _ = story
    kept = {image.digest for image in result.remaining[(HOME_REGION, MULTI_ARCH_REPOSITORY)]}
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
    assert f"BLOCKED storefront/web in {HOME_REGION}" in output


def test_the_emulated_lifecycle_run_keeps_recent_builds_and_running_images(story: tuple[StoryResult, str]) -> None:
    result, _ = story
    scenario = result.account.scenario
    big = scenario.repository(BIG_REPOSITORY)
    remaining = result.remaining[(HOME_REGION, BIG_REPOSITORY)]
    # The builds of the last 90 days, the untagged images of the last 14 days, and production's old build.
    assert len(remaining) == big.recent_builds + big.untagged_recent + 1
    assert len(result.deleted[(HOME_REGION, BIG_REPOSITORY)]) == result.account.image_count(BIG_REPOSITORY) - len(
        remaining
    )
    kept_builds = {tag for image in remaining for tag in image.tags if tag.isdigit()}
    newest = {str(build) for build in range(big.builds - big.recent_builds + 1, big.builds + 1)}
    assert newest <= kept_builds


def test_no_image_in_use_is_deleted(story: tuple[StoryResult, str]) -> None:
    result, output = story
    assert result.lost_in_use == []
    consumers = in_use_digests(result.account)
    assert {where[0] for _, where, _ in consumers} == {HOME_REGION, REPLICA_REGION}
    for consumer, where, digests in consumers:
        assert set(digests) <= {image.digest for image in result.remaining[where]}, consumer
    assert (
        "Every image in use (services in both accounts, their platform images, the Lambda function's versions) is "
        "still there, in the region it is pulled from." in output
    )
    assert f"Consumers whose images are still present: {len(consumers)} of {len(consumers)}." in output


def test_the_report_shows_the_clean_up_summed_across_regions(story: tuple[StoryResult, str]) -> None:
    result, output = story
    assert result.before is not None and result.after is not None
    account = result.account
    assert {(r.region, r.repository) for r in result.before.repositories} == every_repository(result)
    total = sum(account.image_count(name) for _, name in every_repository(result))
    assert result.before.before.images == total
    assert f"summed across {HOME_REGION} and {REPLICA_REGION}: {total:,} images" in output
    for name in REPLICATED:  # a replica is reported on its own row, with the same figures as its source
        home = next(r for r in result.before.repositories if (r.region, r.repository) == (HOME_REGION, name))
        replica = next(r for r in result.before.repositories if (r.region, r.repository) == (REPLICA_REGION, name))
        assert (replica.before, replica.after) == (home.before, home.after)

    before = next(r for r in result.before.repositories if (r.region, r.repository) == (HOME_REGION, BIG_REPOSITORY))
    after = next(r for r in result.after.repositories if (r.region, r.repository) == (HOME_REGION, BIG_REPOSITORY))
    assert before.before.images == account.image_count(BIG_REPOSITORY)
    assert after.before.images == len(result.remaining[(HOME_REGION, BIG_REPOSITORY)])
    assert after.before.findings_total < 0.15 * before.before.findings_total
    assert after.before.bytes < before.before.bytes
    assert result.before.monthly_saving_usd > 0
    # Nothing is left for the policy to do once ECR (emulated) has run it.
    assert after.after.images == after.before.images
    assert result.change is not None
    measured = {(r.region, r.repository): r for r in result.change.repositories}
    big = measured[(HOME_REGION, BIG_REPOSITORY)]
    assert (big.before.images, big.after.images) == (before.before.images, after.before.images)
    assert result.change.monthly_saving_usd == pytest.approx(sum(r.monthly_saving_usd for r in measured.values()))
    assert all(measured[(REPLICA_REGION, name)].monthly_saving_usd > 0 for name in REPLICATED)
    assert f"{BIG_REPOSITORY}: {before.before.images:,} -> {after.before.images:,} images" in output
    assert f"summed across {len(account.regions)} regions" in output
    assert result.html_path is not None and Path(result.html_path).read_text(encoding="utf-8").startswith(
        "<!DOCTYPE html>"
    )
    assert str(result.html_path) in output
