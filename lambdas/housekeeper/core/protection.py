"""Standing protection: the policy ECR stores must itself keep every image something uses. Pure.

The config's policy (housekeeper.core.compiler) knows nothing about what runs. Run by ECR, once a day and out of
sight, it would expire a production image that a rollback made older than `keep`, or the image of a service scaled
to 0. So the desired policy is a function of the config *and* the in-use inventory: every in-use image that the
config's policy would expire or archive gets a protect rule of its own, and the stored policy keeps it until the
next sync after its consumer is gone.

How an image is protected (ECR: "An image that matches the tagging requirements of a rule cannot be expired by a
rule with a lower priority"):
- a rule that selects the image by one exact tag and never expires anything, placed above the rule that threatens
  it: right after the protectTags rules when an environment rule threatens it (priorities up to 9, before the first
  environment rule at 10), right after the environment rules when the untagged or catch-all rule does;
- an untagged image first gets a pin tag, `hk-pin-<digest hex>` (added byte-exact with PutImage, as the tagger
  adds env tags), because a rule can only select an image by a tag;
- the tag chosen is the one least likely to move: a pin, then an env tag, then a build tag, then any other;
- when more environment-threatened images need a rule than priorities 1 to 9 can hold, that environment's keep
  count is raised until its oldest in-use image fits: coarser (it keeps the images in between too), never unsafe;
- past ECR's 50 rules, or when an image can get no tag (archived and untagged, or its pin failed), the image is
  reported unprotected; the safety guard then refuses any policy that would still expire it.

Protection is computed for now and for `LOOKAHEAD_DAYS` ahead, because ECR may run the stored policy at any time
before the next daily sweep, and age rules only select more as time passes. Protection ends with the consumer:
the next sync after it is gone compiles the policy without the rule. A pin tag stays on the image (removing a tag
would need ecr:BatchDeleteImage, which housekeeper never has), so a released pinned image is treated as a tagged
image: the catch-all rule expires it instead of the untagged rule.
"""

from __future__ import annotations

import re
from collections.abc import Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from enum import StrEnum
from typing import Any

from housekeeper.core.compiler import (
    ARCHIVE_CLASS,
    FIRST_ENV_PRIORITY,
    PRIORITY_STEP,
    STANDARD_CLASS,
    InUseRule,
    Protections,
    compile_policy_for,
)
from housekeeper.core.config import PIN_TAG_PREFIX, Config
from housekeeper.core.evaluator import DAY_SECONDS, Evaluation, evaluate, newest_first
from housekeeper.core.guard import expand_in_use
from housekeeper.core.images import ARCHIVE, STANDARD, ImageRecord
from housekeeper.core.policy import MAX_RULES

# PIN_TAG_PREFIX ("hk-pin-") lives in housekeeper.core.config, which keeps env tags and protect patterns off it.
# ECR runs a stored policy at a time of its choosing, at least daily; the sweep re-plans daily. Protecting what the
# policy would expire within two days covers one missed sweep.
LOOKAHEAD_DAYS = 2
# Parents first, then the children left at risk, then a check: three rounds settle every case; one more is spare.
MAX_ROUNDS = 4


class UnprotectedReason(StrEnum):
    """Why an in-use image could not be protected."""

    PROTECTION_LIMIT = "PROTECTION_LIMIT"  # past ECR's 50 rules per policy
    INEFFECTIVE = "PROTECTION_INEFFECTIVE"  # protected, yet still expired: a planner failure, reported, never hidden
    CANNOT_PIN = "CANNOT_PIN"  # untagged, and the pin tag could not be added
    ARCHIVED_UNTAGGED = "ARCHIVED_UNTAGGED"  # untagged and archived: a pin would restore it, so it gets none


def pin_tag(digest: str) -> str:
    """The reserved tag that lets a rule select an untagged image: `hk-pin-` and the digest's hex."""
    return PIN_TAG_PREFIX + digest.partition(":")[2][:100]


def is_pin_tag(tag: str) -> bool:
    return tag.startswith(PIN_TAG_PREFIX)


