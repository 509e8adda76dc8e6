"""`housekeeper plan` and `housekeeper apply`: the Lambdas' policy sync, on demand, with a table per repository.

Both run exactly the decision the sync worker makes (housekeeper.logic.sync.sync_repository), over the same
repositories plan_sync would queue. `plan` never writes. `apply --yes` writes every policy the guard lets
through, whatever the config's `mode` (an operator running `apply --yes` asked for the write); without `--yes`,
`apply` is a plan. `--native-preview` also asks ECR's own StartLifecyclePolicyPreview about each candidate
policy, one repository at a time, and shows where it disagrees with the offline evaluator.

Exit codes: 0 ok; 1 any repository blocked by the guard, failed, or with an in-use image at risk (the policy ECR
holds expires or archives an image something uses), or a --native-preview that could not run; 2 bad input.
"""

from __future__ import annotations

import argparse
import sys
import textwrap
from dataclasses import replace
from typing import TYPE_CHECKING, Any

from housekeeper.cli import common
from housekeeper.cli.commands import HELP
from housekeeper.cli.output import EXIT_FAILURE, EXIT_OK, add_output_argument, print_json, print_table, progress

if TYPE_CHECKING:
    from housekeeper.core.config import Config
    from housekeeper.logic.sync import SyncResult
    from housekeeper.operator.native_preview import PreviewComparison

COLUMNS = ("repository", "action", "reason", "images", "expiring", "transitioning", "protected", "in-use at risk")


def register(subparsers: Any) -> None:
    for name in ("plan", "apply"):
        applying = name == "apply"
        parser = subparsers.add_parser(
            name,
            help=HELP[name],
            description=textwrap.fill(
                (
                    "Sync every in-scope repository's lifecycle policy with the config, as the sync Lambdas do: "
                    "write where it differs and the safety guard passes. Nothing is written without --yes. "
                    if applying
                    else "Show, per repository in scope, whether its lifecycle policy matches the config, how many "
                    "images the config's policy would expire or archive, and whether the safety guard would let "
                    "it through. Writes nothing. "
                )
                + "Exit 1 when any repository is blocked by the guard, failed, or has an in-use image at risk "
                "(the stored policy expires or archives it), or when ECR's preview could not run.",
                width=80,
            ),
            epilog=(
                "examples:\n"
                f"  housekeeper {name} --config config.json --repository 'payments/*'"
                + (" --yes\n" if applying else "\n")
                + f"  housekeeper {name} --parameter /ecr-housekeeper/config --output json"
                + (" --yes\n" if applying else "\n")
                + f"  housekeeper {name} --config config.json --repository shop/api --native-preview\n"
            ),
            formatter_class=argparse.RawDescriptionHelpFormatter,
        )
        common.add_config_source_arguments(parser)
        common.add_place_filters(parser)
        parser.add_argument(
            "--repository",
            action="append",
            metavar="GLOB",
            default=[],
            help="only repositories matching this glob (repeatable; still within the config's include/exclude)",
        )
        parser.add_argument(
            "--native-preview",
            action="store_true",
            help="also run ECR's StartLifecyclePolicyPreview per repository and report differences (slow)",
        )
        if applying:
            parser.add_argument("--yes", action="store_true", help="write the policies (default: show the plan)")
        add_output_argument(parser)
        parser.set_defaults(func=run, applying=applying)


