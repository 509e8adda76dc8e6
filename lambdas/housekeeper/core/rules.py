"""The one reader of lifecycle policy rules: what a raw rule says, in canonical spelling, and what is wrong with it.

The validator (housekeeper.core.policy), the normaliser (same module) and the evaluator (housekeeper.core.evaluator)
all read rules through `read_rule` and spell enum values through `canonical`, so they can never disagree: a policy
the validator accepts is one the evaluator can evaluate, and the other way round.

Enum values are matched case-insensitively and read in the spelling the ECR user guide documents (`EXPIRE` is read
as `expire`, `ANY` as `any`, `IMAGECOUNTMORETHAN` as `imageCountMoreThan`): ECR's own APIs echo some of them in
upper case (preview results say `EXPIRE`, DescribeImages says `ARCHIVE`).

Per-rule constraints (lifecycle_policy_parameters.html) are checked here; the constraints between rules (unique
priorities, one untagged rule, `any` last, unique prefixes) and the text length are the validator's.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, TypeGuard

from housekeeper.core.errors import Problem

# PutLifecyclePolicy: "There is a maximum limit of four wildcards (*) per string."
MAX_WILDCARDS = 4
# Archived images have a minimum storage duration of 90 days; a policy may not expire them earlier.
MIN_ARCHIVE_DAYS = 90
# The guide documents no upper bound for rulePriority or countNumber ("positive integers"); the API model types
# them as 32-bit integers, so anything larger cannot be a valid value.
MAX_INTEGER = 2**31 - 1

TAG_STATUSES = ("tagged", "untagged", "any")
COUNT_TYPES = ("imageCountMoreThan", "sinceImagePushed", "sinceImagePulled", "sinceImageTransitioned")
SINCE_COUNT_TYPES = ("sinceImagePushed", "sinceImagePulled", "sinceImageTransitioned")
COUNT_UNITS = ("days",)
STORAGE_CLASSES = ("standard", "archive")
DEFAULT_STORAGE_CLASS = "standard"
ACTION_TYPES = ("expire", "transition")
TARGET_STORAGE_CLASSES = ("archive",)

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
TAG_LIST_KEYS = ("tagPatternList", "tagPrefixList")

# Every enum field of a rule and the values it takes, by field name (selection and action fields together).
ENUMS: Mapping[str, tuple[str, ...]] = {
    "tagStatus": TAG_STATUSES,
    "countType": COUNT_TYPES,
    "countUnit": COUNT_UNITS,
    "storageClass": STORAGE_CLASSES,
    "type": ACTION_TYPES,
    "targetStorageClass": TARGET_STORAGE_CLASSES,
}
_BY_LOWER = {name: {value.lower(): value for value in values} for name, values in ENUMS.items()}


def canonical(field_name: str, value: Any) -> str | None:
    """The documented spelling of an enum field's value, matched case-insensitively; None if it is not one."""
    if not isinstance(value, str):
        return None
    return _BY_LOWER[field_name].get(value.lower())


def is_int(value: Any) -> TypeGuard[int]:
    return isinstance(value, int) and not isinstance(value, bool)


def type_name(value: Any) -> str:
    if value is None:
        return "null"
    return {bool: "boolean", int: "integer", float: "number", str: "string", list: "array", dict: "object"}.get(
        type(value), type(value).__name__
    )


@dataclass
class RuleReading:
    """One rule as read: canonical values where they could be read (None where missing or invalid), and problems."""

    index: int
    label: str
    priority: int | None = None
    tag_status: str | None = None
    patterns: tuple[str, ...] = ()
    prefixes: tuple[str, ...] = ()
    storage_class: str | None = DEFAULT_STORAGE_CLASS
    storage_class_given: bool = False
    count_type: str | None = None
    count_number: int | None = None
    action_type: str | None = None
    target_storage_class: str | None = None
    problems: list[Problem] = field(default_factory=list)

    @property
    def path(self) -> str:
        return f"$.rules[{self.index}]"

    def add(self, where: str, message: str) -> None:
        self.problems.append(Problem(f"{self.path}{where}", f"{self.label}: {message}"))


def rule_label(index: int, rule: Any) -> str:
    priority = rule.get("rulePriority") if isinstance(rule, Mapping) else None
    if is_int(priority):
        return f"rule $.rules[{index}] (rulePriority {priority})"
    return f"rule $.rules[{index}]"


