"""Exact offline evaluation of an ECR lifecycle policy: which images a policy expires or archives, and by which rule.

ECR runs a policy asynchronously (within 24 hours) and its own preview takes minutes. This module answers the same
question instantly, from DescribeImages output, following every rule that the ECR user guide documents. Each rule
below names where the guide says it. Sources (Amazon ECR User Guide):

- [HOW] "Automate the cleanup of images by using lifecycle policies" > "How lifecycle policies work" >
  "Lifecycle policy evaluation rules" (LifecyclePolicies.html).
- [PROPS] "Lifecycle policy properties in Amazon ECR" (lifecycle_policy_parameters.html).
- [EX] "Examples of lifecycle policies in Amazon ECR" (lifecycle_policy_examples.html).
- [ARCH] "Archiving an image" (archive-image.html).

Rules implemented:

1. All rules are evaluated at the same time, regardless of priority; then they are applied in priority order, the
   lowest `rulePriority` number first [HOW, PROPS "Rule priority"].
2. An image is expired or archived by exactly one rule or none [HOW].
3. An image that matches the tagging requirements of a rule cannot be expired or archived by a rule with a lower
   priority [HOW]. "Tagging requirements" means the rule's tag selection only (tagStatus and its tag lists), not its
   count or age: in [EX] "Filtering on all images", Example B, rule 3 cannot mark image C or E, which rules 1 and 2
   matched by tag but did not mark.
4. Rules never mark images that higher-priority rules marked, but still identify them as if they had not been
   expired or archived [HOW]: a count rule's "keep N" counts every image its selection matches, including the ones
   higher rules act on or protect ([EX] "Filtering on multiple rules", Examples A and B).
5. `tagPatternList` / `tagPrefixList`: an image matches if *all* entries of the list match at least one of its tags
   (a list is an AND, not an OR) [HOW, PROPS, EX "Filtering on multiple tags in a single rule"]. A pattern is a
   whole-tag glob where `*` matches any run of characters (`prod*` matches `prod`, `prod1`, `production-team1`;
   `*prod*` matches `repo-production`) [HOW]. A prefix matches tags that start with it [PROPS "Tag prefix list"].
6. `tagStatus`: `tagged` selects images with at least one tag matching the lists, `untagged` images with no tag,
   `any` every image [PROPS "Tag status"].
7. Storage classes are evaluated separately: a rule selects only images of its `selection.storageClass` (default
   `standard`) [PROPS "Storage class"; HOW "The set of all rules selecting a specific storage class ..."]. Archived
   images (`imageStatus` ARCHIVED) are in the `archive` class and are only touched by rules with
   `storageClass: archive`.
8. `imageCountMoreThan`: images are sorted from youngest to oldest by push time and all images beyond `countNumber`
   are expired or archived [HOW]. If an image was archived and later restored, its `lastActivatedAt` replaces the
   push time in this ordering [HOW "Expiration is always ordered by pushed_at_time or transitioned_at_time ..."].
   In the archive class the ordering uses the time of transition (`lastArchivedAt`) [same sentence].
9. `sinceImagePushed`: images whose push time is older than `countNumber` days [HOW]; `countUnit` is days [PROPS].
   "Older than" is strict: an image exactly N days old is not selected (a choice; the docs say "older than").
10. `sinceImagePulled`: images whose `lastRecordedPullTime` is older than N days; never pulled → push time; restored
    and not pulled since the restore → `lastActivatedAt` [HOW].
11. `sinceImageTransitioned`: archived images whose `lastArchivedAt` is older than N days [HOW]. An archived image
    without `lastArchivedAt` is not selected (we cannot prove its age).
12. Actions: `expire` deletes, `transition` moves to `targetStorageClass` `archive` [PROPS "Action"]. A transition
    never acts on an image already in its target class.
13. If an image is referenced by a manifest list, it cannot be expired or archived without the manifest list being
    deleted or archived first [HOW]. When the manifests are known (`ImageRecord.child_digests`), an action on a child
    is dropped while any parent list stays in the standard class (kept); a parent that this evaluation expires or
    archives, or that is already archived, releases the child. Applied until stable, for nested indexes. The
    dropped child is not handed to a lower-priority rule (the guard works at execution time, not in selection).
14. Reference artifacts (an OCI `subject`) are expired or archived within 24 hours of their subject [HOW]. This is
    not a rule outcome, so it is not in the preview; `Evaluation.cascading_referrers` lists them.

Choices where the docs are silent (so that results are deterministic and conservative):
- equal ranking times are broken by digest, newest-first order `(-time, digest)`, so the input order never matters;
- duplicate digests in the input are rejected (InvalidInput): a digest is one image of a repository;
- images in `imageStatus` ACTIVATING (being restored) are in the archive class, as the guide says ("During the
  restore process, the image remains in the archived state", "Restoring an image"), and no rule acts on them: the
  guide does not say whether a rule can, and an image on its way back into use is the wrong one to delete;
- `sinceImagePushed` uses the push time even after a restore: its own sentence names only `pushed_at_time`, while
  the ordering of `imageCountMoreThan` follows "If an image was archived and then restored at any point in the
  past, the image's `last_activated_at` is used instead of `pushed_at_time`" (rule 8). docs/safety.md quotes both.

The evaluator reads rules with the one reader the validator uses (housekeeper.core.rules), so the two never
disagree on a spelling or a type: a rule the reader finds a problem with, or two rules with one priority, raise
PolicyInvalid. The constraints between rules (one untagged rule, `any` last, unique prefixes) are the validator's;
a policy that breaks them is still evaluated, rule by rule, as written.

Performance: tags are indexed once per storage class (sorted, so prefix selections are a bisect and general globs
one regex scan), images are numbered once in newest-first order, and each rule then works on sets of integers, so
the cost is about O(n log n + rules x matches), not rules x images in Python.
"""

