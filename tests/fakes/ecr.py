"""EcrGateway in memory, with ECR's semantics where moto differs: sha256 digests of the manifest bytes, tags never
moved, the lifecycle preview served from what the test sets."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from housekeeper.aws.ecr import MAX_TAGS_PER_IMAGE
from housekeeper.aws.errors import NotFound
from housekeeper.aws.ports import (
    ManifestDocument,
    PreviewStatus,
    RepositoryInfo,
    RetagOutcome,
    RetagStatus,
)
from housekeeper.core.images import ARCHIVE, STANDARD, ImageRecord
from housekeeper.core.manifests import is_index, links_of_manifest

from tests.fakes.accounts import ACCOUNT, DOCKER_V2, REGION, sha256_digest


@dataclass
class FakeImage:
    digest: str
    manifest: str
    media_type: str
    tags: list[str]
    pushed_at: float
    size_bytes: int = 1000
    status: str = "ACTIVE"  # ACTIVE | ARCHIVED | ACTIVATING
    last_archived_at: float | None = None


@dataclass
class FakeRepository:
    name: str
    tag_mutability: str = "MUTABLE"
    images: dict[str, FakeImage] = field(default_factory=dict)
    lifecycle_policy: dict[str, Any] | None = None
    preview: PreviewStatus | None = None
    repository_policy: dict[str, Any] | None = None  # who else may pull (None: no other account)


class FakeEcr:
    """EcrGateway in memory. `put_image_calls` records every retag write."""

    def __init__(self, account: str = ACCOUNT, region: str = REGION) -> None:
        self.account = account
        self._region = region
        self.repositories: dict[str, FakeRepository] = {}
        self.put_image_calls: list[tuple[str, str, str]] = []
        self.put_policy_calls: list[tuple[str, dict[str, Any]]] = []
        self.started_previews: list[tuple[str, dict[str, Any]]] = []
        self.repository_policy_reads = 0
        # Raise this from the next retag of the given (repository, tag), to simulate a failure.
        self.fail_retag: dict[tuple[str, str], Exception] = {}

    # --- test setup
    def create_repository(self, name: str, tag_mutability: str = "MUTABLE") -> FakeRepository:
        repository = FakeRepository(name, tag_mutability)
        self.repositories[name] = repository
        return repository

    def push(
        self,
        repository: str,
        manifest: str,
        media_type: str = DOCKER_V2,
        tags: Sequence[str] = (),
        pushed_at: float | None = None,
    ) -> str:
        """Store an image (creating the repository if needed) and return its digest, as ECR computes it."""
        repo = self.repositories.get(repository) or self.create_repository(repository)
        digest = sha256_digest(manifest)
        image = repo.images.get(digest)
        if image is None:
            image = FakeImage(digest, manifest, media_type, [], pushed_at if pushed_at is not None else time.time())
            repo.images[digest] = image
        for tag in tags:
            for other in repo.images.values():
                if tag in other.tags and other is not image:
                    other.tags.remove(tag)
            if tag not in image.tags:
                image.tags.append(tag)
        return digest

    def _repo(self, name: str) -> FakeRepository:
        if name not in self.repositories:
            raise NotFound("ecr:DescribeRepositories", "RepositoryNotFoundException", "no such repository", name)
        return self.repositories[name]

    def _image(self, repository: str, digest: str) -> FakeImage:
        image = self._repo(repository).images.get(digest)
        if image is None:
            raise NotFound("ecr:DescribeImages", "ImageNotFoundException", "no such image", f"{repository}@{digest}")
        return image

    # --- EcrGateway
    def account_registry_id(self) -> str:
        return self.account

    def region(self) -> str:
        return self._region

    def describe_repository(self, repository: str) -> RepositoryInfo:
        return self._info(self._repo(repository))

    def _info(self, repo: FakeRepository) -> RepositoryInfo:
        return RepositoryInfo(
            name=repo.name,
            arn=f"arn:aws:ecr:{self._region}:{self.account}:repository/{repo.name}",
            registry_id=self.account,
            uri=f"{self.account}.dkr.ecr.{self._region}.amazonaws.com/{repo.name}",
            tag_mutability=repo.tag_mutability,
        )

    def iter_repositories(self) -> Iterator[RepositoryInfo]:
        for repo in list(self.repositories.values()):
            yield self._info(repo)

    def iter_images(self, repository: str) -> Iterator[ImageRecord]:
        for image in list(self._repo(repository).images.values()):
            links = links_of_manifest(image.manifest)
            yield ImageRecord(
                digest=image.digest,
                tags=tuple(image.tags),
                pushed_at=image.pushed_at,
                size_bytes=image.size_bytes,
                manifest_media_type=image.media_type,
                child_digests=links.children if is_index(image.media_type) else (),
                subject_digest=links.subject,
                storage_class=STANDARD if image.status == "ACTIVE" else ARCHIVE,
                image_status=image.status,
                last_archived_at=image.last_archived_at,
            )

    def tags_of_digest(self, repository: str, digest: str) -> tuple[str, ...]:
        return tuple(self._image(repository, digest).tags)

    def digest_of_tag(self, repository: str, tag: str) -> str | None:
        return next((i.digest for i in self._repo(repository).images.values() if tag in i.tags), None)

    def get_manifest(self, repository: str, digest: str) -> ManifestDocument:
        image = self._image(repository, digest)
        return ManifestDocument(repository, digest, image.manifest, image.media_type, tuple(image.tags))

    def retag(self, repository: str, digest: str, tag: str) -> RetagOutcome:
        failure = self.fail_retag.pop((repository, tag), None)
        if failure is not None:
            raise failure
        image = self._image(repository, digest)
        if tag in image.tags:
            return RetagOutcome(repository, digest, tag, RetagStatus.ALREADY_PRESENT)
        holder = self.digest_of_tag(repository, tag)
        if holder is not None:
            return RetagOutcome(repository, digest, tag, RetagStatus.CONFLICT, f"'{tag}' already points at {holder}")
        if len(image.tags) >= MAX_TAGS_PER_IMAGE:
            return RetagOutcome(repository, digest, tag, RetagStatus.TAG_LIMIT, "the image already has 1000 tags")
        image.tags.append(tag)
        self.put_image_calls.append((repository, digest, tag))
        return RetagOutcome(repository, digest, tag, RetagStatus.TAGGED)

    def get_repository_policy(self, repository: str) -> dict[str, Any] | None:
        self.repository_policy_reads += 1
        policy = self._repo(repository).repository_policy
        return json.loads(json.dumps(policy)) if policy is not None else None

    def get_lifecycle_policy(self, repository: str) -> dict[str, Any] | None:
        policy = self._repo(repository).lifecycle_policy
        return json.loads(json.dumps(policy)) if policy is not None else None

    def put_lifecycle_policy(self, repository: str, policy: Mapping[str, Any]) -> None:
        copied = json.loads(json.dumps(policy))
        self._repo(repository).lifecycle_policy = copied
        self.put_policy_calls.append((repository, copied))

    def start_lifecycle_preview(self, repository: str, policy: Mapping[str, Any]) -> None:
        repo = self._repo(repository)
        self.started_previews.append((repository, json.loads(json.dumps(policy))))
        if repo.preview is None:
            repo.preview = PreviewStatus(status="IN_PROGRESS")

    def get_lifecycle_preview(self, repository: str) -> PreviewStatus:
        preview = self._repo(repository).preview
        if preview is None:
            raise NotFound(
                "ecr:GetLifecyclePolicyPreview", "LifecyclePolicyPreviewNotFoundException", "no preview", repository
            )
        return preview

    def batch_delete_images(self, repository: str, digests: Sequence[str]) -> list[str]:
        repo = self._repo(repository)
        deleted = [d for d in digests if repo.images.pop(d, None) is not None]
        return list(dict.fromkeys(deleted))


class FakeImageListing:
    """The read side of EcrGateway over ready-made ImageRecords: for the report and other readers that need no
    manifests and no writes."""

    def __init__(self, images: Mapping[str, Sequence[ImageRecord]], account: str = ACCOUNT, region: str = REGION):
        self.images = images
        self.account = account
        self._region = region

    def iter_repositories(self) -> Iterator[RepositoryInfo]:
        for name in self.images:
            arn = f"arn:aws:ecr:{self._region}:{self.account}:repository/{name}"
            yield RepositoryInfo(name, arn, self.account, f"{self.account}.dkr.ecr.{self._region}.amazonaws.com/{name}")

    def iter_images(self, repository: str) -> Iterator[ImageRecord]:
        yield from self.images[repository]
