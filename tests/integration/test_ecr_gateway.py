"""The ECR gateway on moto: byte-exact retagging for every manifest type, idempotency, conflicts, policies."""

from __future__ import annotations

import json
from typing import Any

import boto3
import pytest
from botocore.stub import Stubber
from housekeeper.aws.ecr import MANIFEST_MEDIA_TYPES, Boto3EcrGateway, DigestMismatch
from housekeeper.aws.errors import NotFound, Throttled
from housekeeper.aws.ports import RetagStatus

from tests.fakes import (
    DOCKER_LIST,
    DOCKER_V2,
    OCI_INDEX,
    OCI_MANIFEST,
    image_manifest,
    index_manifest,
    push_to_moto,
    sha256_digest,
)


@pytest.fixture
def ecr(mocked_aws: None) -> Any:
    return boto3.client("ecr", region_name="us-east-1")


def stored(ecr: Any, repository: str, digest: str) -> dict[str, Any]:
    image: dict[str, Any] = ecr.batch_get_image(
        repositoryName=repository, imageIds=[{"imageDigest": digest}], acceptedMediaTypes=list(MANIFEST_MEDIA_TYPES)
    )["images"][0]
    return image


def tags_of(ecr: Any, repository: str, digest: str) -> list[str]:
    detail = ecr.describe_images(repositoryName=repository, imageIds=[{"imageDigest": digest}])["imageDetails"][0]
    return sorted(detail.get("imageTags", []))


@pytest.mark.parametrize("media_type", [DOCKER_V2, OCI_MANIFEST])
def test_retag_adds_the_tag_and_keeps_manifest_bytes_media_type_and_digest(ecr: Any, media_type: str) -> None:
    ecr.create_repository(repositoryName="payments/api")
    manifest = image_manifest("1234", media_type)
    digest = push_to_moto(ecr, "payments/api", manifest, media_type, "1234")

    outcome = Boto3EcrGateway(ecr).retag("payments/api", digest, "Prod-1234")

    assert outcome.status == RetagStatus.TAGGED
    assert tags_of(ecr, "payments/api", digest) == ["1234", "Prod-1234"]
    image = stored(ecr, "payments/api", digest)
    assert image["imageManifest"] == manifest
    assert image["imageManifestMediaType"] == media_type
    assert sha256_digest(image["imageManifest"]) == digest
    assert len(ecr.describe_images(repositoryName="payments/api")["imageDetails"]) == 1


@pytest.mark.parametrize("index_type", [OCI_INDEX, DOCKER_LIST])
def test_retag_of_a_multi_arch_index_tags_the_index_not_a_child(ecr: Any, index_type: str) -> None:
    ecr.create_repository(repositoryName="web")
    child_type = OCI_MANIFEST if index_type == OCI_INDEX else DOCKER_V2
    children = [
        push_to_moto(ecr, "web", image_manifest(f"arch-{i}", child_type), child_type, f"arch-{i}") for i in (1, 2)
    ]
    index = index_manifest(children, index_type)
    index_digest = push_to_moto(ecr, "web", index, index_type, "77")

    outcome = Boto3EcrGateway(ecr).retag("web", index_digest, "Dev-77")

    assert outcome.status == RetagStatus.TAGGED
    assert tags_of(ecr, "web", index_digest) == ["77", "Dev-77"]
    assert all("Dev-77" not in tags_of(ecr, "web", child) for child in children)
    assert stored(ecr, "web", index_digest)["imageManifest"] == index


def test_retag_when_the_tag_is_already_on_the_digest_is_success_without_a_write(ecr: Any) -> None:
    ecr.create_repository(repositoryName="api")
    digest = push_to_moto(ecr, "api", image_manifest("9"), DOCKER_V2, "9")
    gateway = Boto3EcrGateway(ecr)
    assert gateway.retag("api", digest, "Prod-9").status == RetagStatus.TAGGED

    again = gateway.retag("api", digest, "Prod-9")

    assert again.status == RetagStatus.ALREADY_PRESENT
    assert tags_of(ecr, "api", digest) == ["9", "Prod-9"]


