"""`--native-preview` against ECR's preview API, which moto lacks: every ECR call goes through botocore's Stubber."""

from __future__ import annotations

import json
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import boto3
import pytest
from botocore.stub import ANY, Stubber
from housekeeper.aws.ecr import Boto3EcrGateway
from housekeeper.cli import common
from housekeeper.cli.main import main
from housekeeper.core.compiler import compile_policy
from housekeeper.core.config import load_config
from housekeeper.core.evaluator import evaluate
from housekeeper.core.images import image_from_detail

from tests.fakes import HOME, FakePlaces

REPOSITORY = "shop/api"
DAY = 86_400.0
CONFIG = {
    "version": 1,
    "mode": "preview",
    "environments": [{"name": "prod", "tagPrefix": "Prod", "keep": 2, "clusters": ["prod-*"]}],
    "catchAll": {"expireAfterDays": 90},
    "safety": {"protectInUse": False, "maxExpireFraction": 0.5},
}


def image_details() -> list[dict[str, Any]]:
    now = time.time()
    return [
        {
            "registryId": "123456789012",
            "repositoryName": REPOSITORY,
            "imageDigest": f"sha256:{n:064x}",
            "imageTags": [f"Prod-{n}"],
            "imagePushedAt": datetime.fromtimestamp(now - (5 - n) * DAY, tz=UTC),
            "imageSizeInBytes": 1000,
        }
        for n in range(1, 5)
    ]


