"""Validator and normaliser for any ECR lifecycle policy, generated or hand-written.

ECR rejects a bad policy only at PutLifecyclePolicy time, and a policy that ECR accepts can still be read back in
a different shape (rules re-ordered, defaults added or dropped). This module checks a policy against every
constraint the ECR user guide documents ("Lifecycle policy properties" and "Lifecycle policy evaluation rules"),
reporting all problems at once, and gives a canonical form so that "is the repository's policy the one we want?"
is a plain equality test.

Where the documentation is silent, the choice made here is written next to the constant that encodes it.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from housekeeper.core.errors import InvalidInput, PolicyInvalid, Problem
from housekeeper.core.jsonio import load_json
from housekeeper.core.rules import (
    ACTION_KEYS,
    DEFAULT_STORAGE_CLASS,
    ENUMS,
    RULE_KEYS,
    SELECTION_KEYS,
    STORAGE_CLASSES,
    RuleReading,
    canonical,
    is_int,
    read_rule,
    type_name,
)

# "Rules per lifecycle policy" quota.
MAX_RULES = 50
# PutLifecyclePolicy `lifecyclePolicyText`: length 100..30,720 (API model; also the "Lifecycle policy length" quota).
# We measure the compact JSON text (see `policy_text`), which is what housekeeper sends to ECR.
MIN_POLICY_TEXT_LENGTH = 100
MAX_POLICY_TEXT_LENGTH = 30_720
NULL_MESSAGE = "null is not allowed in a lifecycle policy; leave the key out instead"
POLICY_KEYS = ("rules",)
# Key order of the canonical form (and of the compiler's output).
_SELECTION_ORDER = {key: index for index, key in enumerate(SELECTION_KEYS)}
_ACTION_ORDER = {key: index for index, key in enumerate(ACTION_KEYS)}


def policy_text(policy: Mapping[str, Any]) -> str:
    """The compact JSON text of a policy: what housekeeper sends to ECR, and what the length limits are checked on."""
    return json.dumps(policy, separators=(",", ":"), ensure_ascii=False)


# --------------------------------------------------------------------------------------------------------------
# Reading
# --------------------------------------------------------------------------------------------------------------


def read_policy_document(doc: Mapping[str, Any] | str | bytes) -> dict[str, Any]:
    """A policy from a policy document (`{"rules": [...]}`) or `aws ecr get-lifecycle-policy` output.

    GetLifecyclePolicy returns the policy as a JSON string in `lifecyclePolicyText`; that string is parsed here.
    Text input (a file's content) is parsed first. The result is not validated: call `require_valid_policy`.
    """
    if isinstance(doc, str | bytes):
        doc = _parse_json(doc, "$")
    if not isinstance(doc, Mapping):
        raise PolicyInvalid([Problem("$", f"expected a JSON object, got {type_name(doc)}")])
    if "lifecyclePolicyText" in doc:
        text = doc["lifecyclePolicyText"]
        if not isinstance(text, str):
            raise PolicyInvalid(
                [Problem("$.lifecyclePolicyText", f"must be the policy as a JSON string, got {type_name(text)}")]
            )
        inner = _parse_json(text, "$.lifecyclePolicyText")
        if not isinstance(inner, Mapping):
            raise PolicyInvalid([Problem("$.lifecyclePolicyText", f"must hold a JSON object, got {type_name(inner)}")])
        return dict(inner)
    if "rules" in doc:
        return dict(doc)
    raise PolicyInvalid(
        [
            Problem(
                "$",
                'not a lifecycle policy: expected {"rules": [...]} or the output of '
                "`aws ecr get-lifecycle-policy` (with lifecyclePolicyText)",
            )
        ]
    )


def _under(path: str, inner: str) -> str:
    """The place of a problem found inside a JSON string held at `path` (a JSON path, or a line and column)."""
    if path == "$":
        return inner
    return path + inner[1:] if inner.startswith("$") else f"{path} ({inner})"


def _parse_json(text: str | bytes, path: str) -> Any:
    """Strict JSON (housekeeper.core.jsonio); a problem inside the policy text is placed under `path`."""
    try:
        return load_json(text, "lifecycle policy")
    except InvalidInput as exc:
        problems = [Problem(_under(path, p.path), p.message) for p in exc.problems]
        raise PolicyInvalid(problems) from None


# --------------------------------------------------------------------------------------------------------------
# Validation
# --------------------------------------------------------------------------------------------------------------


def require_valid_policy(policy: Mapping[str, Any]) -> None:
    """Raise PolicyInvalid listing every problem, or return quietly."""
    problems = validate_policy(policy)
    if problems:
        raise PolicyInvalid(problems)


def validate_policy(policy: Mapping[str, Any]) -> list[Problem]:
    """Every way in which `policy` breaks a documented ECR constraint; an empty list means ECR accepts it."""
    problems: list[Problem] = []
    if not isinstance(policy, Mapping):
        return [Problem("$", f"a lifecycle policy must be a JSON object, got {type_name(policy)}")]
    _find_nulls(policy, "$", problems)
    _check_keys(policy, POLICY_KEYS, "$", "", problems)
    rules = policy.get("rules")
    if rules is None:
        if "rules" not in policy:
            problems.append(Problem("$.rules", "is required: a lifecycle policy has 1 to 50 rules"))
        return problems
    if not isinstance(rules, list):
        problems.append(Problem("$.rules", f"must be a list of rules, got {type_name(rules)}"))
        return problems
    if not rules:
        problems.append(Problem("$.rules", "a lifecycle policy needs at least 1 rule"))
    elif len(rules) > MAX_RULES:
        problems.append(Problem("$.rules", f"has {len(rules)} rules; ECR allows at most {MAX_RULES}"))

    readings = [read_rule(rule, index) for index, rule in enumerate(rules)]
    for reading in readings:
        problems.extend(reading.problems)
    _check_across_rules([r for r in readings if isinstance(rules[r.index], Mapping)], problems)
    _check_text_length(policy, problems)
    return _without_redundant_nulls(problems)


def _without_redundant_nulls(problems: list[Problem]) -> list[Problem]:
    """A null under an unknown key is one mistake, not two: keep the more telling problem for that path."""
    other_paths = {p.path for p in problems if p.message != NULL_MESSAGE}
    return [p for p in problems if p.message != NULL_MESSAGE or p.path not in other_paths]


def _check_across_rules(rules: list[RuleReading], problems: list[Problem]) -> None:
    """The constraints between rules: unique priorities, and per storage class one untagged rule, `any` last,
    unique tag prefixes and unique pattern lists."""
    _check_unique_priorities(rules, problems)
    for storage_class in STORAGE_CLASSES:
        in_class = [rule for rule in rules if rule.storage_class == storage_class]
        _check_one_untagged_rule(in_class, storage_class, problems)
        _check_any_is_last(in_class, storage_class, problems)
        _check_unique_tag_lists(in_class, storage_class, problems)


def _check_unique_priorities(rules: list[RuleReading], problems: list[Problem]) -> None:
    by_priority: dict[int, RuleReading] = {}
    for rule in rules:
        if rule.priority is None:
            continue
        first = by_priority.setdefault(rule.priority, rule)
        if first is not rule:
            problems.append(
                Problem(
                    f"$.rules[{rule.index}].rulePriority",
                    f"{rule.label}: rulePriority must be unique; {first.label} has it too",
                )
            )


def _check_one_untagged_rule(in_class: list[RuleReading], storage_class: str, problems: list[Problem]) -> None:
    untagged = [rule for rule in in_class if rule.tag_status == "untagged"]
    for extra in untagged[1:]:
        problems.append(
            Problem(
                f"$.rules[{extra.index}].selection.tagStatus",
                f"{extra.label}: only one rule per storage class may select untagged images; "
                f"{untagged[0].label} already does ({storage_class})",
            )
        )


def _check_any_is_last(in_class: list[RuleReading], storage_class: str, problems: list[Problem]) -> None:
    highest = max((rule.priority for rule in in_class if rule.priority is not None), default=None)
    for rule in in_class:
        if rule.tag_status == "any" and rule.priority is not None and rule.priority != highest:
            problems.append(
                Problem(
                    f"$.rules[{rule.index}].rulePriority",
                    f"{rule.label}: a tagStatus 'any' rule must have the highest rulePriority of its storage "
                    f"class ({storage_class}); {highest} is higher",
                )
            )


def _check_unique_tag_lists(in_class: list[RuleReading], storage_class: str, problems: list[Problem]) -> None:
    prefix_owner: dict[str, RuleReading] = {}
    pattern_owner: dict[tuple[str, ...], RuleReading] = {}
    for rule in in_class:
        for prefix in dict.fromkeys(rule.prefixes):
            owner = prefix_owner.setdefault(prefix, rule)
            if owner is not rule:
                problems.append(
                    Problem(
                        f"$.rules[{rule.index}].selection.tagPrefixList",
                        f"{rule.label}: tag prefix '{prefix}' is already used by {owner.label}; the rules of a "
                        f"storage class must use a unique set of prefixes",
                    )
                )
        if rule.patterns:
            owner = pattern_owner.setdefault(tuple(sorted(set(rule.patterns))), rule)
            if owner is not rule:
                problems.append(
                    Problem(
                        f"$.rules[{rule.index}].selection.tagPatternList",
                        f"{rule.label}: the same tag patterns are already selected by {owner.label} "
                        f"in storage class {storage_class}",
                    )
                )


def _check_text_length(policy: Mapping[str, Any], problems: list[Problem]) -> None:
    try:
        length = len(policy_text(policy))
    except (TypeError, ValueError):
        problems.append(Problem("$", "the policy cannot be written as JSON"))
        return
    if length < MIN_POLICY_TEXT_LENGTH:
        problems.append(
            Problem("$", f"policy text is {length} characters; ECR needs at least {MIN_POLICY_TEXT_LENGTH}")
        )
    elif length > MAX_POLICY_TEXT_LENGTH:
        problems.append(
            Problem(
                "$",
                f"policy text is {length} characters (compact JSON); ECR allows at most {MAX_POLICY_TEXT_LENGTH}",
            )
        )


def _find_nulls(value: Any, path: str, problems: list[Problem]) -> None:
    if value is None:
        problems.append(Problem(path, NULL_MESSAGE))
    elif isinstance(value, Mapping):
        for key, item in value.items():
            _find_nulls(item, f"{path}.{key}", problems)
    elif isinstance(value, list):
        for index, item in enumerate(value):
            _find_nulls(item, f"{path}[{index}]", problems)


def _check_keys(
    obj: Mapping[str, Any], allowed: tuple[str, ...], path: str, label: str, problems: list[Problem]
) -> None:
    for key in obj:
        if key not in allowed:
            problems.append(Problem(f"{path}.{key}", f"{label}unknown key '{key}'; allowed: {', '.join(allowed)}"))


# --------------------------------------------------------------------------------------------------------------
# Normalising
# --------------------------------------------------------------------------------------------------------------


def normalise_policy(policy: Mapping[str, Any]) -> dict[str, Any]:
    """The canonical form of a policy, so that a policy read back from ECR compares equal to the one we generated.

    Rules are sorted by rulePriority; tag lists are sorted (they are AND-ed, so order carries no meaning); defaults
    are made explicit (description "", storageClass "standard"); enum values get their documented spelling
    (action type "expire", not "EXPIRE"); keys come in the documented order. It does not validate: values it does
    not recognise are kept as they are, so a difference still shows.
    """
    if not isinstance(policy, Mapping) or not isinstance(policy.get("rules"), list):
        raise PolicyInvalid([Problem("$.rules", "a lifecycle policy needs a list of rules")])
    rules = [_normalise_rule(rule) for rule in policy["rules"]]
    rules.sort(key=_priority_sort_key)
    extra = {key: policy[key] for key in sorted(policy) if key != "rules"}
    return {"rules": rules, **extra}


def _priority_sort_key(rule: Any) -> tuple[int, int, str]:
    priority = rule.get("rulePriority") if isinstance(rule, Mapping) else None
    if is_int(priority):
        return (0, priority, "")
    return (1, 0, json.dumps(rule, sort_keys=True, default=str))


def _normalise_rule(rule: Any) -> Any:
    if not isinstance(rule, Mapping):
        return rule
    out: dict[str, Any] = {"rulePriority": rule.get("rulePriority")}
    description = rule.get("description")
    out["description"] = "" if description is None else description
    selection = rule.get("selection")
    out["selection"] = _normalise_selection(selection) if isinstance(selection, Mapping) else selection
    action = rule.get("action")
    out["action"] = _normalise_action(action) if isinstance(action, Mapping) else action
    for key in sorted(rule):
        if key not in RULE_KEYS:
            out[key] = rule[key]
    return out


def _normalise_fields(
    fields: Mapping[str, Any],
    order: Mapping[str, int],
    defaults: Mapping[str, Any] | None = None,
) -> dict[str, Any]:
    """Nulls dropped, defaults filled in, enum values spelt as the reader spells them (housekeeper.core.rules),
    tag lists sorted, keys in order. A value the reader does not recognise is kept, so a difference still shows."""
    present = {key: value for key, value in fields.items() if value is not None}
    out: dict[str, Any] = {}
    for key, value in {**(defaults or {}), **present}.items():
        if key in ENUMS:
            value = canonical(key, value) or value
        elif key in ("tagPatternList", "tagPrefixList") and isinstance(value, list):
            value = sorted(value, key=str)
        out[key] = value
    return dict(sorted(out.items(), key=lambda item: (order.get(item[0], len(order)), item[0])))


def _normalise_selection(selection: Mapping[str, Any]) -> dict[str, Any]:
    return _normalise_fields(selection, _SELECTION_ORDER, {"storageClass": DEFAULT_STORAGE_CLASS})


def _normalise_action(action: Mapping[str, Any]) -> dict[str, Any]:
    return _normalise_fields(action, _ACTION_ORDER)


def describe_drift(current: Mapping[str, Any], desired: Mapping[str, Any]) -> list[str]:
    """How `current` differs from `desired`, rule by rule, in words an operator can act on.

    Both are normalised first, so order and spelling never count. Rules are matched by rulePriority; within a rule
    only the fields that differ are named, e.g. `rule 10: selection.countNumber 5 -> 10`.
    """
    have = {_priority_sort_key(r): r for r in normalise_policy(current)["rules"]}
    want = {_priority_sort_key(r): r for r in normalise_policy(desired)["rules"]}
    changes: list[str] = []
    for key in sorted(have.keys() | want.keys()):
        label = f"rule {key[1]}" if key[0] == 0 else "a rule without a priority"
        if key not in have:
            changes.append(f"{label} missing")
        elif key not in want:
            changes.append(f"{label} not in the config")
        elif have[key] != want[key]:
            fields = _changed_fields(have[key], want[key], "")
            changes.append(f"{label}: " + "; ".join(fields))
    return changes


def _changed_fields(have: Any, want: Any, path: str) -> list[str]:
    if isinstance(have, Mapping) and isinstance(want, Mapping):
        found: list[str] = []
        for key in [*want, *(k for k in have if k not in want)]:
            if have.get(key) != want.get(key):
                found.extend(_changed_fields(have.get(key), want.get(key), f"{path}.{key}" if path else key))
        return found
    return [f"{path} {json.dumps(have)} -> {json.dumps(want)}"]
