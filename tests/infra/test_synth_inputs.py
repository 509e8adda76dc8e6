"""What an operator passes to `cdk synth`: a broken config or setting fails synth and says where."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from aws_cdk.assertions import Template

from infra.app import build_app
from infra.config_parameter import InitialConfigInvalid
from infra.function import PROJECT_ROOT
from tests.infra.template_helpers import logical_id_of, resources_of


def broken_config(tmp_path: Path) -> Path:
    config = json.loads((PROJECT_ROOT / "config" / "default.json").read_text(encoding="utf-8"))
    config["environments"][1]["keep"] = 0
    config["mode"] = "enforcing"
    path = tmp_path / "broken.json"
    path.write_text(json.dumps(config), encoding="utf-8")
    return path


def test_a_broken_config_fails_the_build_with_every_json_path(tmp_path: Path) -> None:
    with pytest.raises(InitialConfigInvalid) as raised:
        build_app({"housekeeper:configFile": str(broken_config(tmp_path))})
    message = str(raised.value)
    assert "$.environments[1].keep: must be at least 1, got 0" in message
    assert "$.mode: must be one of preview, enforce" in message
    assert str(tmp_path / "broken.json") in message


def test_a_config_that_is_not_json_fails_the_build(tmp_path: Path) -> None:
    path = tmp_path / "config.json"
    path.write_text('{"version": 1,', encoding="utf-8")
    with pytest.raises(InitialConfigInvalid, match=r"line 1 column \d+: not valid JSON"):
        build_app({"housekeeper:configFile": str(path)})


def test_synth_through_app_py_exits_non_zero_and_prints_the_json_path(tmp_path: Path) -> None:
    """What `npx cdk synth` runs: app.py with the CLI's context in CDK_CONTEXT_JSON."""
    context = {"housekeeper:configFile": str(broken_config(tmp_path))}
    env = {**os.environ, "CDK_CONTEXT_JSON": json.dumps(context), "CDK_OUTDIR": str(tmp_path / "out")}
    result = subprocess.run(
        [sys.executable, "app.py"], cwd=PROJECT_ROOT, env=env, capture_output=True, text=True, timeout=120, check=False
    )
    assert result.returncode == 1
    assert "$.environments[1].keep: must be at least 1, got 0" in result.stderr
    assert "Traceback" not in result.stderr


def run_app_py(context: dict[str, Any], outdir: Path) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "CDK_CONTEXT_JSON": json.dumps(context), "CDK_OUTDIR": str(outdir)}
    return subprocess.run(
        [sys.executable, "app.py"], cwd=PROJECT_ROOT, env=env, capture_output=True, text=True, timeout=120, check=False
    )


def test_app_py_synthesizes_the_hub_and_the_spoke(tmp_path: Path) -> None:
    """`make synth` (cdk synth) writes both templates; the spoke's is the one a StackSet takes."""
    result = run_app_py({"housekeeper:hubAccountId": "111122223333", "housekeeper:hubRegion": "eu-west-1"}, tmp_path)
    assert result.returncode == 0, result.stderr
    hub = json.loads((tmp_path / "EcrHousekeeper.template.json").read_text(encoding="utf-8"))
    spoke = json.loads((tmp_path / "EcrHousekeeperSpoke.template.json").read_text(encoding="utf-8"))
    assert logical_id_of(hub, "AWS::Events::EventBus", Name="ecr-housekeeper-events")
    assert spoke["Parameters"]["HubAccountId"]["Default"] == "111122223333"


def test_a_bad_multi_account_setting_fails_synth_naming_its_key(tmp_path: Path) -> None:
    result = run_app_py({"housekeeper:workloadAccounts": "222233334444,12"}, tmp_path)
    assert result.returncode == 1
    assert "cdk synth failed: context housekeeper:workloadAccounts: '12' is not a 12-digit AWS account id" in (
        result.stderr
    )
    assert "Traceback" not in result.stderr


@pytest.fixture(scope="module")
def overridden_template() -> dict[str, Any]:
    """One synth with every commonly overridden key set on the command line (strings, as `-c` passes them)."""
    _, stack = build_app(
        {
            "housekeeper:alarmEmail": "oncall@example.com",
            "housekeeper:configParameterName": "/platform/housekeeper",
            "housekeeper:sweepSchedule": "rate(12 hours)",
            "housekeeper:workerReservedConcurrency": "3",
            "housekeeper:workerTimeoutSeconds": "120",
            "housekeeper:powertoolsLayerArn": (
                "arn:aws:lambda:eu-west-1:017000801446:layer:AWSLambdaPowertoolsPythonV3-python313-arm64:27"
            ),
            "housekeeper:retainLogs": "false",
            "housekeeper:resourcePrefix": "hk",
        }
    )
    template: dict[str, Any] = Template.from_stack(stack).to_json()
    return template


def test_alarm_email_subscribes_to_the_alarm_topic(overridden_template: dict[str, Any]) -> None:
    (subscription,) = resources_of(overridden_template, "AWS::SNS::Subscription").values()
    assert subscription["Properties"]["Protocol"] == "email"
    assert subscription["Properties"]["Endpoint"] == "oncall@example.com"


def test_overrides_reach_the_resources(overridden_template: dict[str, Any]) -> None:
    t = overridden_template
    config_rule = t["Resources"][logical_id_of(t, "AWS::Events::Rule", Name="hk-config-changed")]["Properties"]
    assert config_rule["EventPattern"]["detail"]["name"] == ["/platform/housekeeper"]
    sweep = t["Resources"][logical_id_of(t, "AWS::Events::Rule", Name="hk-drift-sweep")]["Properties"]
    assert sweep["ScheduleExpression"] == "rate(12 hours)"
    worker = t["Resources"][logical_id_of(t, "AWS::Lambda::Function", FunctionName="hk-sync-repository")]
    assert worker["Properties"]["ReservedConcurrentExecutions"] == 3
    assert worker["Properties"]["Timeout"] == 120
    assert worker["Properties"]["Layers"] == [
        "arn:aws:lambda:eu-west-1:017000801446:layer:AWSLambdaPowertoolsPythonV3-python313-arm64:27"
    ]
    queue = t["Resources"][logical_id_of(t, "AWS::SQS::Queue", QueueName="hk-sync")]["Properties"]
    assert queue["VisibilityTimeout"] == 720
    (mapping,) = resources_of(t, "AWS::Lambda::EventSourceMapping").values()
    assert mapping["Properties"]["ScalingConfig"] == {"MaximumConcurrency": 3}
    assert {g.get("DeletionPolicy") for g in resources_of(t, "AWS::Logs::LogGroup").values()} == {"Delete"}
    role_names = {r["Properties"].get("RoleName") for r in resources_of(t, "AWS::IAM::Role").values()}
    assert role_names == {"hk-tag-deployment-role", "hk-sync-repository-role", None}
    assert logical_id_of(t, "AWS::Events::EventBus", Name="hk-events")
    assert not any(p.get("Default", "").startswith("/aws/service/powertools/") for p in t["Parameters"].values())