from __future__ import annotations

import re
from bisect import bisect_left
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, NamedTuple

from housekeeper.core.errors import InvalidInput, PolicyInvalid, Problem
from housekeeper.core.images import ACTIVATING, ARCHIVE, STANDARD, ImageRecord, cyclic_gc_paused
from housekeeper.core.rules import RuleReading, read_rule

EXPIRE = "EXPIRE"
TRANSITION = "TRANSITION"
DAY_SECONDS = 86_400.0

# Sorts after every character a Docker tag can hold ([A-Za-z0-9_.-]), so [prefix, prefix + _HIGH) is a prefix range.
_HIGH = "\U0010ffff"


class ImageAction(NamedTuple):
    """What one rule does to one image. `target_storage_class` is set for transitions only.

    A NamedTuple rather than a dataclass: a policy can act on 100,000 images and this is built once per action.
    """

    image: ImageRecord
    action_type: str
    rule_priority: int
    target_storage_class: str | None = None


@dataclass(frozen=True)
class Evaluation:
    """The outcome of a policy on a set of images at one moment.

    `actions` come in rule priority order and, within a rule, oldest image first (the order ECR expires them).
    """

    actions: list[ImageAction]
    expiring_digests: frozenset[str]
    transitioning_digests: frozenset[str]
    # Children spared because a manifest list that references them is kept (rule 13).
    kept_by_manifest_list: frozenset[str] = field(default_factory=frozenset)
    # Artifacts whose subject is expired or archived here; ECR follows up on them within 24 hours (rule 14).
    cascading_referrers: frozenset[str] = field(default_factory=frozenset)

    def to_preview_response(self) -> dict[str, Any]:
        """The shape of ECR GetLifecyclePolicyPreview (previewResults + summary)."""
        results: list[dict[str, Any]] = []
        transitioning: dict[str, int] = {}
        for action in self.actions:
            image = action.image
            action_body: dict[str, Any] = {"type": action.action_type}
            if action.action_type == TRANSITION and action.target_storage_class:
                action_body["targetStorageClass"] = action.target_storage_class
                transitioning[action.target_storage_class] = transitioning.get(action.target_storage_class, 0) + 1
            results.append(
                {
                    "imageDigest": image.digest,
                    "imageTags": list(image.tags),
                    "imagePushedAt": format_time(image.pushed_at),
                    "action": action_body,
                    "appliedRulePriority": action.rule_priority,
                    "storageClass": image.storage_class,
                }
            )
        summary: dict[str, Any] = {"expiringImageTotalCount": len(self.expiring_digests)}
        # Like ECR: only present when at least one image transitions.
        if transitioning:
            summary["transitioningImageTotalCounts"] = [
                {"targetStorageClass": target, "imageTotalCount": count}
                for target, count in sorted(transitioning.items())
            ]
        return {"previewResults": results, "summary": summary}


