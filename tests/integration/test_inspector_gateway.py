"""The Inspector gateway on the documented ListFindingAggregations shapes (moto has no Inspector findings)."""

from __future__ import annotations

from typing import Any

import boto3
import pytest
from botocore.stub import Stubber
from housekeeper.aws.errors import AccessDenied
from housekeeper.aws.inspector import Boto3InspectorGateway

DIGEST_A = "sha256:" + "a" * 64
DIGEST_B = "sha256:" + "b" * 64


def _request(next_token: str | None = None) -> dict[str, Any]:
    request: dict[str, Any] = {
        "aggregationType": "AWS_ECR_CONTAINER",
        "aggregationRequest": {
            "awsEcrContainerAggregation": {"repositories": [{"comparison": "EQUALS", "value": "shop/api"}]}
        },
        "maxResults": 100,
    }
    if next_token:
        request["nextToken"] = next_token
    return request


def _entry(digest: str, architecture: str, **counts: int) -> dict[str, Any]:
    return {
        "awsEcrContainerAggregation": {
            "resourceId": f"arn:aws:ecr:us-east-1:123456789012:repository/shop/api/{digest}",
            "imageSha": digest,
            "repository": "shop/api",
            "architecture": architecture,
            "imageTags": ["1041"],
            "accountId": "123456789012",
            "severityCounts": counts,
        }
    }


@pytest.fixture
def stubbed() -> tuple[Boto3InspectorGateway, Stubber]:
    inspector = boto3.client("inspector2", region_name="us-east-1")
    return Boto3InspectorGateway(inspector), Stubber(inspector)


def test_counts_by_severity_for_every_image_across_pages(stubbed: tuple[Boto3InspectorGateway, Stubber]) -> None:
    gateway, stubber = stubbed
    stubber.add_response(
        "list_finding_aggregations",
        {
            "aggregationType": "AWS_ECR_CONTAINER",
            "responses": [_entry(DIGEST_A, "amd64", all=7, critical=1, high=2, medium=3, low=1)],
            "nextToken": "page-2",
        },
        _request(),
    )
    stubber.add_response(
        "list_finding_aggregations",
        {
            "aggregationType": "AWS_ECR_CONTAINER",
            "responses": [
                _entry(DIGEST_B, "amd64", all=4, critical=0, high=4, medium=0),
                # The same image scanned for a second architecture: its findings add up.
                _entry(DIGEST_A, "arm64", all=2, critical=0, high=0, medium=2),
            ],
        },
        _request("page-2"),
    )
    with stubber:
        findings = gateway.findings_by_image("shop/api")
    stubber.assert_no_pending_responses()

    assert set(findings) == {DIGEST_A, DIGEST_B}
    assert findings[DIGEST_A].by_severity["CRITICAL"] == 1
    assert findings[DIGEST_A].by_severity["MEDIUM"] == 5
    assert findings[DIGEST_A].total == 9
    assert findings[DIGEST_B].by_severity["HIGH"] == 4
    assert findings[DIGEST_B].total == 4


def test_findings_counted_only_in_all_are_kept_as_untriaged(stubbed: tuple[Boto3InspectorGateway, Stubber]) -> None:
    gateway, stubber = stubbed
    stubber.add_response(
        "list_finding_aggregations",
        {
            "aggregationType": "AWS_ECR_CONTAINER",
            "responses": [_entry(DIGEST_A, "amd64", all=10, critical=1, high=2, medium=3)],
        },
        _request(),
    )
    with stubber:
        findings = gateway.findings_by_image("shop/api")
    assert findings[DIGEST_A].total == 10
    assert findings[DIGEST_A].by_severity["UNTRIAGED"] == 4


def test_inspector_not_enabled_is_reported_as_a_project_error(stubbed: tuple[Boto3InspectorGateway, Stubber]) -> None:
    gateway, stubber = stubbed
    stubber.add_client_error(
        "list_finding_aggregations",
        service_error_code="AccessDeniedException",
        service_message="Inspector is not enabled for this account",
        http_status_code=403,
    )
    with stubber, pytest.raises(AccessDenied, match="ListFindingAggregations on shop/api"):
        gateway.findings_by_image("shop/api")
