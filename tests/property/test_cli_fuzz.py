"""Fuzzing the offline commands: whatever JSON-like document or argument list arrives, `validate`, `policy` and
`simulate` end with exit 0 or 2 and never a traceback (an exception escaping `main`)."""

from __future__ import annotations

import json
import string
from pathlib import Path
from typing import Any

import pytest
from housekeeper.cli.main import main
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.fakes import example_config

ROOT = Path(__file__).resolve().parents[2]
EXAMPLE = example_config()
KEYS = [
    *EXAMPLE,
    "name", "tagPrefix", "keep", "clusters", "expireAfterDays", "archiveAfterDays", "include", "exclude",
    "rules", "rulePriority", "selection", "action", "tagStatus", "tagPatternList", "tagPrefixList", "countType",
    "countUnit", "countNumber", "storageClass", "type", "targetStorageClass", "lifecyclePolicyText",
    "imageDetails", "imageDigest", "imageTags", "imagePushedAt", "imageSizeInBytes", "childDigests",
    "imageStatus", "lastRecordedPullTime", "protectInUse", "maxExpireFraction", "inUse",
]  # fmt: skip
TEXT = st.text(alphabet=st.characters(codec="utf-8", exclude_categories=("Cs",)) | st.sampled_from("\n\t\x00*$"))
SCALARS = (
    st.none()
    | st.booleans()
    | st.integers(min_value=-(2**70), max_value=2**70)
    | st.floats(allow_nan=False, allow_infinity=False)
    | TEXT
    | st.sampled_from(["preview", "enforce", "tagged", "any", "expire", "2024-01-01T00:00:00Z", "sha256:" + "a" * 64])
)
DOCUMENTS = st.recursive(
    SCALARS,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.sampled_from(KEYS) | TEXT, inner, max_size=5),
    max_leaves=25,
)
# Raw text that no JSON encoder writes: what a hostile or broken file holds.
RAW = st.sampled_from(
    [
        "",
        "{",
        '{"a": NaN}',
        "[1e999]",
        '{"mode": "preview", "mode": "enforce"}',
        '["\\udc00"]',
        "[" * 3000,
        "9" * 5000,
        "\ufeff{}",
        "\x00",
    ]
)


def run_cli(argv: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, str]:
    """Exit code and stderr; an exception escaping `main` fails the test with its traceback."""
    capsys.readouterr()
    try:
        code = main(argv)
    except SystemExit as exited:  # argparse's own exits (help, bad arguments)
        code = int(exited.code or 0)
    return code, capsys.readouterr().err


def document_text(document: Any) -> str:
    return json.dumps(document, ensure_ascii=False)


FUZZ = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])


@FUZZ
@given(document=DOCUMENTS | st.fixed_dictionaries({"environments": DOCUMENTS, "catchAll": DOCUMENTS}), raw=RAW)
def test_validate_and_policy_never_crash(
    document: Any, raw: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    for index, text in enumerate((document_text(document), raw)):
        path = tmp_path / f"config-{index}.json"
        path.write_text(text, encoding="utf-8")
        for argv in (
            ["validate", str(path)],
            ["validate", str(path), "--output", "json"],
            ["policy", "--config", str(path), "--repository", "shop/api"],
        ):
            code, err = run_cli(argv, capsys)
            assert code in (0, 2), (argv, text[:200], err)
            if code == 2:
                assert err.count("\n") <= 1 or argv[0] == "validate", err


@FUZZ
@given(policy=DOCUMENTS, images=DOCUMENTS, raw=RAW, now=st.none() | TEXT | st.floats().map(str))
def test_simulate_never_crashes(
    policy: Any, images: Any, raw: str, now: str | None, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    example_policy = tmp_path / "example-policy.json"
    example_policy.write_text(json.dumps({"rules": [EXAMPLE_RULE]}))
    for index, (policy_text, images_text) in enumerate(
        (
            (document_text(policy), document_text(images)),
            (raw, document_text(images)),
            (example_policy.read_text(), raw),
        )
    ):
        policy_path, images_path = tmp_path / f"p{index}.json", tmp_path / f"i{index}.json"
        policy_path.write_text(policy_text, encoding="utf-8")
        images_path.write_text(images_text, encoding="utf-8")
        argv = ["simulate", "--policy", str(policy_path), "--images", str(images_path), "--output", "json"]
        if now is not None:
            argv.append(f"--now={now}")
        code, err = run_cli(argv, capsys)
        assert code in (0, 2), (argv, policy_text[:200], images_text[:200], err)
        if code == 2:
            assert err.count("\n") == 1 and "Traceback" not in err, err


EXAMPLE_RULE = {
    "rulePriority": 1,
    "selection": {"tagStatus": "any", "countType": "imageCountMoreThan", "countNumber": 1},
    "action": {"type": "expire"},
}
WORDS = st.sampled_from(
    [
        "validate", "policy", "simulate", "--config", "--repository", "--policy", "--images", "--now", "--output",
        "json", "table", "--compact", "--manifests", "-", "--help", "config/example.json", "shop/api", "nan",
        "2024-01-01", "--version", "-h", "--", "",
    ]
) | st.text(alphabet=string.printable, max_size=12)  # fmt: skip


@FUZZ
@given(argv=st.lists(WORDS, max_size=8))
def test_any_argument_list_for_the_offline_commands_ends_in_0_or_2(
    argv: list[str], capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(ROOT)
    monkeypatch.setattr("sys.stdin", _EmptyStdin())
    command = next((word for word in argv if word in ("validate", "policy", "simulate")), None)
    if command is None:
        return  # the AWS commands are fuzzed by their own argument checks, not here
    code, err = run_cli(argv, capsys)
    assert code in (0, 2), (argv, err)


class _EmptyStdin:
    def read(self) -> str:
        return ""