def test_a_tag_held_by_another_image_is_a_conflict_and_is_never_moved(ecr: Any) -> None:
    ecr.create_repository(repositoryName="api")
    old = push_to_moto(ecr, "api", image_manifest("old"), DOCKER_V2, "Prod-5")
    new = push_to_moto(ecr, "api", image_manifest("new"), DOCKER_V2, "5")

    outcome = Boto3EcrGateway(ecr).retag("api", new, "Prod-5")

    assert outcome.status == RetagStatus.CONFLICT
    assert old in outcome.detail
    assert tags_of(ecr, "api", old) == ["Prod-5"]
    assert tags_of(ecr, "api", new) == ["5"]


def test_immutable_repository_same_digest_is_success_other_digest_is_conflict(ecr: Any) -> None:
    ecr.create_repository(repositoryName="locked", imageTagMutability="IMMUTABLE")
    first = push_to_moto(ecr, "locked", image_manifest("a"), DOCKER_V2, "1")
    second = push_to_moto(ecr, "locked", image_manifest("b"), DOCKER_V2, "2")
    gateway = Boto3EcrGateway(ecr)

    assert gateway.retag("locked", first, "Prod-1").status == RetagStatus.TAGGED
    assert gateway.retag("locked", first, "Prod-1").status == RetagStatus.ALREADY_PRESENT
    assert gateway.retag("locked", second, "Prod-1").status == RetagStatus.CONFLICT
    assert tags_of(ecr, "locked", first) == ["1", "Prod-1"]
    assert tags_of(ecr, "locked", second) == ["2"]


def test_put_image_race_with_image_already_exists_counts_as_success() -> None:
    """Two deliveries race: PutImage says ImageAlreadyExistsException, and the tag is on our digest."""
    ecr = boto3.client("ecr", region_name="us-east-1")
    manifest = image_manifest("r")
    digest = sha256_digest(manifest)
    detail = {"imageDigest": digest, "imageTags": ["3"], "imagePushedAt": 1}
    with Stubber(ecr) as stub:
        stub.add_response("describe_images", {"imageDetails": [detail]})
        stub.add_client_error("describe_images", "ImageNotFoundException", http_status_code=400)
        stub.add_response(
            "batch_get_image",
            {
                "images": [
                    {"imageId": {"imageDigest": digest}, "imageManifest": manifest, "imageManifestMediaType": DOCKER_V2}
                ]
            },
            {
                "repositoryName": "api",
                "imageIds": [{"imageDigest": digest}],
                "acceptedMediaTypes": list(MANIFEST_MEDIA_TYPES),
            },
        )
        stub.add_client_error("put_image", "ImageAlreadyExistsException", http_status_code=400)
        stub.add_response("describe_images", {"imageDetails": [{**detail, "imageTags": ["3", "Prod-3"]}]})
        outcome = Boto3EcrGateway(ecr, sts_client=object()).retag("api", digest, "Prod-3")
    assert outcome.status == RetagStatus.ALREADY_PRESENT


def test_put_image_sends_manifest_bytes_media_type_and_digest_guard() -> None:
    ecr = boto3.client("ecr", region_name="us-east-1")
    manifest = image_manifest("g", OCI_MANIFEST)
    digest = sha256_digest(manifest)
    with Stubber(ecr) as stub:
        stub.add_response("describe_images", {"imageDetails": [{"imageDigest": digest, "imagePushedAt": 1}]})
        stub.add_client_error("describe_images", "ImageNotFoundException", http_status_code=400)
        stub.add_response(
            "batch_get_image",
            {
                "images": [
                    {
                        "imageId": {"imageDigest": digest},
                        "imageManifest": manifest,
                        "imageManifestMediaType": OCI_MANIFEST,
                    }
                ]
            },
        )
        stub.add_response(
            "put_image",
            {"image": {"imageId": {"imageDigest": digest, "imageTag": "Prod-1"}}},
            {
                "repositoryName": "api",
                "imageManifest": manifest,
                "imageManifestMediaType": OCI_MANIFEST,
                "imageTag": "Prod-1",
                "imageDigest": digest,
            },
        )
        # After the write, the tag is looked up again: it must be on our digest.
        stub.add_response("describe_images", {"imageDetails": [{"imageDigest": digest, "imagePushedAt": 1}]})
        assert Boto3EcrGateway(ecr).retag("api", digest, "Prod-1").status == RetagStatus.TAGGED
        stub.assert_no_pending_responses()


