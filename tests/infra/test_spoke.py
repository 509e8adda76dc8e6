"""The spoke stack (each workload account and region): a read-only role that trusts exactly the hub's tagger and
sync-worker roles, and a rule that forwards completed ECS deployments to the hub's bus; every setting a
CloudFormation parameter whose default comes from CDK context."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest
from aws_cdk.assertions import Template

from infra.app import build_stacks
from tests.infra.template_helpers import get_att, logical_id_of, resources_of, role_grants, role_statements

HUB_ACCOUNT = "111122223333"
CONTEXT = {"housekeeper:hubAccountId": HUB_ACCOUNT, "housekeeper:hubRegion": "eu-west-1"}
BUS_ARN = {"Fn::Sub": "arn:${AWS::Partition}:events:${HubRegion}:${HubAccountId}:event-bus/${HubEventBusName}"}

# Everything the hub may read in a workload account; the reader role grants exactly these and nothing else.
READ_ONLY_ALLOW_LIST = {
    "ecs:DescribeServiceDeployments",
    "ecs:DescribeServiceRevisions",
    "ecs:DescribeServices",
    "ecs:DescribeTaskDefinition",
    "ecs:DescribeTasks",
    "ecs:ListClusters",
    "ecs:ListServices",
    "ecs:ListTaskDefinitionFamilies",
    "ecs:ListTaskDefinitions",
    "ecs:ListTasks",
    "events:ListEventBuses",
    "events:ListRules",
    "events:ListTargetsByRule",
    "lambda:GetFunction",
    "lambda:ListAliases",
    "lambda:ListFunctions",
    "scheduler:GetSchedule",
    "scheduler:ListScheduleGroups",
    "scheduler:ListSchedules",
}
READ_SERVICES = ("ecs:", "lambda:", "scheduler:", "events:")


@pytest.fixture(scope="module")
def synthesized(tmp_path_factory: pytest.TempPathFactory) -> tuple[dict[str, Any], dict[str, Any], Path]:
    """One synth of both stacks with the hub's account and region in context: (spoke, hub, cloud assembly)."""
    outdir = tmp_path_factory.mktemp("cdk-out")
    built = build_stacks(CONTEXT, outdir=str(outdir))
    built.app.synth()
    return Template.from_stack(built.spoke).to_json(), Template.from_stack(built.hub).to_json(), outdir


@pytest.fixture(scope="module")
def spoke(synthesized: tuple[dict[str, Any], dict[str, Any], Path]) -> dict[str, Any]:
    return synthesized[0]


@pytest.fixture(scope="module")
def hub(synthesized: tuple[dict[str, Any], dict[str, Any], Path]) -> dict[str, Any]:
    return synthesized[1]


def reader_role_id(spoke: dict[str, Any]) -> str:
    return logical_id_of(spoke, "AWS::IAM::Role", RoleName={"Ref": "ReaderRoleName"})


def forward_role_id(spoke: dict[str, Any]) -> str:
    (role_id,) = [r for r in resources_of(spoke, "AWS::IAM::Role") if r != reader_role_id(spoke)]
    return role_id


def forward_rule(spoke: dict[str, Any], name: str = "forward-ecs-deployments") -> tuple[str, dict[str, Any]]:
    rules = resources_of(spoke, "AWS::Events::Rule").items()
    ((rule_id, rule),) = [
        (i, r) for i, r in rules if r["Properties"]["Name"] == {"Fn::Sub": f"${{ResourcePrefix}}-{name}"}
    ]
    return rule_id, rule


def get_att_of(logical_id: str) -> dict[str, Any]:
    parsed: dict[str, Any] = json.loads(get_att(logical_id))
    return parsed


def substitute(text: str, values: dict[str, str]) -> str:
    return re.sub(r"\$\{([^}]+)\}", lambda m: values[m.group(1)], text)


# -------------------------------------------------------------------------------------------------- parameters


def test_parameters_take_their_defaults_from_context(spoke: dict[str, Any]) -> None:
    parameters = spoke["Parameters"]
    assert {name: p.get("Default") for name, p in parameters.items()} == {
        "HubAccountId": HUB_ACCOUNT,
        "HubRegion": "eu-west-1",
        "HubEventBusName": "ecr-housekeeper-events",
        "ResourcePrefix": "ecr-housekeeper",
        "ReaderRoleName": "ecr-housekeeper-reader",
        "ReaderRoleRegion": "eu-west-1",
        "OperatorRoleArns": "",
    }
    for name, parameter in parameters.items():
        assert parameter["Type"] == ("CommaDelimitedList" if name == "OperatorRoleArns" else "String")
        assert parameter.get("AllowedPattern") or name == "OperatorRoleArns"
        assert parameter["Description"]
    assert re.match(parameters["HubAccountId"]["AllowedPattern"], HUB_ACCOUNT)
    assert not re.match(parameters["HubAccountId"]["AllowedPattern"], "12345")
    assert re.match(parameters["ReaderRoleRegion"]["AllowedPattern"], "us-gov-west-1")


