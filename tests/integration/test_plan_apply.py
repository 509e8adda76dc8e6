"""`housekeeper plan` and `apply --yes` on moto reach the same decisions as the sync Lambdas."""

from __future__ import annotations

import contextlib
import json
from typing import Any

import pytest
from housekeeper.aws.session import client
from housekeeper.cli.main import main
from housekeeper.core.compiler import compile_policy
from housekeeper.core.config import load_config

from tests.fakes import CONFIG_PARAMETER, SCHEDULED_EVENT, config_json
from tests.integration.moto_account import HAND_MADE_POLICY, Account, run_prod_task, seed_repository


def seed_scenario(account: Account, mode: str) -> dict[str, dict[str, Any] | None]:
    """One repository per decision; returns the policies as seeded, to restore them between runs."""
    config = config_json(mode=mode)
    for name in ("shop/api", "shop/web", "shop/cart", "shop/db", "legacy/old"):
        seed_repository(name)
    seed_repository("shop/big", builds=8)  # keep 2 of 8: 75% would expire
    run_prod_task("shop/api", "Prod-1")  # in use, and the stored (config's own) policy expires it
    ecr = client("ecr")
    unprotected = compile_policy(load_config(config), "shop/api")
    ecr.put_lifecycle_policy(repositoryName="shop/api", lifecyclePolicyText=json.dumps(unprotected))
    ecr.put_lifecycle_policy(repositoryName="shop/cart", lifecyclePolicyText=json.dumps(HAND_MADE_POLICY))
    ecr.put_lifecycle_policy(repositoryName="legacy/old", lifecyclePolicyText=json.dumps(HAND_MADE_POLICY))
    in_sync = compile_policy(load_config(config), "shop/db")
    ecr.put_lifecycle_policy(repositoryName="shop/db", lifecyclePolicyText=json.dumps(in_sync))
    account.put_config(config)
    return {name: account.policy(name) for name in ("shop/api", "shop/web", "shop/cart", "shop/db", "shop/big")}


def restore(policies: dict[str, dict[str, Any] | None]) -> None:
    ecr = client("ecr")
    for name, policy in policies.items():
        if policy is None:
            with contextlib.suppress(ecr.exceptions.LifecyclePolicyNotFoundException):
                ecr.delete_lifecycle_policy(repositoryName=name)
        else:
            ecr.put_lifecycle_policy(repositoryName=name, lifecyclePolicyText=json.dumps(policy))


def lambda_decisions(account: Account) -> dict[str, tuple[str, str]]:
    account.results.clear()
    account.plan(SCHEDULED_EVENT)
    account.work()
    return {r.repository: (r.action, r.reason) for r in account.results}


def cli(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, dict[str, Any]]:
    capsys.readouterr()
    code = main([*argv, "--parameter", CONFIG_PARAMETER, "--output", "json"])
    return code, json.loads(capsys.readouterr().out)


def decisions(report: dict[str, Any]) -> dict[str, tuple[str, str]]:
    return {r["repository"]: (r["action"], r["reason"]) for r in report["repositories"]}


EXPECTED_PREVIEW = {
    "shop/api": ("at_risk", "EXPIRES_IN_USE_IMAGE"),
    "shop/big": ("blocked", "EXCEEDS_MAX_EXPIRE_FRACTION"),
    "shop/cart": ("would_update", "POLICY_DIFFERS"),
    "shop/db": ("in_sync", "POLICY_MATCHES"),
    "shop/web": ("would_update", "POLICY_MISSING"),
}


def test_plan_gives_the_lambdas_decisions_in_preview_mode(account: Account, capsys: pytest.CaptureFixture[str]) -> None:
    seed_scenario(account, mode="preview")
    code, report = cli(capsys, "plan")
    assert decisions(report) == EXPECTED_PREVIEW
    assert lambda_decisions(account) == EXPECTED_PREVIEW
    assert code == 1  # one repository is blocked, one is at risk
    assert report["applied"] is False


