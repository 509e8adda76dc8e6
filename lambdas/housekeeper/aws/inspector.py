"""Amazon Inspector findings per image, read with one paginated aggregation per repository.

`ListFindingAggregations` with `aggregationType=AWS_ECR_CONTAINER` returns one entry per image with its finding
counts by severity, so a repository of 2,000 images costs about 20 pages (100 per page), not 2,000 `ListFindings`
calls. The filter is on the repository name; Inspector reports images by their manifest digest (`imageSha`).
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any

from housekeeper.aws.errors import aws_call
from housekeeper.aws.ports import SEVERITIES, FindingCounts
from housekeeper.aws.session import client

# The documented maximum page size of ListFindingAggregations.
PAGE_SIZE = 100
_COUNT_KEYS = {severity.lower(): severity for severity in SEVERITIES}


def severity_counts_from_response(counts: Mapping[str, Any]) -> dict[str, int]:
    """`severityCounts` ({"all", "critical", "high", "medium", ...}) to {"CRITICAL": n, ...}.

    Older responses carry only all/critical/high/medium; whatever `all` holds beyond the named severities is
    counted as UNTRIAGED so that totals always match what the Inspector console shows.
    """
    by_severity = dict.fromkeys(SEVERITIES, 0)
    for key, severity in _COUNT_KEYS.items():
        by_severity[severity] += int(counts.get(key) or 0)
    named = sum(by_severity.values())
    total = int(counts.get("all") or 0)
    if total > named:
        by_severity["UNTRIAGED"] += total - named
    return by_severity


def normalise_digest(image_sha: str) -> str:
    """Inspector's imageSha is the manifest digest; make sure it reads like ECR's `sha256:<hex>`."""
    return image_sha if ":" in image_sha else f"sha256:{image_sha}"


class Boto3InspectorGateway:
    """The Inspector2 gateway used on real accounts (and by `housekeeper report`)."""

    def __init__(self, inspector_client: Any | None = None) -> None:
        self._client = inspector_client

    @property
    def _inspector(self) -> Any:
        return self._client if self._client is not None else client("inspector2")

    def _pages(self, repository: str) -> Iterator[dict[str, Any]]:
        paginator = self._inspector.get_paginator("list_finding_aggregations")
        request = {
            "awsEcrContainerAggregation": {
                "repositories": [{"comparison": "EQUALS", "value": repository}],
            }
        }
        with aws_call("inspector2:ListFindingAggregations", repository):
            yield from paginator.paginate(
                aggregationType="AWS_ECR_CONTAINER",
                aggregationRequest=request,
                PaginationConfig={"PageSize": PAGE_SIZE},
            )

    def findings_by_image(self, repository: str) -> dict[str, FindingCounts]:
        """Finding counts by severity for each image digest of `repository`; images without findings are absent."""
        totals: dict[str, dict[str, int]] = {}
        for page in self._pages(repository):
            for response in page.get("responses", []):
                entry = response.get("awsEcrContainerAggregation")
                if not entry or entry.get("repository", repository) != repository:
                    continue
                image_sha = entry.get("imageSha")
                if not image_sha:
                    continue
                digest = normalise_digest(image_sha)
                counts = severity_counts_from_response(entry.get("severityCounts") or {})
                # One image can appear once per architecture; its findings add up.
                merged = totals.setdefault(digest, dict.fromkeys(SEVERITIES, 0))
                for severity, count in counts.items():
                    merged[severity] += count
        return {digest: FindingCounts(digest=digest, by_severity=counts) for digest, counts in totals.items()}
