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
from typing import Any, TypeGuard

from housekeeper.core.errors import PolicyInvalid, Problem

# "Rules per lifecycle policy" quota.
MAX_RULES = 50
# PutLifecyclePolicy `lifecyclePolicyText`: length 100..30,720 (API model; also the "Lifecycle policy length" quota).
# We measure the compact JSON text (see `policy_text`), which is what housekeeper sends to ECR.
MIN_POLICY_TEXT_LENGTH = 100
MAX_POLICY_TEXT_LENGTH = 30_720
# "There is a maximum limit of four wildcards (*) per string."
MAX_WILDCARDS = 4
# Archived images have a minimum storage duration of 90 days; a policy may not expire them earlier.
MIN_ARCHIVE_DAYS = 90
# The guide documents no upper bound for rulePriority or countNumber ("positive integers"); the API model types
# them as 32-bit integers, so anything larger cannot be a valid value.
MAX_INTEGER = 2**31 - 1
NULL_MESSAGE = "null is not allowed in a lifecycle policy; leave the key out instead"

TAG_STATUSES = ("tagged", "untagged", "any")
COUNT_TYPES = ("imageCountMoreThan", "sinceImagePushed", "sinceImagePulled", "sinceImageTransitioned")
SINCE_COUNT_TYPES = ("sinceImagePushed", "sinceImagePulled", "sinceImageTransitioned")
COUNT_UNITS = ("days",)
STORAGE_CLASSES = ("standard", "archive")
DEFAULT_STORAGE_CLASS = "standard"
ACTION_TYPES = ("expire", "transition")
TARGET_STORAGE_CLASSES = ("archive",)

POLICY_KEYS = ("rules",)
RULE_KEYS = ("rulePriority", "description", "selection", "action")
SELECTION_KEYS = (
    "tagStatus",
    "tagPatternList",
    "tagPrefixList",
    "storageClass",
    "countType",
    "countUnit",
    "countNumber",
)
ACTION_KEYS = ("type", "targetStorageClass")
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
        raise PolicyInvalid([Problem("$", f"expected a JSON object, got {_type_name(doc)}")])
    if "lifecyclePolicyText" in doc:
        text = doc["lifecyclePolicyText"]
        if not isinstance(text, str):
            raise PolicyInvalid(
                [Problem("$.lifecyclePolicyText", f"must be the policy as a JSON string, got {_type_name(text)}")]
            )
        inner = _parse_json(text, "$.lifecyclePolicyText")
        if not isinstance(inner, Mapping):
            raise PolicyInvalid([Problem("$.lifecyclePolicyText", f"must hold a JSON object, got {_type_name(inner)}")])
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


def _parse_json(text: str | bytes, path: str) -> Any:
    try:
        return json.loads(text)
    except json.JSONDecodeError as exc:
        raise PolicyInvalid(
            [Problem(path, f"not valid JSON: {exc.msg} at line {exc.lineno} column {exc.colno}")]
        ) from None


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
        return [Problem("$", f"a lifecycle policy must be a JSON object, got {_type_name(policy)}")]
    _find_nulls(policy, "$", problems)
    _check_keys(policy, POLICY_KEYS, "$", "", problems)
    rules = policy.get("rules")
    if rules is None:
        if "rules" not in policy:
            problems.append(Problem("$.rules", "is required: a lifecycle policy has 1 to 50 rules"))
        return problems
    if not isinstance(rules, list):
        problems.append(Problem("$.rules", f"must be a list of rules, got {_type_name(rules)}"))
        return problems
    if not rules:
        problems.append(Problem("$.rules", "a lifecycle policy needs at least 1 rule"))
    elif len(rules) > MAX_RULES:
        problems.append(Problem("$.rules", f"has {len(rules)} rules; ECR allows at most {MAX_RULES}"))

    checked = [_check_rule(rule, index, problems) for index, rule in enumerate(rules)]
    _check_across_rules([rule for rule in checked if rule is not None], problems)
    _check_text_length(policy, problems)
    return _without_redundant_nulls(problems)


def _without_redundant_nulls(problems: list[Problem]) -> list[Problem]:
    """A null under an unknown key is one mistake, not two: keep the more telling problem for that path."""
    other_paths = {p.path for p in problems if p.message != NULL_MESSAGE}
    return [p for p in problems if p.message != NULL_MESSAGE or p.path not in other_paths]