def test_without_hub_context_the_hub_parameters_must_be_passed_at_deploy() -> None:
    spoke = Template.from_stack(build_stacks({}).spoke).to_json()
    parameters = spoke["Parameters"]
    assert {name for name, p in parameters.items() if "Default" not in p} == {
        "HubAccountId",
        "HubRegion",
        "ReaderRoleRegion",
    }


def test_context_overrides_reach_the_parameter_defaults() -> None:
    spoke = Template.from_stack(
        build_stacks(
            {
                **CONTEXT,
                "housekeeper:resourcePrefix": "hk",
                "housekeeper:readerRoleName": "platform-housekeeper-reader",
                "housekeeper:readerRoleRegion": "us-east-1",
                "housekeeper:spokeStackName": "HousekeeperWorkload",
            }
        ).spoke
    ).to_json()
    defaults = {name: p.get("Default") for name, p in spoke["Parameters"].items()}
    assert defaults["ResourcePrefix"] == "hk"
    assert defaults["HubEventBusName"] == "hk-events"
    assert defaults["ReaderRoleName"] == "platform-housekeeper-reader"
    assert defaults["ReaderRoleRegion"] == "us-east-1"


def test_the_template_deploys_without_a_cdk_bootstrap(
    spoke: dict[str, Any], synthesized: tuple[dict[str, Any], dict[str, Any], Path]
) -> None:
    """A StackSet instance or `cdk deploy` in a workload account needs no bootstrap bucket, role or version."""
    assert "BootstrapVersion" not in spoke["Parameters"]
    assert "Rules" not in spoke
    assert not resources_of(spoke, "AWS::CDK::Metadata")
    manifest = json.loads((synthesized[2] / "manifest.json").read_text(encoding="utf-8"))
    artifact = manifest["artifacts"]["EcrHousekeeperSpoke"]
    assert artifact["properties"] == {
        "templateFile": "EcrHousekeeperSpoke.template.json",
        "terminationProtection": False,
        "validateOnSynth": False,
    }
    assert "dependencies" not in artifact


# ------------------------------------------------------------------------------------------------- reader role


def test_reader_role_trusts_exactly_the_hub_tagger_and_worker_roles_and_the_listed_operators(
    spoke: dict[str, Any],
) -> None:
    role = spoke["Resources"][reader_role_id(spoke)]["Properties"]
    hub_root = {"Fn::Join": ["", ["arn:", {"Ref": "AWS::Partition"}, ":iam::", {"Ref": "HubAccountId"}, ":root"]]}
    operators = {
        "Action": "sts:AssumeRole",
        "Effect": "Allow",
        "Principal": {"AWS": hub_root},
        # The OperatorRoleArns parameter: empty by default, so this statement lets nobody in until it is set.
        "Condition": {"ArnLike": {"aws:PrincipalArn": {"Ref": "OperatorRoleArns"}}},
    }
    assert role["AssumeRolePolicyDocument"]["Statement"][1] == operators
    assert {**role["AssumeRolePolicyDocument"], "Statement": role["AssumeRolePolicyDocument"]["Statement"][:1]} == {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Action": "sts:AssumeRole",
                "Effect": "Allow",
                "Principal": {
                    "AWS": {
                        "Fn::Join": [
                            "",
                            ["arn:", {"Ref": "AWS::Partition"}, ":iam::", {"Ref": "HubAccountId"}, ":root"],
                        ]
                    }
                },
                "Condition": {
                    "ArnEquals": {
                        "aws:PrincipalArn": [
                            {
                                "Fn::Sub": (
                                    "arn:${AWS::Partition}:iam::${HubAccountId}:role/${ResourcePrefix}-tag-deployment-role"
                                )
                            },
                            {
                                "Fn::Sub": (
                                    "arn:${AWS::Partition}:iam::${HubAccountId}:role/${ResourcePrefix}-sync-repository-role"
                                )
                            },
                        ]
                    }
                },
            }
        ],
    }


