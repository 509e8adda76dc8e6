"""`make nag`: cdk-nag AwsSolutions leaves no unacknowledged finding and cfn-lint is clean; the gate really bites."""

from __future__ import annotations

import re

import pytest
from aws_cdk import Stack, Validations
from aws_cdk import aws_iam as iam

from infra.app import build_app
from infra.quality_gates import GateResult, NagFinding, run_quality_gates


@pytest.fixture(scope="module")
def gates() -> GateResult:
    return run_quality_gates()


def test_cdk_nag_has_no_unacknowledged_findings(gates: GateResult) -> None:
    assert gates.nag_findings == ()


def test_cfn_lint_is_clean(gates: GateResult) -> None:
    assert gates.lint_findings == ()
    assert gates.passed


def test_every_acknowledgement_names_one_granular_finding_and_gives_a_reason() -> None:
    _, stack = build_app({})
    key = Validations.ACKNOWLEDGED_RULES_METADATA_KEY
    acknowledged = [
        (construct.node.path, rule, reason)
        for construct in stack.node.find_all()
        for entry in construct.node.metadata
        if entry.type == key
        for rule, reason in entry.data.items()
    ]
    assert acknowledged
    for path, rule, reason in acknowledged:
        assert path != stack.node.path, "no stack-wide acknowledgements"
        assert re.fullmatch(r"AwsSolutions::AwsSolutions-(IAM5\[Resource::[^\]]+\]|L1)", rule), rule
        assert len(reason) > 60, f"{rule} on {path} needs a written reason"
    # Wildcard resources are acknowledged only on the three function roles.
    iam5_paths = {path for path, rule, _ in acknowledged if "IAM5" in rule}
    assert iam5_paths == {
        "EcrHousekeeper/Tagger/TagDeployment/Role",
        "EcrHousekeeper/PolicySync/PlanSync/Role",
        "EcrHousekeeper/PolicySync/SyncRepository/Role",
    }


def test_an_unacknowledged_wildcard_fails_the_gate() -> None:
    def add_rogue_role(stack: Stack) -> None:
        rogue = iam.Role(stack, "Rogue", assumed_by=iam.ServicePrincipal("lambda.amazonaws.com"))
        rogue.add_to_policy(iam.PolicyStatement(actions=["ecr:*"], resources=["*"]))

    result = run_quality_gates(customize=add_rogue_role)
    assert not result.passed
    assert set(result.nag_findings) == {
        NagFinding("AwsSolutions-IAM5[Action::ecr:*]", "EcrHousekeeper/Rogue/DefaultPolicy/Resource"),
        NagFinding("AwsSolutions-IAM5[Resource::*]", "EcrHousekeeper/Rogue/DefaultPolicy/Resource"),
    }
