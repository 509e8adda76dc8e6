"""The native preview cross-check (`housekeeper plan --native-preview`): ECR's own lifecycle preview of the desired
policy, compared image by image with the offline evaluator.

CLI-only: a preview takes ECR minutes and one runs at a time per repository, so the Lambdas never start one. The
operator package is left out of the Lambda asset (infra/function.py).
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from housekeeper.aws.errors import AwsError
from housekeeper.aws.ports import EcrGateway
from housekeeper.core.evaluator import EXPIRE, TRANSITION, Evaluation


@dataclass(frozen=True)
class PreviewComparison:
    """ECR's own preview against the offline evaluator, for one repository."""

    repository: str
    status: str
    ecr_count: int = 0
    offline_count: int = 0
    only_in_ecr: tuple[str, ...] = ()
    only_offline: tuple[str, ...] = ()
    different: tuple[str, ...] = ()
    error: str = ""

    @property
    def matches(self) -> bool:
        return self.status == "COMPLETE" and not (self.only_in_ecr or self.only_offline or self.different)

    @property
    def ran(self) -> bool:
        """False when ECR's preview could not be run to the end: the cross-check asked for did not happen."""
        return self.status == "COMPLETE"

    def to_dict(self) -> dict[str, Any]:
        return {
            "status": self.status,
            "matches": self.matches,
            "ecrCount": self.ecr_count,
            "offlineCount": self.offline_count,
            "onlyInEcr": list(self.only_in_ecr),
            "onlyOffline": list(self.only_offline),
            "different": list(self.different),
            "error": self.error,
        }


PREVIEW_DONE = ("COMPLETE", "FAILED", "EXPIRED")


def native_preview(
    ecr: EcrGateway,
    repository: str,
    policy: Mapping[str, Any],
    evaluation: Evaluation,
    *,
    sleep: Callable[[float], None] | None = None,
    first_delay: float = 1.0,
    max_delay: float = 15.0,
    max_wait: float = 300.0,
) -> PreviewComparison:
    """Run ECR's StartLifecyclePolicyPreview with `policy`, poll with back-off, and compare with `evaluation`.

    One preview at a time per repository (ECR refuses a second while one runs); the back-off doubles from
    `first_delay` up to `max_delay` seconds, and the repository is reported TIMED_OUT after `max_wait`.
    """
    pause = sleep or time.sleep
    offline_count = len(evaluation.actions)
    try:
        ecr.start_lifecycle_preview(repository, policy)
        delay, waited = first_delay, 0.0
        while True:
            status = ecr.get_lifecycle_preview(repository)
            if status.status in PREVIEW_DONE:
                break
            if waited >= max_wait:
                return PreviewComparison(
                    repository, "TIMED_OUT", offline_count=offline_count, error=f"no result after {waited:.0f}s"
                )
            pause(delay)
            waited += delay
            delay = min(delay * 2, max_delay)
    except AwsError as exc:
        return PreviewComparison(repository, "ERROR", offline_count=offline_count, error=str(exc))
    if status.status != "COMPLETE":
        return PreviewComparison(
            repository, status.status, offline_count=offline_count, error=f"ECR preview ended {status.status}"
        )
    return compare_preview(repository, status.results, evaluation)


def compare_preview(
    repository: str, ecr_results: Sequence[Mapping[str, Any]], evaluation: Evaluation
) -> PreviewComparison:
    """Digests only one side acts on, and digests both act on differently (action type or rule)."""
    ecr_side = {str(r.get("imageDigest")): _preview_key(r) for r in ecr_results}
    offline = {a.image.digest: (a.action_type, a.rule_priority) for a in evaluation.actions}
    both = ecr_side.keys() & offline.keys()
    return PreviewComparison(
        repository,
        "COMPLETE",
        ecr_count=len(ecr_side),
        offline_count=len(offline),
        only_in_ecr=tuple(sorted(ecr_side.keys() - offline.keys())),
        only_offline=tuple(sorted(offline.keys() - ecr_side.keys())),
        different=tuple(sorted(d for d in both if ecr_side[d] != offline[d])),
    )


def _preview_key(result: Mapping[str, Any]) -> tuple[str, int]:
    action = result.get("action") or {}
    kind = str(action.get("type", EXPIRE)).upper()
    return (TRANSITION if kind == TRANSITION else EXPIRE, int(result.get("appliedRulePriority") or 0))