@dataclass(frozen=True)
class Threat:
    """An in-use image that a policy expires or archives, now or within the look-ahead."""

    digest: str
    tags: tuple[str, ...]
    action: str  # housekeeper.core.evaluator EXPIRE | TRANSITION
    rule_priority: int
    consumers: tuple[str, ...] = ()

    def to_dict(self) -> dict[str, Any]:
        return {
            "digest": self.digest,
            "tags": list(self.tags),
            "action": self.action,
            "rulePriority": self.rule_priority,
            "consumers": list(self.consumers),
        }


@dataclass(frozen=True)
class Protected:
    """One in-use image the desired policy keeps, and how: its own rule (`tag`), or a raised keep (`raised_keep`)."""

    digest: str
    tag: str | None
    threatened_by: int  # the priority of the config rule that threatened it; 0 for a pinned image held (hold_pins)
    pinned: bool = False
    raised_keep: str | None = None  # the environment whose keep was raised instead


@dataclass(frozen=True)
class Unprotected:
    digest: str
    tags: tuple[str, ...]
    reason: str

    def to_dict(self) -> dict[str, Any]:
        return {"digest": self.digest, "tags": list(self.tags), "reason": self.reason}


@dataclass(frozen=True)
class ProtectionPlan:
    """The desired policy for one repository and everything the sync needs to act on it and report it."""

    policy: dict[str, Any]
    base_policy: dict[str, Any]
    evaluation: Evaluation  # of `policy` on `images` (pins included), at `now`
    images: tuple[ImageRecord, ...]  # the repository as it will be: planned pins added
    protected: tuple[Protected, ...] = ()
    unprotected: tuple[Unprotected, ...] = ()
    pins: Mapping[str, str] = field(default_factory=dict)  # digest -> pin tag to add

    @property
    def protects(self) -> bool:
        return bool(self.protected)


def threats(
    policy: Mapping[str, Any],
    images: Sequence[ImageRecord],
    in_use: Mapping[str, Collection[str]],
    now: float,
    *,
    lookahead_days: float = LOOKAHEAD_DAYS,
    evaluation_now: Evaluation | None = None,
) -> dict[str, Threat]:
    """The in-use images (children and parents of in-use manifest lists included) that `policy` expires or
    archives at `now` or at `now + lookahead_days`, by digest."""
    if not in_use:
        return {}
    protected = expand_in_use(images, frozenset(in_use))
    consumers = _consumers_by_digest(images, in_use)
    found: dict[str, Threat] = {}
    moments = [now] + ([now + lookahead_days * DAY_SECONDS] if lookahead_days > 0 else [])
    for index, moment in enumerate(moments):
        evaluation = evaluation_now if index == 0 and evaluation_now is not None else evaluate(policy, images, moment)
        for action in evaluation.actions:
            digest = action.image.digest
            if digest in protected and digest not in found:
                found[digest] = Threat(
                    digest, action.image.tags, action.action_type, action.rule_priority, consumers.get(digest, ())
                )
    return found


def _consumers_by_digest(
    images: Sequence[ImageRecord], in_use: Mapping[str, Collection[str]]
) -> dict[str, tuple[str, ...]]:
    """Consumers of each in-use digest, and of the children and parents it keeps in use (named after the user)."""
    out: dict[str, list[str]] = {digest: sorted(users) for digest, users in in_use.items()}
    for image in images:
        related = [*image.child_digests, *((image.subject_digest,) if image.subject_digest else ())]
        if image.digest in in_use:
            for digest in related:
                out.setdefault(digest, []).extend(in_use[image.digest])
        for child in image.child_digests:
            if child in in_use:
                out.setdefault(image.digest, []).extend(in_use[child])
    return {digest: tuple(sorted(set(users))) for digest, users in out.items()}


