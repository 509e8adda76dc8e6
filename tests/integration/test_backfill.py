"""`housekeeper backfill` on moto: dry run by default, `--yes` tags every running ECR image in configured envs."""

from __future__ import annotations

import io
import json
import sys
from pathlib import Path
from typing import Any

import boto3
import pytest
from housekeeper.cli.main import main

from tests.fakes import DOCKER_V2, ecr_image_uri, image_manifest, push_to_moto, run_moto_service

EXAMPLE_CONFIG = Path(__file__).resolve().parents[2] / "config" / "example.json"


@pytest.fixture
def account(mocked_aws: None) -> dict[str, Any]:
    ecr, ecs, ssm = (boto3.client(n, region_name="us-east-1") for n in ("ecr", "ecs", "ssm"))
    ssm.put_parameter(Name="/housekeeper/config", Value=EXAMPLE_CONFIG.read_text(), Type="String")
    for repository in ("payments/api", "web"):
        ecr.create_repository(repositoryName=repository)
    digests = {
        "api": push_to_moto(ecr, "payments/api", image_manifest("api"), DOCKER_V2, "1234"),
        "web": push_to_moto(ecr, "web", image_manifest("web"), DOCKER_V2, "77"),
        "sandbox": push_to_moto(ecr, "web", image_manifest("sandbox"), DOCKER_V2, "5"),
    }
    run_moto_service(ecs, "prod-main", "api", [ecr_image_uri("payments/api", ":1234")], tasks=2)
    run_moto_service(ecs, "staging-eu", "web", [ecr_image_uri("web", ":77")])
    run_moto_service(ecs, "staging-eu", "proxy", ["nginx:1.27"])
    run_moto_service(ecs, "sandbox", "web", [ecr_image_uri("web", ":5")])
    return {"ecr": ecr, "digests": digests}


def tags(ecr: Any, repository: str, digest: str) -> list[str]:
    found = ecr.describe_images(repositoryName=repository, imageIds=[{"imageDigest": digest}])["imageDetails"]
    return sorted(found[0].get("imageTags", []))


def test_dry_run_writes_nothing_and_lists_what_it_would_tag(
    account: dict[str, Any], capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["backfill", "--config", str(EXAMPLE_CONFIG), "--output", "json"]) == 0
    out = json.loads(capsys.readouterr().out)

    assert out["applied"] is False
    assert out["clusters"] == ["prod-main", "staging-eu"]
    planned = sorted((i.get("repository", i["image"]), i.get("tag"), i["status"]) for i in out["images"])
    assert planned == [
        ("nginx:1.27", None, "skipped"),
        ("payments/api", "Prod-1234", "would_tag"),
        ("web", "Staging-77", "would_tag"),
    ]
    assert tags(account["ecr"], "payments/api", account["digests"]["api"]) == ["1234"]


def test_yes_tags_every_running_ecr_image_in_configured_environments(
    account: dict[str, Any], capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["backfill", "--parameter", "/housekeeper/config", "--yes"]) == 0
    captured = capsys.readouterr()
    assert "Prod-1234" in captured.out and "tagged" in captured.out

    digests = account["digests"]
    assert tags(account["ecr"], "payments/api", digests["api"]) == ["1234", "Prod-1234"]
    assert tags(account["ecr"], "web", digests["web"]) == ["77", "Staging-77"]
    assert tags(account["ecr"], "web", digests["sandbox"]) == ["5"]

    assert main(["backfill", "--parameter", "/housekeeper/config", "--yes", "--output", "json"]) == 0
    again = json.loads(capsys.readouterr().out)
    assert again["counts"] == {"already_present": 2, "skipped": 1}


def test_without_a_config_source_it_exits_2(account: dict[str, Any], capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["backfill"]) == 2
    assert "--parameter" in capsys.readouterr().err


class Terminal(io.StringIO):
    """A stderr that says it is a terminal, as when an operator runs the command by hand."""

    def isatty(self) -> bool:
        return True


def test_a_progress_bar_over_the_clusters_goes_to_stderr_and_keeps_stdout_clean(
    account: dict[str, Any], capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    terminal = Terminal()
    monkeypatch.setattr(sys, "stderr", terminal)

    assert main(["backfill", "--config", str(EXAMPLE_CONFIG), "--output", "json"]) == 0

    assert json.loads(capsys.readouterr().out)["clusters"] == ["prod-main", "staging-eu"]
    drawn = terminal.getvalue()
    assert "clusters [" in drawn and "] 1/2" in drawn
    assert "] 2/2\n" in drawn


def test_no_progress_bar_when_stderr_is_not_a_terminal(
    account: dict[str, Any], capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["backfill", "--config", str(EXAMPLE_CONFIG), "--output", "json"]) == 0
    assert "] 1/2" not in capsys.readouterr().err
