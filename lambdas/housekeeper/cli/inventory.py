"""`housekeeper inventory`: what is in use, per repository and consumer: the images the safety model protects.

It runs the same scan as the sync worker (ECS tasks and services, Lambda image functions, Scheduler schedules,
EventBridge rules, optionally recent task definition revisions; `safety.inUse` in the config says which), then
finds each image in its repository: by the digest the consumer reports, else by its tag as ECR holds it now.

With workload accounts or several regions in the config, every place is read (a workload account through its
reader role) and the table gains account and region columns; `--account` and `--region` narrow what is read.

Exit codes: 0 ok; 1 a source of the inventory could not be read (INVENTORY_INCOMPLETE: what could be read is still
shown, and each unreadable place is named) or an AWS error; 2 bad input.
"""

from __future__ import annotations

import argparse
import sys
import textwrap
from typing import TYPE_CHECKING, Any

from housekeeper.cli import common
from housekeeper.cli.commands import HELP
from housekeeper.cli.output import EXIT_FAILURE, EXIT_OK, add_output_argument, print_json, print_table

if TYPE_CHECKING:
    from housekeeper.logic.inventory import RepositoryUses

COLUMNS = ("repository", "digest", "tags", "consumer", "source", "image as named")


def _short(image: str) -> str:
    """`<registry>/shop/web:12` -> `shop/web:12`; a digest reference keeps its first 12 hex digits (tables only)."""
    _, slash, path = image.partition("/")
    shown = path if slash and "." in image.split("/", 1)[0] else image
    name, at, digest = shown.partition("@")
    return f"{name}@{digest[:19]}" if at else shown


def register(subparsers: Any) -> None:
    parser = subparsers.add_parser(
        "inventory",
        help=HELP["inventory"],
        description=textwrap.fill(
            "Scan what uses images (ECS running tasks and services of every desired count, Lambda container-image "
            "functions and their aliases, EventBridge Scheduler schedules and EventBridge rules that run ECS "
            "tasks, and with safety.inUse.taskDefinitionRevisions the newest task definition revisions) and show "
            "each image with its repository, digest, tags and consumers. Writes nothing. Exit 1 when a source "
            "cannot be read: the sync then writes nothing either (INVENTORY_INCOMPLETE).",
            width=80,
        ),
        epilog=(
            "examples:\n"
            "  housekeeper inventory --parameter /ecr-housekeeper/config\n"
            "  housekeeper inventory --config config.json --repository 'payments/*' --output json\n"
        ),
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    common.add_config_source_arguments(parser)
    common.add_place_filters(parser)
    parser.add_argument(
        "--repository", action="append", metavar="GLOB", default=[], help="only repositories matching this glob"
    )
    add_output_argument(parser)
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from housekeeper.core.places import filter_places
    from housekeeper.logic.inventory import resolve_inventory, scan_places

    common.check_globs(args.repository)
    common.check_place_filters(args)
    common.logs_to_stderr()
    config = common.load_config_from_args(args)
    if not config.safety.protect_in_use:
        print("note: safety.protectInUse is false: the sync does not use this inventory", file=sys.stderr)
    places = common.places(config.estate)
    targets = filter_places(config.estate.places(places.home), args.account, args.region)
    inventory = scan_places(config.safety.in_use, places, targets)
    regions = config.estate.registry_regions(places.home.region)
    repositories = resolve_inventory(inventory, places, regions, args.repository)
    if args.output == "json":
        print_json(
            {
                "sources": list(inventory.sources),
                "places": [str(place) for place in inventory.places],
                "unreadable": [
                    {"place": str(u.place), "source": u.source, "error": str(u.error)} for u in inventory.unreadable
                ],
                "repositories": [_repository_dict(r) for r in repositories],
            }
        )
    else:
        _print_table(repositories, many=common.many_places(config))
        images = sum(len(r.images) for r in repositories)
        read = len(inventory.places) - len({u.place for u in inventory.unreadable})
        consumers = len({u.consumer for r in repositories for i in r.images for u in i.uses})
        print(
            f"\n{images} image(s) in use in {len(repositories)} repositories, by {consumers} consumer(s); "
            f"sources read: {', '.join(inventory.sources) or 'none'}; places read: {read} of {len(inventory.places)}",
            file=sys.stderr,
        )
    for unreadable in inventory.unreadable:
        print(f"error: INVENTORY_INCOMPLETE: could not read {unreadable}", file=sys.stderr)
    return EXIT_FAILURE if inventory.unreadable else EXIT_OK


def _print_table(repositories: list[RepositoryUses], *, many: bool) -> None:
    rows: list[list[Any]] = []
    for repository in repositories:
        for resolved in repository.images:
            for use in resolved.uses:
                where = [use.place.account if use.place else "", use.place.region if use.place else ""]
                row = [
                    repository.repository,
                    resolved.digest[:19],
                    ", ".join(resolved.tags) or "<untagged>",
                    use.consumer,
                    use.source,
                    _short(use.image),
                ]
                rows.append([*where, repository.region, *row] if many else row)
        for use in repository.unresolved:
            state = "repository not found" if repository.missing else "not in ECR now"
            row = [repository.repository, f"({state})", "", use.consumer, use.source, _short(use.image)]
            where = [use.place.account if use.place else "", use.place.region if use.place else ""]
            rows.append([*where, repository.region, *row] if many else row)
    print_table(("account", "region", "registry region", *COLUMNS) if many else COLUMNS, rows)


def _repository_dict(repository: RepositoryUses) -> dict[str, Any]:
    return {
        "repository": repository.repository,
        "region": repository.region,
        "missing": repository.missing,
        "images": [image.to_dict() for image in repository.images],
        "unresolved": [{"consumer": u.consumer, "source": u.source, "image": u.image} for u in repository.unresolved],
    }