class _Rule:
    """What the cross-rule checks need to know about one rule that passed its own shape checks."""

    __slots__ = ("index", "label", "patterns", "prefixes", "priority", "storage_class", "tag_status")

    def __init__(
        self,
        index: int,
        label: str,
        priority: int | None,
        tag_status: str | None,
        storage_class: str | None,
        prefixes: list[str],
        patterns: list[str],
    ) -> None:
        self.index = index
        self.label = label
        self.priority = priority
        self.tag_status = tag_status
        self.storage_class = storage_class
        self.prefixes = prefixes
        self.patterns = patterns


def _rule_label(index: int, rule: Mapping[str, Any]) -> str:
    priority = rule.get("rulePriority")
    if _is_int(priority):
        return f"rule $.rules[{index}] (rulePriority {priority})"
    return f"rule $.rules[{index}]"


def _check_rule(rule: Any, index: int, problems: list[Problem]) -> _Rule | None:
    path = f"$.rules[{index}]"
    if not isinstance(rule, Mapping):
        problems.append(Problem(path, f"rule $.rules[{index}]: must be an object, got {_type_name(rule)}"))
        return None
    label = _rule_label(index, rule)

    def add(where: str, message: str) -> None:
        problems.append(Problem(f"{path}{where}", f"{label}: {message}"))

    _check_keys(rule, RULE_KEYS, path, f"{label}: ", problems)

    priority = rule.get("rulePriority")
    if "rulePriority" not in rule:
        add(".rulePriority", "rulePriority is required")
    elif priority is not None and not (_is_int(priority) and 1 <= priority <= MAX_INTEGER):
        add(".rulePriority", f"rulePriority must be a positive integer, got {priority!r}")
        priority = None
    if "description" in rule and rule["description"] is not None and not isinstance(rule["description"], str):
        add(".description", f"description must be a string, got {_type_name(rule['description'])}")

    selection = rule.get("selection")
    if "selection" not in rule:
        add(".selection", "selection is required")
        selection = None
    elif selection is not None and not isinstance(selection, Mapping):
        add(".selection", f"selection must be an object, got {_type_name(selection)}")
        selection = None
    action = rule.get("action")
    if "action" not in rule:
        add(".action", "action is required")
        action = None
    elif action is not None and not isinstance(action, Mapping):
        add(".action", f"action must be an object, got {_type_name(action)}")
        action = None

    action_type: str | None = None
    if action is not None:
        _check_keys(action, ACTION_KEYS, f"{path}.action", f"{label}: ", problems)
        action_type = _enum(action.get("type"), ACTION_TYPES)
        target = action.get("targetStorageClass")
        if "type" not in action:
            add(".action.type", "action type is required (expire or transition)")
        elif action_type is None and action.get("type") is not None:
            add(".action.type", f"action type must be one of {', '.join(ACTION_TYPES)}, got {action.get('type')!r}")
        if action_type == "transition":
            if "targetStorageClass" not in action:
                add(".action.targetStorageClass", "a transition action needs targetStorageClass 'archive'")
            elif target is not None and _enum(target, TARGET_STORAGE_CLASSES) is None:
                add(".action.targetStorageClass", f"targetStorageClass must be 'archive', got {target!r}")
        elif action_type == "expire" and "targetStorageClass" in action:
            add(".action.targetStorageClass", "targetStorageClass is only allowed with a transition action")

    if selection is None:
        return _Rule(index, label, priority, None, None, [], [])
    _check_keys(selection, SELECTION_KEYS, f"{path}.selection", f"{label}: ", problems)

    raw_status = selection.get("tagStatus")
    tag_status = _enum(raw_status, TAG_STATUSES)
    if "tagStatus" not in selection:
        add(".selection.tagStatus", "tagStatus is required (tagged, untagged or any)")
    elif tag_status is None and raw_status is not None:
        add(".selection.tagStatus", f"tagStatus must be one of {', '.join(TAG_STATUSES)}, got {raw_status!r}")

    patterns = _tag_list(selection, "tagPatternList", add)
    prefixes = _tag_list(selection, "tagPrefixList", add)
    has_patterns = "tagPatternList" in selection
    has_prefixes = "tagPrefixList" in selection
    if tag_status == "tagged":
        if has_patterns and has_prefixes:
            add(".selection", "a rule may use tagPatternList or tagPrefixList, not both")
        elif not has_patterns and not has_prefixes:
            add(".selection", "tagStatus 'tagged' needs a tagPatternList or a tagPrefixList")
    elif tag_status is not None:
        for key in ("tagPatternList", "tagPrefixList"):
            if key in selection:
                add(f".selection.{key}", f"{key} is only allowed with tagStatus 'tagged', not '{tag_status}'")
    for position, pattern in enumerate(patterns):
        if pattern.count("*") > MAX_WILDCARDS:
            add(
                f".selection.tagPatternList[{position}]",
                f"pattern '{pattern}' has {pattern.count('*')} wildcards; ECR allows at most {MAX_WILDCARDS}",
            )
    for key, values in (("tagPatternList", patterns), ("tagPrefixList", prefixes)):
        seen: set[str] = set()
        for position, value in enumerate(values):
            if value in seen:
                add(f".selection.{key}[{position}]", f"'{value}' appears twice in {key}")
            seen.add(value)

    raw_class = selection.get("storageClass")
    storage_class = _enum(raw_class, STORAGE_CLASSES) if "storageClass" in selection else DEFAULT_STORAGE_CLASS
    if storage_class is None and raw_class is not None:
        add(".selection.storageClass", f"storageClass must be one of {', '.join(STORAGE_CLASSES)}, got {raw_class!r}")

    raw_count_type = selection.get("countType")
    count_type = _enum(raw_count_type, COUNT_TYPES)
    if "countType" not in selection:
        add(".selection.countType", f"countType is required ({', '.join(COUNT_TYPES)})")
    elif count_type is None and raw_count_type is not None:
        add(
            ".selection.countType",
            f"countType must be one of {', '.join(COUNT_TYPES)}, got {raw_count_type!r}",
        )

    raw_unit = selection.get("countUnit")
    if count_type in SINCE_COUNT_TYPES:
        if "countUnit" not in selection:
            add(".selection.countUnit", f"countType {count_type} needs countUnit 'days'")
        elif raw_unit is not None and _enum(raw_unit, COUNT_UNITS) is None:
            add(".selection.countUnit", f"countUnit must be 'days', got {raw_unit!r}")
    elif count_type == "imageCountMoreThan" and "countUnit" in selection:
        add(
            ".selection.countUnit",
            "countUnit is only allowed with countType sinceImagePushed, sinceImagePulled or sinceImageTransitioned",
        )

    count_number = selection.get("countNumber")
    if "countNumber" not in selection:
        add(".selection.countNumber", "countNumber is required")
    elif count_number is not None and not (_is_int(count_number) and 1 <= count_number <= MAX_INTEGER):
        add(
            ".selection.countNumber",
            f"countNumber must be a positive integer (0 is not accepted), got {count_number!r}",
        )
        count_number = None

    if count_type == "sinceImagePulled" and action_type is not None and action_type != "transition":
        add(".action.type", "countType sinceImagePulled is only allowed with a transition action")
    if count_type == "sinceImageTransitioned":
        if action_type is not None and action_type != "expire":
            add(".action.type", "countType sinceImageTransitioned is only allowed with an expire action")
        if "storageClass" not in selection or (storage_class is not None and storage_class != "archive"):
            add(".selection.storageClass", "countType sinceImageTransitioned needs storageClass 'archive'")
        if _is_int(count_number) and count_number < MIN_ARCHIVE_DAYS:
            add(
                ".selection.countNumber",
                f"archived images must stay archived at least {MIN_ARCHIVE_DAYS} days; countNumber is {count_number}",
            )
    elif count_type is not None and storage_class == "archive":
        add(
            ".selection.storageClass",
            f"storageClass 'archive' is only allowed with countType sinceImageTransitioned, not {count_type}",
        )
    return _Rule(index, label, priority, tag_status, storage_class, prefixes, patterns)


