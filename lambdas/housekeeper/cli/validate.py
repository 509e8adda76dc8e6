"""`housekeeper validate CONFIG.json`: check a central config before it goes into SSM.

Exit 0 with a short summary, or exit 2 with every problem and its JSON path, so that one run shows the whole list.
"""

from __future__ import annotations

import argparse
import sys
from dataclasses import replace
from typing import Any

from housekeeper.cli.commands import HELP
from housekeeper.cli.common import read_text
from housekeeper.cli.output import EXIT_BAD_INPUT, EXIT_OK, add_output_argument, print_json, print_table
from housekeeper.core.compiler import compile_policy_for
from housekeeper.core.config import Config, load_config
from housekeeper.core.errors import ConfigInvalid, Problem


def register(subparsers: Any) -> None:
    parser = subparsers.add_parser(
        "validate",
        help=HELP["validate"],
        description=(
            "Validate a central config file (the JSON kept in the SSM parameter): its fields, the checks across "
            "fields (unique environment names and tag prefixes, ...), and the lifecycle policy it compiles to "
            "against every ECR limit. Prints a summary and exits 0, or lists every problem with its JSON path "
            "and exits 2. Writes nothing."
        ),
        epilog="example: housekeeper validate config/example.json --output json",
    )
    parser.add_argument("config", metavar="CONFIG.json", help="path of the config file ('-' reads standard input)")
    add_output_argument(parser)
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    text = read_text(args.config, "config")
    try:
        config = load_config(text)
    except ConfigInvalid as exc:
        _print_problems(args, exc.problems)
        print(f"{args.config}: invalid, {len(exc.problems)} problem(s)", file=sys.stderr)
        return EXIT_BAD_INPUT
    _print_summary(args, config)
    return EXIT_OK


def _summary(config: Config) -> dict[str, Any]:
    return {
        "valid": True,
        "mode": config.mode,
        "environments": [
            {"name": env.name, "tagPrefix": env.tag_prefix, "keep": env.keep} for env in config.environments
        ],
        "protectTags": list(config.protect_tags),
        "untaggedExpireAfterDays": config.untagged.expire_after_days if config.untagged else None,
        "catchAll": _describe_catch_all(config),
        "overrides": len(config.overrides),
        "rulesInBasePolicy": len(compile_policy_for(replace(config, overrides=()))["rules"]),
        "regions": list(config.estate.regions),
        "accounts": [{"id": a.id, "regions": list(a.regions), "roleName": a.role_name} for a in config.estate.accounts],
    }


def _describe_catch_all(config: Config) -> str:
    catch_all = config.catch_all
    if not catch_all.archives:
        return f"expire after {catch_all.expire_after_days} days"
    text = f"archive after {catch_all.archive_after_days} days without a pull"
    if catch_all.expire_archived_after_days is not None:
        text += f", delete {catch_all.expire_archived_after_days} days after archiving"
    return text


def _print_summary(args: argparse.Namespace, config: Config) -> None:
    summary = _summary(config)
    if args.output == "json":
        print_json(summary)
        return
    print(f"{args.config}: valid ({config.mode} mode)")
    with_accounts = any(env.accounts for env in config.environments)
    print_table(
        ("environment", "tagPrefix", "env tags", "keep", "clusters", *(("accounts",) if with_accounts else ())),
        [
            (
                env.name,
                env.tag_prefix,
                f"{env.tag_stem}<build>",
                env.keep,
                ", ".join(env.clusters),
                *((", ".join(env.accounts),) if with_accounts else ()),
            )
            for env in config.environments
        ],
    )
    untagged = f"expire after {config.untagged.expire_after_days} days" if config.untagged else "none"
    print(f"protect tags: {', '.join(config.protect_tags) or 'none'}")
    print(f"untagged:     {untagged}")
    print(f"catch-all:    {summary['catchAll']}")
    print(f"overrides:    {summary['overrides']}")
    print(f"base policy:  {summary['rulesInBasePolicy']} rules")
    print(f"regions:      {', '.join(config.estate.regions) or 'the hub region'}")
    accounts = [
        f"{a.id} ({', '.join(a.regions) or 'registry regions'}; role {a.role_name})" for a in config.estate.accounts
    ]
    print(f"accounts:     {'; '.join(accounts) or 'the registry account only'}")


def _print_problems(args: argparse.Namespace, problems: list[Problem]) -> None:
    if args.output == "json":
        print_json({"valid": False, "problems": [p.to_dict() for p in problems]})
        return
    print_table(("path", "problem"), [(p.path, p.message) for p in problems])