def format_time(epoch_seconds: float) -> str:
    """ISO-8601 in UTC, as the AWS CLI prints timestamps."""
    return datetime.fromtimestamp(epoch_seconds, tz=UTC).isoformat()


@dataclass(frozen=True, slots=True)
class _Rule:
    priority: int
    tag_status: str
    tag_filters: tuple[tuple[str, str], ...]  # ("prefix" | "pattern", text)
    storage_class: str
    count_type: str
    count_number: int
    action_type: str
    target_storage_class: str | None


def evaluate(policy: Mapping[str, Any], images: Sequence[ImageRecord], now: float | datetime) -> Evaluation:
    """Apply `policy` ({"rules": [...]}) to `images` as ECR would at time `now` (epoch seconds or datetime)."""
    rules = _read_rules(policy)
    moment = _epoch(now)
    _reject_duplicate_digests(images)
    with cyclic_gc_paused():  # evaluation builds one object per action and no cycles
        return _evaluate(rules, images, moment)


def _evaluate(rules: Sequence[_Rule], images: Sequence[ImageRecord], moment: float) -> Evaluation:

    # Each rule yields a block of actions, oldest image first; blocks are then laid out in priority order.
    blocks: list[tuple[int, list[ImageAction]]] = []
    for storage_class in (STANDARD, ARCHIVE):
        class_rules = [rule for rule in rules if rule.storage_class == storage_class]
        if not class_rules:
            continue
        members = [image for image in images if image.storage_class == storage_class]
        if members:
            blocks.extend(_evaluate_class(class_rules, members, storage_class, moment))
    blocks.sort(key=lambda block: block[0])
    actions = [action for _, block in blocks for action in block]

    # Manifest lists and referrers are rare: find them in one pass, then look only at them.
    linked = [image for image in images if image.child_digests or image.subject_digest is not None]
    actions, spared = _apply_manifest_list_guard(actions, linked)
    expiring = frozenset(a.image.digest for a in actions if a.action_type == EXPIRE)
    transitioning = frozenset(a.image.digest for a in actions if a.action_type == TRANSITION)
    gone = expiring | transitioning
    referrers = frozenset(
        image.digest
        for image in linked
        if image.subject_digest is not None and image.subject_digest in gone and image.digest not in gone
    )
    return Evaluation(actions, expiring, transitioning, frozenset(spared), referrers)


# --- policy reading -------------------------------------------------------------------------------------------


def _read_rules(policy: Mapping[str, Any]) -> list[_Rule]:
    """The rules through the one reader (housekeeper.core.rules): any rule it finds a problem with, or two rules
    with one priority, make the policy impossible to evaluate (PolicyInvalid naming each problem)."""
    if not isinstance(policy, Mapping):
        raise PolicyInvalid([Problem("$", "a lifecycle policy must be an object with a 'rules' list")])
    raw_rules = policy.get("rules")
    if not isinstance(raw_rules, list):
        raise PolicyInvalid([Problem("$.rules", "must be a list of rules")])
    problems: list[Problem] = []
    rules: list[_Rule] = []
    seen: dict[int, int] = {}
    for index, raw in enumerate(raw_rules):
        reading = read_rule(raw, index)
        problems.extend(reading.problems)
        rule = _rule_from(reading)
        if rule is None:
            continue
        if rule.priority in seen:
            problems.append(
                Problem(
                    f"$.rules[{index}].rulePriority",
                    f"{reading.label}: duplicates rules[{seen[rule.priority]}], so the order of evaluation is "
                    "undefined",
                )
            )
        seen[rule.priority] = index
        rules.append(rule)
    if problems:
        raise PolicyInvalid(problems, "lifecycle policy (cannot be evaluated)")
    rules.sort(key=lambda r: r.priority)
    return rules


