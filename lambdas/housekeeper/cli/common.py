"""Shared CLI plumbing: where the config comes from (`--config F | --parameter P`), local checks of arguments, and
the AWS gateways.

This module is imported by every command, so it stays light: nothing here imports boto3, botocore or Powertools at
import time. The offline commands (`validate`, `policy`, `simulate`) never load them; the AWS gateways are built
on demand, honouring boto3's standard credentials and region, `AWS_ENDPOINT_URL` for an emulator, and adaptive
retries.

Arguments that name AWS things are checked here against ECR's own grammars before any call is made, so bad input
exits 2 with the flag's name instead of reaching AWS.
"""

from __future__ import annotations

import argparse
import os
import re
import sys
import time
from typing import TYPE_CHECKING, Any

from housekeeper.core.errors import InvalidInput, Problem
from housekeeper.core.names import has_control_characters, is_digest, is_repository_name, is_tag
from housekeeper.settings import CONFIG_PARAMETER_VARIABLE

if TYPE_CHECKING:
    from housekeeper.aws.ecr import Boto3EcrGateway
    from housekeeper.aws.ports import Places
    from housekeeper.aws.ssm import Boto3SsmGateway
    from housekeeper.core.config import Config
    from housekeeper.core.places import Estate

# SSM parameter names: letters, digits, '_', '.', '-' and '/' (up to 1,011 characters), or the parameter's ARN.
_PARAMETER_NAME = re.compile(
    r"[a-zA-Z0-9_./-]{1,1011}|arn:aws[a-z-]*:ssm:[a-z0-9-]+:[0-9]{12}:parameter/[a-zA-Z0-9_./-]{1,1011}"
)
MAX_FILE_BYTES = 256 * 1024 * 1024


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
        try:
            return sys.stdin.read()
        except UnicodeDecodeError as exc:
            raise InvalidInput(f"cannot read {what}", [Problem("stdin", f"not UTF-8 text: {exc.reason}")]) from None
    try:
        with open(path, encoding="utf-8") as file:  # noqa: PTH123  (pathlib costs an import on every command)
            text = file.read(MAX_FILE_BYTES + 1)
    except (OSError, UnicodeDecodeError, ValueError) as exc:
        reason = exc.strerror if isinstance(exc, OSError) and exc.strerror else str(exc)
        raise InvalidInput(f"cannot read {what}", [Problem(path, reason)]) from None
    if len(text) > MAX_FILE_BYTES:
        raise InvalidInput(f"cannot read {what}", [Problem(path, f"larger than {MAX_FILE_BYTES >> 20} MiB")])
    return text


def now_from_argument(value: str | None) -> float:
    """`--now` (ISO-8601 or epoch seconds) as epoch seconds; the current time when not given. Bad input exits 2."""
    if value is None:
        return time.time()
    from housekeeper.core.images import parse_time

    try:
        return parse_time(value, "--now")
    except InvalidInput as exc:
        raise InvalidInput("--now", exc.problems) from None


def check_repository(value: str, flag: str = "--repository") -> str:
    """An ECR repository name (ECR's grammar), before any call names it."""
    if not is_repository_name(value):
        raise InvalidInput(
            "arguments",
            [Problem(flag, f"{ascii(value)[:80]} is not an ECR repository name (lowercase a-z, 0-9, '._-/', 2-256)")],
        )
    return value


def check_tag(value: str, flag: str) -> str:
    if not is_tag(value):
        grammar = "[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}"
        raise InvalidInput("arguments", [Problem(flag, f"{ascii(value)[:80]} is not an image tag ({grammar})")])
    return value


def check_digest(value: str, flag: str = "--digest") -> str:
    if not is_digest(value):
        raise InvalidInput(
            "arguments", [Problem(flag, f"{ascii(value)[:80]} is not an image digest (sha256:<64 hex digits>)")]
        )
    return value


def check_globs(values: list[str], flag: str = "--repository") -> list[str]:
    """Name globs (`--repository 'payments/*'`): one line of printable text each."""
    for value in values:
        if not value or has_control_characters(value) or len(value) > 512:
            raise InvalidInput("arguments", [Problem(flag, f"{ascii(value)[:80]} is not a usable name glob")])
    return values


