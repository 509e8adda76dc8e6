"""`housekeeper policy --config CONFIG.json --repository NAME`: print the lifecycle policy a repository gets.

The policy is validated against every ECR constraint before it is printed, so what you see is what ECR accepts.
"""

from __future__ import annotations

import argparse
import sys
import textwrap
from typing import Any

from housekeeper.cli.commands import HELP
from housekeeper.cli.common import read_text
from housekeeper.cli.output import EXIT_OK, add_output_argument, print_json, print_table
from housekeeper.core.compiler import compile_policy
from housekeeper.core.config import load_config
from housekeeper.core.policy import policy_text, require_valid_policy


def register(subparsers: Any) -> None:
    parser = subparsers.add_parser(
        "policy",
        help=HELP["policy"],
        description=textwrap.fill(
            "Compile the central config for one repository (overrides that match its name applied) and print the "
            "lifecycle policy. The policy is checked against every ECR constraint first. Exit 2 on a bad config. "
            "Writes nothing.",
            width=80,
        ),
        epilog=(
            "examples:\n"
            "  housekeeper policy --config config/example.json --repository payments/api\n"
            "  housekeeper policy --config config/example.json --repository web --output table\n"
            "  housekeeper policy --config c.json --repository web --compact > policy.json  "
            "# the exact text for aws ecr put-lifecycle-policy"
        ),
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--config", required=True, metavar="CONFIG.json", help="config file ('-' reads stdin)")
    parser.add_argument("--repository", required=True, metavar="NAME", help="repository name, e.g. payments/api")
    parser.add_argument(
        "--compact",
        action="store_true",
        help="print the compact one-line JSON that housekeeper sends to ECR (overrides --output)",
    )
    add_output_argument(parser, default="json")
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    config = load_config(read_text(args.config, "config"))
    policy = compile_policy(config, args.repository)
    require_valid_policy(policy)
    if not config.repositories.selects(args.repository):
        print(
            f"note: {args.repository} is not selected by $.repositories; housekeeper leaves its policy alone",
            file=sys.stderr,
        )
    if args.compact:  # the exact text sent to ECR, whatever --output says
        print(policy_text(policy))
    elif args.output == "table":
        print_table(("priority", "selects", "count", "action", "description"), _rows(policy))
    else:
        print_json(policy)
    return EXIT_OK


def _rows(policy: dict[str, Any]) -> list[tuple[Any, ...]]:
    rows: list[tuple[Any, ...]] = []
    for rule in policy["rules"]:
        selection = rule["selection"]
        selects = selection["tagStatus"]
        tags = selection.get("tagPatternList") or selection.get("tagPrefixList")
        if tags:
            selects += " " + ", ".join(tags)
        if selection.get("storageClass", "standard") != "standard":
            selects += f" ({selection['storageClass']})"
        if selection["countType"] == "imageCountMoreThan":
            count = f"keep newest {selection['countNumber']}"
        else:
            count = f"{selection['countType']} > {selection['countNumber']} {selection.get('countUnit', '')}".rstrip()
        action = rule["action"]["type"]
        if "targetStorageClass" in rule["action"]:
            action += f" to {rule['action']['targetStorageClass']}"
        rows.append((rule["rulePriority"], selects, count, action, rule.get("description", "")))
    return rows
