"""`housekeeper validate`: exit 0 with a summary, or exit 2 listing every problem's JSON path."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from housekeeper.cli.main import main

ROOT = Path(__file__).resolve().parents[2]
EXAMPLE = ROOT / "config" / "example.json"
BROKEN = ROOT / "tests" / "fixtures" / "configs" / "many_problems.json"


def test_valid_config_exits_zero_with_a_summary(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["validate", str(EXAMPLE)]) == 0
    out = capsys.readouterr().out
    assert "valid (preview mode)" in out
    assert "Staging-" in out
    assert "base policy:  6 rules" in out


def test_valid_config_as_json(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["validate", str(EXAMPLE), "--output", "json"]) == 0
    summary = json.loads(capsys.readouterr().out)
    assert summary["valid"] is True
    assert [env["name"] for env in summary["environments"]] == ["prod", "staging", "dev"]
    assert summary["rulesInBasePolicy"] == 6


def test_invalid_config_exits_two_listing_every_json_path(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["validate", str(BROKEN)]) == 2
    captured = capsys.readouterr()
    for path in ("$.version", "$.environments[0].keep", "$.environments[1].name", "$.untaged", "$.protectTags[0]"):
        assert path in captured.out
    assert "did you mean 'untagged'" in captured.out
    assert "invalid, 10 problem(s)" in captured.err


def test_invalid_config_as_json(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["validate", str(BROKEN), "--output", "json"]) == 2
    report = json.loads(capsys.readouterr().out)
    assert report["valid"] is False
    assert len(report["problems"]) == 10
    assert {"path": "$.environments[0].keep", "message": "must be at least 1, got 0"} in report["problems"]


def test_config_breaking_an_ecr_limit_is_reported(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    data = json.loads(EXAMPLE.read_text())
    data["environments"] = [{"name": f"e{i}", "tagPrefix": f"E{i}", "keep": 1} for i in range(48)]
    data["overrides"] = []
    config = tmp_path / "big.json"
    config.write_text(json.dumps(data))
    assert main(["validate", str(config), "--output", "json"]) == 2
    problems = json.loads(capsys.readouterr().out)["problems"]
    assert problems[0]["path"] == "$"
    assert "at most 50" in problems[0]["message"]


def test_missing_file_and_bad_json_are_bad_input(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["validate", str(tmp_path / "nope.json")]) == 2
    assert "cannot read config" in capsys.readouterr().err
    bad = tmp_path / "bad.json"
    bad.write_text('{ "version": 1,')
    assert main(["validate", str(bad)]) == 2
    assert "not valid JSON" in capsys.readouterr().out


def test_help_explains_the_command(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as done:
        main(["validate", "--help"])
    assert done.value.code == 0
    out = capsys.readouterr().out
    assert "JSON path" in out
    assert "--output" in out
