"""Reading DescribeImages output into ImageRecords: every time format the CLI prints, archive status, bad input."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest
from housekeeper.core.errors import InvalidInput
from housekeeper.core.images import ARCHIVE, STANDARD, image_from_detail, parse_images_document, parse_time

EPOCH = 1_717_243_200.0  # 2024-06-01T12:00:00Z
ABC, SUBJECT, C1, X = ("sha256:" + c * 64 for c in "abcd")


@pytest.mark.parametrize(
    "value",
    [
        "2024-06-01T12:00:00Z",
        "2024-06-01T12:00:00+00:00",
        "2024-06-01T14:00:00+02:00",
        "2024-06-01T07:00:00-05:00",
        "2024-06-01T12:00:00",
        "2024-06-01T12:00:00.000000+00:00",
        EPOCH,
        int(EPOCH),
        str(EPOCH),
        datetime(2024, 6, 1, 12, tzinfo=UTC),
        datetime(2024, 6, 1, 12),
    ],
)
def test_times_in_every_form_the_cli_or_sdk_gives(value: Any) -> None:
    assert parse_time(value, "$.t") == EPOCH


@pytest.mark.parametrize("value", ["yesterday", True, None, [1]])
def test_bad_times_name_the_field(value: Any) -> None:
    with pytest.raises(InvalidInput) as caught:
        parse_time(value, "$.imageDetails[3].imagePushedAt")
    assert caught.value.problems[0].path == "$.imageDetails[3].imagePushedAt"


def detail(**fields: Any) -> dict[str, Any]:
    return {"imageDigest": ABC, "imagePushedAt": "2024-06-01T12:00:00Z", **fields}


def test_full_detail() -> None:
    record = image_from_detail(
        detail(
            imageTags=["Prod-12", "latest"],
            imageSizeInBytes=1234,
            lastRecordedPullTime="2024-06-02T00:00:00Z",
            lastActivatedAt=EPOCH + 10,
            subjectManifestDigest=SUBJECT,
            childDigests=[C1],
        )
    )
    assert record.tags == ("Prod-12", "latest")
    assert record.pushed_at == EPOCH
    assert record.last_pulled_at == EPOCH + 12 * 3600
    assert record.last_activated_at == EPOCH + 10
    assert record.size_bytes == 1234
    assert record.subject_digest == SUBJECT
    assert record.child_digests == (C1,)
    assert record.storage_class == STANDARD and record.tagged


def test_untagged_image_has_no_tags_key() -> None:
    record = image_from_detail(detail())
    assert record.tags == () and not record.tagged


@pytest.mark.parametrize("fields", [{"imageStatus": "ARCHIVED"}, {"storageClass": "archive"}])
def test_archived_images_are_in_the_archive_class(fields: dict[str, Any]) -> None:
    record = image_from_detail(detail(lastArchivedAt="2024-06-01T12:00:00Z", **fields))
    assert record.storage_class == ARCHIVE and record.archived
    assert record.last_archived_at == EPOCH


def test_activating_image_is_flagged() -> None:
    assert image_from_detail(detail(imageStatus="ACTIVATING")).activating


@pytest.mark.parametrize(
    ("fields", "path"),
    [
        ({"imageDigest": ""}, "$.imageDigest"),
        ({"imageTags": "v1"}, "$.imageTags"),
        ({"imageTags": ["v1", 3]}, "$.imageTags"),
        ({"childDigests": [X, None]}, "$.childDigests"),
        ({"childDigests": X}, "$.childDigests"),
        ({"imageSizeInBytes": "big"}, "$.imageSizeInBytes"),
    ],
)
def test_bad_fields_are_named(fields: dict[str, Any], path: str) -> None:
    with pytest.raises(InvalidInput) as caught:
        image_from_detail(detail(**fields))
    assert caught.value.problems[0].path == path


def test_missing_push_time_is_named() -> None:
    with pytest.raises(InvalidInput, match=r"imagePushedAt"):
        image_from_detail({"imageDigest": ABC})


def test_describe_images_output_or_bare_list() -> None:
    wrapped = parse_images_document({"imageDetails": [detail()], "nextToken": "x"})
    bare = parse_images_document([detail()])
    assert wrapped == bare and len(bare) == 1


@pytest.mark.parametrize("document", [{"images": []}, "text", 3])
def test_other_documents_are_rejected(document: Any) -> None:
    with pytest.raises(InvalidInput, match="imageDetails"):
        parse_images_document(document)


def test_bad_entry_path_includes_its_index() -> None:
    with pytest.raises(InvalidInput) as caught:
        parse_images_document({"imageDetails": [detail(), {"imageDigest": X, "imagePushedAt": "no"}]})
    assert caught.value.problems[0].path == "$.imageDetails[1].imagePushedAt"
