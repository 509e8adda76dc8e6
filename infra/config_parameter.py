"""The central config: one SSM String parameter, seeded from a config file that is validated at synth.

The file is checked with the same model the Lambdas use (`housekeeper.core.config.load_config`), so a config that
the functions would reject fails `cdk synth` with the JSON path of each problem instead of failing in production.
"""

from __future__ import annotations

import json
from pathlib import Path

from aws_cdk import aws_ssm as ssm
from constructs import Construct
from housekeeper.core.config import load_config
from housekeeper.core.errors import ConfigInvalid

# The standard tier holds 4 KB; larger configs need the (paid) advanced tier.
STANDARD_TIER_LIMIT = 4096


class InitialConfigInvalid(ValueError):
    """The config file seeded into the parameter is invalid; the message lists every JSON path."""


def read_initial_config(path: Path) -> str:
    """Validate the file with the runtime model and return it as compact JSON (the parameter value)."""
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise InitialConfigInvalid(f"config file {path}: cannot be read ({exc.strerror})") from exc
    try:
        load_config(text)
    except ConfigInvalid as exc:
        raise InitialConfigInvalid(f"config file {path}: {exc}") from exc
    return json.dumps(json.loads(text), separators=(",", ":"))


class ConfigParameter(Construct):  # type: ignore[misc]  # CDK types are opaque to mypy (follow_imports=skip)
    """The SSM parameter the functions read on every run; operators edit it with `aws ssm put-parameter`."""

    def __init__(self, scope: Construct, construct_id: str, *, parameter_name: str, config_file: Path) -> None:
        super().__init__(scope, construct_id)
        value = read_initial_config(config_file)
        self.parameter_name = parameter_name
        self.parameter = ssm.StringParameter(
            self,
            "Parameter",
            parameter_name=parameter_name,
            string_value=value,
            description="ECR Housekeeper central config (JSON). Edits take effect within seconds.",
            tier=ssm.ParameterTier.STANDARD if len(value) <= STANDARD_TIER_LIMIT else ssm.ParameterTier.ADVANCED,
        )
        self.parameter_arn = self.parameter.parameter_arn
