"""Shared CLI plumbing: where the config comes from (`--config F | --parameter P`) and the AWS gateways.

Commands that read AWS build their gateways here so that they all honour the same settings: boto3's standard
credentials and region, `AWS_ENDPOINT_URL` for an emulator, and adaptive retries.
"""

from __future__ import annotations

import argparse
import logging
import os
import sys
import time
from pathlib import Path

from housekeeper.aws.ecr import Boto3EcrGateway
from housekeeper.aws.ecs import Boto3EcsGateway
from housekeeper.aws.events import Boto3EventsGateway
from housekeeper.aws.lambda_functions import Boto3LambdaGateway
from housekeeper.aws.scheduler import Boto3SchedulerGateway
from housekeeper.aws.ssm import Boto3SsmGateway
from housekeeper.core.config import Config, load_config
from housekeeper.core.errors import InvalidInput, Problem
from housekeeper.core.images import parse_time
from housekeeper.logic.config_source import CONFIG_PARAMETER_VARIABLE, read_config
from housekeeper.logic.inventory import InventorySources


def add_config_source_arguments(parser: argparse.ArgumentParser) -> None:
    """`--config FILE` or `--parameter NAME` (default: $HOUSEKEEPER_CONFIG_PARAMETER)."""
    group = parser.add_mutually_exclusive_group()
    group.add_argument("--config", metavar="CONFIG.json", help="read the config from a file ('-' reads stdin)")
    group.add_argument(
        "--parameter",
        metavar="NAME",
        help=f"read the config from this SSM parameter (default: ${CONFIG_PARAMETER_VARIABLE} when set)",
    )


def read_text(path: str, what: str) -> str:
    """A file's text, or stdin for '-'; an unreadable file is bad input (exit 2), not a crash."""
    if path == "-":
        return sys.stdin.read()
    try:
        return Path(path).read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        reason = exc.strerror if isinstance(exc, OSError) and exc.strerror else str(exc)
        raise InvalidInput(f"cannot read {what}", [Problem(path, reason)]) from None


def now_from_argument(value: str | None) -> float:
    """`--now` (ISO-8601 or epoch seconds) as epoch seconds; the current time when not given. Bad input exits 2."""
    if value is None:
        return time.time()
    try:
        return parse_time(value, "--now")
    except InvalidInput as exc:
        raise InvalidInput("--now", exc.problems) from None


def load_config_from_args(args: argparse.Namespace) -> Config:
    """The validated config from --config, --parameter or $HOUSEKEEPER_CONFIG_PARAMETER. Bad config exits 2."""
    if getattr(args, "config", None):
        return load_config(read_text(args.config, "config"))
    parameter = getattr(args, "parameter", None) or os.environ.get(CONFIG_PARAMETER_VARIABLE)
    if not parameter:
        raise InvalidInput(
            "no config",
            [Problem("--config", f"give --config FILE or --parameter NAME (or set {CONFIG_PARAMETER_VARIABLE})")],
        )
    return read_config(ssm_gateway(), parameter, force_fetch=True)


def ecr_gateway() -> Boto3EcrGateway:
    return Boto3EcrGateway()


def ecs_gateway() -> Boto3EcsGateway:
    return Boto3EcsGateway()


def ssm_gateway() -> Boto3SsmGateway:
    return Boto3SsmGateway()


def inventory_sources() -> InventorySources:
    """The gateways the in-use inventory reads: ECS, Lambda, EventBridge Scheduler and EventBridge."""
    return InventorySources(
        ecs=ecs_gateway(),
        lambdas=Boto3LambdaGateway(),
        scheduler=Boto3SchedulerGateway(),
        events=Boto3EventsGateway(),
    )


class _CurrentStderr:
    """Writes to whatever sys.stderr is at the time, so a replaced stderr (pytest, redirection) is honoured."""

    def write(self, text: str) -> int:
        return sys.stderr.write(text)

    def flush(self) -> None:
        sys.stderr.flush()


def logs_to_stderr() -> None:
    """Keep stdout for the command's output: the shared Powertools logger writes JSON lines to stdout otherwise."""
    from housekeeper.observability import logger

    handler = logger.registered_handler
    if isinstance(handler, logging.StreamHandler) and not isinstance(handler.stream, _CurrentStderr):
        handler.stream = _CurrentStderr()
    if os.environ.get("POWERTOOLS_LOG_LEVEL") is None and os.environ.get("LOG_LEVEL") is None:
        # The command's own output already says what happened to each item; the JSON log lines are for
        # POWERTOOLS_LOG_LEVEL=INFO (or DEBUG) when someone wants to see the steps.
        logger.setLevel("CRITICAL")
