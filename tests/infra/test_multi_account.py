"""The hub's side of many accounts and regions: the bus for forwarded events and who may put on it, the tagger's
rule on that bus, sts:AssumeRole on the spokes' reader role, and ECR grants per registry region."""

from __future__ import annotations

import json
from typing import Any

import pytest
from aws_cdk.assertions import Template

from infra.app import build_app
from tests.infra.template_helpers import logical_id_of, resources_of, role_grants, role_statements, sub

WORKLOAD_ACCOUNTS = ["222233334444", "333344445555"]
ORGANIZATION = "o-a1b2c3d4e5"
REGIONS = ["eu-west-1", "us-east-1"]
ROLE_NAMES = {
    "tagger": "ecr-housekeeper-tag-deployment-role",
    "dispatcher": None,
    "worker": "ecr-housekeeper-sync-repository-role",
}
FUNCTION_NAMES = {
    "tagger": "ecr-housekeeper-tag-deployment",
    "dispatcher": "ecr-housekeeper-plan-sync",
    "worker": "ecr-housekeeper-sync-repository",
}


def synth(context: dict[str, Any]) -> dict[str, Any]:
    _, stack = build_app(context)
    template: dict[str, Any] = Template.from_stack(stack).to_json()
    return template


@pytest.fixture(scope="module")
def single() -> dict[str, Any]:
    """No workload accounts, no Organization, no registry regions: the single-account hub."""
    return synth({})


@pytest.fixture(scope="module")
def accounts() -> dict[str, Any]:
    return synth(
        {
            "housekeeper:workloadAccounts": WORKLOAD_ACCOUNTS,
            "housekeeper:registryRegions": ",".join(REGIONS),  # as `-c` passes it
            "housekeeper:readerRoleName": "platform-reader",
        }
    )


@pytest.fixture(scope="module")
def organization() -> dict[str, Any]:
    return synth({"housekeeper:organizationId": ORGANIZATION})


def role_id(template: dict[str, Any], function: str) -> str:
    function_id = logical_id_of(template, "AWS::Lambda::Function", FunctionName=FUNCTION_NAMES[function])
    return str(template["Resources"][function_id]["Properties"]["Role"]["Fn::GetAtt"][0])


def bus_id(template: dict[str, Any]) -> str:
    return logical_id_of(template, "AWS::Events::EventBus", Name="ecr-housekeeper-events")


def bus_policy_statements(template: dict[str, Any]) -> list[dict[str, Any]]:
    return [p["Properties"]["Statement"] for p in resources_of(template, "AWS::Events::EventBusPolicy").values()]


def statements_with_action(template: dict[str, Any], function: str, prefix: str) -> list[dict[str, Any]]:
    return [
        s
        for s in role_statements(template, role_id(template, function))
        if any(a.startswith(prefix) for a in ([s["Action"]] if isinstance(s["Action"], str) else s["Action"]))
    ]


# ------------------------------------------------------------------------------------------------------ the bus


def test_the_hub_has_one_bus_for_forwarded_events_and_outputs_its_arn(single: dict[str, Any]) -> None:
    (bus,) = resources_of(single, "AWS::Events::EventBus").values()
    assert bus["Properties"]["Name"] == "ecr-housekeeper-events"
    assert single["Outputs"]["ForwardedEventBusArn"] == {"Value": {"Fn::GetAtt": [bus_id(single), "Arn"]}}


def test_without_accounts_or_organization_nobody_else_may_put_events(single: dict[str, Any]) -> None:
    assert resources_of(single, "AWS::Events::EventBusPolicy") == {}


