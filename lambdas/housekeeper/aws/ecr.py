"""The ECR gateway: repositories, images, byte-exact retagging, and lifecycle policies and previews.

Retagging follows the ECR documentation ("Retagging an image"): BatchGetImage by digest with every manifest media
type accepted, so that ECR neither converts the manifest nor hands back one child of a multi-arch index; then
PutImage with the manifest bytes unchanged, the media type as returned, and the digest as a guard. A tag is never
moved off another image and never deleted.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from dataclasses import replace
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError

from housekeeper.aws.errors import AwsError, NotFound, aws_call, translate

# The retag statuses live in housekeeper.aws.ports, beside RetagOutcome; re-exported here for existing importers.
from housekeeper.aws.ports import ManifestDocument, PreviewStatus, RepositoryInfo, RetagOutcome, RetagStatus
from housekeeper.aws.session import client as make_client
from housekeeper.core.errors import InvalidInput
from housekeeper.core.images import ImageRecord, image_from_detail
from housekeeper.core.jsonio import load_json
from housekeeper.core.manifests import BATCH_GET_IMAGE_LIMIT, MANIFEST_MEDIA_TYPES, is_index, links_of_manifest
from housekeeper.core.policy import policy_text, read_policy_document

# ECR allows at most 1,000 tags on one image.
MAX_TAGS_PER_IMAGE = 1000
BATCH_DELETE_LIMIT = 100


class DigestMismatch(AwsError):
    """ECR returned a different manifest than the digest asked for: retagging it would tag the wrong image."""


def _error_code(exc: ClientError) -> str:
    return str(exc.response.get("Error", {}).get("Code", ""))


class Boto3EcrGateway:
    """EcrGateway on boto3. One instance per region; the client comes from housekeeper.aws.session."""

    def __init__(self, ecr_client: Any | None = None, sts_client: Any | None = None) -> None:
        self._ecr = ecr_client or make_client("ecr")
        self._sts = sts_client
        self._registry_id: str | None = None

    # ----------------------------------------------------------------------------------------------- identity
    def account_registry_id(self) -> str:
        """The account's private registry id (its account id), cached: it never changes."""
        if self._registry_id is None:
            sts = self._sts or make_client("sts")
            with aws_call("sts:GetCallerIdentity"):
                self._registry_id = str(sts.get_caller_identity()["Account"])
        return self._registry_id

    def region(self) -> str:
        return str(self._ecr.meta.region_name)

    # ------------------------------------------------------------------------------------------ repositories
    def describe_repository(self, repository: str) -> RepositoryInfo:
        with aws_call("ecr:DescribeRepositories", repository):
            response = self._ecr.describe_repositories(repositoryNames=[repository])
        return _repository_info(response["repositories"][0])

    def iter_repositories(self) -> Iterator[RepositoryInfo]:
        """Every repository, 1,000 per page (ECR's maximum; its default is 100): 100 calls for 100,000 repositories."""
        paginator = self._ecr.get_paginator("describe_repositories")
        with aws_call("ecr:DescribeRepositories"):
            for page in paginator.paginate(PaginationConfig={"PageSize": 1000}):
                for repository in page.get("repositories", []):
                    yield _repository_info(repository)

    # ----------------------------------------------------------------------------------------------- images
    def iter_images(self, repository: str) -> Iterator[ImageRecord]:
        """Every image of the repository as ECR's lifecycle run sees it, streamed page by page.

        - every status: DescribeImages returns only ACTIVE images unless asked (`imageStatus: ANY`), and archive
          rules act on ARCHIVED ones;
        - image indexes and manifest lists come with their children (BatchGetImage, 100 per call), so ECR's
          manifest-list rule and the in-use guard can follow them; artifacts carry `subjectManifestDigest`.
        Indexes are held back until the end of the listing (they are few), everything else is yielded at once.
        """
        paginator = self._ecr.get_paginator("describe_images")
        indexes: list[ImageRecord] = []
        with aws_call("ecr:DescribeImages", repository):
            pages = paginator.paginate(
                repositoryName=repository,
                filter={"imageStatus": "ANY"},
                PaginationConfig={"PageSize": 1000},
            )
            for page in pages:
                for detail in page.get("imageDetails", []):
                    record = image_from_detail(detail)
                    if is_index(record.manifest_media_type):
                        indexes.append(record)
                    else:
                        yield record
        for start in range(0, len(indexes), BATCH_GET_IMAGE_LIMIT):
            yield from self._with_children(repository, indexes[start : start + BATCH_GET_IMAGE_LIMIT])

    def _with_children(self, repository: str, indexes: Sequence[ImageRecord]) -> Iterator[ImageRecord]:
        """The indexes with `child_digests` read from their manifests; one that cannot be read is kept without."""
        with aws_call("ecr:BatchGetImage", repository):
            response = self._ecr.batch_get_image(
                repositoryName=repository,
                imageIds=[{"imageDigest": record.digest} for record in indexes],
                acceptedMediaTypes=list(MANIFEST_MEDIA_TYPES),
            )
        children: dict[str, tuple[str, ...]] = {}
        for image in response.get("images", []):
            digest = image.get("imageId", {}).get("imageDigest")
            if digest and digest not in children:
                children[digest] = links_of_manifest(image.get("imageManifest") or "").children
        for record in indexes:
            found = children.get(record.digest)
            yield replace(record, child_digests=found) if found else record

    def tags_of_digest(self, repository: str, digest: str) -> tuple[str, ...]:
        """The tags ECR holds on one digest. Raises NotFound when the image is not there."""
        with aws_call("ecr:DescribeImages", f"{repository}@{digest}"):
            response = self._ecr.describe_images(repositoryName=repository, imageIds=[{"imageDigest": digest}])
        details = response.get("imageDetails", [])
        if not details:
            raise NotFound("ecr:DescribeImages", "ImageNotFoundException", "no such image", f"{repository}@{digest}")
        return tuple(details[0].get("imageTags") or ())

    def digest_of_tag(self, repository: str, tag: str) -> str | None:
        """Which digest a tag points at now, or None when no image carries it."""
        try:
            with aws_call("ecr:DescribeImages", f"{repository}:{tag}"):
                response = self._ecr.describe_images(repositoryName=repository, imageIds=[{"imageTag": tag}])
        except NotFound as exc:
            if exc.code == "ImageNotFoundException":
                return None
            raise
        details = response.get("imageDetails", [])
        return str(details[0]["imageDigest"]) if details else None

    def get_manifest(self, repository: str, digest: str) -> ManifestDocument:
        """The manifest stored under `digest`, exactly as pushed, checked to be the one asked for."""
        resource = f"{repository}@{digest}"
        with aws_call("ecr:BatchGetImage", resource):
            response = self._ecr.batch_get_image(
                repositoryName=repository,
                imageIds=[{"imageDigest": digest}],
                acceptedMediaTypes=list(MANIFEST_MEDIA_TYPES),
            )
        images = response.get("images", [])
        if not images:
            failure = (response.get("failures") or [{}])[0]
            code = str(failure.get("failureCode") or "ImageNotFound")
            reason = str(failure.get("failureReason") or "image not found")
            if code in ("ImageNotFound", "ImageTagDoesNotMatchDigest"):
                raise NotFound("ecr:BatchGetImage", "ImageNotFoundException", reason, resource)
            raise AwsError("ecr:BatchGetImage", code, reason, resource)
        image = images[0]
        returned = image.get("imageId", {}).get("imageDigest")
        if returned != digest:
            raise DigestMismatch(
                "ecr:BatchGetImage", "DigestMismatch", f"asked for {digest}, ECR returned {returned}", resource
            )
        media_type = image.get("imageManifestMediaType") or _media_type_of(image["imageManifest"])
        tag = image.get("imageId", {}).get("imageTag")
        return ManifestDocument(
            repository=repository,
            digest=digest,
            manifest=image["imageManifest"],
            media_type=media_type,
            tags=(tag,) if tag else (),
        )

    def retag(self, repository: str, digest: str, tag: str) -> RetagOutcome:
        """Add `tag` to the image `digest`. Idempotent: a tag already on that digest is success, never an error.

        A tag that points at another image is a conflict: it is reported, never moved (on a mutable repository
        PutImage would silently move it, and moving an image's only tag leaves that image untagged).
        """
        current_tags = self.tags_of_digest(repository, digest)
        if tag in current_tags:
            return RetagOutcome(repository, digest, tag, RetagStatus.ALREADY_PRESENT)
        holder = self.digest_of_tag(repository, tag)
        if holder is not None and holder != digest:
            return RetagOutcome(repository, digest, tag, RetagStatus.CONFLICT, f"'{tag}' already points at {holder}")
        if len(current_tags) >= MAX_TAGS_PER_IMAGE:
            return RetagOutcome(
                repository,
                digest,
                tag,
                RetagStatus.TAG_LIMIT,
                f"the image already has {len(current_tags)} tags (ECR allows 1,000)",
            )
        document = self.get_manifest(repository, digest)
        try:
            self._ecr.put_image(
                repositoryName=repository,
                imageManifest=document.manifest,
                imageManifestMediaType=document.media_type,
                imageTag=tag,
                imageDigest=digest,
            )
        except ClientError as exc:
            if _error_code(exc) in ("ImageAlreadyExistsException", "ImageTagAlreadyExistsException"):
                # Another delivery won the race, or the repository is immutable: look at where the tag is now.
                holder = self.digest_of_tag(repository, tag)
                if holder == digest:
                    return RetagOutcome(repository, digest, tag, RetagStatus.ALREADY_PRESENT)
                return RetagOutcome(
                    repository, digest, tag, RetagStatus.CONFLICT, f"'{tag}' already points at {holder}"
                )
            raise translate(exc, "ecr:PutImage", f"{repository}:{tag}") from exc
        except BotoCoreError as exc:
            raise translate(exc, "ecr:PutImage", f"{repository}:{tag}") from exc
        # Another writer may have pushed the same tag between our check and PutImage (on a mutable repository
        # the last push wins): the tag counts as ours only if it is on our digest now.
        holder = self.digest_of_tag(repository, tag)
        if holder != digest:
            return RetagOutcome(
                repository,
                digest,
                tag,
                RetagStatus.CONFLICT,
                f"'{tag}' was moved to {holder} by another writer after PutImage",
            )
        return RetagOutcome(repository, digest, tag, RetagStatus.TAGGED)

    def batch_delete_images(self, repository: str, digests: Sequence[str]) -> list[str]:
        """Delete images by digest (the demo's emulated lifecycle run); returns the digests ECR deleted."""
        deleted: list[str] = []
        for start in range(0, len(digests), BATCH_DELETE_LIMIT):
            chunk = digests[start : start + BATCH_DELETE_LIMIT]
            with aws_call("ecr:BatchDeleteImage", repository):
                response = self._ecr.batch_delete_image(
                    repositoryName=repository, imageIds=[{"imageDigest": d} for d in chunk]
                )
            deleted.extend(str(i["imageDigest"]) for i in response.get("imageIds", []) if i.get("imageDigest"))
        return list(dict.fromkeys(deleted))

    # ------------------------------------------------------------------------------------ lifecycle policies
    def get_repository_policy(self, repository: str) -> dict[str, Any] | None:
        """The repository's permissions policy (who else may pull), or None when it has none."""
        try:
            with aws_call("ecr:GetRepositoryPolicy", repository):
                text = self._ecr.get_repository_policy(repositoryName=repository)["policyText"]
        except NotFound as exc:
            if exc.code == "RepositoryPolicyNotFoundException":
                return None
            raise
        try:
            document = load_json(text, f"repository policy of {repository}")
        except InvalidInput as exc:
            raise AwsError("ecr:GetRepositoryPolicy", "InvalidPolicyText", str(exc), repository) from None
        return document if isinstance(document, dict) else None

    def get_lifecycle_policy(self, repository: str) -> dict[str, Any] | None:
        """The repository's lifecycle policy as a dict, or None when it has none."""
        try:
            with aws_call("ecr:GetLifecyclePolicy", repository):
                response = self._ecr.get_lifecycle_policy(repositoryName=repository)
        except NotFound as exc:
            if exc.code == "LifecyclePolicyNotFoundException":
                return None
            raise
        return read_policy_document(str(response["lifecyclePolicyText"]))

    def put_lifecycle_policy(self, repository: str, policy: Mapping[str, Any]) -> None:
        with aws_call("ecr:PutLifecyclePolicy", repository):
            self._ecr.put_lifecycle_policy(repositoryName=repository, lifecyclePolicyText=policy_text(policy))

    def start_lifecycle_preview(self, repository: str, policy: Mapping[str, Any]) -> None:
        with aws_call("ecr:StartLifecyclePolicyPreview", repository):
            self._ecr.start_lifecycle_policy_preview(repositoryName=repository, lifecyclePolicyText=policy_text(policy))

    def get_lifecycle_preview(self, repository: str) -> PreviewStatus:
        """ECR's preview: status and every result page. Raises NotFound when no preview was started."""
        paginator = self._ecr.get_paginator("get_lifecycle_policy_preview")
        status = "IN_PROGRESS"
        results: list[dict[str, Any]] = []
        with aws_call("ecr:GetLifecyclePolicyPreview", repository):
            for page in paginator.paginate(repositoryName=repository):
                status = str(page.get("status", status))
                results.extend(page.get("previewResults", []))
        return PreviewStatus(status=status, results=results)


def _media_type_of(manifest: str) -> str:
    try:
        document = load_json(manifest, "manifest")
    except InvalidInput:
        return MANIFEST_MEDIA_TYPES[0]
    declared = document.get("mediaType") if isinstance(document, dict) else None
    return str(declared or MANIFEST_MEDIA_TYPES[0])


def _repository_info(repository: Mapping[str, Any]) -> RepositoryInfo:
    return RepositoryInfo(
        name=str(repository["repositoryName"]),
        arn=str(repository["repositoryArn"]),
        registry_id=str(repository["registryId"]),
        uri=str(repository["repositoryUri"]),
        tag_mutability=str(repository.get("imageTagMutability", "MUTABLE")),
    )