def run(args: argparse.Namespace) -> int:
    from housekeeper.logic.inventory import InventoryScanner
    from housekeeper.logic.outcomes import Action, TriggerKind
    from housekeeper.logic.plan import repositories_in_scope
    from housekeeper.logic.sync import SyncRun, sync_repository
    from housekeeper.operator.native_preview import native_preview

    common.check_globs(args.repository)
    common.check_place_filters(args)
    common.logs_to_stderr()
    config = common.load_config_from_args(args)
    write = bool(getattr(args, "yes", False))
    places = common.places(config.estate)
    # The inventory always covers every place: a filter narrows the rows, never what counts as in use.
    sync_run = SyncRun(config, places, write=write, scanner=InventoryScanner())
    for relaxation in config.safety.relaxations():
        print(f"warning: safety relaxed: {relaxation}", file=sys.stderr)
    home = places.home
    targets = [
        (region, name)
        for region in sync_run.registry_regions()
        if common.wanted(args, home.account, region)
        for name in repositories_in_scope(places.registry(region), config, args.repository)
    ]
    results: list[SyncResult] = []
    previews: dict[tuple[str, str], PreviewComparison] = {}
    for region, name in progress(targets, "repositories"):
        result = sync_repository(
            name, sync_run, region=region, trigger=TriggerKind.MANUAL, keep_assessment=args.native_preview
        )
        if result.assessment is not None:
            assessment = result.assessment
            ecr = places.registry(region)
            previews[(region, name)] = native_preview(ecr, name, assessment.desired, assessment.evaluation)
        # Drop the images and evaluation at once: a plan over thousands of repositories stays small.
        results.append(replace(result, assessment=None))
    _print(args, config, home.account, results, previews, write)
    blocked_or_failed = any(r.action in (Action.BLOCKED, Action.FAILED, Action.AT_RISK) for r in results)
    # A native preview that could not run is a cross-check that failed; a difference is reported, not fatal.
    return EXIT_FAILURE if blocked_or_failed or not all(p.ran for p in previews.values()) else EXIT_OK


def _counts(results: list[SyncResult]) -> dict[str, int]:
    counts: dict[str, int] = {}
    for result in results:
        counts[result.action] = counts.get(result.action, 0) + 1
    return counts


def _print(
    args: argparse.Namespace,
    config: Config,
    account: str,
    results: list[SyncResult],
    previews: dict[tuple[str, str], PreviewComparison],
    write: bool,
) -> None:
    counts = _counts(results)
    if args.output == "json":
        repositories: list[dict[str, Any]] = []
        for result in results:
            item = {"account": account, **result.to_dict()}
            if (result.region, result.repository) in previews:
                item["nativePreview"] = previews[(result.region, result.repository)].to_dict()
            repositories.append(item)
        print_json({"applied": write, "mode": config.mode, "counts": counts, "repositories": repositories})
        return
    if common.many_places(config):
        print_table(("account", "region", *COLUMNS), [[account, r.region, *_row(r)] for r in results])
    else:
        print_table(COLUMNS, [_row(result) for result in results])
    _print_details(results, many=common.many_places(config))
    if previews:
        _print_previews(previews)
    summary = ", ".join(f"{n} {action}" for action, n in sorted(counts.items())) or "no repositories in scope"
    if write:
        note = "policies written where the guard allowed"
    elif args.applying:
        note = "nothing written; add --yes to write"
    else:
        note = "plan only, nothing written"
    noun = "repository" if len(results) == 1 else "repositories"
    print(f"\n{len(results)} {noun}: {summary} ({note})", file=sys.stderr)


def _row(result: SyncResult) -> list[Any]:
    return [
        result.repository,
        result.action,
        result.reason,
        result.images,
        result.expiring,
        result.transitioning,
        result.protected or "",
        ", ".join(c.label for c in result.at_risk),
    ]


def _print_details(results: list[SyncResult], *, many: bool = False) -> None:
    """Under the table, on stderr: the drift of changed policies, why a repository is blocked or failed, and each
    in-use image at risk with its consumers. With several regions each line names its region."""
    from housekeeper.logic.outcomes import Action, SyncReason

    for result in results:
        name = f"{result.repository} ({result.region})" if many else result.repository
        if result.reason == SyncReason.POLICY_DIFFERS or (
            result.action in (Action.BLOCKED, Action.FAILED) and result.detail
        ):
            print(f"{name}: {result.detail}", file=sys.stderr)
        for conflict in result.at_risk:
            verb = "archives" if conflict.action == "TRANSITION" else "expires"
            print(
                f"{name}: AT RISK {conflict.digest} ({', '.join(conflict.tags) or 'untagged'}): "
                f"the stored policy {verb} it; used by {', '.join(conflict.consumers) or 'an unnamed consumer'}",
                file=sys.stderr,
            )


def _print_previews(previews: dict[tuple[str, str], PreviewComparison]) -> None:
    print_table(
        ("region", "repository", "ECR preview", "ECR", "offline", "only in ECR", "only offline", "different"),
        [
            [
                region,
                name,
                "matches" if p.matches else (p.error or "DIFFERS"),
                p.ecr_count,
                p.offline_count,
                len(p.only_in_ecr),
                len(p.only_offline),
                len(p.different),
            ]
            for (region, name), p in previews.items()
        ],
    )