def read_rule(raw: Any, index: int) -> RuleReading:
    """Read one rule of `$.rules`; every problem of this rule alone is in `problems`, each with its path."""
    reading = RuleReading(index=index, label=rule_label(index, raw))
    if not isinstance(raw, Mapping):
        reading.problems.append(Problem(reading.path, f"{reading.label}: must be an object, got {type_name(raw)}"))
        return reading
    _check_keys(raw, RULE_KEYS, "", reading)
    _read_priority(raw, reading)
    description = raw.get("description")
    if description is not None and not isinstance(description, str):
        reading.add(".description", f"description must be a string, got {type_name(description)}")
    selection = _object(raw, "selection", reading)
    action = _object(raw, "action", reading)
    if action is not None:
        _read_action(action, reading)
    if selection is not None:
        _read_selection(selection, reading)
        _check_combinations(selection, reading)
    return reading


def _object(raw: Mapping[str, Any], key: str, reading: RuleReading) -> Mapping[str, Any] | None:
    if key not in raw:
        reading.add(f".{key}", f"{key} is required")
        return None
    value = raw[key]
    if value is not None and not isinstance(value, Mapping):
        reading.add(f".{key}", f"{key} must be an object, got {type_name(value)}")
        return None
    return value


def _check_keys(obj: Mapping[str, Any], allowed: tuple[str, ...], where: str, reading: RuleReading) -> None:
    for key in obj:
        if key not in allowed:
            reading.add(f"{where}.{key}", f"unknown key '{key}'; allowed: {', '.join(allowed)}")


def _read_priority(raw: Mapping[str, Any], reading: RuleReading) -> None:
    priority = raw.get("rulePriority")
    if "rulePriority" not in raw:
        reading.add(".rulePriority", "rulePriority is required")
    elif priority is not None and not (is_int(priority) and 1 <= priority <= MAX_INTEGER):
        reading.add(".rulePriority", f"rulePriority must be a positive integer, got {_shown(priority)}")
    elif is_int(priority):
        reading.priority = priority


def _shown(value: Any) -> str:
    """A value as a problem message quotes it: short, and safe for any terminal."""
    text = ascii(value)
    return text if len(text) <= 60 else text[:57] + "..."


def _enum_field(obj: Mapping[str, Any], key: str, where: str, reading: RuleReading, required: str | None) -> str | None:
    """Read an enum field: canonical value, or a problem (`required` is the message when it is missing)."""
    value = obj.get(key)
    if key not in obj:
        if required:
            reading.add(f"{where}.{key}", required)
        return None
    found = canonical(key, value)
    if found is None and value is not None:
        allowed = ENUMS[key]
        expected = f"'{allowed[0]}'" if len(allowed) == 1 else f"one of {', '.join(allowed)}"
        name = "action type" if key == "type" else key
        reading.add(f"{where}.{key}", f"{name} must be {expected}, got {_shown(value)}")
    return found


def _read_action(action: Mapping[str, Any], reading: RuleReading) -> None:
    _check_keys(action, ACTION_KEYS, ".action", reading)
    reading.action_type = _enum_field(
        action, "type", ".action", reading, "action type is required (expire or transition)"
    )
    if reading.action_type == "transition":
        if "targetStorageClass" not in action:
            reading.add(".action.targetStorageClass", "a transition action needs targetStorageClass 'archive'")
        else:
            reading.target_storage_class = _enum_field(action, "targetStorageClass", ".action", reading, None)
    elif reading.action_type == "expire" and "targetStorageClass" in action:
        reading.add(".action.targetStorageClass", "targetStorageClass is only allowed with a transition action")


def _read_selection(selection: Mapping[str, Any], reading: RuleReading) -> None:
    _check_keys(selection, SELECTION_KEYS, ".selection", reading)
    reading.tag_status = _enum_field(
        selection, "tagStatus", ".selection", reading, "tagStatus is required (tagged, untagged or any)"
    )
    reading.patterns = _tag_list(selection, "tagPatternList", reading)
    reading.prefixes = _tag_list(selection, "tagPrefixList", reading)
    _check_tag_lists(selection, reading)
    reading.storage_class_given = "storageClass" in selection
    if reading.storage_class_given:
        reading.storage_class = _enum_field(selection, "storageClass", ".selection", reading, None)
    reading.count_type = _enum_field(
        selection, "countType", ".selection", reading, f"countType is required ({', '.join(COUNT_TYPES)})"
    )
    _read_count(selection, reading)


