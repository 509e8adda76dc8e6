"""Which environment a deployment belongs to, which build an image is, and the env tag they make. Pure.

Rules (documented in docs/tagging.md):
- Environment: the cluster name is matched against each environment's `clusters` globs, in config order; the
  first environment with a matching glob wins.
- Build: the tag of the deployed image reference if it matches `buildTagPattern`; else the tags ECR holds on the
  deployed digest that match it. When several ECR tags match, the highest in natural order wins (digit runs compare
  as numbers, so `1234` beats `999`): one digest carries several build tags only when a rebuild produced identical
  bytes, and the newest build is the one to name. If the pattern has a capture group (named `build`, or else the
  first group), the build is that group; otherwise it is the whole tag.
- Env tag: `<tagPrefix>-<build>`, which must satisfy Docker's tag grammar (at most 128 characters).
- Never guess: no environment, no build, or an illegal tag means no tag, and a reason code says why.
"""

from __future__ import annotations

import re
from collections.abc import Collection, Iterable
from dataclasses import dataclass
from enum import StrEnum

from housekeeper.core.config import DOCKER_TAG_RE, Config, Environment
from housekeeper.core.names import is_digest


class TagReason(StrEnum):
    """Why an image was not tagged: stable strings, used in logs, the ImagesSkipped metric's `reason` dimension,
    and CLI output."""

    NO_ENVIRONMENT = "no-environment"  # the cluster matches no environment's globs
    NO_BUILD = "no-build"  # neither the reference tag nor the digest's ECR tags match buildTagPattern
    INVALID_TAG = "invalid-tag"  # <tagPrefix>-<build> breaks Docker's tag grammar
    NOT_ECR = "not-ecr-image"  # Docker Hub, public ECR or another registry
    OTHER_REGISTRY = "other-registry"  # a private ECR registry of another account
    OTHER_REGION = "other-region"  # the registry's account, in a region that is not a registry region
    UNKNOWN_ACCOUNT = "unknown-account"  # a deployment in an account the config does not list
    NO_DIGEST = "no-digest"  # the image's digest could not be resolved (the tag is gone from ECR)
    IMAGE_NOT_FOUND = "image-not-found"  # the digest is no longer in the repository
    SUPERSEDED = "deployment-superseded"  # a newer deployment replaced this one before we looked
    TAG_CONFLICT = "tag-conflict"  # the env tag already points at another digest; never moved
    TAG_LIMIT = "tag-limit"  # the image already has ECR's maximum of 1,000 tags


SKIP_REASONS: tuple[str, ...] = (
    TagReason.NO_ENVIRONMENT,
    TagReason.NO_BUILD,
    TagReason.INVALID_TAG,
    TagReason.NOT_ECR,
    TagReason.OTHER_REGISTRY,
    TagReason.OTHER_REGION,
    TagReason.UNKNOWN_ACCOUNT,
    TagReason.NO_DIGEST,
    TagReason.IMAGE_NOT_FOUND,
    TagReason.SUPERSEDED,
)
FAILURE_REASONS: tuple[str, ...] = (TagReason.TAG_CONFLICT, TagReason.TAG_LIMIT)

MAX_TAG_LENGTH = 128
_ECR_PRIVATE = re.compile(
    r"^(?P<account>[0-9]{12})\.dkr\.ecr(?:-fips)?\.(?P<region>[a-z0-9-]+)\.(?:amazonaws\.com(?:\.cn)?|on\.aws)$"
)


def is_valid_digest(text: str) -> bool:
    """OCI digest grammar: `algorithm:hex`, e.g. `sha256:` and 64 hex digits."""
    return is_digest(text)


_NATURAL_PART = re.compile(r"(\d+)")


@dataclass(frozen=True)
class ImageReference:
    """An image reference as ECS names it: `registry/repository[:tag][@digest]`."""

    registry: str
    repository: str
    tag: str | None = None
    digest: str | None = None
    account: str | None = None
    region: str | None = None

    @property
    def is_private_ecr(self) -> bool:
        return self.account is not None


