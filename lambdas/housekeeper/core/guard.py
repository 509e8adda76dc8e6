"""The safety guard: the last check before a lifecycle policy is written.

ECR applies a new policy within minutes and deletes what it selects, with no undo. So before any write the
offline evaluation of the candidate policy is checked against two rules, and the write is blocked with a reason
code when either fails:

- `EXPIRES_IN_USE_IMAGE`: the policy would expire or archive an image that an ECS task runs now (by digest; a
  manifest list counts as in use when one of its platform images runs, and the other way round);
- `EXCEEDS_MAX_EXPIRE_FRACTION`: it would expire more than `safety.maxExpireFraction` of the repository's images
  (a config mistake such as `keep: 1` on a busy repository looks exactly like this).

Pure: no AWS, no clock. The caller supplies the images, the evaluation and the in-use digests.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable, Set
from dataclasses import dataclass, field
from typing import Any, Protocol

from housekeeper.core.config import Safety
from housekeeper.core.evaluator import EXPIRE, TRANSITION
from housekeeper.core.images import ImageRecord

EXPIRES_IN_USE_IMAGE = "EXPIRES_IN_USE_IMAGE"
EXCEEDS_MAX_EXPIRE_FRACTION = "EXCEEDS_MAX_EXPIRE_FRACTION"


class EvaluationOutcome(Protocol):
    """What the guard reads from `housekeeper.core.evaluator.Evaluation`."""

    @property
    def expiring_digests(self) -> Collection[str]: ...

    @property
    def transitioning_digests(self) -> Collection[str]: ...


@dataclass(frozen=True)
class Conflict:
    """An image the policy would expire or archive although a running task uses it."""

    digest: str
    tags: tuple[str, ...]
    action: str  # EXPIRE | TRANSITION

    @property
    def label(self) -> str:
        """`sha256:0123456789ab (Prod-12,latest)`: short enough for a table cell or a log line."""
        return f"{self.digest[:19]} ({','.join(self.tags) or 'untagged'})"

    def to_dict(self) -> dict[str, Any]:
        return {"digest": self.digest, "tags": list(self.tags), "action": self.action}


@dataclass(frozen=True)
class GuardVerdict:
    """`allowed` is False when any reason code is present. `conflicts` lists the in-use images at risk."""

    allowed: bool
    reasons: tuple[str, ...] = ()
    conflicts: tuple[Conflict, ...] = ()
    images: int = 0
    expiring: int = 0
    max_expire_fraction: float = 1.0
    details: tuple[str, ...] = field(default=())

    @property
    def expire_fraction(self) -> float:
        return self.expiring / self.images if self.images else 0.0

    def to_dict(self) -> dict[str, Any]:
        return {
            "allowed": self.allowed,
            "reasons": list(self.reasons),
            "details": list(self.details),
            "conflicts": [c.to_dict() for c in self.conflicts],
        }


def expand_in_use(images: Iterable[ImageRecord], in_use_digests: Set[str]) -> set[str]:
    """The in-use digests plus everything a running digest depends on or is part of within this repository.

    A task that runs a manifest list needs its platform images; a task that reports a platform image's digest
    was started from a list that must stay resolvable too.
    """
    expanded = set(in_use_digests)
    for image in images:
        if image.digest in in_use_digests:
            expanded.update(image.child_digests)
            if image.subject_digest:
                expanded.add(image.subject_digest)
        elif any(child in in_use_digests for child in image.child_digests):
            expanded.add(image.digest)
    return expanded


def check_guard(
    safety: Safety,
    images: Collection[ImageRecord],
    evaluation: EvaluationOutcome,
    in_use_digests: Set[str],
) -> GuardVerdict:
    """Whether writing the evaluated policy is safe; every failing rule adds its reason code."""
    expiring = set(evaluation.expiring_digests)
    transitioning = set(evaluation.transitioning_digests) - expiring
    reasons: list[str] = []
    details: list[str] = []
    conflicts: list[Conflict] = []

    if safety.protect_in_use and in_use_digests:
        protected = expand_in_use(images, in_use_digests)
        tags_by_digest = {image.digest: image.tags for image in images}
        for digest in sorted(expiring & protected):
            conflicts.append(Conflict(digest, tags_by_digest.get(digest, ()), EXPIRE))
        for digest in sorted(transitioning & protected):
            conflicts.append(Conflict(digest, tags_by_digest.get(digest, ()), TRANSITION))
        if conflicts:
            reasons.append(EXPIRES_IN_USE_IMAGE)
            shown = ", ".join(c.label for c in conflicts[:5])
            more = f" and {len(conflicts) - 5} more" if len(conflicts) > 5 else ""
            details.append(f"would expire or archive {len(conflicts)} image(s) that ECS runs now: {shown}{more}")

    total = len(images)
    expiring_count = len(expiring)
    if total and expiring_count / total > safety.max_expire_fraction:
        reasons.append(EXCEEDS_MAX_EXPIRE_FRACTION)
        details.append(
            f"would expire {expiring_count} of {total} images ({expiring_count / total:.0%}), "
            f"more than safety.maxExpireFraction {safety.max_expire_fraction:.0%}"
        )

    return GuardVerdict(
        allowed=not reasons,
        reasons=tuple(reasons),
        conflicts=tuple(conflicts),
        images=total,
        expiring=expiring_count,
        max_expire_fraction=safety.max_expire_fraction,
        details=tuple(details),
    )
