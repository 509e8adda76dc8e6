"""Image details as the evaluator needs them, read from DescribeImages output.

Only the fields that lifecycle evaluation, the guard and the report use are kept, so that a worker holding
100,000 images stays small (slots, tuples, floats).
"""

from __future__ import annotations

import gc
import re
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from housekeeper.core.errors import InvalidInput, Problem
from housekeeper.core.names import DIGEST_RE

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


@contextmanager
def cyclic_gc_paused() -> Iterator[None]:
    """Pause the cyclic garbage collector around bulk work that creates no reference cycles.

    Building or evaluating 100,000 records allocates hundreds of thousands of objects; each allocation burst
    makes the collector rescan every live record, which costs up to half the run time. Reference counting
    still frees everything, and the previous state is restored.
    """
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()


# Times are instants between 1970-01-01T00:00:00Z and 9999-12-31T23:59:59Z: earlier ones are not image times,
# later ones cannot be printed again as ISO-8601 (Python's datetime ends at year 9999).
EARLIEST_TIME = 0.0
LATEST_TIME = 253_402_300_799.0


def parse_time(value: Any, path: str) -> float:
    """ISO-8601 strings (with or without zone; naive means UTC), datetimes, or epoch seconds, as epoch seconds.

    Raises InvalidInput naming `path` for anything else, and for a time that is not a finite instant between 1970
    and the end of 9999 (`nan`, `inf`, `1e400`, `9999-12-31T23:59:59-23:59`).
    """
    seconds = _seconds(value, path)
    if not EARLIEST_TIME <= seconds <= LATEST_TIME:  # also refuses nan, which compares false with everything
        raise InvalidInput(
            "image details", [Problem(path, f"{_shown(value)} is not a time between 1970 and 9999 (UTC)")]
        )
    return seconds


def _seconds(value: Any, path: str) -> float:
    if type(value) is str:
        text = value.strip()
        if len(text) >= 10 and text[4] == "-":  # an ISO date: skip the float attempt (its exception is slow)
            try:
                moment = datetime.fromisoformat(text)
                return (moment if moment.tzinfo else moment.replace(tzinfo=UTC)).timestamp()
            except (ValueError, OverflowError):
                raise InvalidInput(
                    "image details", [Problem(path, f"not an ISO-8601 time or epoch seconds: {_shown(value)}")]
                ) from None
        try:
            return float(text) if len(text) <= 32 else float("nan")
        except ValueError:
            raise InvalidInput(
                "image details", [Problem(path, f"not an ISO-8601 time or epoch seconds: {_shown(value)}")]
            ) from None
    if isinstance(value, bool):
        raise InvalidInput("image details", [Problem(path, "expected a time, got a boolean")])
    if isinstance(value, int | float):
        try:
            return float(value)
        except OverflowError:
            return float("nan")
    if isinstance(value, datetime):
        try:
            return (value if value.tzinfo else value.replace(tzinfo=UTC)).timestamp()
        except (OverflowError, ValueError):
            return float("nan")
    raise InvalidInput("image details", [Problem(path, f"expected a time, got {type(value).__name__}")])


def _shown(value: Any) -> str:
    text = ascii(value)
    return text if len(text) <= 50 else text[:47] + "..."


def _time(value: Any, path: str, key: str) -> float:
    """parse_time with the field's path built only when it is needed (100,000 details, four times each)."""
    if type(value) is str and len(value) >= 20 and value[4] == "-" and value[-6] == "+":  # AWS CLI's own format
        try:
            seconds = datetime.fromisoformat(value).timestamp()
            if EARLIEST_TIME <= seconds <= LATEST_TIME:
                return seconds
        except (ValueError, OverflowError):
            pass
    return parse_time(value, f"{path}.{key}")


# A tag as ECR lists it: 1 to 300 printable characters (no control characters or lone surrogates, which would break
# a table or a terminal). ECR's tags follow Docker's grammar; the user guide's own examples use names like
# "git hash", so simulate reads any printable text.
_TAG = r"[^\x00-\x1f\x7f-\x9f\ud800-\udfff]{1,300}"
_TAG_LIST = re.compile(f"{_TAG}(?:\n{_TAG})*")


def _tags(value: Any) -> bool:
    """A list of printable tags, checked in one regex pass over the joined list (fast on 100,000 details)."""
    return _strings(value) and _TAG_LIST.fullmatch("\n".join(value)) is not None


def _strings(value: Any) -> bool:
    """A list or tuple of strings. `str.join` checks the items in C, which matters for 100,000 details."""
    if not isinstance(value, list | tuple):
        return False
    try:
        "".join(value)
    except TypeError:
        return False
    return True