_CLASS = {"standard": STANDARD, "archive": ARCHIVE}
_ACTION = {"expire": EXPIRE, "transition": TRANSITION}


def _rule_from(reading: RuleReading) -> _Rule | None:
    """The evaluator's compact rule, when the reading is complete (problems are reported by the caller)."""
    if reading.problems:
        return None
    tag_status, count_type, action_type = reading.tag_status, reading.count_type, reading.action_type
    if (
        reading.priority is None
        or tag_status is None
        or count_type is None
        or reading.count_number is None
        or action_type is None
        or reading.storage_class is None
    ):
        return None  # a null where a value is needed: the validator reports it; nothing to evaluate
    filters = tuple(("pattern", p) for p in reading.patterns) + tuple(("prefix", p) for p in reading.prefixes)
    return _Rule(
        priority=reading.priority,
        tag_status=tag_status,
        tag_filters=filters if tag_status == "tagged" else (),
        storage_class=_CLASS[reading.storage_class],
        count_type=count_type,
        count_number=reading.count_number,
        action_type=_ACTION[action_type],
        target_storage_class=_CLASS[reading.target_storage_class] if reading.target_storage_class else None,
    )


def _epoch(now: float | datetime) -> float:
    if isinstance(now, datetime):
        return (now if now.tzinfo else now.replace(tzinfo=UTC)).timestamp()
    if isinstance(now, bool) or not isinstance(now, int | float):
        raise TypeError("now must be epoch seconds or a datetime")
    return float(now)


def _reject_duplicate_digests(images: Sequence[ImageRecord]) -> None:
    """One digest is one image in a repository; duplicates would make 'keep N' count an image twice."""
    if len({image.digest for image in images}) != len(images):
        counts = Counter(image.digest for image in images)
        duplicates = sorted(digest for digest, count in counts.items() if count > 1)
        raise InvalidInput("images", [Problem("$", f"duplicate image digest {d}") for d in duplicates[:10]])


# --- evaluation of one storage class --------------------------------------------------------------------------


class _TagIndex:
    """Every tag of one storage class as a sorted "tag<TAB>image number" line, so that a prefix selection is two
    bisections and a glob one regex scan, instead of a Python test per image and rule. (A tab sorts below every
    character a Docker tag can hold, and no tag contains one.)"""

    def __init__(self, tag_tuples: Sequence[tuple[str, ...]]) -> None:
        # Fresh strings lie together in memory, so this sort is faster than sorting the images' own tags.
        self._lines = sorted([f"{tag}\t{number}" for number, tags in enumerate(tag_tuples) for tag in tags])
        self._text: str | None = None
        self._cache: dict[tuple[str, str], frozenset[int]] = {}

    def owners_of(self, kind: str, text: str) -> frozenset[int]:
        """Image numbers with at least one tag matching a prefix or a glob pattern."""
        key = (kind, text)
        found = self._cache.get(key)
        if found is None:
            if "\t" in text or "\n" in text:  # no tag holds these; they would match the separators
                found = frozenset()
            else:
                found = self._prefix(text) if kind == "prefix" else self._pattern(text)
            self._cache[key] = found
        return found

    def _owners(self, low: int, high: int) -> frozenset[int]:
        return frozenset(int(line[line.rindex("\t") + 1 :]) for line in self._lines[low:high])

    def _prefix(self, prefix: str) -> frozenset[int]:
        return self._owners(bisect_left(self._lines, prefix), bisect_left(self._lines, prefix + _HIGH))

    def _pattern(self, pattern: str) -> frozenset[int]:
        literal_head, star, _ = pattern.partition("*")
        if not star:  # no wildcard: the whole tag must equal the pattern
            return self._owners(bisect_left(self._lines, pattern + "\t"), bisect_left(self._lines, pattern + "\n"))
        if pattern == literal_head + "*":  # a plain prefix glob such as "prod*"
            return self._prefix(literal_head)
        line_regex = re.compile(_glob_body(pattern) + r"\t(\d+)")
        if literal_head:  # the matches lie inside the literal head's prefix range
            low, high = bisect_left(self._lines, literal_head), bisect_left(self._lines, literal_head + _HIGH)
            matches = (line_regex.fullmatch(line) for line in self._lines[low:high])
            return frozenset(int(match.group(1)) for match in matches if match)
        # A leading wildcard: one regex scan over all lines, in C.
        if self._text is None:
            self._text = "\n".join(self._lines)
        return frozenset(map(int, re.findall("^" + line_regex.pattern + "$", self._text, re.MULTILINE)))


