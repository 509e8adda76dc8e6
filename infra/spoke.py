"""The spoke: what ECR Housekeeper needs in each workload account and region (docs/multi-account.md).

- `ecr-housekeeper-reader`, a read-only role that only the hub's tagger and sync-worker roles may assume: the reads
  of the tagger (the deployment) and of the in-use inventory (ECS, Lambda, EventBridge Scheduler, EventBridge).
  IAM roles are global, so the spoke creates it in one region per account (`ReaderRoleRegion`), and it reads every
  region of its account.
- A rule on the default bus that forwards completed ECS service deployments to the hub's bus, with a role that may
  put events on that one bus only, and a dead-letter queue. The spoke in the hub's own account and region has no
  rule: the hub's own rule sees those deployments already.

Every setting is a CloudFormation parameter whose default comes from CDK context, so the same template deploys
per account with `cdk deploy` and to an Organization as a StackSet with parameter overrides. No assets and no
bootstrap version check: an account without a CDK bootstrap takes the template as it is.
"""

from __future__ import annotations

from typing import cast

from aws_cdk import (
    Aws,
    CfnCondition,
    CfnOutput,
    CfnParameter,
    CfnResource,
    Fn,
    LegacyStackSynthesizer,
    Stack,
)
from aws_cdk import aws_events as events
from aws_cdk import aws_events_targets as targets
from aws_cdk import aws_iam as iam
from aws_cdk import aws_sqs as sqs
from constructs import Construct, IConstruct

from infra.nag import acknowledge_spoke_findings
from infra.names import ResourceNames
from infra.policy_sync import IMAGE_PUSHED_PATTERN, inventory_statements
from infra.queues import dead_letter_queue
from infra.settings import ACCOUNT_ID_RE, REGION_RE, RESOURCE_PREFIX_RE, ROLE_NAME_RE, DeploySettings
from infra.tagger import DEPLOYMENT_COMPLETED_PATTERN, deployment_statements

# The hub's names, as the spoke writes them: `${ResourcePrefix}` is the parameter.
HUB_NAMES = ResourceNames("${ResourcePrefix}")
PLACEHOLDER_NAMES = ResourceNames("<prefix>")
EVENT_BUS_NAME_PATTERN = r"^[A-Za-z0-9._\-]{1,256}$"


def workload_arn(service: str, resource: str) -> str:
    """`arn:<partition>:<service>:*:<this account>:<resource>`: any region, since the reader role is global."""
    return cast(str, Fn.sub(f"arn:${{AWS::Partition}}:{service}:*:${{AWS::AccountId}}:{resource}"))


def reader_statements() -> list[iam.PolicyStatement]:
    """Exactly the read actions the hub's tagger and sync worker grant themselves in their own account, built by
    the same functions (infra/policy_sync.py, infra/tagger.py) on this account's resources; nothing that writes.
    The inventory's statements cover the tagger's other reads (services, tasks, task definitions)."""

    def arns(service: str, resource: str) -> list[str]:
        return [workload_arn(service, resource)]

    return [*inventory_statements(arns), *deployment_statements(arns)]


def only_if(condition: CfnCondition, *constructs: IConstruct) -> None:
    """Every CloudFormation resource in these constructs exists only where the condition holds."""
    for construct in constructs:
        for child in construct.node.find_all():
            if isinstance(child, CfnResource):
                child.cfn_options.condition = condition