def test_the_bus_policy_lets_exactly_the_workload_accounts_put_events(accounts: dict[str, Any]) -> None:
    assert bus_policy_statements(accounts) == [
        {
            "Sid": "cdk-WorkloadAccountsForwardEvents",
            "Effect": "Allow",
            "Action": "events:PutEvents",
            "Principal": {
                "AWS": [
                    {"Fn::Join": ["", ["arn:", {"Ref": "AWS::Partition"}, f":iam::{account}:root"]]}
                    for account in WORKLOAD_ACCOUNTS
                ]
            },
            "Resource": {"Fn::GetAtt": [bus_id(accounts), "Arn"]},
        }
    ]


def test_the_bus_policy_lets_the_organization_put_events(organization: dict[str, Any]) -> None:
    assert bus_policy_statements(organization) == [
        {
            "Sid": "cdk-OrganizationForwardsEvents",
            "Effect": "Allow",
            "Action": "events:PutEvents",
            "Principal": {"AWS": "*"},
            "Condition": {"StringEquals": {"aws:PrincipalOrgID": ORGANIZATION}},
            "Resource": {"Fn::GetAtt": [bus_id(organization), "Arn"]},
        }
    ]


def test_forwarded_deployments_reach_the_tagger_with_retries_and_its_dead_letter_queue(
    single: dict[str, Any],
) -> None:
    rule_id = logical_id_of(single, "AWS::Events::Rule", Name="ecr-housekeeper-forwarded-deployments")
    properties = single["Resources"][rule_id]["Properties"]
    assert properties["EventBusName"] == {"Ref": bus_id(single)}
    assert properties["EventPattern"] == {
        "source": ["aws.ecs"],
        "detail-type": ["ECS Deployment State Change"],
        "detail": {"eventName": ["SERVICE_DEPLOYMENT_COMPLETED"]},
    }
    tagger = logical_id_of(single, "AWS::Lambda::Function", FunctionName="ecr-housekeeper-tag-deployment")
    dead_letters = logical_id_of(single, "AWS::SQS::Queue", QueueName="ecr-housekeeper-tag-deployment-dlq")
    assert properties["Targets"] == [
        {
            "Id": "Target0",
            "Arn": {"Fn::GetAtt": [tagger, "Arn"]},
            "DeadLetterConfig": {"Arn": {"Fn::GetAtt": [dead_letters, "Arn"]}},
            "RetryPolicy": {"MaximumEventAgeInSeconds": 21600, "MaximumRetryAttempts": 8},
        }
    ]
    permissions = [
        p["Properties"]
        for p in resources_of(single, "AWS::Lambda::Permission").values()
        if p["Properties"]["SourceArn"] == {"Fn::GetAtt": [rule_id, "Arn"]}
    ]
    assert permissions == [
        {
            "Action": "lambda:InvokeFunction",
            "FunctionName": {"Fn::GetAtt": [tagger, "Arn"]},
            "Principal": "events.amazonaws.com",
            "SourceArn": {"Fn::GetAtt": [rule_id, "Arn"]},
        }
    ]


# ------------------------------------------------------------------------------------------- sts:AssumeRole


def test_without_accounts_or_organization_no_role_may_assume_anything(single: dict[str, Any]) -> None:
    for function in FUNCTION_NAMES:
        assert not statements_with_action(single, function, "sts:")


def test_tagger_and_worker_may_assume_the_reader_role_of_exactly_the_workload_accounts(
    accounts: dict[str, Any],
) -> None:
    expected = [
        {
            "Sid": "AssumeWorkloadReaderRoles",
            "Effect": "Allow",
            "Action": "sts:AssumeRole",
            "Resource": [
                {"Fn::Sub": f"arn:${{AWS::Partition}}:iam::{account}:role/platform-reader"}
                for account in WORKLOAD_ACCOUNTS
            ],
        }
    ]
    assert statements_with_action(accounts, "tagger", "sts:") == expected
    assert statements_with_action(accounts, "worker", "sts:") == expected
    assert statements_with_action(accounts, "dispatcher", "sts:") == []


