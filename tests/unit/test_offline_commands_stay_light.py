"""The offline commands (validate, policy, simulate) load neither the AWS SDK nor Powertools: they start in a
fraction of the time `import boto3` takes, and work on a machine with no AWS set up at all."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
HEAVY = ("boto3", "botocore", "aws_lambda_powertools", "aws_xray_sdk")
PROBE = """
import sys
from housekeeper.cli.main import main
try:
    code = main(sys.argv[1:])
except SystemExit as exited:
    code = exited.code
print("LOADED", [name for name in {heavy!r} if name in sys.modules], "EXIT", code)
"""


def loaded_by(argv: list[str]) -> str:
    result = subprocess.run(
        [sys.executable, "-c", PROBE.format(heavy=HEAVY), *argv],
        capture_output=True,
        text=True,
        cwd=ROOT,
        env={"PYTHONPATH": str(ROOT / "lambdas"), "PATH": "/usr/bin:/bin"},
        check=False,
        timeout=60,
    )
    return result.stdout.strip().splitlines()[-1]


@pytest.mark.parametrize(
    "argv",
    [
        ["validate", "config/example.json"],
        ["policy", "--config", "config/example.json", "--repository", "shop/api"],
        ["simulate", "--policy", "POLICY", "--images", "IMAGES", "--output", "json"],
        ["validate", "no-such-file.json"],
        ["--help"],
    ],
)
def test_offline_commands_import_no_aws_sdk_and_no_powertools(argv: list[str], tmp_path: Path) -> None:
    policy = tmp_path / "policy.json"
    policy.write_text(json.dumps({"rules": [{"rulePriority": 1, "selection": {"tagStatus": "any",
        "countType": "imageCountMoreThan", "countNumber": 1}, "action": {"type": "expire"}}]}))  # fmt: skip
    images = tmp_path / "images.json"
    images.write_text(json.dumps({"imageDetails": []}))
    argv = [str(policy) if word == "POLICY" else str(images) if word == "IMAGES" else word for word in argv]
    assert loaded_by(argv).startswith("LOADED [] EXIT ")


def test_an_aws_command_does_load_them(tmp_path: Path) -> None:
    """The probe is not blind: `plan` builds its gateways and loads boto3."""
    out = loaded_by(["plan", "--config", "config/example.json", "--repository", "nothing-matches/*"])
    assert "'boto3'" in out
