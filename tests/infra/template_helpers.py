"""Small readers over a synthesized CloudFormation template (a dict)."""

from __future__ import annotations

import json
from typing import Any


def resources_of(template: dict[str, Any], resource_type: str) -> dict[str, dict[str, Any]]:
    return {logical_id: r for logical_id, r in template["Resources"].items() if r["Type"] == resource_type}


def logical_id_of(template: dict[str, Any], resource_type: str, **properties: Any) -> str:
    """The one resource of this type whose properties include the given ones."""
    found = [
        logical_id
        for logical_id, resource in resources_of(template, resource_type).items()
        if all(resource["Properties"].get(k) == v for k, v in properties.items())
    ]
    assert len(found) == 1, f"expected one {resource_type} with {properties}, found {found}"
    return found[0]


def as_list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [value]


def role_statements(template: dict[str, Any], role_id: str) -> list[dict[str, Any]]:
    """Every statement of an IAM role's identity policies: its inline policies plus policies attached to it."""
    statements: list[dict[str, Any]] = []
    role = template["Resources"][role_id]
    for policy in role["Properties"].get("Policies", []):
        statements.extend(policy["PolicyDocument"]["Statement"])
    assert not role["Properties"].get("ManagedPolicyArns"), "roles carry no managed policies"
    for policy in resources_of(template, "AWS::IAM::Policy").values():
        if {"Ref": role_id} in policy["Properties"]["Roles"]:
            statements.extend(policy["Properties"]["PolicyDocument"]["Statement"])
    return statements


def role_grants(template: dict[str, Any], role_id: str) -> set[tuple[str, str]]:
    """Every (action, resource) an IAM role is allowed: its inline policies plus policies attached to it."""
    statements = role_statements(template, role_id)
    grants: set[tuple[str, str]] = set()
    for statement in statements:
        assert statement["Effect"] == "Allow"
        assert "NotAction" not in statement and "NotResource" not in statement
        for action in as_list(statement["Action"]):
            for resource in as_list(statement["Resource"]):
                grants.add((action, resource if isinstance(resource, str) else json.dumps(resource, sort_keys=True)))
    return grants


def sub(text: str) -> str:
    """The JSON form of an Fn::Sub resource, as role_grants reports it."""
    return json.dumps({"Fn::Sub": text}, sort_keys=True)


def get_att(logical_id: str, attribute: str = "Arn") -> str:
    return json.dumps({"Fn::GetAtt": [logical_id, attribute]}, sort_keys=True)


def ref(logical_id: str) -> dict[str, str]:
    return {"Ref": logical_id}
