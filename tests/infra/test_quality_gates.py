"""`make nag`: cdk-nag AwsSolutions leaves no unacknowledged finding and cfn-lint is clean; the gate really bites."""

from __future__ import annotations

import json
import re

import pytest
from aws_cdk import CfnParameter, Stack, Validations
from aws_cdk import aws_iam as iam

from infra.app import build_stacks
from infra.quality_gates import GateResult, NagFinding, run_quality_gates

# Many accounts and regions switch on grants (and acknowledgements) that the default context does not have.
MULTI_ACCOUNT_CONTEXTS = {
    "accounts": {
        "housekeeper:workloadAccounts": ["222233334444", "333344445555"],
        "housekeeper:registryRegions": ["eu-west-1", "us-east-1"],
        "housekeeper:hubAccountId": "111122223333",
        "housekeeper:hubRegion": "eu-west-1",
    },
    "organization": {
        "housekeeper:organizationId": "o-a1b2c3d4e5",
        "housekeeper:registryRegions": ["eu-central-1"],
        "housekeeper:readerRoleName": "platform-reader",
    },
}


@pytest.fixture(scope="module")
def gates() -> GateResult:
    return run_quality_gates()


def test_cdk_nag_has_no_unacknowledged_findings(gates: GateResult) -> None:
    assert gates.nag_findings == ()


def test_cfn_lint_is_clean(gates: GateResult) -> None:
    assert gates.lint_findings == ()
    assert gates.passed


def test_both_stacks_go_through_the_gates(gates: GateResult) -> None:
    assert set(gates.templates) == {"EcrHousekeeper", "EcrHousekeeperSpoke"}
    assert "ReaderRole" in json.dumps(gates.templates["EcrHousekeeperSpoke"])


@pytest.mark.parametrize("mode", sorted(MULTI_ACCOUNT_CONTEXTS))
def test_many_accounts_and_regions_pass_the_gates(mode: str) -> None:
    result = run_quality_gates(MULTI_ACCOUNT_CONTEXTS[mode])
    assert result.nag_findings == ()
    assert result.lint_findings == ()


@pytest.mark.parametrize("context", [{}, *MULTI_ACCOUNT_CONTEXTS.values()])
def test_every_acknowledgement_names_one_granular_finding_and_gives_a_reason(context: dict[str, object]) -> None:
    built = build_stacks(context)
    key = Validations.ACKNOWLEDGED_RULES_METADATA_KEY
    acknowledged = [
        (construct.node.path, rule, reason)
        for stack in (built.hub, built.spoke)
        for construct in stack.node.find_all()
        for entry in construct.node.metadata
        if entry.type == key
        for rule, reason in entry.data.items()
    ]
    assert acknowledged
    for path, rule, reason in acknowledged:
        assert path not in (built.hub.node.path, built.spoke.node.path), "no stack-wide acknowledgements"
        assert re.fullmatch(r"AwsSolutions::AwsSolutions-(IAM5\[Resource::[^\]]+\]|L1|SQS3)", rule), rule
        assert len(reason) > 60, f"{rule} on {path} needs a written reason"
    # Wildcard resources are acknowledged only on the three function roles and the spoke's reader role.
    iam5_paths = {path for path, rule, _ in acknowledged if "IAM5" in rule}
    assert iam5_paths == {
        "EcrHousekeeper/Tagger/TagDeployment/Role",
        "EcrHousekeeper/PolicySync/PlanSync/Role",
        "EcrHousekeeper/PolicySync/SyncRepository/Role",
        "EcrHousekeeperSpoke/ReaderRole",
    }
    # The missing-DLQ finding only on the spoke's queue, which is itself the forwarding target's DLQ.
    assert {path for path, rule, _ in acknowledged if rule.endswith("SQS3")} == {
        "EcrHousekeeperSpoke/ForwardDeadLetterQueue"
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


def test_an_unacknowledged_wildcard_in_the_spoke_fails_the_gate() -> None:
    def add_rogue_reader(stack: Stack) -> None:
        rogue = iam.Role(stack, "RogueReader", assumed_by=iam.AccountPrincipal("111122223333"))
        rogue.add_to_policy(iam.PolicyStatement(actions=["ecs:Describe*"], resources=["*"]))

    result = run_quality_gates(customize_spoke=add_rogue_reader)
    assert not result.passed
    assert set(result.nag_findings) == {
        NagFinding(
            "AwsSolutions-IAM5[Action::ecs:Describe*]", "EcrHousekeeperSpoke/RogueReader/DefaultPolicy/Resource"
        ),
        NagFinding("AwsSolutions-IAM5[Resource::*]", "EcrHousekeeperSpoke/RogueReader/DefaultPolicy/Resource"),
    }


def test_cfn_lint_reads_the_spoke_template_too() -> None:
    def add_broken_parameter(stack: Stack) -> None:
        CfnParameter(stack, "Broken", type="String", default="abc", allowed_values=["x", "y"])

    result = run_quality_gates(customize_spoke=add_broken_parameter)
    assert not result.passed
    assert result.lint_findings
    assert all(line.startswith("EcrHousekeeperSpoke.template.json: ") for line in result.lint_findings)