def _tag_list(selection: Mapping[str, Any], key: str, reading: RuleReading) -> tuple[str, ...]:
    """The strings of a tag list, reporting what is wrong with it."""
    if key not in selection or selection[key] is None:
        return ()
    value = selection[key]
    if not isinstance(value, list):
        reading.add(f".selection.{key}", f"{key} must be a list of strings, got {type_name(value)}")
        return ()
    if not value:
        reading.add(f".selection.{key}", f"{key} must not be empty")
    strings: list[str] = []
    seen: set[str] = set()
    for position, item in enumerate(value):
        where = f".selection.{key}[{position}]"
        if item is None:
            continue  # reported as a null by the validator
        if not isinstance(item, str) or not item:
            reading.add(where, f"{key} entries must be non-empty strings, got {_shown(item)}")
            continue
        if not item.isprintable() or not item.isascii():
            reading.add(where, f"{_shown(item)} holds characters no image tag can hold")
        elif item in seen:
            reading.add(where, f"'{item}' appears twice in {key}")
        elif key == "tagPatternList" and item.count("*") > MAX_WILDCARDS:
            reading.add(where, f"pattern '{item}' has {item.count('*')} wildcards; ECR allows at most {MAX_WILDCARDS}")
        seen.add(item)
        strings.append(item)
    return tuple(strings)


def _check_tag_lists(selection: Mapping[str, Any], reading: RuleReading) -> None:
    has_patterns, has_prefixes = ("tagPatternList" in selection), ("tagPrefixList" in selection)
    if reading.tag_status == "tagged":
        if has_patterns and has_prefixes:
            reading.add(".selection", "a rule may use tagPatternList or tagPrefixList, not both")
        elif not has_patterns and not has_prefixes:
            reading.add(".selection", "tagStatus 'tagged' needs a tagPatternList or a tagPrefixList")
    elif reading.tag_status is not None:
        for key in TAG_LIST_KEYS:
            if key in selection:
                reading.add(
                    f".selection.{key}", f"{key} is only allowed with tagStatus 'tagged', not '{reading.tag_status}'"
                )


def _read_count(selection: Mapping[str, Any], reading: RuleReading) -> None:
    count_type = reading.count_type
    if count_type in SINCE_COUNT_TYPES:
        if "countUnit" not in selection:
            reading.add(".selection.countUnit", f"countType {count_type} needs countUnit 'days'")
        else:
            _enum_field(selection, "countUnit", ".selection", reading, None)
    elif count_type == "imageCountMoreThan" and "countUnit" in selection:
        reading.add(
            ".selection.countUnit",
            "countUnit is only allowed with countType sinceImagePushed, sinceImagePulled or sinceImageTransitioned",
        )
    count_number = selection.get("countNumber")
    if "countNumber" not in selection:
        reading.add(".selection.countNumber", "countNumber is required")
    elif count_number is not None and not (is_int(count_number) and 1 <= count_number <= MAX_INTEGER):
        reading.add(
            ".selection.countNumber",
            f"countNumber must be a positive integer up to {MAX_INTEGER} (0 is not accepted), "
            f"got {_shown(count_number)}",
        )
    elif is_int(count_number):
        reading.count_number = count_number


def _check_combinations(selection: Mapping[str, Any], reading: RuleReading) -> None:
    """The constraints between a rule's count type, action and storage class."""
    checks: tuple[Callable[[Mapping[str, Any], RuleReading], None], ...] = (_since_pulled, _since_transitioned)
    for check in checks:
        check(selection, reading)


def _since_pulled(selection: Mapping[str, Any], reading: RuleReading) -> None:
    if reading.count_type == "sinceImagePulled" and reading.action_type not in (None, "transition"):
        reading.add(".action.type", "countType sinceImagePulled is only allowed with a transition action")


def _since_transitioned(selection: Mapping[str, Any], reading: RuleReading) -> None:
    count_type, storage_class = reading.count_type, reading.storage_class
    if count_type == "sinceImageTransitioned":
        if reading.action_type not in (None, "expire"):
            reading.add(".action.type", "countType sinceImageTransitioned is only allowed with an expire action")
        if not reading.storage_class_given or (storage_class is not None and storage_class != "archive"):
            reading.add(".selection.storageClass", "countType sinceImageTransitioned needs storageClass 'archive'")
        if reading.count_number is not None and reading.count_number < MIN_ARCHIVE_DAYS:
            reading.add(
                ".selection.countNumber",
                f"archived images must stay archived at least {MIN_ARCHIVE_DAYS} days; "
                f"countNumber is {reading.count_number}",
            )
    elif count_type is not None and storage_class == "archive":
        reading.add(
            ".selection.storageClass",
            f"storageClass 'archive' is only allowed with countType sinceImageTransitioned, not {count_type}",
        )