def test_the_trusted_roles_are_the_hub_roles_by_name(spoke: dict[str, Any], hub: dict[str, Any]) -> None:
    """With the parameters' defaults, the trusted ARNs name exactly the hub's tagger and worker roles."""
    defaults = {name: p["Default"] for name, p in spoke["Parameters"].items()} | {"AWS::Partition": "aws"}
    trust = spoke["Resources"][reader_role_id(spoke)]["Properties"]["AssumeRolePolicyDocument"]["Statement"][0]
    trusted = {substitute(arn["Fn::Sub"], defaults) for arn in trust["Condition"]["ArnEquals"]["aws:PrincipalArn"]}
    hub_role_names = {
        r["Properties"]["RoleName"]
        for r in resources_of(hub, "AWS::IAM::Role").values()
        if "RoleName" in r["Properties"]
    }
    assert hub_role_names == {"ecr-housekeeper-tag-deployment-role", "ecr-housekeeper-sync-repository-role"}
    assert trusted == {f"arn:aws:iam::{HUB_ACCOUNT}:role/{name}" for name in hub_role_names}


def test_reader_role_grants_only_reads_from_the_allow_list(spoke: dict[str, Any]) -> None:
    grants = role_grants(spoke, reader_role_id(spoke))
    actions = {action for action, _ in grants}
    assert actions == READ_ONLY_ALLOW_LIST
    for action in actions:
        assert re.fullmatch(r"(ecs|lambda|scheduler|events):(List|Describe|Get)[A-Za-z]+", action), action
    assert all(statement["Effect"] == "Allow" for statement in role_statements(spoke, reader_role_id(spoke)))


def test_reader_role_mirrors_exactly_the_reads_of_the_hub_tagger_and_worker(
    spoke: dict[str, Any], hub: dict[str, Any]
) -> None:
    """Same actions on the same resources as the hub grants itself, with the region opened up: the role is global."""
    hub_reads: set[tuple[str, str]] = set()
    for role_name in ("ecr-housekeeper-tag-deployment-role", "ecr-housekeeper-sync-repository-role"):
        role_id = logical_id_of(hub, "AWS::IAM::Role", RoleName=role_name)
        hub_reads |= {
            (action, resource.replace("${AWS::Region}", "*"))
            for action, resource in role_grants(hub, role_id)
            if action.startswith(READ_SERVICES)
        }
    assert role_grants(spoke, reader_role_id(spoke)) == hub_reads


def test_reader_role_resources_are_pinned_to_the_workload_account(spoke: dict[str, Any]) -> None:
    for _, resource in role_grants(spoke, reader_role_id(spoke)):
        if resource != "*":
            arn = json.loads(resource)["Fn::Sub"]
            assert re.fullmatch(r"arn:\$\{AWS::Partition\}:[a-z]+:\*:\$\{AWS::AccountId\}:[a-z-]+[/:]\*", arn), arn


def test_reader_role_is_named_by_parameter_and_created_in_one_region_per_account(spoke: dict[str, Any]) -> None:
    role = spoke["Resources"][reader_role_id(spoke)]
    assert role["Properties"]["RoleName"] == {"Ref": "ReaderRoleName"}
    assert role["Condition"] == "CreateReaderRole"
    assert spoke["Conditions"]["CreateReaderRole"] == {
        "Fn::Equals": [{"Ref": "AWS::Region"}, {"Ref": "ReaderRoleRegion"}]
    }
    assert spoke["Outputs"]["ReaderRoleArn"] == {
        "Value": {"Fn::GetAtt": [reader_role_id(spoke), "Arn"]},
        "Condition": "CreateReaderRole",
    }


# -------------------------------------------------------------------------------------------------- forwarding


def test_forwarding_rule_matches_completed_deployments_and_targets_the_hub_bus(spoke: dict[str, Any]) -> None:
    _, rule = forward_rule(spoke)
    properties = rule["Properties"]
    assert properties["Name"] == {"Fn::Sub": "${ResourcePrefix}-forward-ecs-deployments"}
    assert "EventBusName" not in properties  # the default bus, where ECS puts its events
    assert properties["EventPattern"] == {
        "source": ["aws.ecs"],
        "detail-type": ["ECS Deployment State Change"],
        "detail": {"eventName": ["SERVICE_DEPLOYMENT_COMPLETED"]},
    }
    dead_letters = logical_id_of(spoke, "AWS::SQS::Queue", QueueName={"Fn::Sub": "${ResourcePrefix}-forward-dlq"})
    assert properties["Targets"] == [
        {
            "Id": "Target0",
            "Arn": BUS_ARN,
            "RoleArn": {"Fn::GetAtt": [forward_role_id(spoke), "Arn"]},
            "DeadLetterConfig": {"Arn": {"Fn::GetAtt": [dead_letters, "Arn"]}},
        }
    ]
    assert spoke["Outputs"]["HubEventBusArn"] == {"Value": BUS_ARN}