def plan_protection(
    effective: Config,
    images: Sequence[ImageRecord],
    in_use: Mapping[str, Collection[str]],
    now: float,
    *,
    cannot_pin: Collection[str] = (),
    lookahead_days: float = LOOKAHEAD_DAYS,
) -> ProtectionPlan:
    """The config's policy for `effective`, plus a protection for every in-use image it would expire or archive.

    `in_use` maps digests to their consumers (the inventory, resolved for this repository). `cannot_pin` lists
    untagged digests whose pin tag could not be added (the planner then reports them unprotected).
    """
    base = compile_policy_for(effective)
    if not in_use or not any(image.digest in in_use or _has_in_use_child(image, in_use) for image in images):
        return ProtectionPlan(base, base, evaluate(base, images, now), tuple(images))
    planner = _Planner(effective, images, in_use, frozenset(cannot_pin))
    policy = base
    current = tuple(images)
    evaluation = evaluate(policy, current, now)
    for round_number in range(MAX_ROUNDS):
        found = threats(policy, current, in_use, now, lookahead_days=lookahead_days, evaluation_now=evaluation)
        changed = planner.add(found)
        if round_number == 0:
            changed = planner.hold_pins(expand_in_use(images, frozenset(in_use))) or changed
        if not changed:
            break
        policy = planner.policy()
        current = planner.images_with_pins()
        evaluation = evaluate(policy, current, now)
    return ProtectionPlan(
        policy=policy,
        base_policy=base,
        evaluation=evaluation,
        images=current,
        protected=tuple(planner.protected.values()),
        unprotected=tuple(planner.unprotected.values()),
        pins=dict(planner.pins),
    )


def _has_in_use_child(image: ImageRecord, in_use: Mapping[str, Collection[str]]) -> bool:
    return any(child in in_use for child in image.child_digests)


