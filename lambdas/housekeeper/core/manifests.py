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

import json
from dataclasses import dataclass
from typing import Any

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
        document: Any = json.loads(text)
    except (ValueError, RecursionError):
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
