"""The safety guard: the last check before a lifecycle policy is written.

ECR applies a new policy within minutes and deletes what it selects, with no undo. So before any write the
offline evaluation of the candidate policy is checked against three rules, and the write is blocked with a reason
code when one fails:

- `EXPIRES_IN_USE_IMAGE`: the policy would expire or archive an image that something uses (by digest; a manifest
  list counts as in use when one of its platform images runs, and the other way round);
- `EXCEEDS_MAX_EXPIRE_FRACTION`: it would expire more than `safety.maxExpireFraction` of the repository's images
  (a config mistake such as `keep: 1` on a busy repository looks exactly like this);
- `EXCEEDS_MAX_ARCHIVE_FRACTION`: the same for images moved to the archive class (`safety.maxArchiveFraction`).

A protective write is never blocked by the fractions: one whose policy expires a subset of what the stored policy
expires, and archives nothing the stored policy keeps in the standard class. Refusing it would keep the more
dangerous policy in place.

Pure: no AWS, no clock. The caller supplies the images, the evaluations and the in-use digests.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable, Mapping, Set
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any, Protocol

from housekeeper.core.config import Safety
from housekeeper.core.evaluator import EXPIRE, TRANSITION
from housekeeper.core.images import ImageRecord


class GuardReason(StrEnum):
    """Why the guard refuses a policy (the module docstring says when)."""

    EXPIRES_IN_USE_IMAGE = "EXPIRES_IN_USE_IMAGE"
    EXCEEDS_MAX_EXPIRE_FRACTION = "EXCEEDS_MAX_EXPIRE_FRACTION"
    EXCEEDS_MAX_ARCHIVE_FRACTION = "EXCEEDS_MAX_ARCHIVE_FRACTION"


class EvaluationOutcome(Protocol):
    """What the guard reads from `housekeeper.core.evaluator.Evaluation`."""

    @property
    def expiring_digests(self) -> Collection[str]: ...

    @property
    def transitioning_digests(self) -> Collection[str]: ...


@dataclass(frozen=True)
class Conflict:
    """An image the policy would expire or archive although something uses it (`consumers` say what)."""

    digest: str
    tags: tuple[str, ...]
    action: str  # EXPIRE | TRANSITION
    consumers: tuple[str, ...] = ()

    @property
    def label(self) -> str:
        """`sha256:0123456789ab (Prod-12,latest)`: short enough for a table cell or a log line."""
        return f"{self.digest[:19]} ({','.join(self.tags) or 'untagged'})"

    @property
    def used_by(self) -> str:
        """`ecs-service:prod/web, lambda:api:live`, or 'in use' when the consumers are not known."""
        shown = ", ".join(self.consumers[:3]) or "in use"
        return shown + (f" and {len(self.consumers) - 3} more" if len(self.consumers) > 3 else "")

    def to_dict(self) -> dict[str, Any]:
        return {
            "digest": self.digest,
            "tags": list(self.tags),
            "action": self.action,
            "consumers": list(self.consumers),
        }


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
    transitioning: int = 0
    # True when the policy expires a subset of what the stored policy expires: the fractions do not apply.
    protective: bool = False

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


def is_protective(candidate: EvaluationOutcome, stored: EvaluationOutcome | None) -> bool:
    """The candidate expires a subset of what the stored policy expires and archives nothing it keeps standard."""
    if stored is None:
        return False
    stored_expiring = set(stored.expiring_digests)
    leaving = stored_expiring | set(stored.transitioning_digests)
    return stored_expiring.issuperset(candidate.expiring_digests) and leaving.issuperset(
        candidate.transitioning_digests
    )


def check_guard(
    safety: Safety,
    images: Collection[ImageRecord],
    evaluation: EvaluationOutcome,
    in_use: Set[str] | Mapping[str, Collection[str]],
    *,
    stored: EvaluationOutcome | None = None,
) -> GuardVerdict:
    """Whether writing the evaluated policy is safe; every failing rule adds its reason code.

    `in_use` holds the in-use digests, or maps each to its consumers (which the conflicts then name). `stored` is
    the evaluation of the policy ECR holds now, when there is one: a protective write is not held to the fractions.
    """
    expiring = set(evaluation.expiring_digests)
    transitioning = set(evaluation.transitioning_digests) - expiring
    reasons: list[str] = []
    details: list[str] = []
    conflicts = _in_use_conflicts(images, in_use, expiring, transitioning) if safety.protect_in_use else []
    if conflicts:
        reasons.append(GuardReason.EXPIRES_IN_USE_IMAGE)
        shown = "; ".join(f"{c.label} used by {c.used_by}" for c in conflicts[:5])
        more = f" and {len(conflicts) - 5} more" if len(conflicts) > 5 else ""
        details.append(f"would expire or archive {len(conflicts)} image(s) in use: {shown}{more}")
    protective = is_protective(evaluation, stored)
    if not protective:
        for reason, detail in _fraction_problems(safety, len(images), len(expiring), len(transitioning)):
            reasons.append(reason)
            details.append(detail)
    return GuardVerdict(
        allowed=not reasons,
        reasons=tuple(reasons),
        conflicts=tuple(conflicts),
        images=len(images),
        expiring=len(expiring),
        max_expire_fraction=safety.max_expire_fraction,
        details=tuple(details),
        transitioning=len(transitioning),
        protective=protective,
    )


def _in_use_conflicts(
    images: Collection[ImageRecord],
    in_use: Set[str] | Mapping[str, Collection[str]],
    expiring: set[str],
    transitioning: set[str],
) -> list[Conflict]:
    """The in-use images (children and parents of in-use manifest lists included) the policy acts on."""
    if not in_use:
        return []
    protected = expand_in_use(images, frozenset(in_use))
    consumers = _consumers(images, in_use)
    tags_by_digest = {image.digest: image.tags for image in images}
    return [
        Conflict(digest, tags_by_digest.get(digest, ()), action, consumers.get(digest, ()))
        for action, digests in ((EXPIRE, expiring), (TRANSITION, transitioning))
        for digest in sorted(digests & protected)
    ]


def _fraction_problems(safety: Safety, total: int, expiring: int, archiving: int) -> list[tuple[str, str]]:
    """(reason, detail) for each share of the repository above its limit."""
    if not total:
        return []
    found: list[tuple[str, str]] = []
    for reason, count, limit, verb, key in (
        (GuardReason.EXCEEDS_MAX_EXPIRE_FRACTION, expiring, safety.max_expire_fraction, "expire", "maxExpireFraction"),
        (
            GuardReason.EXCEEDS_MAX_ARCHIVE_FRACTION,
            archiving,
            safety.max_archive_fraction,
            "archive",
            "maxArchiveFraction",
        ),
    ):
        if count / total > limit:
            detail = f"would {verb} {count} of {total} images ({count / total:.0%}), more than safety.{key} {limit:.0%}"
            found.append((reason, detail))
    return found


def _consumers(
    images: Iterable[ImageRecord], in_use: Set[str] | Mapping[str, Collection[str]]
) -> dict[str, tuple[str, ...]]:
    """Consumers per digest, carried over to the children and parents an in-use manifest list keeps in use."""
    if not isinstance(in_use, Mapping):
        return {}
    found: dict[str, set[str]] = {digest: set(users) for digest, users in in_use.items()}
    for image in images:
        if image.digest in in_use:
            for related in (*image.child_digests, *((image.subject_digest,) if image.subject_digest else ())):
                found.setdefault(related, set()).update(in_use[image.digest])
        for child in image.child_digests:
            if child in in_use:
                found.setdefault(image.digest, set()).update(in_use[child])
    return {digest: tuple(sorted(users)) for digest, users in found.items()}