def test_a_tag_another_writer_moves_right_after_put_image_is_a_conflict_not_tagged() -> None:
    """The race: our PutImage succeeds, then a CI job pushes the same tag to its own image (a mutable repository).
    The tag is not on our digest any more, so the result says conflict and names the holder."""
    ecr = boto3.client("ecr", region_name="us-east-1")
    manifest = image_manifest("ours")
    digest, theirs = sha256_digest(manifest), sha256_digest("theirs")
    with Stubber(ecr) as stub:
        stub.add_response("describe_images", {"imageDetails": [{"imageDigest": digest, "imagePushedAt": 1}]})
        stub.add_client_error("describe_images", "ImageNotFoundException", http_status_code=400)
        stub.add_response(
            "batch_get_image",
            {
                "images": [
                    {"imageId": {"imageDigest": digest}, "imageManifest": manifest, "imageManifestMediaType": DOCKER_V2}
                ]
            },
        )
        stub.add_response("put_image", {"image": {"imageId": {"imageDigest": digest, "imageTag": "Prod-7"}}})
        stub.add_response("describe_images", {"imageDetails": [{"imageDigest": theirs, "imagePushedAt": 2}]})
        outcome = Boto3EcrGateway(ecr).retag("api", digest, "Prod-7")
        stub.assert_no_pending_responses()
    assert outcome.status == RetagStatus.CONFLICT
    assert theirs in outcome.detail and "another writer" in outcome.detail


def test_an_image_with_ecrs_maximum_of_1000_tags_is_reported_and_not_written() -> None:
    """ECR allows 1,000 tags per image: the 1,001st is reported as tag_limit, and no PutImage is sent."""
    ecr = boto3.client("ecr", region_name="us-east-1")
    digest = sha256_digest("full")
    full = {"imageDigest": digest, "imageTags": [f"t{n}" for n in range(1000)], "imagePushedAt": 1}
    with Stubber(ecr) as stub:  # any further call (BatchGetImage, PutImage) would fail the stub
        stub.add_response("describe_images", {"imageDetails": [full]})
        stub.add_client_error("describe_images", "ImageNotFoundException", http_status_code=400)
        outcome = Boto3EcrGateway(ecr).retag("api", digest, "Prod-1")
        stub.assert_no_pending_responses()
    assert outcome.status == RetagStatus.TAG_LIMIT
    assert "1000 tags" in outcome.detail


def test_a_manifest_under_another_digest_is_refused() -> None:
    ecr = boto3.client("ecr", region_name="us-east-1")
    asked = sha256_digest("asked")
    with Stubber(ecr) as stub:
        stub.add_response(
            "batch_get_image",
            {
                "images": [
                    {
                        "imageId": {"imageDigest": sha256_digest("other")},
                        "imageManifest": "{}",
                        "imageManifestMediaType": DOCKER_V2,
                    }
                ]
            },
        )
        with pytest.raises(DigestMismatch, match="asked for"):
            Boto3EcrGateway(ecr).get_manifest("api", asked)


def test_throttling_that_outlasts_the_retries_becomes_a_retryable_error() -> None:
    ecr = boto3.client("ecr", region_name="us-east-1")
    with Stubber(ecr) as stub:
        stub.add_client_error("describe_images", "ThrottlingException", "Rate exceeded", http_status_code=400)
        with pytest.raises(Throttled) as raised:
            Boto3EcrGateway(ecr).retag("api", sha256_digest("x"), "Prod-1")
    assert raised.value.retryable


def test_retag_of_a_missing_image_is_not_found(ecr: Any) -> None:
    ecr.create_repository(repositoryName="api")
    with pytest.raises(NotFound):
        Boto3EcrGateway(ecr).retag("api", sha256_digest("missing"), "Prod-1")


def test_lookups_repositories_and_streamed_images(ecr: Any) -> None:
    ecr.create_repository(repositoryName="api", imageTagMutability="IMMUTABLE")
    digest = push_to_moto(ecr, "api", image_manifest("s"), DOCKER_V2, "42")
    gateway = Boto3EcrGateway(ecr)

    assert gateway.account_registry_id() == "123456789012"
    assert gateway.region() == "us-east-1"
    assert gateway.describe_repository("api").tag_mutability == "IMMUTABLE"
    assert [r.name for r in gateway.iter_repositories()] == ["api"]
    images = list(gateway.iter_images("api"))
    assert [(i.digest, i.tags) for i in images] == [(digest, ("42",))]
    assert gateway.digest_of_tag("api", "42") == digest
    assert gateway.digest_of_tag("api", "nope") is None
    assert gateway.tags_of_digest("api", digest) == ("42",)
    with pytest.raises(NotFound):
        gateway.describe_repository("missing")