class _Planner:
    """Accumulates protections over the rounds of plan_protection and compiles the policy they make."""

    def __init__(
        self,
        effective: Config,
        images: Sequence[ImageRecord],
        in_use: Mapping[str, Collection[str]],
        cannot_pin: frozenset[str],
    ) -> None:
        self.effective = effective
        self.images = images
        self.by_digest = {image.digest: image for image in images}
        self.cannot_pin = cannot_pin
        self.env_by_priority = {
            FIRST_ENV_PRIORITY + index * PRIORITY_STEP: env for index, env in enumerate(effective.environments)
        }
        self.build_pattern = re.compile(effective.build_tag_pattern)
        self.env_stems = tuple(env.tag_stem for env in effective.environments)
        self.before: dict[str, InUseRule] = {}
        self.after: dict[str, InUseRule] = {}
        self.keep: dict[str, int] = {}
        self.protected: dict[str, Protected] = {}
        self.unprotected: dict[str, Unprotected] = {}
        self.pins: dict[str, str] = {}
        self.base_rules = len(compile_policy_for(effective)["rules"])

    def hold_pins(self, in_use: Collection[str]) -> bool:
        """Keep protecting an in-use image that carries a pin, threatened now or not; True if any was added.

        Its pin shows the config's rules threatened it once (as an untagged image); as a tagged one it may not be
        threatened again for weeks (the catch-all), and then again. Holding its rule while it is in use keeps the
        stored policy from being rewritten back and forth. `threatened_by` 0 marks such a rule. An image that an
        environment rule selects is left to the threats (its rule must come before the environment rules).
        """
        added = False
        for image in self.images:
            pins = sorted(tag for tag in image.tags if is_pin_tag(tag))
            if (
                pins
                and image.digest in in_use
                and image.digest not in self.protected
                and image.digest not in self.unprotected
                and image.storage_class == STANDARD
                and not any(tag.startswith(self.env_stems) for tag in image.tags)
                and self._rule_fits()
            ):
                self.after[image.digest] = InUseRule(tag=pins[0], digest=image.digest)
                self.protected[image.digest] = Protected(image.digest, pins[0], 0)
                added = True
        return added

    # --- one round ---------------------------------------------------------------------------------------------
    def add(self, found: Mapping[str, Threat]) -> bool:
        """Protect what `found` lists and is not handled yet; False when there is nothing new to do.

        An image already protected that is still threatened is moved to `unprotected` (INEFFECTIVE): a plan never
        claims a protection that the evaluation of its own policy contradicts.
        """
        for digest in [d for d in found if d in self.protected and self.protected[d].raised_keep is None]:
            protected = self.protected.pop(digest)
            self.before.pop(digest, None)
            self.after.pop(digest, None)
            self.pins.pop(digest, None)
            self.unprotected[digest] = Unprotected(digest, self.by_digest[digest].tags, UnprotectedReason.INEFFECTIVE)
            del protected
        fresh = {d: t for d, t in found.items() if d not in self.protected and d not in self.unprotected}
        if not fresh:
            return False
        # Children of a threatened manifest list wait a round: keeping the list keeps them (no pin needed).
        waiting = {child for digest in fresh for child in self.by_digest[digest].child_digests if child in fresh}
        if waiting == fresh.keys():
            waiting = set()
        for digest in sorted(fresh, key=lambda d: (fresh[d].rule_priority, d)):
            if digest not in waiting:
                self._protect(fresh[digest])
        return True

    def _protect(self, threat: Threat) -> None:
        image = self.by_digest[threat.digest]
        tag = self._tag_for(image)
        if tag is None:
            reason = (
                UnprotectedReason.ARCHIVED_UNTAGGED if image.storage_class == ARCHIVE else UnprotectedReason.CANNOT_PIN
            )
            self.unprotected[image.digest] = Unprotected(image.digest, image.tags, reason)
            return
        pinned = not image.tags
        if pinned:
            self.pins[image.digest] = tag
        storage_class = ARCHIVE_CLASS if image.storage_class == ARCHIVE else STANDARD_CLASS
        rule = InUseRule(tag=tag, digest=image.digest, storage_class=storage_class)
        environment = self.env_by_priority.get(threat.rule_priority)
        if environment is not None and image.storage_class == STANDARD:
            below_ten = len(self.effective.protect_tags) + len(self.before) + 1 < FIRST_ENV_PRIORITY
            if below_ten and self._rule_fits():
                self.before[image.digest] = rule
            else:  # no priority left below 10, or no rule left under ECR's 50: a raised keep adds no rule
                keep = self._rank_in_environment(image, environment.tag_stem)
                self.keep[environment.name] = max(self.keep.get(environment.name, environment.keep), keep)
                self.pins.pop(image.digest, None)
                self.protected[image.digest] = Protected(
                    image.digest, None, threat.rule_priority, raised_keep=environment.name
                )
                return
        elif not self._rule_fits():
            self.pins.pop(image.digest, None)
            self.unprotected[image.digest] = Unprotected(image.digest, image.tags, UnprotectedReason.PROTECTION_LIMIT)
            return
        else:
            self.after[image.digest] = rule
        self.protected[image.digest] = Protected(image.digest, tag, threat.rule_priority, pinned=pinned)

    def _rule_fits(self) -> bool:
        """One more protect rule keeps the policy within ECR's 50 rules."""
        return self.base_rules + len(self.before) + len(self.after) + 1 <= MAX_RULES

    def _tag_for(self, image: ImageRecord) -> str | None:
        """The tag least likely to move: a pin, an env tag, a build tag, any other; a new pin for an untagged one."""
        if image.tags:
            return min(image.tags, key=self._tag_rank)
        if image.storage_class == ARCHIVE or image.digest in self.cannot_pin:
            return None
        return pin_tag(image.digest)

    def _tag_rank(self, tag: str) -> tuple[int, str]:
        if is_pin_tag(tag):
            return (0, tag)
        if tag.startswith(self.env_stems):
            return (1, tag)
        if self.build_pattern.search(tag):
            return (2, tag)
        return (3, tag)

    def _rank_in_environment(self, image: ImageRecord, stem: str) -> int:
        """1 + the image's position among the environment's images, newest first, as imageCountMoreThan counts."""
        members = [i for i in self.images if i.storage_class == STANDARD and any(t.startswith(stem) for t in i.tags)]
        ordered = newest_first(members, STANDARD)
        return next(index for index, member in enumerate(ordered, start=1) if member.digest == image.digest)

    # --- the result --------------------------------------------------------------------------------------------
    def protections(self) -> Protections:
        order = sorted  # deterministic: the same protections compile to the same policy text
        return Protections(
            before_environments=tuple(order(self.before.values(), key=lambda r: r.tag)),
            after_environments=tuple(order(self.after.values(), key=lambda r: (r.storage_class, r.tag))),
            keep=dict(self.keep),
        )

    def policy(self) -> dict[str, Any]:
        return compile_policy_for(self.effective, self.protections())

    def images_with_pins(self) -> tuple[ImageRecord, ...]:
        return tuple(with_pins(self.images, self.pins))


def with_pins(images: Iterable[ImageRecord], pins: Mapping[str, str]) -> list[ImageRecord]:
    """The images as they are once the planned pin tags are on them."""
    return [
        replace(image, tags=(*image.tags, pins[image.digest])) if image.digest in pins else image for image in images
    ]
