"""`housekeeper policy`: print the validated policy a repository gets; exit 2 on a bad config."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from housekeeper.cli.main import main
from housekeeper.core.compiler import compile_policy
from housekeeper.core.config import load_config
from housekeeper.core.policy import policy_text, validate_policy

ROOT = Path(__file__).resolve().parents[2]
EXAMPLE = ROOT / "config" / "example.json"
ARCHIVE = ROOT / "tests" / "fixtures" / "configs" / "archive.json"


def test_prints_a_policy_the_validator_accepts(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["policy", "--config", str(EXAMPLE), "--repository", "payments/api"]) == 0
    policy = json.loads(capsys.readouterr().out)
    assert validate_policy(policy) == []
    assert policy == compile_policy(load_config(EXAMPLE.read_text()), "payments/api")
    assert policy["rules"][1]["selection"]["countNumber"] == 10  # the payments/* override


def test_compact_output_is_the_text_sent_to_ecr(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["policy", "--config", str(EXAMPLE), "--repository", "web", "--compact"]) == 0
    out = capsys.readouterr().out
    assert out == policy_text(compile_policy(load_config(EXAMPLE.read_text()), "web")) + "\n"


def test_table_output_lists_the_rules(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["policy", "--config", str(ARCHIVE), "--repository", "team-a/api", "--output", "table"]) == 0
    out = capsys.readouterr().out
    assert "release-*" in out
    assert "transition to archive" in out
    assert "any (archive)" in out
    assert "sinceImageTransitioned > 180 days" in out


def test_an_excluded_repository_gets_a_note(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["policy", "--config", str(ARCHIVE), "--repository", "team-a/legacy"]) == 0
    captured = capsys.readouterr()
    assert "not selected by $.repositories" in captured.err
    assert json.loads(captured.out)["rules"]


def test_bad_config_exits_two_with_the_json_path(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    data = json.loads(EXAMPLE.read_text())
    data["environments"][0]["keep"] = 0
    config = tmp_path / "bad.json"
    config.write_text(json.dumps(data))

    assert main(["policy", "--config", str(config), "--repository", "web", "--output", "table"]) == 2
    captured = capsys.readouterr()
    assert captured.out == ""  # no policy printed
    assert "$.environments[0].keep" in captured.err


def test_bad_config_with_json_output_reports_problems_on_stdout(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    config = tmp_path / "bad.json"
    config.write_text(json.dumps({"environments": [], "catchAll": {"expireAfterDays": 1}}))
    assert main(["policy", "--config", str(config), "--repository", "web"]) == 2
    report = json.loads(capsys.readouterr().out)
    assert "rules" not in report
    assert report["problems"][0]["path"] == "$.environments"


def test_repository_is_required(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as done:
        main(["policy", "--config", str(EXAMPLE)])
    assert done.value.code == 2
    assert "--repository" in capsys.readouterr().err
