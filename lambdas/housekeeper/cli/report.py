"""`housekeeper report`: images, bytes and Inspector findings per repository, now and after the desired policy."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any

from housekeeper.cli import common
from housekeeper.cli.commands import HELP
from housekeeper.cli.output import (
    EXIT_OK,
    add_output_argument,
    print_json,
    print_table,
    progress,
)
from housekeeper.core.errors import InvalidInput, Problem

if TYPE_CHECKING:
    from housekeeper.core.config import Config
    from housekeeper.operator.report import Planner, Report

DESCRIPTION = """\
For every repository in scope: images, storage and Amazon Inspector findings by severity now, and the same
figures once the desired lifecycle policy (compiled from the config) has run, with the estimated monthly
storage saving. "After" is computed offline by the exact lifecycle evaluator: nothing is written.

Findings of images that the policy expires count as removed. Inspector itself lags behind: ECR runs a lifecycle
policy within about 24 hours of it being set, and Inspector then closes the findings of each deleted image and
deletes them 3 days later, so for a few days its console still counts findings of images that are gone. This
report counts findings only for images that exist. Findings are read with Inspector2 ListFindingAggregations
(one paginated call per repository); without Inspector access the findings columns say "unknown".

Storage is priced at $0.10 per GB-month (ECR standard; archive costs the same for the first 150 TB), on the
compressed sizes ECR reports; layers shared between images are billed once, so real savings can be lower.
"""


def register(subparsers: Any) -> None:
    parser = subparsers.add_parser(
        "report",
        help=HELP["report"],
        description=DESCRIPTION,
        epilog=(
            "examples:\n"
            "  housekeeper report --parameter /ecr-housekeeper/config\n"
            "  housekeeper report --config config/example.json --repository 'payments/*' --html report.html\n"
            "  housekeeper report --config config/example.json --output json | jq '.totals'"
        ),
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    common.add_config_source_arguments(parser)
    common.add_place_filters(parser)
    parser.add_argument(
        "--repository",
        action="append",
        default=[],
        metavar="GLOB",
        help="only repositories matching this glob (repeatable; default: every repository the config selects)",
    )
    parser.add_argument("--html", type=Path, metavar="FILE", help="also write a self-contained HTML report here")
    parser.add_argument("--now", metavar="ISO8601", help="evaluate the policy as of this time (default: now)")
    add_output_argument(parser)
    parser.set_defaults(func=run)


def _gb(size: int) -> str:
    from housekeeper.operator.report import BYTES_PER_GB

    return f"{size / BYTES_PER_GB:,.1f}"


def _findings(count: int, known: bool) -> str:
    return f"{count:,}" if known else "unknown"


def print_report_table(report: Report) -> None:
    headers = (
        "repository",
        "images",
        "after",
        "GB",
        "GB after",
        "findings",
        "critical",
        "high",
        "findings after",
        "saving $/month",
    )
    rows = [
        (
            repo.label,
            f"{repo.before.images:,}",
            f"{repo.after.images:,}",
            _gb(repo.before.bytes),
            _gb(repo.after.bytes),
            _findings(repo.before.findings_total, repo.findings_known),
            _findings(repo.before.findings.get("CRITICAL", 0), repo.findings_known),
            _findings(repo.before.findings.get("HIGH", 0), repo.findings_known),
            _findings(repo.after.findings_total, repo.findings_known),
            f"{repo.monthly_saving_usd:,.2f}",
        )
        for repo in report.repositories
    ]
    before, after = report.before, report.after
    rows.append(
        (
            "TOTAL",
            f"{before.images:,}",
            f"{after.images:,}",
            _gb(before.bytes),
            _gb(after.bytes),
            report.findings_label(before.findings_total),
            report.findings_label(before.findings.get("CRITICAL", 0)),
            report.findings_label(before.findings.get("HIGH", 0)),
            report.findings_label(after.findings_total),
            f"{report.monthly_saving_usd:,.2f}",
        )
    )
    print_table(headers, rows)
    for repo in report.repositories:
        if repo.note:
            print(f"note: {repo.label}: {repo.note}", file=sys.stderr)


def run(args: argparse.Namespace) -> int:
    from housekeeper.aws.inspector import Boto3InspectorGateway
    from housekeeper.aws.session import client
    from housekeeper.logic.inventory import InventoryIncomplete, scan_places
    from housekeeper.operator.report import build_regional_report, desired_policy_outcome, protected_policy_outcome
    from housekeeper.operator.report_html import render_html

    common.check_globs(args.repository)
    common.check_place_filters(args)
    common.logs_to_stderr()
    now = common.now_from_argument(args.now)
    config: Config = common.load_config_from_args(args)
    places = common.places(config.estate)
    home = places.home
    planner: Planner = desired_policy_outcome
    if config.safety.protect_in_use:  # "after" is what the sync would write: in-use images protected
        inventory = scan_places(config.safety.in_use, places, config.estate.places(home))
        if inventory.unreadable:
            raise InventoryIncomplete(inventory.unreadable)
        planner = protected_policy_outcome(inventory)
    regions = [r for r in config.estate.registry_regions(home.region) if common.wanted(args, home.account, r)]
    report = build_regional_report(
        config,
        places,
        lambda region: Boto3InspectorGateway(client("inspector2", region)),
        now,
        regions,
        patterns=args.repository,
        planner=planner,
        each=lambda names: progress(names, "repositories"),
    )
    if args.html:
        try:
            args.html.write_text(render_html(report), encoding="utf-8")
        except OSError as exc:
            raise InvalidInput("arguments", [Problem("--html", f"cannot write {args.html}: {exc.strerror}")]) from exc
    if args.output == "json":
        print_json({**report.to_json(), **({"html": str(args.html)} if args.html else {})})
    else:
        print_report_table(report)
        if args.html:
            print(f"HTML report: {args.html}")
    return EXIT_OK