class SpokeParameters:
    """The spoke's CloudFormation parameters; defaults from CDK context, overridable per StackSet instance."""

    def __init__(self, stack: Stack, *, settings: DeploySettings) -> None:
        hub_names = ResourceNames(settings.resource_prefix)

        def parameter(name: str, default: str | None, pattern: str, description: str) -> CfnParameter:
            # On the stack itself, so the logical ids are exactly these names (StackSet overrides use them).
            return CfnParameter(
                stack, name, type="String", default=default, allowed_pattern=pattern, description=description
            )

        self.hub_account_id = parameter(
            "HubAccountId",
            settings.hub_account_id,
            ACCOUNT_ID_RE.pattern,
            "The registry (hub) account that runs the EcrHousekeeper stack (context housekeeper:hubAccountId).",
        )
        self.hub_region = parameter(
            "HubRegion",
            settings.hub_region,
            REGION_RE.pattern,
            "The region of the hub's EcrHousekeeper stack and event bus (context housekeeper:hubRegion).",
        )
        self.hub_event_bus_name = parameter(
            "HubEventBusName",
            hub_names.event_bus,
            EVENT_BUS_NAME_PATTERN,
            "The hub's bus for forwarded events, <resourcePrefix>-events.",
        )
        self.resource_prefix = parameter(
            "ResourcePrefix",
            settings.resource_prefix,
            RESOURCE_PREFIX_RE.pattern,
            "The hub's housekeeper:resourcePrefix: it names the hub roles the reader role trusts "
            f"({PLACEHOLDER_NAMES.tagger_role}, {PLACEHOLDER_NAMES.worker_role}), and this stack's rule and queue.",
        )
        self.reader_role_name = parameter(
            "ReaderRoleName",
            settings.reader_role_name,
            ROLE_NAME_RE.pattern,
            "The read-only role the hub assumes (context housekeeper:readerRoleName, the config accounts[].roleName).",
        )
        self.operator_role_arns = CfnParameter(
            stack,
            "OperatorRoleArns",
            type="CommaDelimitedList",
            default=",".join(settings.operator_role_arns),
            description="Roles of the people who run the housekeeper CLI across accounts; the reader role trusts them "
            "too (context housekeeper:operatorRoleArns; empty: only the hub's Lambda roles).",
        )
        self.reader_role_region = parameter(
            "ReaderRoleRegion",
            settings.spoke_reader_role_region,
            REGION_RE.pattern,
            "IAM roles are global: the one region per account whose stack creates the reader role "
            "(context housekeeper:readerRoleRegion, default the hub region).",
        )