def agreeing_results(details: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """What ECR answers when it agrees with the offline evaluator (built from the evaluator, in ECR's shape)."""
    policy = compile_policy(load_config(CONFIG), REPOSITORY)
    evaluation = evaluate(policy, [image_from_detail(d) for d in details], time.time())
    return [
        {
            "imageDigest": a.image.digest,
            "imageTags": list(a.image.tags),
            "imagePushedAt": datetime.fromtimestamp(a.image.pushed_at, tz=UTC),
            "action": {"type": a.action_type},
            "appliedRulePriority": a.rule_priority,
        }
        for a in evaluation.actions
    ]


def stub_plan(
    stubber: Stubber, details: list[dict[str, Any]], preview_results: list[dict[str, Any]], preview_runs: bool = True
) -> None:
    stubber.add_response(
        "describe_repositories",
        {
            "repositories": [
                {
                    "repositoryName": REPOSITORY,
                    "repositoryArn": f"arn:aws:ecr:us-east-1:123456789012:repository/{REPOSITORY}",
                    "registryId": "123456789012",
                    "repositoryUri": f"123456789012.dkr.ecr.us-east-1.amazonaws.com/{REPOSITORY}",
                }
            ]
        },
    )
    stubber.add_client_error(
        "get_lifecycle_policy",
        "LifecyclePolicyNotFoundException",
        http_status_code=400,
        expected_params={"repositoryName": REPOSITORY},
    )
    stubber.add_response(
        "describe_images",
        {"imageDetails": details},
        {"repositoryName": REPOSITORY, "maxResults": ANY, "filter": {"imageStatus": "ANY"}},
    )
    if not preview_runs:
        return
    policy_text = json.dumps(compile_policy(load_config(CONFIG), REPOSITORY), separators=(",", ":"))
    status = {"registryId": "123456789012", "repositoryName": REPOSITORY, "lifecyclePolicyText": policy_text}
    stubber.add_response(
        "start_lifecycle_policy_preview",
        {**status, "status": "IN_PROGRESS"},
        {"repositoryName": REPOSITORY, "lifecyclePolicyText": policy_text},
    )
    stubber.add_response(
        "get_lifecycle_policy_preview",
        {**status, "status": "IN_PROGRESS", "previewResults": []},
        {"repositoryName": REPOSITORY},
    )
    stubber.add_response(
        "get_lifecycle_policy_preview",
        {
            **status,
            "status": "COMPLETE",
            "previewResults": preview_results,
            "summary": {"expiringImageTotalCount": len(preview_results)},
        },
        {"repositoryName": REPOSITORY},
    )


@pytest.fixture
def stubbed(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> tuple[Stubber, list[float], Path]:
    ecr = boto3.client("ecr", region_name="us-east-1")
    places = FakePlaces(HOME, {HOME.region: Boto3EcrGateway(ecr)})  # type: ignore[dict-item]
    monkeypatch.setattr(common, "places", lambda estate: places)  # the registry is the stubbed client; nothing in use
    sleeps: list[float] = []
    monkeypatch.setattr(time, "sleep", sleeps.append)
    config_file = tmp_path / "config.json"
    config_file.write_text(json.dumps(CONFIG))
    return Stubber(ecr), sleeps, config_file


def run_plan(config_file: Path, capsys: pytest.CaptureFixture[str]) -> dict[str, Any]:
    capsys.readouterr()
    code = main(["plan", "--config", str(config_file), "--native-preview", "--output", "json"])
    assert code == 0
    report: dict[str, Any] = json.loads(capsys.readouterr().out)
    return report["repositories"][0]


def test_native_preview_agrees_with_the_offline_evaluator(
    stubbed: tuple[Stubber, list[float], Path], capsys: pytest.CaptureFixture[str]
) -> None:
    stubber, sleeps, config_file = stubbed
    details = image_details()
    stub_plan(stubber, details, agreeing_results(details))
    with stubber:
        repository = run_plan(config_file, capsys)
    stubber.assert_no_pending_responses()
    assert (repository["action"], repository["expiring"]) == ("would_update", 2)
    assert repository["nativePreview"]["status"] == "COMPLETE"
    assert repository["nativePreview"]["matches"] is True
    assert sleeps == [1.0]  # polled again after one back-off step


def test_native_preview_reports_where_ecr_disagrees(
    stubbed: tuple[Stubber, list[float], Path], capsys: pytest.CaptureFixture[str]
) -> None:
    stubber, _, config_file = stubbed
    details = image_details()
    results = agreeing_results(details)
    extra = {
        "imageDigest": details[2]["imageDigest"],
        "imageTags": details[2]["imageTags"],
        "action": {"type": "EXPIRE"},
        "appliedRulePriority": 10,
    }
    stub_plan(stubber, details, [*results[1:], extra])
    with stubber:
        preview = run_plan(config_file, capsys)["nativePreview"]
    assert preview["matches"] is False
    assert preview["onlyInEcr"] == [details[2]["imageDigest"]]
    assert preview["onlyOffline"] == [results[0]["imageDigest"]]


def test_native_preview_in_the_table(
    stubbed: tuple[Stubber, list[float], Path], capsys: pytest.CaptureFixture[str]
) -> None:
    stubber, _, config_file = stubbed
    details = image_details()
    stub_plan(stubber, details, agreeing_results(details))
    capsys.readouterr()
    with stubber:
        assert main(["plan", "--config", str(config_file), "--native-preview"]) == 0
    out = capsys.readouterr().out
    assert "ECR preview" in out
    assert any(line.split()[:2] == ["us-east-1", REPOSITORY] and "matches" in line for line in out.splitlines())


def test_a_native_preview_that_cannot_run_fails_the_command_and_says_why_briefly(
    stubbed: tuple[Stubber, list[float], Path], capsys: pytest.CaptureFixture[str]
) -> None:
    stubber, _, config_file = stubbed
    details = image_details()
    stub_plan(stubber, details, agreeing_results(details))
    stubber._queue.pop()
    stubber._queue.pop()
    stubber._queue.pop()
    html_page = "<!doctype html>\n<html><body>" + "Internal Server Error " * 50 + "</body></html>"
    stubber.add_client_error("start_lifecycle_policy_preview", "InternalFailure", html_page, http_status_code=500)
    capsys.readouterr()
    with stubber:
        code = main(["plan", "--config", str(config_file), "--native-preview", "--output", "json"])
    preview = json.loads(capsys.readouterr().out)["repositories"][0]["nativePreview"]
    assert code == 1
    assert preview["status"] == "ERROR"
    assert preview["offlineCount"] == 2  # the offline side is still reported
    assert "\n" not in preview["error"] and len(preview["error"]) < 400
