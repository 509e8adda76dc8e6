"""Hostile and broken input, category by category: every one is exit 2 with one line on stderr naming the input and
the place, no traceback, and nothing else (the offline commands make no AWS call at all)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from aws_lambda_powertools.utilities.data_classes.sqs_event import SQSRecord
from housekeeper.cli.main import main
from housekeeper.core.config import load_config
from housekeeper.core.errors import ConfigInvalid, InvalidInput, MalformedEvent
from housekeeper.core.evaluator import evaluate
from housekeeper.core.images import parse_time
from housekeeper.core.policy import normalise_policy, validate_policy
from housekeeper.handlers.events import sync_message

from tests.fakes import example_config
from tests.unit.helpers import write_text

ROOT = Path(__file__).resolve().parents[2]
EXAMPLE = example_config()
DIGEST = "sha256:" + "a" * 64
POLICY = {
    "rules": [
        {
            "rulePriority": 1,
            "description": "expire old images",
            "selection": {"tagStatus": "any", "countType": "sinceImagePushed", "countUnit": "days", "countNumber": 30},
            "action": {"type": "expire"},
        }
    ]
}
IMAGES = {"imageDetails": [{"imageDigest": DIGEST, "imageTags": ["1"], "imagePushedAt": "2024-01-01T00:00:00Z"}]}


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    capsys.readouterr()
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def assert_bad_input(code: int, err: str, *expected: str) -> None:
    """Exit 2, one line on stderr, no traceback, and the line names what and where."""
    assert code == 2, err
    assert err.count("\n") == 1 and err.startswith("error: "), err
    assert "Traceback" not in err
    for text in expected:
        assert text in err, (text, err)


def config_text(**changes: Any) -> str:
    return json.dumps({**EXAMPLE, **changes})


# --- duplicate keys, in every JSON document read --------------------------------------------------------------


def test_a_duplicate_key_in_the_config_is_refused_not_silently_resolved(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    text = '{"version": 1, "mode": "preview", "mode": "enforce", "environments": [], "catchAll": {}}'
    code, out, _ = run(capsys, "validate", write_text(tmp_path, "c.json", text))
    assert code == 2
    assert "duplicate key 'mode'" in out  # validate prints its problems as a table
    nested = config_text().replace('"keep": 5', '"keep": 5, "keep": 50', 1)
    with pytest.raises(ConfigInvalid) as caught:
        load_config(nested)
    assert [(p.path, p.message) for p in caught.value.problems] == [
        ("$.environments[0]", "duplicate key 'keep': JSON keys must be unique")
    ]


def test_a_duplicate_key_in_a_policy_or_in_describe_images_output_exits_2(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    policy = json.dumps(POLICY).replace('"countNumber": 30', '"countNumber": 30, "countNumber": 3')
    code, _, err = run(
        capsys, "simulate", "--policy", write_text(tmp_path, "p.json", policy),
        "--images", write_text(tmp_path, "i.json", "[]"),
    )  # fmt: skip
    assert_bad_input(code, err, "$.rules[0].selection", "duplicate key 'countNumber'")
    images = json.dumps(IMAGES).replace('"imageTags"', '"imageDigest": "sha256:' + "b" * 64 + '", "imageTags"')
    code, _, err = run(
        capsys, "simulate", "--policy", write_text(tmp_path, "p2.json", json.dumps(POLICY)),
        "--images", write_text(tmp_path, "i2.json", images),
    )  # fmt: skip
    assert_bad_input(code, err, "images", "$.imageDetails[0]", "duplicate key 'imageDigest'")


def test_a_duplicate_key_in_an_sqs_message_is_a_malformed_event() -> None:
    with pytest.raises(MalformedEvent) as caught:
        sync_message(SQSRecord({"body": '{"repositoryName": "shop/api", "repositoryName": "shop/web"}'}))
    assert "duplicate key 'repositoryName'" in str(caught.value)


# --- control characters and full-string matching --------------------------------------------------------------


@pytest.mark.parametrize(
    ("change", "path"),
    [
        ({"environments": [{"name": "prod", "tagPrefix": "Prod\n", "keep": 5}]}, "$.environments[0].tagPrefix"),
        ({"environments": [{"name": "prod\n", "tagPrefix": "Prod", "keep": 5}]}, "$.environments[0].name"),
        ({"environments": [{"name": "p", "tagPrefix": "P", "keep": 5, "clusters": ["prod\r-*"]}]}, "clusters[0]"),
        ({"protectTags": ["latest\n"]}, "$.protectTags[0]"),
        ({"repositories": {"include": ["shop/\x1b[31m*"]}}, "$.repositories.include[0]"),
        ({"buildTagPattern": "^[0-9]+\n$"}, "$.buildTagPattern"),
    ],
)
def test_control_characters_in_names_tags_prefixes_and_patterns_are_refused(
    change: dict[str, Any], path: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    data = {**EXAMPLE, **change}
    if "environments" in change:
        data["overrides"] = []
    code, out, _ = run(capsys, "validate", write_text(tmp_path, "c.json", json.dumps(data)), "--output", "json")
    assert code == 2
    assert any(path in problem["path"] for problem in json.loads(out)["problems"]), out


def test_a_tag_prefix_with_a_trailing_newline_never_reaches_a_policy() -> None:
    """`$` accepts a trailing newline; full matching does not, so `Prod\\n-*` can never be written."""
    data = {**EXAMPLE, "environments": [{"name": "prod", "tagPrefix": "Prod\n", "keep": 5}], "overrides": []}
    with pytest.raises(ConfigInvalid) as caught:
        load_config(data)
    assert caught.value.problems[0].path == "$.environments[0].tagPrefix"


def test_a_tag_with_a_control_character_in_describe_images_output_is_refused(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    images = {"imageDetails": [{**IMAGES["imageDetails"][0], "imageTags": ["1\u001b[2J"]}]}
    code, _, err = run(
        capsys, "simulate", "--policy", write_text(tmp_path, "p.json", json.dumps(POLICY)),
        "--images", write_text(tmp_path, "i.json", json.dumps(images)),
    )  # fmt: skip
    assert_bad_input(code, err, "$.imageDetails[0].imageTags")


# --- regular expressions that backtrack catastrophically ------------------------------------------------------


@pytest.mark.parametrize("pattern", ["^(a+)+$", "^([0-9]*)*$", "^(x|x0)*$", "(?:[0-9]+-?)+$"])
def test_a_build_tag_pattern_that_can_backtrack_catastrophically_is_refused_with_the_reason(pattern: str) -> None:
    with pytest.raises(ConfigInvalid) as caught:
        load_config({**EXAMPLE, "buildTagPattern": pattern})
    (problem,) = caught.value.problems
    assert problem.path == "$.buildTagPattern"
    assert "backtrack catastrophically" in problem.message


@pytest.mark.parametrize("pattern", ["^[0-9]+$", "^v(?P<build>[0-9]+)$", "^(?:release-)?([0-9]+)(-rc[0-9]+)?$"])
def test_ordinary_build_tag_patterns_are_accepted(pattern: str) -> None:
    assert load_config({**EXAMPLE, "buildTagPattern": pattern}).build_tag_pattern == pattern


# --- nesting, huge and non-finite numbers, lone surrogates, negative sizes, wrong types -----------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("[" * 5000 + "]" * 5000, "nested too deeply"),
        ('{"a": ' * 100 + "1" + "}" * 100, "nested deeper than 64 levels"),
        ('{"version": ' + "9" * 5000 + "}", "5000 digits"),
        ('{"version": NaN}', "NaN is not a JSON number"),
        ('{"version": Infinity}', "Infinity is not a JSON number"),
        ('{"version": 1e309}', "out of range"),
        ('{"description": "\\ud800"}', "lone surrogate"),
    ],
)
def test_hostile_json_in_a_config_exits_2_without_a_traceback(
    text: str, expected: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, err = run(capsys, "validate", write_text(tmp_path, "c.json", text), "--output", "json")
    assert code == 2 and "Traceback" not in err
    assert expected in out


@pytest.mark.parametrize(
    ("detail", "field"),
    [
        ({"imageSizeInBytes": -1}, "imageSizeInBytes"),
        ({"imageSizeInBytes": "big"}, "imageSizeInBytes"),
        ({"imagePushedAt": "nan"}, "imagePushedAt"),
        ({"imagePushedAt": "1" * 400}, "imagePushedAt"),
        ({"imagePushedAt": 10**18}, "imagePushedAt"),
        ({"imagePushedAt": "0001-01-01T00:00:00Z"}, "imagePushedAt"),
        ({"imagePushedAt": "9999-12-31T23:59:59-23:59"}, "imagePushedAt"),
        ({"imageDigest": "sha256:short"}, "imageDigest"),
        ({"imageDigest": 7}, "imageDigest"),
        ({"imageTags": [1, 2]}, "imageTags"),
        ({"imageManifestMediaType": ["x"]}, "imageManifestMediaType"),
        ({"lastRecordedPullTime": True}, "lastRecordedPullTime"),
    ],
)
def test_wrong_image_details_exit_2_naming_the_field(
    detail: dict[str, Any], field: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    images = {"imageDetails": [{**IMAGES["imageDetails"][0], **detail}]}
    code, _, err = run(
        capsys, "simulate", "--policy", write_text(tmp_path, "p.json", json.dumps(POLICY)),
        "--images", write_text(tmp_path, "i.json", json.dumps(images)),
    )  # fmt: skip
    assert_bad_input(code, err, f"$.imageDetails[0].{field}")


# --- times: finite instants between 1970 and 9999 --------------------------------------------------------------


@pytest.mark.parametrize("now", ["nan", "inf", "-inf", "1e400", "9999-12-31T23:59:59-23:59", "-5", "1" * 400])
def test_now_that_is_not_a_finite_instant_between_1970_and_9999_exits_2(
    now: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, _, err = run(
        capsys, "simulate", "--policy", write_text(tmp_path, "p.json", json.dumps(POLICY)),
        "--images", write_text(tmp_path, "i.json", json.dumps(IMAGES)), f"--now={now}",
    )  # fmt: skip
    assert_bad_input(code, err, "--now")


def test_the_edges_of_the_time_range_are_accepted() -> None:
    assert parse_time("1970-01-01T00:00:00Z", "t") == 0.0
    assert parse_time("9999-12-31T23:59:59Z", "t") == 253_402_300_799.0
    with pytest.raises(InvalidInput):
        parse_time(253_402_300_800, "t")


# --- arguments are checked locally, before any AWS call ---------------------------------------------------------


@pytest.mark.parametrize(
    ("argv", "flag"),
    [
        (["plan", "--config", "config/example.json", "--repository", "shop/\n*"], "--repository"),
        (["inventory", "--parameter", "bad name with spaces"], "--parameter"),
        (["report", "--parameter", "/ok", "--repository", ""], "--repository"),
        (["backfill", "--parameter", "/x\n"], "--parameter"),
    ],
)
def test_aws_commands_refuse_bad_arguments_before_any_call(
    argv: list[str], flag: str, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    from housekeeper.cli import common

    def no_aws(*_: Any) -> Any:
        raise AssertionError("bad input must be refused before any AWS call")

    for name in ("ecr_gateway", "ssm_gateway", "places"):
        monkeypatch.setattr(common, name, no_aws)
    monkeypatch.chdir(ROOT)
    code, _, err = run(capsys, *argv)
    assert_bad_input(code, err, flag)


def test_an_unknown_flag_is_one_line_and_exit_2(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exited:
        main(["simulate", "--policy", "p.json", "--images", "i.json", "--bogus"])
    assert exited.value.code == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "unrecognized arguments: --bogus" in err


# --- one reader of lifecycle rules: an enum spelling is accepted by all or refused by all -----------------------


@pytest.mark.parametrize(
    ("field", "value"), [("type", "EXPIRE"), ("tagStatus", "ANY"), ("countType", "SINCEIMAGEPUSHED")]
)
def test_the_validator_the_normaliser_and_the_evaluator_read_every_spelling_alike(field: str, value: str) -> None:
    policy = json.loads(json.dumps(POLICY))
    rule = policy["rules"][0]
    (rule["action"] if field == "type" else rule["selection"])[field] = value
    assert validate_policy(policy) == []
    assert normalise_policy(policy) == normalise_policy(POLICY)
    images = [parse_images_image()]
    assert (
        evaluate(policy, images, 1_800_000_000).expiring_digests
        == evaluate(POLICY, images, 1_800_000_000).expiring_digests
    )


def test_a_spelling_no_reader_knows_is_refused_by_all() -> None:
    policy = json.loads(json.dumps(POLICY))
    policy["rules"][0]["action"]["type"] = "delete"
    assert [p.path for p in validate_policy(policy)] == ["$.rules[0].action.type"]
    with pytest.raises(InvalidInput) as caught:
        evaluate(policy, [], 0)
    assert [p.path for p in caught.value.problems] == ["$.rules[0].action.type"]


def parse_images_image() -> Any:
    from housekeeper.core.images import image_from_detail

    return image_from_detail(IMAGES["imageDetails"][0])