def _glob_body(pattern: str) -> str:
    return "[^\t\n]*".join(re.escape(part) for part in pattern.split("*"))


class _Clock:
    """One time per image (push, last use or archive time) and the image numbers sorted by it, built on demand."""

    def __init__(self, times: list[float | None]) -> None:
        known = [n for n, t in enumerate(times) if t is not None]
        values = [t for t in times if t is not None]
        order = sorted(range(len(values)), key=values.__getitem__)
        self._numbers = [known[k] for k in order]
        self._times = [values[k] for k in order]

    def older_than(self, now: float, span: float) -> frozenset[int]:
        """Numbers of images whose time t satisfies `now - t > span` (strictly older); a prefix of the sorted times."""
        low, high = 0, len(self._times)
        while low < high:  # first position where the image is not older (the predicate is monotone in t)
            middle = (low + high) // 2
            if now - self._times[middle] > span:
                low = middle + 1
            else:
                high = middle
        return frozenset(self._numbers[:low])


def newest_first(members: Sequence[ImageRecord], storage_class: str) -> list[ImageRecord]:
    """One storage class's images in the order `imageCountMoreThan` counts them: newest first (rule 8).

    Standard class: the restore time (`lastActivatedAt`) stands in for the push time of a restored image; archive
    class: the archive time. Ties are broken by digest, so the input order never matters.
    """
    if storage_class == ARCHIVE:
        rank = [i.last_archived_at if i.last_archived_at is not None else i.pushed_at for i in members]
    else:
        rank = [i.last_activated_at if i.last_activated_at is not None else i.pushed_at for i in members]
    if len(set(rank)) < len(rank):
        by_digest = sorted(range(len(members)), key=lambda k: members[k].digest)
        permutation = sorted(by_digest, key=rank.__getitem__, reverse=True)  # stable: ties keep digest order
    else:
        permutation = sorted(range(len(members)), key=rank.__getitem__, reverse=True)
    return [members[k] for k in permutation]


class _ClassView:
    """One storage class's images numbered newest first (rule 8), with their tag index and clocks."""

    def __init__(self, members: Sequence[ImageRecord], storage_class: str) -> None:
        self.images = newest_first(members, storage_class)
        self.everyone = frozenset(range(len(self.images)))
        tag_tuples = [image.tags for image in self.images]
        self.tags = _TagIndex(tag_tuples)
        self.untagged = frozenset(n for n, tags in enumerate(tag_tuples) if not tags)
        self.frozen = frozenset(n for n, image in enumerate(self.images) if image.image_status == ACTIVATING)
        self._clocks: dict[str, _Clock] = {}

    def clock(self, count_type: str) -> _Clock:
        clock = self._clocks.get(count_type)
        if clock is None:
            times: list[float | None]
            if count_type == "sinceImagePushed":
                times = [image.pushed_at for image in self.images]
            elif count_type == "sinceImagePulled":
                times = [_last_use(image) for image in self.images]
            else:
                times = [image.last_archived_at for image in self.images]
            clock = self._clocks[count_type] = _Clock(times)
        return clock


