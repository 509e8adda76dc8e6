"""`housekeeper tag`: the pipeline retag, byte-exact and media-type-safe.

It replaces `aws ecr batch-get-image ... | aws ecr put-image ...`, which breaks multi-arch images (no
--accepted-media-types) and can move a tag. The manifest bytes are passed through unchanged, the digest is the
guard, and a tag on another image is reported, never moved.
"""

from __future__ import annotations

import argparse
import textwrap
from typing import Any

from housekeeper.cli import common
from housekeeper.cli.commands import HELP
from housekeeper.cli.output import EXIT_FAILURE, EXIT_OK, add_output_argument, print_json, print_table
from housekeeper.core.errors import InvalidInput, Problem
from housekeeper.core.resolution import env_tag


def register(subparsers: Any) -> None:
    parser = subparsers.add_parser(
        "tag",
        help=HELP["tag"],
        description=textwrap.fill(
            "Add a tag to one image, found by an existing tag or by digest. The manifest is fetched with every "
            "manifest media type accepted and put back unchanged, so the digest never changes and multi-arch "
            "indexes stay whole. A tag already on the image is success; a tag on another image is a conflict "
            "(exit 1) and is never moved. With --env and --build the tag is <tagPrefix>-<build> from the config.",
            width=80,
        ),
        epilog=(
            "examples:\n"
            "  housekeeper tag --repository payments/api --image-tag 1234 --tag Prod-1234\n"
            "  housekeeper tag --repository payments/api --digest sha256:... --env prod --build 1234 "
            "--config config/example.json"
        ),
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--repository", required=True, metavar="R", help="repository name, e.g. payments/api")
    image = parser.add_mutually_exclusive_group(required=True)
    image.add_argument("--image-tag", metavar="T", help="the image to tag, by a tag it has now")
    image.add_argument("--digest", metavar="D", help="the image to tag, by digest (sha256:...)")
    parser.add_argument("--tag", metavar="NEW", help="the tag to add")
    parser.add_argument("--env", metavar="ENV", help="environment name from the config (with --build)")
    parser.add_argument("--build", metavar="B", help="build number (with --env)")
    common.add_config_source_arguments(parser)
    add_output_argument(parser)
    parser.set_defaults(func=run)


def _new_tag(args: argparse.Namespace) -> str:
    if args.tag and (args.env or args.build):
        raise InvalidInput("tag", [Problem("--tag", "give either --tag or --env with --build, not both")])
    if args.tag:
        return str(args.tag)
    if not (args.env and args.build):
        raise InvalidInput("tag", [Problem("--tag", "give --tag NEW, or --env ENV with --build B")])
    config = common.load_config_from_args(args)
    environment = config.environment(args.env)
    if environment is None:
        names = ", ".join(e.name for e in config.environments)
        raise InvalidInput("tag", [Problem("--env", f"unknown environment '{args.env}'; configured: {names}")])
    tag = env_tag(environment, args.build)
    if tag is None:
        raise InvalidInput(
            "tag", [Problem("--build", f"'{environment.tag_prefix}-{args.build}' is not a legal Docker tag")]
        )
    return tag


def _check_arguments(args: argparse.Namespace) -> None:
    """Everything that names an AWS thing is checked against ECR's grammar before any call (exit 2 otherwise)."""
    common.check_repository(args.repository)
    if args.image_tag is not None:
        common.check_tag(args.image_tag, "--image-tag")
    if args.digest is not None:
        common.check_digest(args.digest)
    if args.tag is not None:
        common.check_tag(args.tag, "--tag")
    if args.env is not None and not args.env.isprintable():
        raise InvalidInput("arguments", [Problem("--env", f"{ascii(args.env)[:60]} is not an environment name")])
    if args.build is not None and not args.build.isprintable():
        raise InvalidInput("arguments", [Problem("--build", f"{ascii(args.build)[:60]} is not a build number")])


def run(args: argparse.Namespace) -> int:
    from housekeeper.aws.ports import RetagStatus
    from housekeeper.logic.tagging import retag_image

    _check_arguments(args)
    common.logs_to_stderr()
    new_tag = _new_tag(args)
    outcome = retag_image(common.ecr_gateway(), args.repository, new_tag, digest=args.digest, image_tag=args.image_tag)
    result = {
        "repository": outcome.repository,
        "digest": outcome.digest,
        "tag": outcome.tag,
        "status": outcome.status,
        "detail": outcome.detail,
    }
    if args.output == "json":
        print_json(result)
    else:
        print_table(("repository", "digest", "tag", "status", "detail"), [list(result.values())])
    # A conflict or ECR's tag limit is a failure; so is anything else the gateway might report.
    return EXIT_OK if outcome.status in (RetagStatus.TAGGED, RetagStatus.ALREADY_PRESENT) else EXIT_FAILURE