def _tag_list(selection: Mapping[str, Any], key: str, add: Any) -> list[str]:
    """The strings of a tag list, reporting what is wrong with it."""
    if key not in selection or selection[key] is None:
        return []
    value = selection[key]
    if not isinstance(value, list):
        add(f".selection.{key}", f"{key} must be a list of strings, got {_type_name(value)}")
        return []
    if not value:
        add(f".selection.{key}", f"{key} must not be empty")
    strings: list[str] = []
    for position, item in enumerate(value):
        if item is None:
            continue  # reported as a null
        if not isinstance(item, str) or not item:
            add(f".selection.{key}[{position}]", f"{key} entries must be non-empty strings, got {item!r}")
            continue
        strings.append(item)
    return strings


def _check_across_rules(rules: list[_Rule], problems: list[Problem]) -> None:
    by_priority: dict[int, _Rule] = {}
    for rule in rules:
        if rule.priority is None:
            continue
        if rule.priority in by_priority:
            first = by_priority[rule.priority]
            problems.append(
                Problem(
                    f"$.rules[{rule.index}].rulePriority",
                    f"{rule.label}: rulePriority must be unique; {first.label} has it too",
                )
            )
        else:
            by_priority[rule.priority] = rule

    for storage_class in STORAGE_CLASSES:
        in_class = [rule for rule in rules if rule.storage_class == storage_class]
        untagged = [rule for rule in in_class if rule.tag_status == "untagged"]
        for extra in untagged[1:]:
            problems.append(
                Problem(
                    f"$.rules[{extra.index}].selection.tagStatus",
                    f"{extra.label}: only one rule per storage class may select untagged images; "
                    f"{untagged[0].label} already does ({storage_class})",
                )
            )
        priorities = [rule.priority for rule in in_class if rule.priority is not None]
        highest = max(priorities, default=None)
        for rule in in_class:
            if rule.tag_status == "any" and rule.priority is not None and rule.priority != highest:
                problems.append(
                    Problem(
                        f"$.rules[{rule.index}].rulePriority",
                        f"{rule.label}: a tagStatus 'any' rule must have the highest rulePriority of its storage "
                        f"class ({storage_class}); {highest} is higher",
                    )
                )
        prefix_owner: dict[str, _Rule] = {}
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
        pattern_owner: dict[tuple[str, ...], _Rule] = {}
        for rule in in_class:
            if not rule.patterns:
                continue
            key = tuple(sorted(set(rule.patterns)))
            owner = pattern_owner.setdefault(key, rule)
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