def test_apply_yes_gives_the_lambdas_decisions_in_enforce_mode(
    account: Account, capsys: pytest.CaptureFixture[str]
) -> None:
    seeded = seed_scenario(account, mode="enforce")
    code, report = cli(capsys, "apply", "--yes")
    applied = decisions(report)
    written = {name: account.policy(name) for name in seeded}

    restore(seeded)
    assert lambda_decisions(account) == applied
    assert {name: account.policy(name) for name in seeded} == written
    assert applied["shop/web"] == ("updated", "POLICY_MISSING")
    assert applied["shop/cart"] == ("updated", "POLICY_DIFFERS")
    assert applied["shop/api"] == ("updated", "POLICY_DIFFERS")  # the protection, written in the same run
    assert applied["shop/big"][0] == "blocked"
    protected = account.policy("shop/api")
    assert protected is not None and protected["rules"][0]["selection"]["tagPatternList"] == ["Prod-1"]
    assert account.policy("legacy/old") == HAND_MADE_POLICY
    assert code == 1


def test_plan_and_apply_without_yes_write_nothing(account: Account, capsys: pytest.CaptureFixture[str]) -> None:
    seeded = seed_scenario(account, mode="enforce")
    puts: list[Any] = []
    client("ecr").meta.events.register("before-call.ecr.PutLifecyclePolicy", lambda params, **_: puts.append(1))
    _, planned = cli(capsys, "plan")
    _, dry_apply = cli(capsys, "apply")
    assert puts == []
    assert {name: account.policy(name) for name in seeded} == seeded
    assert decisions(planned) == decisions(dry_apply) == EXPECTED_PREVIEW


def test_a_repository_glob_narrows_the_plan_and_exit_code_follows_it(
    account: Account, capsys: pytest.CaptureFixture[str]
) -> None:
    seed_scenario(account, mode="preview")
    code, report = cli(capsys, "plan", "--repository", "shop/w*", "--repository", "shop/db")
    assert sorted(decisions(report)) == ["shop/db", "shop/web"]
    assert code == 0
    code, report = cli(capsys, "plan", "--repository", "legacy/*")
    assert (code, report["repositories"]) == (0, [])


def test_the_table_names_each_repository_and_its_conflicts(
    account: Account, capsys: pytest.CaptureFixture[str]
) -> None:
    seed_scenario(account, mode="preview")
    capsys.readouterr()
    code = main(["plan", "--parameter", CONFIG_PARAMETER])
    out, err = capsys.readouterr()
    assert code == 1
    api_row = next(line for line in out.splitlines() if line.startswith("shop/api"))
    assert "at_risk" in api_row
    assert "EXPIRES_IN_USE_IMAGE" in api_row
    assert "(Prod-1)" in api_row
    assert "shop/api: AT RISK sha256:" in err
    assert "the stored policy expires it; used by ecs-task:prod-main/" in err
    assert "shop/big: would expire 6 of 8 images" in err
    assert "plan only, nothing written" in err


def test_an_invalid_config_exits_2_with_the_problem_paths(account: Account, capsys: pytest.CaptureFixture[str]) -> None:
    account.put_config(json.dumps(config_json(mode="sometimes")))
    capsys.readouterr()
    code = main(["plan", "--parameter", CONFIG_PARAMETER, "--output", "json"])
    assert code == 2
    assert json.loads(capsys.readouterr().out)["problems"][0]["path"] == "$.mode"


def test_a_config_parameter_that_does_not_exist_exits_2_naming_it(
    account: Account, capsys: pytest.CaptureFixture[str]
) -> None:
    capsys.readouterr()
    code = main(["plan", "--parameter", "/ecr-housekeeper/missing"])
    err = capsys.readouterr().err
    assert code == 2
    assert err.count("\n") == 1
    assert "--parameter: the SSM parameter '/ecr-housekeeper/missing' does not exist" in err