class SpokeStack(Stack):  # type: ignore[misc]  # CDK types are opaque to mypy (follow_imports=skip)
    """The reader role and the deployment-event forwarding of one workload account and region."""

    def __init__(self, scope: Construct, construct_id: str, *, settings: DeploySettings, **kwargs: object) -> None:
        super().__init__(
            scope,
            construct_id,
            description="ECR Housekeeper spoke: read-only role for the hub, ECS deployment events to the hub's bus",
            # No assets, the deployer's own credentials and the template passed inline (it is a few KB): neither
            # `cdk deploy` nor a StackSet needs a CDK bootstrap in a workload account; no bootstrap version check.
            synthesizer=LegacyStackSynthesizer(),
            analytics_reporting=False,
            **kwargs,  # type: ignore[arg-type]
        )
        self.parameters = SpokeParameters(self, settings=settings)
        self.create_reader_role = CfnCondition(
            self,
            "CreateReaderRole",
            expression=Fn.condition_equals(Aws.REGION, self.parameters.reader_role_region.value_as_string),
        )
        self.forward_deployments = CfnCondition(
            self,
            "ForwardDeployments",
            expression=Fn.condition_not(
                Fn.condition_and(
                    Fn.condition_equals(Aws.ACCOUNT_ID, self.parameters.hub_account_id.value_as_string),
                    Fn.condition_equals(Aws.REGION, self.parameters.hub_region.value_as_string),
                )
            ),
        )
        # A spoke in the registry account, in another registry region, also forwards that region's image pushes,
        # so a new repository there gets its policy at once rather than at the next sweep.
        self.forward_pushes = CfnCondition(
            self,
            "ForwardPushes",
            expression=Fn.condition_and(
                Fn.condition_equals(Aws.ACCOUNT_ID, self.parameters.hub_account_id.value_as_string),
                Fn.condition_not(Fn.condition_equals(Aws.REGION, self.parameters.hub_region.value_as_string)),
            ),
        )
        self.reader_role = self._reader_role()
        self.forward_dead_letter_queue = dead_letter_queue(
            self, "ForwardDeadLetterQueue", queue_name=Fn.sub(HUB_NAMES.spoke_forward_dlq)
        )
        self.forward_rule = self._forwarding(self.forward_dead_letter_queue)
        acknowledge_spoke_findings(
            reader_role=self.reader_role, forward_dead_letter_queue=self.forward_dead_letter_queue
        )

    def _reader_role(self) -> iam.Role:
        hub_roles = [
            Fn.sub(f"arn:${{AWS::Partition}}:iam::${{HubAccountId}}:role/{name}")
            for name in (HUB_NAMES.tagger_role, HUB_NAMES.worker_role)
        ]
        role = iam.Role(
            self,
            "ReaderRole",
            role_name=self.parameters.reader_role_name.value_as_string,
            # The hub account as principal, narrowed to the two hub roles: a trust policy that named the roles
            # themselves would fail while they do not exist yet, and would break if they were ever re-created.
            assumed_by=iam.AccountPrincipal(self.parameters.hub_account_id.value_as_string).with_conditions(
                {"ArnEquals": {"aws:PrincipalArn": hub_roles}}
            ),
            description="ECR Housekeeper: read-only view of this account for the hub's tagger and sync worker",
            inline_policies={"ReadOnly": iam.PolicyDocument(statements=reader_statements())},
        )
        # The operators' roles, for the CLI's inventory, plan, backfill and report across accounts (read-only, as
        # the role is). With none listed the condition names no ARN and this statement lets nobody in.
        role.assume_role_policy.add_statements(
            iam.PolicyStatement(
                actions=["sts:AssumeRole"],
                principals=[iam.AccountPrincipal(self.parameters.hub_account_id.value_as_string)],
                conditions={"ArnLike": {"aws:PrincipalArn": self.parameters.operator_role_arns.value_as_list}},
            )
        )
        only_if(self.create_reader_role, role)
        CfnOutput(self, "ReaderRoleArn", value=role.role_arn).condition = self.create_reader_role
        return role

    def _forwarding(self, dead_letters: sqs.IQueue) -> events.Rule:
        bus_arn = Fn.sub("arn:${AWS::Partition}:events:${HubRegion}:${HubAccountId}:event-bus/${HubEventBusName}")
        hub_bus = events.EventBus.from_event_bus_arn(self, "HubEventBus", bus_arn)
        role = iam.Role(
            self,
            "ForwardRole",
            assumed_by=iam.ServicePrincipal(
                "events.amazonaws.com", conditions={"StringEquals": {"aws:SourceAccount": Aws.ACCOUNT_ID}}
            ),
            description="ECR Housekeeper: EventBridge puts forwarded ECS deployment events on the hub's bus",
        )
        rule = events.Rule(
            self,
            "ForwardRule",
            rule_name=Fn.sub(HUB_NAMES.spoke_forward_rule),
            description="A service deployment completed: forward it to the ECR Housekeeper hub's bus",
            event_pattern=DEPLOYMENT_COMPLETED_PATTERN,
            # The target's role gets events:PutEvents on exactly this bus ARN (CDK adds it, nothing else).
            targets=[targets.EventBus(hub_bus, role=role, dead_letter_queue=dead_letters)],
        )
        only_if(self.forward_deployments, role, dead_letters, rule)
        self.forward_push_rule = events.Rule(
            self,
            "ForwardPushRule",
            rule_name=Fn.sub(HUB_NAMES.spoke_push_rule),
            description="An image was pushed to the registry in this region: forward it to the hub's bus",
            event_pattern=IMAGE_PUSHED_PATTERN,
            # No dead-letter queue: a push that cannot be forwarded costs nothing but time, the daily sweep syncs
            # every repository of every registry region anyway.
            targets=[targets.EventBus(hub_bus, role=role)],
        )
        only_if(self.forward_pushes, self.forward_push_rule)
        CfnOutput(self, "HubEventBusArn", value=bus_arn)
        return rule
