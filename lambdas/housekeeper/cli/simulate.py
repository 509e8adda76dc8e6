"""`housekeeper simulate`: which images a lifecycle policy expires or archives, offline and instantly.

ECR's own preview is asynchronous and takes minutes; this runs the exact offline evaluator on a saved
`aws ecr describe-images` output, so a policy can be checked before it is applied (and in CI). Writes nothing.
"""

from __future__ import annotations

import argparse
import sys
from typing import Any

from housekeeper.cli.commands import HELP
from housekeeper.cli.common import now_from_argument, read_text
from housekeeper.cli.output import EXIT_OK, add_output_argument, print_json
from housekeeper.core.errors import InvalidInput, Problem
from housekeeper.core.evaluator import TRANSITION, Evaluation, evaluate, format_time
from housekeeper.core.images import ImageRecord, parse_images_document
from housekeeper.core.jsonio import load_json
from housekeeper.core.manifests import read_manifests_document, with_links
from housekeeper.core.policy import read_policy_document, require_valid_policy

DESCRIPTION = """\
Preview a lifecycle policy offline: print which images ECR would expire or move to the archive storage class,
and by which rule, in the shape of `aws ecr get-lifecycle-policy-preview`. The evaluation follows every
documented ECR rule (priority order, one action per image, protection by higher-priority tag selections,
storage classes, manifest lists). The policy is validated first; an invalid policy exits 2 naming the rule and
the constraint it breaks. Writes nothing.

inputs:
  --policy  a policy document {"rules": [...]} or the output of `aws ecr get-lifecycle-policy`
  --images  the output of `aws ecr describe-images` ({"imageDetails": [...]}) or a bare list of image details;
            times may be ISO-8601 strings or epoch seconds. Optional extra field per image: "childDigests"
            (the digests a manifest list references) enables manifest-list protection.
  --manifests  optional: the output of `aws ecr batch-get-image` for the image indexes and manifest lists (one
            response, or a JSON list of several). Their children are read from the manifests, so the platform and
            attestation manifests of a kept multi-arch image are kept, as ECR keeps them.
"""

EPILOG = """\
examples:
  aws ecr describe-images --repository-name web > images.json
  aws ecr get-lifecycle-policy --repository-name web > policy.json
  housekeeper simulate --policy policy.json --images images.json
  housekeeper simulate --policy new-policy.json --images images.json --now 2024-06-01T00:00:00Z --output json

  # multi-arch images: fetch the indexes (100 ids per call) and pass them with --manifests
  aws ecr describe-images --repository-name web --filter imageStatus=ANY > images.json
  aws ecr batch-get-image --repository-name web \
      --accepted-media-types application/vnd.oci.image.index.v1+json \
                             application/vnd.docker.distribution.manifest.list.v2+json \
      --image-ids "$(jq -c '[.imageDetails[] | select(.imageManifestMediaType // "" | test("index|list"))
                             | {imageDigest}] | .[:100]' images.json)" > manifests.json
  housekeeper simulate --policy policy.json --images images.json --manifests manifests.json

exit codes: 0 evaluated; 2 invalid policy, images or --now.
"""


def register(subparsers: Any) -> None:
    parser = subparsers.add_parser(
        "simulate",
        help=HELP["simulate"],
        description=DESCRIPTION,
        epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--policy", required=True, metavar="POLICY.json", help="lifecycle policy file ('-' = stdin)")
    parser.add_argument(
        "--images", required=True, metavar="IMAGES.json", help="describe-images output file ('-' = stdin)"
    )
    parser.add_argument(
        "--now",
        metavar="ISO8601",
        help="evaluate as of this moment (ISO-8601 or epoch seconds; default: the current time), for reproducible runs",
    )
    parser.add_argument(
        "--manifests",
        metavar="MANIFESTS.json",
        help="batch-get-image output for the image indexes and manifest lists ('-' = stdin), for multi-arch images",
    )
    add_output_argument(parser)
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    if [args.policy, args.images, args.manifests].count("-") > 1:
        raise InvalidInput(
            "arguments", [Problem("--policy/--images/--manifests", "only one of them can read standard input")]
        )
    policy = read_policy_document(read_text(args.policy, "policy file"))
    require_valid_policy(policy)
    images = parse_images_document(_parse_json(read_text(args.images, "images file"), "images"))
    if args.manifests:
        links = read_manifests_document(_parse_json(read_text(args.manifests, "manifests file"), "manifests"))
        images = with_links(images, links)
    now = now_from_argument(args.now)

    evaluation = evaluate(policy, images, now)
    if args.output == "json":
        print_json(evaluation.to_preview_response())
    else:
        _print_table(evaluation, images, now)
    return EXIT_OK


def _parse_json(text: str, what: str) -> Any:
    """Strict JSON; describe-images output is large and of a known shape, so only the decoder limits its nesting."""
    return load_json(text, what, max_depth=None)


# Streamed table: fixed column widths, so 100,000 rows go out as they are formatted, never held as one text.
_COLUMNS = (("RULE", 5), ("ACTION", 24), ("DIGEST", 71), ("PUSHED", 25), ("STORAGE", 8), ("TAGS", 0))


def _print_table(evaluation: Evaluation, images: list[ImageRecord], now: float) -> None:
    out = sys.stdout
    if evaluation.actions:
        out.write("  ".join(name.ljust(width) for name, width in _COLUMNS).rstrip() + "\n")
        out.write("  ".join("-" * (width or 20) for _, width in _COLUMNS) + "\n")
        lines: list[str] = []
        for action in evaluation.actions:
            image = action.image
            verb = f"TRANSITION to {action.target_storage_class}" if action.action_type == TRANSITION else "EXPIRE"
            cells = (
                str(action.rule_priority),
                verb,
                image.digest,
                format_time(image.pushed_at),
                image.storage_class,
            )
            row = "  ".join(cell.ljust(width) for cell, (_, width) in zip(cells, _COLUMNS, strict=False))
            lines.append(f"{row}  {', '.join(image.tags) or '<untagged>'}\n")
            if len(lines) == 1000:
                out.write("".join(lines))
                lines.clear()
        out.write("".join(lines))
    kept = len(images) - len(evaluation.actions)
    summary = (
        f"{len(images)} images: {len(evaluation.expiring_digests)} expire, "
        f"{len(evaluation.transitioning_digests)} transition to archive, {kept} untouched "
        f"(as of {format_time(now)})"
    )
    print(("\n" if evaluation.actions else "") + summary)
    if evaluation.kept_by_manifest_list:
        print(f"{len(evaluation.kept_by_manifest_list)} image(s) spared: referenced by a manifest list that is kept")
    if evaluation.cascading_referrers:
        print(
            f"{len(evaluation.cascading_referrers)} artifact(s) (signatures, SBOMs, ...) follow their subject "
            "within 24 hours"
        )
