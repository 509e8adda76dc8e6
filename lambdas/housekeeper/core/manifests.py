"""Manifests as ECR stores them: which media types are indexes, and what an index or an artifact points at. Pure.

ECR's lifecycle evaluation depends on two links between images that DescribeImages does not fully show:
- an image index (OCI) or manifest list (Docker) references its platform manifests, and what `docker buildx` pushes
  by default also references attestation manifests. "If an image is referenced by a manifest list, it cannot be
  expired or archived without the manifest list being deleted or archived first" (ECR user guide, lifecycle policy
  evaluation rules). The children are only listed inside the index's own manifest, read with BatchGetImage;
- an OCI artifact (a signature, an SBOM) names its `subject`. DescribeImages reports it as `subjectManifestDigest`,
  and the manifest carries it as `subject.digest`.

`links_of_manifest` reads both from a manifest's text, so the ECR gateway and `housekeeper simulate --manifests`
fill `ImageRecord.child_digests` and `subject_digest` the same way.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, replace
from typing import Any

from housekeeper.core.errors import InvalidInput, Problem
from housekeeper.core.images import ImageRecord
from housekeeper.core.jsonio import load_json

DOCKER_MANIFEST = "application/vnd.docker.distribution.manifest.v2+json"
DOCKER_MANIFEST_LIST = "application/vnd.docker.distribution.manifest.list.v2+json"
OCI_MANIFEST = "application/vnd.oci.image.manifest.v1+json"
OCI_INDEX = "application/vnd.oci.image.index.v1+json"
# Every manifest type ECR stores. Asking BatchGetImage for all four makes ECR return the manifest exactly as pushed.
MANIFEST_MEDIA_TYPES: tuple[str, ...] = (DOCKER_MANIFEST, DOCKER_MANIFEST_LIST, OCI_MANIFEST, OCI_INDEX)
INDEX_MEDIA_TYPES = frozenset({DOCKER_MANIFEST_LIST, OCI_INDEX})
# BatchGetImage takes at most 100 image ids per call.
BATCH_GET_IMAGE_LIMIT = 100


def is_index(media_type: str | None) -> bool:
    """An OCI image index or a Docker manifest list: a manifest that lists other manifests."""
    return media_type in INDEX_MEDIA_TYPES


@dataclass(frozen=True)
class ManifestLinks:
    """The digests a manifest references (`manifests[].digest`) and the digest of its `subject`, if any."""

    children: tuple[str, ...] = ()
    subject: str | None = None


NO_LINKS = ManifestLinks()


def links_of_manifest(text: str) -> ManifestLinks:
    """The children and subject named in a manifest's JSON text; NO_LINKS for text that is not a manifest object.

    Lenient on purpose: an unreadable manifest is not a reason to fail a sync, it only means ECR's manifest-list
    rule cannot be applied to it, which makes the offline preview report more expiring images, never fewer.
    """
    try:
        document: Any = load_json(text, "manifest")
    except InvalidInput:
        return NO_LINKS
    if not isinstance(document, dict):
        return NO_LINKS
    children: list[str] = []
    for entry in document.get("manifests") or ():
        digest = entry.get("digest") if isinstance(entry, dict) else None
        if isinstance(digest, str) and digest and digest not in children:
            children.append(digest)
    subject = document.get("subject")
    subject_digest = subject.get("digest") if isinstance(subject, dict) else None
    return ManifestLinks(
        tuple(children), subject_digest if isinstance(subject_digest, str) and subject_digest else None
    )


def read_manifests_document(document: Any) -> dict[str, ManifestLinks]:
    """The links of every manifest in `aws ecr batch-get-image` output, by digest.

    Accepts one BatchGetImage response (`{"images": [...], "failures": [...]}`), a list of responses (several calls,
    100 images each), or a bare list of its `images` entries. Raises InvalidInput naming the bad entry's path.
    """
    if isinstance(document, dict):
        document = [document]
    if not isinstance(document, list):
        raise InvalidInput("manifests", [Problem("$", "expected batch-get-image output: {'images': [...]}")])
    found: dict[str, ManifestLinks] = {}
    for index, item in enumerate(document):
        if isinstance(item, dict) and "images" in item:
            entries, base = item["images"], f"$[{index}].images" if len(document) > 1 else "$.images"
            if not isinstance(entries, list):
                raise InvalidInput("manifests", [Problem(base, "must be a list of images")])
            for position, entry in enumerate(entries):
                _read_entry(entry, f"{base}[{position}]", found)
        else:
            _read_entry(item, f"$[{index}]", found)
    return found


def _read_entry(entry: Any, path: str, found: dict[str, ManifestLinks]) -> None:
    if not isinstance(entry, dict):
        raise InvalidInput("manifests", [Problem(path, "each image must be an object")])
    digest = (entry.get("imageId") or {}).get("imageDigest") if isinstance(entry.get("imageId"), dict) else None
    manifest = entry.get("imageManifest")
    if not isinstance(digest, str) or not digest:
        raise InvalidInput("manifests", [Problem(f"{path}.imageId.imageDigest", "is required")])
    if not isinstance(manifest, str):
        raise InvalidInput("manifests", [Problem(f"{path}.imageManifest", "must be the manifest as a JSON string")])
    found[digest] = links_of_manifest(manifest)


def with_links(images: Iterable[ImageRecord], links: Mapping[str, ManifestLinks]) -> list[ImageRecord]:
    """The images with the children and subjects their manifests name (what DescribeImages leaves out)."""
    out: list[ImageRecord] = []
    for image in images:
        found = links.get(image.digest)
        if found is None or (not found.children and not found.subject):
            out.append(image)
        else:
            out.append(
                replace(
                    image,
                    child_digests=found.children or image.child_digests,
                    subject_digest=found.subject or image.subject_digest,
                )
            )
    return out