def _evaluate_class(
    rules: Sequence[_Rule], members: Sequence[ImageRecord], storage_class: str, now: float
) -> list[tuple[int, list[ImageAction]]]:
    view = _ClassView(members, storage_class)
    protected: set[int] = set()  # matched by the tag selection of a higher-priority rule (rules 2-4)
    blocks: list[tuple[int, list[ImageAction]]] = []
    for rule in rules:
        if rule.tag_status == "any":
            pool = view.everyone
        elif rule.tag_status == "untagged":
            pool = view.untagged
        else:
            pool = _match_all(view.tags, rule.tag_filters)
        if not pool:
            continue
        already_there = rule.action_type == TRANSITION and rule.target_storage_class == storage_class
        if not already_there:  # a transition never targets the class the image is in (rule 12)
            chosen = _select(rule, pool, view, now) - protected - view.frozen
            if chosen:
                images = view.images
                block = [
                    ImageAction(images[n], rule.action_type, rule.priority, rule.target_storage_class)
                    for n in sorted(chosen, reverse=True)  # oldest first: ECR expires older images first
                ]
                blocks.append((rule.priority, block))
        protected.update(pool)
    return blocks


def _match_all(index: _TagIndex, filters: Sequence[tuple[str, str]]) -> frozenset[int]:
    """AND over the list: every entry must match some tag of the image (rule 5)."""
    result: frozenset[int] | None = None
    for kind, text in sorted(filters, key=lambda f: len(index.owners_of(*f))):
        owners = index.owners_of(kind, text)
        result = owners if result is None else result & owners
        if not result:
            return frozenset()
    return result or frozenset()


def _select(rule: _Rule, pool: frozenset[int], view: _ClassView, now: float) -> set[int] | frozenset[int]:
    """The image numbers of `pool` that the rule's count or age criterion picks (rules 8-11)."""
    if rule.count_type == "imageCountMoreThan":
        if rule.count_number >= len(pool):
            return frozenset()
        return set(sorted(pool)[rule.count_number :])
    # sinceImagePushed / sinceImagePulled / sinceImageTransitioned (only images with a known archive time).
    return pool & view.clock(rule.count_type).older_than(now, rule.count_number * DAY_SECONDS)


def _last_use(image: ImageRecord) -> float:
    """sinceImagePulled's clock: last pull; never pulled → push; restored and not pulled since → restore (rule 10)."""
    pulled, activated = image.last_pulled_at, image.last_activated_at
    if activated is not None and (pulled is None or pulled < activated):
        return activated
    return pulled if pulled is not None else image.pushed_at


# --- manifest lists ---------------------------------------------------------------------------------------------


def _apply_manifest_list_guard(
    actions: list[ImageAction], linked: Sequence[ImageRecord]
) -> tuple[list[ImageAction], set[str]]:
    """Drop actions on images that a kept manifest list references (rule 13), until nothing changes.

    `linked` holds at least every image with child digests (the manifest lists)."""
    parents: dict[str, list[ImageRecord]] = {}
    for image in linked:
        for child in image.child_digests:
            if child != image.digest:
                parents.setdefault(child, []).append(image)
    if not parents:
        return actions, set()
    by_digest = {a.image.digest: a for a in actions}
    spared: set[str] = set()
    changed = True
    while changed:
        changed = False
        for digest in [d for d in by_digest if d in parents]:
            if any(_stays_standard(parent, by_digest) for parent in parents[digest]):
                del by_digest[digest]
                spared.add(digest)
                changed = True
    return [a for a in actions if a.image.digest in by_digest], spared


def _stays_standard(image: ImageRecord, acted: Mapping[str, ImageAction]) -> bool:
    return image.digest not in acted and image.storage_class == STANDARD
