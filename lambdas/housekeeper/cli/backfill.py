"""`housekeeper backfill`: give the images ECS runs now their env tags (seed steps 2-3).

Dry run by default: it prints what it would tag. `--yes` tags. It walks every cluster whose name matches a
configured environment, with a progress bar on stderr.
"""

from __future__ import annotations

import argparse
import sys
import textwrap
from typing import Any

from housekeeper.cli import common
from housekeeper.cli.commands import HELP
from housekeeper.cli.output import EXIT_FAILURE, EXIT_OK, add_output_argument, print_json, print_table, progress

COLUMNS = ("cluster", "service", "repository", "digest", "tag", "status", "reason")


def register(subparsers: Any) -> None:
    parser = subparsers.add_parser(
        "backfill",
        help=HELP["backfill"],
        description=textwrap.fill(
            "Walk every ECS cluster whose name matches a configured environment, find the digests its tasks run "
            "now, and add <tagPrefix>-<build> to each (build from the image tag or the digest's ECR tags). "
            "Without --yes nothing is written: the table shows what would be tagged. With workload accounts in the "
            "config, their clusters are read through the reader role (narrow with --account and --region). Images "
            "outside the registry's ECR are skipped with a reason. Exit 1 if any image could not be tagged.",
            width=80,
        ),
        epilog=(
            "examples:\n"
            "  housekeeper backfill --config config/example.json            # dry run\n"
            "  housekeeper backfill --parameter /ecr-housekeeper/config --yes   # tag\n"
            "  housekeeper backfill --config c.json --output json | jq '.images[] | select(.status==\"would_tag\")'"
        ),
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    common.add_config_source_arguments(parser)
    common.add_place_filters(parser)
    parser.add_argument("--yes", action="store_true", help="apply: add the tags (default: dry run)")
    add_output_argument(parser)
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from housekeeper.core.places import filter_places
    from housekeeper.logic.tagging import TagStatus, clusters_in_environments, iter_backfill

    common.check_place_filters(args)
    common.logs_to_stderr()
    config = common.load_config_from_args(args)
    places = common.places(config.estate)
    targets = filter_places(config.estate.places(places.home), args.account, args.region)
    clusters = clusters_in_environments(config, places, targets)
    outcomes = list(iter_backfill(config, places, progress(clusters, "clusters"), apply=args.yes))
    many = common.many_places(config)
    counts: dict[str, int] = {}
    for outcome in outcomes:
        counts[outcome.status] = counts.get(outcome.status, 0) + 1
    if args.output == "json":
        print_json(
            {
                "applied": bool(args.yes),
                "clusters": [target.cluster for target in clusters],
                "places": [str(target.place) for target in clusters],
                "counts": counts,
                "images": [o.to_dict() for o in outcomes],
            }
        )
    else:
        rows = [
            [
                *([o.account, o.runs_in, o.region] if many else []),
                o.cluster,
                o.service,
                o.repository or o.image,
                _short(o.digest),
                o.tag,
                o.status,
                ": ".join(part for part in (o.reason, o.detail) if part),
            ]
            for o in outcomes
        ]
        print_table((("account", "region", "registry region") if many else ()) + COLUMNS, rows)
        summary = ", ".join(f"{n} {status}" for status, n in sorted(counts.items())) or "no images"
        mode = "applied" if args.yes else "dry run, nothing written; add --yes to tag"
        print(f"\n{len(clusters)} cluster(s): {summary} ({mode})", file=sys.stderr)
    failed = any(o.status in (TagStatus.FAILED, TagStatus.CONFLICT) for o in outcomes)
    return EXIT_FAILURE if failed else EXIT_OK


def _short(digest: str | None) -> str:
    return digest[:19] if digest else ""
