"""The tagger: on every completed ECS service deployment, tag the deployed digests `<env prefix>-<build>`."""

from __future__ import annotations

from collections.abc import Callable

from aws_cdk import Duration
from aws_cdk import aws_events as events
from aws_cdk import aws_iam as iam
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_sqs as sqs
from constructs import Construct

from infra.accounts import assume_reader_role_statements, registry_account_arns, repository_arns
from infra.function import FunctionSpec, HousekeeperFunction, eventbridge_target, read_config_statement
from infra.names import TAGGER_HANDLER, ResourceNames
from infra.queues import dead_letter_queue
from infra.settings import DeploySettings

DEPLOYMENT_COMPLETED_PATTERN = events.EventPattern(
    source=["aws.ecs"],
    detail_type=["ECS Deployment State Change"],
    detail={"eventName": ["SERVICE_DEPLOYMENT_COMPLETED"]},
)


def deployment_statements(arns: Callable[[str, str], list[str]]) -> list[iam.PolicyStatement]:
    """What the tagger reads of a deployment beyond what the inventory reads: the service deployment and the
    revision it pinned. `arns` places a resource (see infra.policy_sync.inventory_statements)."""
    return [
        iam.PolicyStatement(
            sid="ReadServiceDeployments",
            actions=["ecs:DescribeServiceDeployments"],
            resources=arns("ecs", "service-deployment/*"),
        ),
        iam.PolicyStatement(
            sid="ReadServiceRevisions",
            actions=["ecs:DescribeServiceRevisions"],
            resources=arns("ecs", "service-revision/*"),
        ),
    ]


def tagger_statements(
    parameter_arn: str, sync_queue_arn: str, settings: DeploySettings | None = None
) -> list[iam.PolicyStatement]:
    """Exactly what tag_deployment calls: read the deployment from ECS, read and retag images in ECR (in every
    registry region), queue a policy sync of the repositories it deployed, and read deployments of workload
    accounts through their reader role."""
    settings = settings or DeploySettings()
    regions = settings.registry_regions
    return [
        iam.PolicyStatement(
            sid="RetagImages",
            actions=["ecr:BatchGetImage", "ecr:DescribeImages", "ecr:PutImage"],
            resources=repository_arns(settings.registry_regions),
        ),
        iam.PolicyStatement(
            sid="ReadDeployedServices",
            actions=["ecs:DescribeServices"],
            resources=registry_account_arns("ecs", "service/*", regions),
        ),
        *deployment_statements(lambda service, resource: registry_account_arns(service, resource, regions)),
        iam.PolicyStatement(
            sid="ReadDeployedTasks",
            actions=["ecs:DescribeTasks"],
            resources=registry_account_arns("ecs", "task/*", regions),
        ),
        iam.PolicyStatement(
            # Neither action supports resource-level permissions (IAM requires "*").
            sid="ListTasksAndReadTaskDefinitions",
            actions=["ecs:DescribeTaskDefinition", "ecs:ListTasks"],
            resources=["*"],
        ),
        read_config_statement(parameter_arn),
        iam.PolicyStatement(sid="QueueRepositorySyncs", actions=["sqs:SendMessage"], resources=[sync_queue_arn]),
        *assume_reader_role_statements(settings),
    ]


class Tagger(Construct):  # type: ignore[misc]  # CDK types are opaque to mypy (follow_imports=skip)
    """ECS Deployment State Change → tag_deployment, with retries, an event age limit and a dead-letter queue: from
    this account and region's default bus, and from the hub bus that workload accounts and regions forward to."""

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        settings: DeploySettings,
        names: ResourceNames,
        parameter_name: str,
        parameter_arn: str,
        code: lambda_.Code,
        powertools_layer: lambda_.ILayerVersion,
        sync_queue: sqs.IQueue,
        forwarded_events: events.IEventBus,
    ) -> None:
        super().__init__(scope, construct_id)
        self.dead_letter_queue = dead_letter_queue(self, "DeadLetterQueue", queue_name=names.tagger_dlq)
        self.function = HousekeeperFunction(
            self,
            "TagDeployment",
            spec=FunctionSpec(
                function_name=names.tagger_function,
                handler=TAGGER_HANDLER,
                description="Tags the images of a completed ECS deployment with <env prefix>-<build>",
                timeout=Duration.seconds(60),
                memory_mb=256,
                statements=tagger_statements(parameter_arn, sync_queue.queue_arn, settings),
                environment={
                    "HOUSEKEEPER_CONFIG_PARAMETER": parameter_name,
                    "HOUSEKEEPER_SYNC_QUEUE_URL": sync_queue.queue_url,
                },
                async_dead_letter_queue=self.dead_letter_queue,
                role_name=names.tagger_role,
            ),
            settings=settings,
            code=code,
            powertools_layer=powertools_layer,
        )
        self.rule = events.Rule(
            self,
            "DeploymentCompleted",
            rule_name=names.deployment_rule,
            description="A service deployment completed: tag the deployed images with their environment",
            event_pattern=DEPLOYMENT_COMPLETED_PATTERN,
            targets=[eventbridge_target(self.function, self.dead_letter_queue)],
        )
        self.forwarded_rule = events.Rule(
            self,
            "ForwardedDeploymentCompleted",
            rule_name=names.forwarded_deployment_rule,
            event_bus=forwarded_events,
            description="A service deployment completed in a workload account or region: tag the deployed images",
            event_pattern=DEPLOYMENT_COMPLETED_PATTERN,
            targets=[eventbridge_target(self.function, self.dead_letter_queue)],
        )
