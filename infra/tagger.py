"""The tagger: on every completed ECS service deployment, tag the deployed digests `<env prefix>-<build>`."""

from __future__ import annotations

from aws_cdk import Duration
from aws_cdk import aws_events as events
from aws_cdk import aws_iam as iam
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_sqs as sqs
from constructs import Construct

from infra.function import FunctionSpec, HousekeeperFunction, account_arn, eventbridge_target, read_config_statement
from infra.names import TAGGER_HANDLER, ResourceNames
from infra.queues import dead_letter_queue
from infra.settings import DeploySettings

DEPLOYMENT_COMPLETED_PATTERN = events.EventPattern(
    source=["aws.ecs"],
    detail_type=["ECS Deployment State Change"],
    detail={"eventName": ["SERVICE_DEPLOYMENT_COMPLETED"]},
)


def tagger_statements(parameter_arn: str, sync_queue_arn: str) -> list[iam.PolicyStatement]:
    """Exactly what tag_deployment calls: read the deployment from ECS, read and retag images in ECR, and queue a
    policy sync of the repositories it deployed."""
    return [
        iam.PolicyStatement(
            sid="RetagImages",
            actions=["ecr:BatchGetImage", "ecr:DescribeImages", "ecr:PutImage"],
            resources=[account_arn("ecr", "repository/*")],
        ),
        iam.PolicyStatement(
            sid="ReadDeployedServices",
            actions=["ecs:DescribeServices"],
            resources=[account_arn("ecs", "service/*")],
        ),
        iam.PolicyStatement(
            sid="ReadServiceDeployments",
            actions=["ecs:DescribeServiceDeployments"],
            resources=[account_arn("ecs", "service-deployment/*")],
        ),
        iam.PolicyStatement(
            sid="ReadServiceRevisions",
            actions=["ecs:DescribeServiceRevisions"],
            resources=[account_arn("ecs", "service-revision/*")],
        ),
        iam.PolicyStatement(
            sid="ReadDeployedTasks",
            actions=["ecs:DescribeTasks"],
            resources=[account_arn("ecs", "task/*")],
        ),
        iam.PolicyStatement(
            # Neither action supports resource-level permissions (IAM requires "*").
            sid="ListTasksAndReadTaskDefinitions",
            actions=["ecs:DescribeTaskDefinition", "ecs:ListTasks"],
            resources=["*"],
        ),
        read_config_statement(parameter_arn),
        iam.PolicyStatement(sid="QueueRepositorySyncs", actions=["sqs:SendMessage"], resources=[sync_queue_arn]),
    ]


class Tagger(Construct):  # type: ignore[misc]  # CDK types are opaque to mypy (follow_imports=skip)
    """ECS Deployment State Change → tag_deployment, with retries, an event age limit and a dead-letter queue."""

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
                statements=tagger_statements(parameter_arn, sync_queue.queue_arn),
                environment={
                    "HOUSEKEEPER_CONFIG_PARAMETER": parameter_name,
                    "HOUSEKEEPER_SYNC_QUEUE_URL": sync_queue.queue_url,
                },
                async_dead_letter_queue=self.dead_letter_queue,
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