def parse_image_reference(image: str) -> ImageReference:
    """Split an image reference. References without a registry host are Docker Hub (`nginx:1`)."""
    rest = image.strip()
    digest = None
    if "@" in rest:
        rest, digest = rest.split("@", 1)
    first, _, remainder = rest.partition("/")
    has_registry = bool(remainder) and ("." in first or ":" in first or first == "localhost")
    registry = first if has_registry else "docker.io"
    path = remainder if has_registry else rest
    tag = None
    last_slash = path.rfind("/")
    colon = path.rfind(":")
    if colon > last_slash:
        path, tag = path[:colon], path[colon + 1 :]
    match = _ECR_PRIVATE.fullmatch(registry)
    return ImageReference(
        registry=registry,
        repository=path,
        tag=tag or None,
        digest=digest if digest and is_valid_digest(digest) else None,
        account=match.group("account") if match else None,
        region=match.group("region") if match else None,
    )


def foreign_image_reason(reference: ImageReference, account: str, regions: Collection[str]) -> str | None:
    """Why an image is not ours to tag (not in the registry account's ECR in a registry region), or None."""
    if not reference.is_private_ecr:
        return TagReason.NOT_ECR
    if reference.account != account:
        return TagReason.OTHER_REGISTRY
    if reference.region not in regions:
        return TagReason.OTHER_REGION
    return None


def resolve_environment(config: Config, cluster: str, account: str) -> Environment | None:
    """The first environment, in config order, that the deployment's account and cluster match (every selector
    the environment names: its `accounts`, its `clusters` globs)."""
    return next((env for env in config.environments if env.matches(account, cluster)), None)


@dataclass(frozen=True)
class BuildResolution:
    """The build number and where it came from (`reference-tag` or `ecr-tag`), or a reason code."""

    build: str | None
    source: str | None = None
    reason: str | None = None
    candidates: tuple[str, ...] = ()


def _build_of(pattern: re.Pattern[str], tag: str) -> str | None:
    match = pattern.search(tag)
    if match is None:
        return None
    if "build" in pattern.groupindex:
        return match.group("build") or None
    if pattern.groups:
        return match.group(1) or None
    return tag


def natural_key(text: str) -> tuple[tuple[int, int | str], ...]:
    """Sort key in which digit runs compare as numbers: `build-10` after `build-9`."""
    return tuple((0, int(part)) if part.isdigit() else (1, part) for part in _NATURAL_PART.split(text) if part)


def resolve_build(config: Config, reference_tag: str | None, ecr_tags: Iterable[str]) -> BuildResolution:
    """The build number of a deployed image; see the module docstring for the rule."""
    pattern = re.compile(config.build_tag_pattern)
    if reference_tag:
        build = _build_of(pattern, reference_tag)
        if build:
            return BuildResolution(build, "reference-tag")
    env_stems = tuple(env.tag_stem for env in config.environments)
    builds = {
        tag: build
        for tag in ecr_tags
        if not tag.startswith(env_stems) and (build := _build_of(pattern, tag)) is not None
    }
    if not builds:
        return BuildResolution(None, reason=TagReason.NO_BUILD)
    chosen = max(builds.values(), key=natural_key)
    return BuildResolution(chosen, "ecr-tag", candidates=tuple(sorted(builds.values(), key=natural_key)))


def is_valid_docker_tag(tag: str) -> bool:
    return len(tag) <= MAX_TAG_LENGTH and DOCKER_TAG_RE.fullmatch(tag) is not None


def env_tag(environment: Environment, build: str) -> str | None:
    """`<tagPrefix>-<build>`, or None when that is not a legal Docker tag."""
    tag = f"{environment.tag_prefix}-{build}"
    return tag if is_valid_docker_tag(tag) else None


@dataclass(frozen=True)
class TagDecision:
    """What to tag an image with, or why not."""

    environment: Environment | None
    build: str | None
    tag: str | None
    reason: str | None = None
    build_source: str | None = None


def decide_tag(
    config: Config, environment: Environment | None, reference_tag: str | None, ecr_tags: Iterable[str]
) -> TagDecision:
    """Environment already resolved (or None) → the env tag for one image, or the reason there is none."""
    if environment is None:
        return TagDecision(None, None, None, TagReason.NO_ENVIRONMENT)
    build = resolve_build(config, reference_tag, ecr_tags)
    if build.build is None:
        return TagDecision(environment, None, None, build.reason or TagReason.NO_BUILD)
    tag = env_tag(environment, build.build)
    if tag is None:
        return TagDecision(environment, build.build, None, TagReason.INVALID_TAG, build.source)
    return TagDecision(environment, build.build, tag, None, build.source)