def _enum(value: Any, allowed: tuple[str, ...]) -> str | None:
    """The canonical spelling of an enum value, matched case-insensitively (ECR's APIs echo some in upper case)."""
    if not isinstance(value, str):
        return None
    lowered = value.lower()
    return next((option for option in allowed if option.lower() == lowered), None)


def _is_int(value: Any) -> TypeGuard[int]:
    return isinstance(value, int) and not isinstance(value, bool)


def _type_name(value: Any) -> str:
    if value is None:
        return "null"
    return {bool: "boolean", int: "integer", float: "number", str: "string", list: "array", dict: "object"}.get(
        type(value), type(value).__name__
    )


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
    if _is_int(priority):
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


_SELECTION_ENUMS = {
    "tagStatus": TAG_STATUSES,
    "countType": COUNT_TYPES,
    "countUnit": COUNT_UNITS,
    "storageClass": STORAGE_CLASSES,
}
_ACTION_ENUMS = {"type": ACTION_TYPES, "targetStorageClass": TARGET_STORAGE_CLASSES}


def _normalise_fields(
    fields: Mapping[str, Any],
    enums: Mapping[str, tuple[str, ...]],
    order: Mapping[str, int],
    defaults: Mapping[str, Any] | None = None,
) -> dict[str, Any]:
    """Nulls dropped, defaults filled in, enum values spelt as documented, tag lists sorted, keys in order."""
    present = {key: value for key, value in fields.items() if value is not None}
    out: dict[str, Any] = {}
    for key, value in {**(defaults or {}), **present}.items():
        if key in enums:
            value = _enum(value, enums[key]) or value
        elif key in ("tagPatternList", "tagPrefixList") and isinstance(value, list):
            value = sorted(value, key=str)
        out[key] = value
    return dict(sorted(out.items(), key=lambda item: (order.get(item[0], len(order)), item[0])))


def _normalise_selection(selection: Mapping[str, Any]) -> dict[str, Any]:
    return _normalise_fields(selection, _SELECTION_ENUMS, _SELECTION_ORDER, {"storageClass": DEFAULT_STORAGE_CLASS})


def _normalise_action(action: Mapping[str, Any]) -> dict[str, Any]:
    return _normalise_fields(action, _ACTION_ENUMS, _ACTION_ORDER)


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