def check_parameter_name(value: str, flag: str = "--parameter") -> str:
    if not _PARAMETER_NAME.fullmatch(value):
        raise InvalidInput("arguments", [Problem(flag, f"{ascii(value)[:80]} is not an SSM parameter name or ARN")])
    return value


def load_config_from_args(args: argparse.Namespace) -> Config:
    """The validated config from --config, --parameter or $HOUSEKEEPER_CONFIG_PARAMETER. Bad or missing config: 2."""
    from housekeeper.core.config import load_config

    if getattr(args, "config", None):
        return load_config(read_text(args.config, "config"))
    flag = "--parameter" if getattr(args, "parameter", None) else CONFIG_PARAMETER_VARIABLE
    parameter = getattr(args, "parameter", None) or os.environ.get(CONFIG_PARAMETER_VARIABLE)
    if not parameter:
        raise InvalidInput(
            "no config",
            [Problem("--config", f"give --config FILE or --parameter NAME (or set {CONFIG_PARAMETER_VARIABLE})")],
        )
    check_parameter_name(parameter, flag)
    from housekeeper.aws.errors import NotFound
    from housekeeper.logic.config_source import read_config

    try:
        return read_config(ssm_gateway(), parameter, force_fetch=True)
    except NotFound as exc:  # a missing config is the operator's input, like a missing file: exit 2
        raise InvalidInput("no config", [Problem(flag, f"the SSM parameter '{parameter}' does not exist")]) from exc


def ecr_gateway() -> Boto3EcrGateway:
    from housekeeper.aws.ecr import Boto3EcrGateway

    return Boto3EcrGateway()


def ssm_gateway() -> Boto3SsmGateway:
    from housekeeper.aws.ssm import Boto3SsmGateway

    return Boto3SsmGateway()


def places(estate: Estate) -> Places:
    """Every place of the config's estate: the registry's ECR per region, each account's read-only gateways (a
    workload account through its reader role, so the operator's credentials must be allowed to assume it)."""
    from housekeeper.aws.places import Boto3Places

    return Boto3Places(estate)


def add_place_filters(parser: argparse.ArgumentParser) -> None:
    """`--account ID` and `--region NAME`, each repeatable: only these accounts' and regions' rows."""
    parser.add_argument(
        "--account", action="append", default=[], metavar="ACCOUNT_ID", help="only this account (repeatable)"
    )
    parser.add_argument("--region", action="append", default=[], metavar="REGION", help="only this region (repeatable)")


def check_place_filters(args: argparse.Namespace) -> None:
    """--account and --region against AWS's grammars, before any call."""
    from housekeeper.core.names import is_account_id, is_region

    problems = [
        Problem("--account", f"{ascii(a)[:40]} is not an AWS account id (12 digits)")
        for a in args.account
        if not is_account_id(a)
    ] + [Problem("--region", f"{ascii(r)[:40]} is not an AWS region name") for r in args.region if not is_region(r)]
    if problems:
        raise InvalidInput("arguments", problems)


def wanted(args: argparse.Namespace, account: str, region: str) -> bool:
    """Does this account and region pass the --account and --region filters?"""
    return (not args.account or account in args.account) and (not args.region or region in args.region)


def many_places(config: Config) -> bool:
    """Show account and region columns? Only when the config names workload accounts or several regions."""
    return bool(config.estate.accounts) or len(config.estate.regions) > 1


class _CurrentStderr:
    """Writes to whatever sys.stderr is at the time, so a replaced stderr (pytest, redirection) is honoured."""

    def write(self, text: str) -> int:
        return sys.stderr.write(text)

    def flush(self) -> None:
        sys.stderr.flush()


def logs_to_stderr() -> None:
    """Keep stdout for the command's output: the shared Powertools logger writes JSON lines to stdout otherwise."""
    import logging

    from housekeeper.observability import logger

    handler: Any = logger.registered_handler
    if isinstance(handler, logging.StreamHandler) and not isinstance(handler.stream, _CurrentStderr):
        handler.stream = _CurrentStderr()
    if os.environ.get("POWERTOOLS_LOG_LEVEL") is None and os.environ.get("LOG_LEVEL") is None:
        # The command's own output already says what happened to each item; the JSON log lines are for
        # POWERTOOLS_LOG_LEVEL=INFO (or DEBUG) when someone wants to see the steps.
        logger.setLevel("CRITICAL")