def test_forward_role_may_only_put_events_on_that_one_bus(spoke: dict[str, Any]) -> None:
    role_id = forward_role_id(spoke)
    assert role_grants(spoke, role_id) == {("events:PutEvents", json.dumps(BUS_ARN, sort_keys=True))}
    trust = spoke["Resources"][role_id]["Properties"]["AssumeRolePolicyDocument"]["Statement"]
    assert trust == [
        {
            "Action": "sts:AssumeRole",
            "Effect": "Allow",
            "Principal": {"Service": "events.amazonaws.com"},
            "Condition": {"StringEquals": {"aws:SourceAccount": {"Ref": "AWS::AccountId"}}},
        }
    ]


def test_forward_dead_letter_queue_takes_messages_from_the_forwarding_rule_only(spoke: dict[str, Any]) -> None:
    rule_id, _ = forward_rule(spoke)
    ((queue_id, queue),) = resources_of(spoke, "AWS::SQS::Queue").items()
    assert queue["Properties"]["SqsManagedSseEnabled"] is True
    assert queue["Properties"]["MessageRetentionPeriod"] == 1209600
    ((_, policy),) = resources_of(spoke, "AWS::SQS::QueuePolicy").items()
    statements = policy["Properties"]["PolicyDocument"]["Statement"]
    allow = [s for s in statements if s["Effect"] == "Allow"]
    assert [(s["Action"], s["Principal"], s["Condition"]) for s in allow] == [
        ("sqs:SendMessage", {"Service": "events.amazonaws.com"}, {"ArnEquals": {"aws:SourceArn": get_att_of(rule_id)}})
    ]
    deny = [s for s in statements if s["Effect"] == "Deny"]
    assert deny[0]["Condition"] == {"Bool": {"aws:SecureTransport": "false"}}
    assert queue_id in json.dumps(deny)


def test_no_forwarding_from_the_hub_account_and_region_itself(spoke: dict[str, Any]) -> None:
    """There the hub's own rule sees the deployment; a forwarded copy would tag it twice."""
    assert spoke["Conditions"]["ForwardDeployments"] == {
        "Fn::Not": [
            {
                "Fn::And": [
                    {"Fn::Equals": [{"Ref": "AWS::AccountId"}, {"Ref": "HubAccountId"}]},
                    {"Fn::Equals": [{"Ref": "AWS::Region"}, {"Ref": "HubRegion"}]},
                ]
            }
        ]
    }
    reader = reader_role_id(spoke)
    pushes, _ = forward_rule(spoke, "forward-ecr-pushes")
    for logical_id, resource in spoke["Resources"].items():
        expected = {reader: "CreateReaderRole", pushes: "ForwardPushes"}.get(logical_id, "ForwardDeployments")
        assert resource.get("Condition") == expected, logical_id


def test_in_the_registry_account_other_regions_forward_image_pushes_without_a_dead_letter_queue(
    spoke: dict[str, Any],
) -> None:
    """A replica region's pushes reach the hub's plan_sync this way; a lost one waits for the daily sweep."""
    assert spoke["Conditions"]["ForwardPushes"] == {
        "Fn::And": [
            {"Fn::Equals": [{"Ref": "AWS::AccountId"}, {"Ref": "HubAccountId"}]},
            {"Fn::Not": [{"Fn::Equals": [{"Ref": "AWS::Region"}, {"Ref": "HubRegion"}]}]},
        ]
    }
    _, rule = forward_rule(spoke, "forward-ecr-pushes")
    assert rule["Properties"]["EventPattern"] == {
        "source": ["aws.ecr"],
        "detail-type": ["ECR Image Action"],
        "detail": {"action-type": ["PUSH"], "result": ["SUCCESS"]},
    }
    assert rule["Properties"]["Targets"] == [
        {"Id": "Target0", "Arn": BUS_ARN, "RoleArn": {"Fn::GetAtt": [forward_role_id(spoke), "Arn"]}}
    ]


def test_the_spoke_holds_two_roles_two_rules_and_one_queue(spoke: dict[str, Any]) -> None:
    assert sorted(r["Type"] for r in spoke["Resources"].values()) == [
        "AWS::Events::Rule",
        "AWS::Events::Rule",
        "AWS::IAM::Policy",
        "AWS::IAM::Role",
        "AWS::IAM::Role",
        "AWS::SQS::Queue",
        "AWS::SQS::QueuePolicy",
    ]
