"""SYNTHETIC Amazon Inspector findings for the demo.

moto has no Inspector2 findings one could seed, so the demo serves generated counts through the same
`InspectorGateway` interface that `housekeeper report` uses on a real account (where `Boto3InspectorGateway` reads
them with ListFindingAggregations). The numbers are shaped like the seed's: older images carry more findings, and
the large repository totals about 33,000. Nothing here is a real vulnerability.
"""

from __future__ import annotations

import random
from collections.abc import Mapping

from housekeeper.aws.ports import FindingCounts

YEAR = 365.25 * 86_400.0
# The share of each severity among an image's findings; older images lean towards CRITICAL and HIGH.
MIX_NEW = {"CRITICAL": 0.02, "HIGH": 0.14, "MEDIUM": 0.46, "LOW": 0.33, "INFORMATIONAL": 0.05}
MIX_OLD = {"CRITICAL": 0.06, "HIGH": 0.22, "MEDIUM": 0.44, "LOW": 0.24, "INFORMATIONAL": 0.04}
# How much faster findings pile up per year of age: a five-year-old image has (1 + 5 * AGEING) times a new one's.
AGEING = 0.10
DEFAULT_PER_IMAGE = 9


class SyntheticInspectorFindings:
    """An InspectorGateway fed from generated data. Findings of deleted images linger, as Inspector's do for a
    while; the report counts only the images that still exist."""

    def __init__(self, by_repository: Mapping[str, Mapping[str, FindingCounts]]) -> None:
        self._by_repository = by_repository

    def findings_by_image(self, repository: str) -> dict[str, FindingCounts]:
        return dict(self._by_repository.get(repository, {}))

    def total(self, repository: str) -> int:
        return sum(counts.total for counts in self._by_repository.get(repository, {}).values())


def _split(count: int, age_fraction: float) -> dict[str, int]:
    mix = {s: MIX_NEW[s] + (MIX_OLD[s] - MIX_NEW[s]) * age_fraction for s in MIX_NEW}
    split = {s: int(count * share) for s, share in mix.items() if s != "MEDIUM"}
    split["MEDIUM"] = count - sum(split.values())
    return split


def synthetic_findings(
    pushed_at: Mapping[str, float], total: int, now: float, rng: random.Random
) -> dict[str, FindingCounts]:
    """Finding counts per digest, about `total` in all (DEFAULT_PER_IMAGE a new image when total is 0)."""
    if not pushed_at:
        return {}
    ages = {digest: max(0.0, (now - moment) / YEAR) for digest, moment in pushed_at.items()}
    weights = {digest: (1 + AGEING * age) * rng.uniform(0.8, 1.2) for digest, age in ages.items()}
    unit = total / sum(weights.values()) if total else DEFAULT_PER_IMAGE
    oldest = max(ages.values()) or 1.0
    return {
        digest: FindingCounts(digest, _split(round(unit * weight), ages[digest] / oldest))
        for digest, weight in weights.items()
    }