def test_in_organization_mode_the_reader_role_of_any_account_of_the_organization_only(
    organization: dict[str, Any],
) -> None:
    expected = [
        {
            "Sid": "AssumeOrganizationReaderRoles",
            "Effect": "Allow",
            "Action": "sts:AssumeRole",
            "Resource": {"Fn::Sub": "arn:${AWS::Partition}:iam::*:role/ecr-housekeeper-reader"},
            "Condition": {"StringEquals": {"aws:ResourceOrgID": ORGANIZATION}},
        }
    ]
    assert statements_with_action(organization, "tagger", "sts:") == expected
    assert statements_with_action(organization, "worker", "sts:") == expected
    assert statements_with_action(organization, "dispatcher", "sts:") == []


def test_the_roles_the_spokes_trust_keep_their_names_in_every_mode(
    single: dict[str, Any], accounts: dict[str, Any], organization: dict[str, Any]
) -> None:
    for template in (single, accounts, organization):
        for function, name in ROLE_NAMES.items():
            assert template["Resources"][role_id(template, function)]["Properties"].get("RoleName") == name


# ------------------------------------------------------------------------------------------- registry regions


def ecr_resources(template: dict[str, Any], function: str) -> set[str]:
    return {r for a, r in role_grants(template, role_id(template, function)) if a.startswith("ecr:")}


def test_ecr_grants_name_the_stacks_own_region_by_default(single: dict[str, Any]) -> None:
    for function in FUNCTION_NAMES:
        assert ecr_resources(single, function) == {
            sub("arn:${AWS::Partition}:ecr:${AWS::Region}:${AWS::AccountId}:repository/*")
        }


def test_ecr_grants_name_each_registry_region_of_this_account(accounts: dict[str, Any]) -> None:
    expected = {sub(f"arn:${{AWS::Partition}}:ecr:{region}:${{AWS::AccountId}}:repository/*") for region in REGIONS}
    for function in FUNCTION_NAMES:
        assert ecr_resources(accounts, function) == expected
    # The same actions as in one region: every action on every registry region.
    worker_ecr = {(a, r) for a, r in role_grants(accounts, role_id(accounts, "worker")) if a.startswith("ecr:")}
    actions = {a for a, _ in worker_ecr}
    assert worker_ecr == {(a, r) for a in actions for r in expected}
    assert actions == {
        "ecr:BatchGetImage",
        "ecr:DescribeImages",
        "ecr:GetLifecyclePolicy",
        "ecr:GetRepositoryPolicy",
        "ecr:PutImage",
        "ecr:PutLifecyclePolicy",
    }


def test_every_regional_grant_on_this_account_names_each_registry_region(
    single: dict[str, Any], accounts: dict[str, Any]
) -> None:
    """The runtime reads the registry account itself (ECS, Lambda, Scheduler, EventBridge) in every registry
    region with the functions' own roles, so those grants follow the registry regions as ECR's do."""
    for function in FUNCTION_NAMES:
        one_region = role_grants(single, role_id(single, function))
        many_regions = role_grants(accounts, role_id(accounts, function))
        for action, resource in one_region:
            arn = json.loads(resource).get("Fn::Sub", "") if resource.startswith("{") else ""
            if "${AWS::Region}:${AWS::AccountId}" in arn:
                for region in REGIONS:
                    assert (action, sub(arn.replace("${AWS::Region}", region))) in many_regions, (action, region)
        assert not any("${AWS::Region}:${AWS::AccountId}" in resource for _, resource in many_regions), function


def test_the_worker_reads_the_in_use_inventory_of_each_registry_region(accounts: dict[str, Any]) -> None:
    grants = role_grants(accounts, role_id(accounts, "worker"))
    for region in REGIONS:
        assert ("ecs:DescribeTasks", sub(f"arn:${{AWS::Partition}}:ecs:{region}:${{AWS::AccountId}}:task/*")) in grants
        assert (
            "lambda:GetFunction",
            sub(f"arn:${{AWS::Partition}}:lambda:{region}:${{AWS::AccountId}}:function:*"),
        ) in grants
