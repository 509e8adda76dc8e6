"""Image details as the evaluator needs them, read from DescribeImages output.

Only the fields that lifecycle evaluation, the guard and the report use are kept, so that a worker holding
100,000 images stays small (slots, tuples, floats).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from housekeeper.core.errors import InvalidInput, Problem

STANDARD = "STANDARD"
ARCHIVE = "ARCHIVE"
ACTIVATING = "ACTIVATING"


@dataclass(frozen=True, slots=True)
class ImageRecord:
    """One image of one repository. Times are epoch seconds (UTC)."""

    digest: str
    tags: tuple[str, ...]
    pushed_at: float
    last_pulled_at: float | None = None
    last_activated_at: float | None = None
    last_archived_at: float | None = None
    storage_class: str = STANDARD
    size_bytes: int = 0
    manifest_media_type: str | None = None
    artifact_media_type: str | None = None
    # Digests this image references (the children of a manifest list / OCI index), when known.
    child_digests: tuple[str, ...] = ()
    # The image this one is an artifact of (OCI `subject`; DescribeImages `subjectManifestDigest`), when known.
    subject_digest: str | None = None
    # DescribeImages `imageStatus`: ACTIVE, ARCHIVED or ACTIVATING (an archived image being restored).
    image_status: str = "ACTIVE"

    @property
    def tagged(self) -> bool:
        return bool(self.tags)

    @property
    def archived(self) -> bool:
        return self.storage_class == ARCHIVE

    @property
    def activating(self) -> bool:
        """Being restored from the archive: it cannot be pulled yet, and lifecycle rules leave it alone."""
        return self.image_status == ACTIVATING


def parse_time(value: Any, path: str) -> float:
    """ISO-8601 strings (with or without zone; naive means UTC), datetimes, or epoch seconds."""
    if isinstance(value, bool):
        raise InvalidInput("image details", [Problem(path, "expected a time, got a boolean")])
    if isinstance(value, int | float):
        return float(value)
    if isinstance(value, datetime):
        moment = value if value.tzinfo else value.replace(tzinfo=UTC)
        return moment.timestamp()
    if isinstance(value, str):
        text = value.strip()
        try:
            return float(text)
        except ValueError:
            pass
        try:
            moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
        except ValueError:
            raise InvalidInput(
                "image details", [Problem(path, f"not an ISO-8601 time or epoch seconds: {value!r}")]
            ) from None
        if moment.tzinfo is None:
            moment = moment.replace(tzinfo=UTC)
        return moment.timestamp()
    raise InvalidInput("image details", [Problem(path, f"expected a time, got {type(value).__name__}")])


def _optional_time(detail: Mapping[str, Any], key: str, path: str) -> float | None:
    value = detail.get(key)
    return None if value is None else parse_time(value, f"{path}.{key}")


def image_from_detail(detail: Mapping[str, Any], path: str = "$") -> ImageRecord:
    """One DescribeImages `imageDetails` entry to an ImageRecord. Raises InvalidInput naming the bad field."""
    if not isinstance(detail, Mapping):
        raise InvalidInput("image details", [Problem(path, "each image detail must be an object")])
    digest = detail.get("imageDigest")
    if not isinstance(digest, str) or not digest:
        raise InvalidInput("image details", [Problem(f"{path}.imageDigest", "is required")])
    if "imagePushedAt" not in detail:
        raise InvalidInput("image details", [Problem(f"{path}.imagePushedAt", "is required")])
    tags = detail.get("imageTags") or ()
    if not isinstance(tags, list | tuple) or not all(isinstance(t, str) for t in tags):
        raise InvalidInput("image details", [Problem(f"{path}.imageTags", "must be a list of strings")])
    # Archived images report imageStatus ARCHIVED (and storageClass ARCHIVE where a tool adds it).
    status = detail.get("imageStatus") or "ACTIVE"
    if not isinstance(status, str):
        raise InvalidInput("image details", [Problem(f"{path}.imageStatus", "must be a string")])
    status = status.upper()
    archived = status == "ARCHIVED" or str(detail.get("storageClass", "")).upper() == ARCHIVE
    storage_class = ARCHIVE if archived else STANDARD
    # Not a DescribeImages field: the digests a manifest list / OCI index references, added by callers that
    # fetched the manifests (BatchGetImage). Without it, manifest-list protection cannot be evaluated.
    children = detail.get("childDigests") or ()
    if not isinstance(children, list | tuple) or not all(isinstance(c, str) for c in children):
        raise InvalidInput("image details", [Problem(f"{path}.childDigests", "must be a list of digests")])
    size = detail.get("imageSizeInBytes") or 0
    if isinstance(size, bool) or not isinstance(size, int | float):
        raise InvalidInput("image details", [Problem(f"{path}.imageSizeInBytes", "must be a number")])
    return ImageRecord(
        digest=digest,
        tags=tuple(tags),
        pushed_at=parse_time(detail["imagePushedAt"], f"{path}.imagePushedAt"),
        last_pulled_at=_optional_time(detail, "lastRecordedPullTime", path),
        last_activated_at=_optional_time(detail, "lastActivatedAt", path),
        last_archived_at=_optional_time(detail, "lastArchivedAt", path),
        storage_class=storage_class,
        size_bytes=int(size),
        manifest_media_type=detail.get("imageManifestMediaType"),
        artifact_media_type=detail.get("artifactMediaType"),
        child_digests=tuple(children),
        subject_digest=detail.get("subjectManifestDigest") or detail.get("subjectDigest"),
        image_status="ARCHIVED" if archived and status == "ACTIVE" else status,
    )


def parse_images_document(document: Any) -> list[ImageRecord]:
    """`aws ecr describe-images` output (`{"imageDetails": [...]}`) or a bare list of image details."""
    if isinstance(document, Mapping):
        if "imageDetails" not in document:
            raise InvalidInput("images", [Problem("$", "expected {'imageDetails': [...]} or a list of image details")])
        details: Iterable[Any] = document["imageDetails"]
        base = "$.imageDetails"
    elif isinstance(document, list):
        details = document
        base = "$"
    else:
        raise InvalidInput("images", [Problem("$", "expected {'imageDetails': [...]} or a list of image details")])
    return [image_from_detail(detail, f"{base}[{index}]") for index, detail in enumerate(details)]