def test_lifecycle_policy_round_trip_and_none_when_absent(ecr: Any) -> None:
    ecr.create_repository(repositoryName="api")
    gateway = Boto3EcrGateway(ecr)
    policy = {
        "rules": [
            {
                "rulePriority": 1,
                "description": "catch-all",
                "selection": {
                    "tagStatus": "any",
                    "countType": "sinceImagePushed",
                    "countUnit": "days",
                    "countNumber": 90,
                },
                "action": {"type": "expire"},
            }
        ]
    }
    assert gateway.get_lifecycle_policy("api") is None
    gateway.put_lifecycle_policy("api", policy)
    assert gateway.get_lifecycle_policy("api") == policy


def test_batch_delete_images_returns_the_deleted_digests(ecr: Any) -> None:
    ecr.create_repository(repositoryName="api")
    digests = [push_to_moto(ecr, "api", image_manifest(str(i)), DOCKER_V2, str(i)) for i in range(3)]
    assert Boto3EcrGateway(ecr).batch_delete_images("api", digests[:2]) == digests[:2]
    assert [d["imageDigest"] for d in ecr.describe_images(repositoryName="api")["imageDetails"]] == digests[2:]


def test_lifecycle_preview_start_and_every_result_page() -> None:
    """moto has no lifecycle preview, so the pages come from a Stubber."""
    ecr = boto3.client("ecr", region_name="us-east-1")
    policy = {
        "rules": [
            {
                "rulePriority": 1,
                "selection": {"tagStatus": "any", "countType": "imageCountMoreThan", "countNumber": 5},
                "action": {"type": "expire"},
            }
        ]
    }
    result = {
        "imageDigest": sha256_digest("p"),
        "imageTags": ["1"],
        "action": {"type": "EXPIRE"},
        "appliedRulePriority": 10,
    }
    with Stubber(ecr) as stub:
        stub.add_response(
            "start_lifecycle_policy_preview",
            {"repositoryName": "api", "status": "IN_PROGRESS"},
            {"repositoryName": "api", "lifecyclePolicyText": json.dumps(policy, separators=(",", ":"))},
        )
        stub.add_response(
            "get_lifecycle_policy_preview", {"status": "COMPLETE", "previewResults": [result], "nextToken": "t"}
        )
        stub.add_response(
            "get_lifecycle_policy_preview",
            {"status": "COMPLETE", "previewResults": [{**result, "imageDigest": sha256_digest("q")}]},
        )
        gateway = Boto3EcrGateway(ecr)
        gateway.start_lifecycle_preview("api", policy)
        preview = gateway.get_lifecycle_preview("api")
    assert preview.status == "COMPLETE"
    assert [r["imageDigest"] for r in preview.results] == [sha256_digest("p"), sha256_digest("q")]


def test_repositories_are_listed_a_thousand_per_page(ecr: Any) -> None:
    """A sweep over 100,000 repositories costs 100 DescribeRepositories calls, not the 1,000 of the default page."""
    repository = {
        "repositoryArn": "arn:aws:ecr:us-east-1:123456789012:repository/api",
        "registryId": "123456789012",
        "repositoryName": "api",
        "repositoryUri": "123456789012.dkr.ecr.us-east-1.amazonaws.com/api",
        "imageTagMutability": "MUTABLE",
    }
    with Stubber(ecr) as stub:
        stub.add_response(
            "describe_repositories", {"repositories": [repository], "nextToken": "t"}, {"maxResults": 1000}
        )
        stub.add_response(
            "describe_repositories",
            {"repositories": [{**repository, "repositoryName": "web"}]},
            {"maxResults": 1000, "nextToken": "t"},
        )
        assert [r.name for r in Boto3EcrGateway(ecr).iter_repositories()] == ["api", "web"]
        stub.assert_no_pending_responses()
