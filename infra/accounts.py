"""Many accounts and regions, the hub's side (docs/multi-account.md).

- The grants on this account's resources (ECR repositories, and what the tagger and the in-use inventory read) name
  each registry region (`housekeeper:registryRegions`), or the stack's own region: the runtime reads the registry
  account itself in every registry region, with the functions' own roles.
- A dedicated event bus receives the deployment events that the spokes forward; its resource policy lets exactly
  the workload accounts (`housekeeper:workloadAccounts`) or the Organization (`housekeeper:organizationId`) put
  events on it, and nobody when neither is set.
- The tagger and the sync worker may assume the spoke's read-only role (`housekeeper:readerRoleName`) in exactly
  those accounts.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import cast

from aws_cdk import Fn
from aws_cdk import aws_events as events
from aws_cdk import aws_iam as iam
from constructs import Construct

from infra.function import account_arn
from infra.names import ResourceNames
from infra.settings import DeploySettings


def registry_account_arns(service: str, resource: str, registry_regions: Sequence[str]) -> list[str]:
    """`arn:<partition>:<service>:<region>:<this account>:<resource>` for each registry region; none listed means
    the stack's own region."""
    if not registry_regions:
        return [account_arn(service, resource)]
    return [
        cast(str, Fn.sub(f"arn:${{AWS::Partition}}:{service}:{region}:${{AWS::AccountId}}:{resource}"))
        for region in registry_regions
    ]


def repository_arns(registry_regions: Sequence[str]) -> list[str]:
    """Every ECR repository of this account in each registry region."""
    return registry_account_arns("ecr", "repository/*", registry_regions)


def reader_role_arn(account: str, role_name: str) -> str:
    """The spoke's reader role in `account` (`*` for every account, narrowed by a condition)."""
    return cast(str, Fn.sub(f"arn:${{AWS::Partition}}:iam::{account}:role/{role_name}"))


def assume_reader_role_statements(settings: DeploySettings) -> list[iam.PolicyStatement]:
    """sts:AssumeRole on the reader role of exactly the workload accounts, or of the Organization's accounts only."""
    if settings.workload_accounts:
        return [
            iam.PolicyStatement(
                sid="AssumeWorkloadReaderRoles",
                actions=["sts:AssumeRole"],
                resources=[
                    reader_role_arn(account, settings.reader_role_name) for account in settings.workload_accounts
                ],
            )
        ]
    if settings.organization_id:
        return [
            iam.PolicyStatement(
                # IAM cannot list an Organization's accounts in an ARN: any account, but only one of this
                # Organization (aws:ResourceOrgID is the Organization of the role being assumed).
                sid="AssumeOrganizationReaderRoles",
                actions=["sts:AssumeRole"],
                resources=[reader_role_arn("*", settings.reader_role_name)],
                conditions={"StringEquals": {"aws:ResourceOrgID": settings.organization_id}},
            )
        ]
    return []


def forwarders_statement(settings: DeploySettings, bus_arn: str) -> iam.PolicyStatement | None:
    """Who may put events on the hub's bus: the workload accounts, or the Organization; None when neither is set."""
    if settings.workload_accounts:
        return iam.PolicyStatement(
            sid="WorkloadAccountsForwardEvents",
            principals=[iam.AccountPrincipal(account) for account in settings.workload_accounts],
            actions=["events:PutEvents"],
            resources=[bus_arn],
        )
    if settings.organization_id:
        return iam.PolicyStatement(
            sid="OrganizationForwardsEvents",
            principals=[iam.OrganizationPrincipal(settings.organization_id)],
            actions=["events:PutEvents"],
            resources=[bus_arn],
        )
    return None


class ForwardedEventsBus(Construct):  # type: ignore[misc]  # CDK types are opaque to mypy (follow_imports=skip)
    """The hub's bus for the events the spokes forward (ECS deployments of every workload account and region).

    Spokes forward AWS events through a rule target, so each keeps its own `account` and `region`; nobody can put
    an `aws.*` source with PutEvents, so the tagger's rule on this bus (source aws.ecs) sees forwarded events only.
    """

    def __init__(self, scope: Construct, construct_id: str, *, names: ResourceNames, settings: DeploySettings) -> None:
        super().__init__(scope, construct_id)
        self.bus = events.EventBus(
            self,
            "Bus",
            event_bus_name=names.event_bus,
            description="ECR Housekeeper: ECS deployment events forwarded from workload accounts and regions",
        )
        statement = forwarders_statement(settings, self.bus.event_bus_arn)
        if statement is not None:
            self.bus.add_to_resource_policy(statement)