def image_from_detail(detail: Mapping[str, Any], path: str = "$") -> ImageRecord:
    """One DescribeImages `imageDetails` entry to an ImageRecord. Raises InvalidInput naming the bad field."""
    if not isinstance(detail, Mapping):
        raise InvalidInput("image details", [Problem(path, "each image detail must be an object")])
    get = detail.get
    digest = get("imageDigest")
    if type(digest) is not str or DIGEST_RE.fullmatch(digest) is None:
        message = "is required" if digest is None else f"{_shown(digest)} is not an image digest (sha256:<hex>)"
        raise InvalidInput("image details", [Problem(f"{path}.imageDigest", message)])
    pushed = get("imagePushedAt")
    if pushed is None:
        raise InvalidInput("image details", [Problem(f"{path}.imagePushedAt", "is required")])
    tags = get("imageTags") or ()
    if tags and not _tags(tags):
        raise InvalidInput(
            "image details", [Problem(f"{path}.imageTags", "must be a list of tags (printable text, 300 at most)")]
        )
    archived, status = _storage(get, path)
    children, size = _checked_extras(get, path)
    pulled = get("lastRecordedPullTime")
    activated = get("lastActivatedAt")
    archived_at = get("lastArchivedAt")
    return ImageRecord(
        digest=digest,
        tags=tuple(tags),
        pushed_at=_time(pushed, path, "imagePushedAt"),
        last_pulled_at=None if pulled is None else _time(pulled, path, "lastRecordedPullTime"),
        last_activated_at=None if activated is None else _time(activated, path, "lastActivatedAt"),
        last_archived_at=None if archived_at is None else _time(archived_at, path, "lastArchivedAt"),
        storage_class=ARCHIVE if archived else STANDARD,
        size_bytes=size,
        manifest_media_type=get("imageManifestMediaType"),
        artifact_media_type=get("artifactMediaType"),
        child_digests=children,
        subject_digest=get("subjectManifestDigest") or get("subjectDigest"),
        image_status=status,
    )


def _storage(get: Any, path: str) -> tuple[bool, str]:
    """(archived, imageStatus). Archived images report imageStatus ARCHIVED (and storageClass ARCHIVE where a tool
    adds it). An image being restored (ACTIVATING) is still in the archive class: "During the restore process, the
    image remains in the archived state and cannot be pulled until the restore completes" (ECR user guide)."""
    status = get("imageStatus") or "ACTIVE"
    if not isinstance(status, str):
        raise InvalidInput("image details", [Problem(f"{path}.imageStatus", "must be a string")])
    if status != "ACTIVE":
        status = status.upper()
    extra_class = get("storageClass")
    archived = status in ("ARCHIVED", ACTIVATING) or (extra_class is not None and str(extra_class).upper() == ARCHIVE)
    if archived and status == "ACTIVE":
        status = "ARCHIVED"
    return archived, status


def _checked_extras(get: Any, path: str) -> tuple[tuple[str, ...], int]:
    """The child digests and the size, after checking every optional field's type."""
    # Not a DescribeImages field: the digests a manifest list / OCI index references, added by callers that
    # fetched the manifests (BatchGetImage). Without it, manifest-list protection cannot be evaluated.
    children = get("childDigests") or ()
    if children and not (_strings(children) and all(DIGEST_RE.fullmatch(child) for child in children)):
        raise InvalidInput("image details", [Problem(f"{path}.childDigests", "must be a list of digests")])
    size = get("imageSizeInBytes") or 0
    if type(size) is not int and (isinstance(size, bool) or not isinstance(size, int | float) or size != size):
        raise InvalidInput("image details", [Problem(f"{path}.imageSizeInBytes", "must be a number")])
    if size < 0:
        raise InvalidInput("image details", [Problem(f"{path}.imageSizeInBytes", f"must not be negative, got {size}")])
    for key in ("imageManifestMediaType", "artifactMediaType", "subjectManifestDigest", "subjectDigest"):
        text = get(key)
        if text is not None and (type(text) is not str or not text.isprintable()):
            raise InvalidInput("image details", [Problem(f"{path}.{key}", "must be a string")])
    return tuple(children), int(size)


def parse_images_document(document: Any) -> list[ImageRecord]:
    """`aws ecr describe-images` output (`{"imageDetails": [...]}`) or a bare list of image details."""
    if isinstance(document, Mapping):
        if "imageDetails" not in document:
            raise InvalidInput("images", [Problem("$", "expected {'imageDetails': [...]} or a list of image details")])
        details: Any = document["imageDetails"]
        base = "$.imageDetails"
    elif isinstance(document, list):
        details = document
        base = "$"
    else:
        raise InvalidInput("images", [Problem("$", "expected {'imageDetails': [...]} or a list of image details")])
    if not isinstance(details, list):
        raise InvalidInput("images", [Problem(base, "must be a list of image details")])
    try:
        with cyclic_gc_paused():
            return [image_from_detail(detail) for detail in details]
    except InvalidInput:
        pass
    # Something is wrong: parse again, entry by entry, to name the entry (paths cost time, so only now).
    for index, detail in enumerate(details):
        image_from_detail(detail, f"{base}[{index}]")
    raise AssertionError("unreachable: the first pass failed on some entry")  # pragma: no cover
