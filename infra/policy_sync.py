"""Policy sync: a dispatcher fans out one message per repository; a throttled worker syncs each lifecycle policy.

Triggers: a config change, an image push (a new repository gets its policy at once) and a daily drift sweep.
The queue between the two spreads a sweep over many repositories into a steady, rate-limited trickle of ECR calls.
"""

from __future__ import annotations

from collections.abc import Callable

from aws_cdk import Duration
from aws_cdk import aws_events as events
from aws_cdk import aws_iam as iam
from aws_cdk import aws_lambda as lambda_
from constructs import Construct

from infra.accounts import assume_reader_role_statements, registry_account_arns, repository_arns
from infra.function import FunctionSpec, HousekeeperFunction, eventbridge_target, read_config_statement
from infra.names import DISPATCHER_HANDLER, WORKER_HANDLER, ResourceNames
from infra.queues import dead_letter_queue, work_queue
from infra.settings import DeploySettings

IMAGE_PUSHED_PATTERN = events.EventPattern(
    source=["aws.ecr"],
    detail_type=["ECR Image Action"],
    detail={"action-type": ["PUSH"], "result": ["SUCCESS"]},
)
CONFIG_OPERATIONS = ["Create", "Update", "Delete"]


def config_changed_pattern(parameter_name: str) -> events.EventPattern:
    """Parameter Store Change events of the one config parameter."""
    return events.EventPattern(
        source=["aws.ssm"],
        detail_type=["Parameter Store Change"],
        detail={"name": [parameter_name], "operation": CONFIG_OPERATIONS},
    )


def dispatcher_statements(
    parameter_arn: str, queue_arn: str, settings: DeploySettings | None = None
) -> list[iam.PolicyStatement]:
    """plan_sync: read the config, list the repositories (of every registry region), queue one message each."""
    settings = settings or DeploySettings()
    return [
        iam.PolicyStatement(
            sid="ListRepositories",
            actions=["ecr:DescribeRepositories"],
            resources=repository_arns(settings.registry_regions),
        ),
        iam.PolicyStatement(sid="QueueRepositorySyncs", actions=["sqs:SendMessage"], resources=[queue_arn]),
        read_config_statement(parameter_arn),
    ]


def worker_statements(
    parameter_arn: str, queue_arn: str, settings: DeploySettings | None = None
) -> list[iam.PolicyStatement]:
    """sync_repository: read images and the current policy, pin in-use images, write the policy on drift (in every
    registry region), and read the in-use inventory (ECS, Lambda, EventBridge Scheduler, EventBridge) here and,
    through their reader role, in the workload accounts; every grant read-only but the writes."""
    settings = settings or DeploySettings()
    return [
        iam.PolicyStatement(
            sid="SyncLifecyclePolicies",
            # Exactly what sync_repository calls: DescribeImages lists every image (all statuses) with the fields
            # the evaluator needs, BatchGetImage reads image indexes for their children, PutImage adds a pin tag to
            # an untagged in-use image (never deletes, never moves a tag). GetRepositoryPolicy tells which workload
            # accounts could pull from a repository, read only when one of them could not be read (to fail closed
            # only where it matters). No DescribeRepositories, no ListImages.
            actions=[
                "ecr:BatchGetImage",
                "ecr:DescribeImages",
                "ecr:GetLifecyclePolicy",
                "ecr:GetRepositoryPolicy",
                "ecr:PutImage",
                "ecr:PutLifecyclePolicy",
            ],
            resources=repository_arns(settings.registry_regions),
        ),
        *inventory_statements(
            lambda service, resource: registry_account_arns(service, resource, settings.registry_regions)
        ),
        read_config_statement(parameter_arn),
        iam.PolicyStatement(
            # What the SQS event source mapping needs to poll with this role, and nothing more.
            sid="ConsumeSyncQueue",
            actions=["sqs:DeleteMessage", "sqs:GetQueueAttributes", "sqs:ReceiveMessage"],
            resources=[queue_arn],
        ),
        *assume_reader_role_statements(settings),
    ]


def inventory_statements(arns: Callable[[str, str], list[str]]) -> list[iam.PolicyStatement]:
    """Read-only: what the in-use inventory calls, each action on the narrowest resource IAM lets it name. `arns`
    places a resource: the hub's own account in each registry region, or (the spoke's reader role) any region of
    the workload account."""
    return [
        iam.PolicyStatement(sid="ReadRunningTasks", actions=["ecs:DescribeTasks"], resources=arns("ecs", "task/*")),
        iam.PolicyStatement(sid="ReadServices", actions=["ecs:DescribeServices"], resources=arns("ecs", "service/*")),
        iam.PolicyStatement(
            # None of these supports resource-level permissions (IAM requires "*").
            sid="ListEcsConsumers",
            actions=[
                "ecs:DescribeTaskDefinition",
                "ecs:ListClusters",
                "ecs:ListServices",
                "ecs:ListTaskDefinitionFamilies",
                "ecs:ListTaskDefinitions",
                "ecs:ListTasks",
            ],
            resources=["*"],
        ),
        iam.PolicyStatement(
            sid="ReadImageFunctions",
            actions=["lambda:GetFunction", "lambda:ListAliases"],
            resources=arns("lambda", "function:*"),
        ),
        iam.PolicyStatement(
            sid="ReadScheduledTasks",
            actions=["scheduler:GetSchedule"],
            resources=arns("scheduler", "schedule/*"),
        ),
        iam.PolicyStatement(
            sid="ReadRuleTargets",
            actions=["events:ListTargetsByRule"],
            resources=arns("events", "rule/*"),
        ),
        iam.PolicyStatement(
            # Listing calls that support no resource-level permissions (IAM requires "*").
            sid="ListFunctionsSchedulesAndRules",
            actions=[
                "events:ListEventBuses",
                "events:ListRules",
                "lambda:ListFunctions",
                "scheduler:ListScheduleGroups",
                "scheduler:ListSchedules",
            ],
            resources=["*"],
        ),
    ]


class PolicySync(Construct):  # type: ignore[misc]  # CDK types are opaque to mypy (follow_imports=skip)
    """Dispatcher (plan_sync) → sync queue → worker (sync_repository), each hop with a dead-letter queue."""

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
        forwarded_events: events.IEventBus | None = None,
    ) -> None:
        super().__init__(scope, construct_id)
        worker_timeout = Duration.seconds(settings.worker_timeout_seconds)

        self.sync_dead_letter_queue = dead_letter_queue(self, "SyncDeadLetterQueue", queue_name=names.sync_dlq)
        self.sync_queue = work_queue(
            self,
            "SyncQueue",
            queue_name=names.sync_queue,
            visibility_timeout=Duration.seconds(settings.sync_visibility_timeout_seconds),
            dead_letters=self.sync_dead_letter_queue,
            max_receive_count=settings.max_receive_count,
        )
        self.dispatcher_dead_letter_queue = dead_letter_queue(
            self, "DispatcherDeadLetterQueue", queue_name=names.dispatcher_dlq
        )

        self.dispatcher = HousekeeperFunction(
            self,
            "PlanSync",
            spec=FunctionSpec(
                function_name=names.dispatcher_function,
                handler=DISPATCHER_HANDLER,
                description="Validates the config and queues one lifecycle-policy sync per repository",
                # Lambda's maximum: a sweep of ECR's 100,000-repository limit is 100 listing calls and 10,000
                # SendMessageBatch calls, one after another (a few minutes on AWS), and a timeout would make
                # EventBridge retry the whole fan-out.
                timeout=Duration.seconds(900),
                memory_mb=256,
                statements=dispatcher_statements(parameter_arn, self.sync_queue.queue_arn, settings),
                environment={
                    "HOUSEKEEPER_CONFIG_PARAMETER": parameter_name,
                    "HOUSEKEEPER_SYNC_QUEUE_URL": self.sync_queue.queue_url,
                },
                async_dead_letter_queue=self.dispatcher_dead_letter_queue,
            ),
            settings=settings,
            code=code,
            powertools_layer=powertools_layer,
        )

        self.worker = HousekeeperFunction(
            self,
            "SyncRepository",
            spec=FunctionSpec(
                function_name=names.worker_function,
                handler=WORKER_HANDLER,
                description="Brings one repository's lifecycle policy in step with the config (preview or enforce)",
                timeout=worker_timeout,
                memory_mb=512,
                statements=worker_statements(parameter_arn, self.sync_queue.queue_arn, settings),
                environment={"HOUSEKEEPER_CONFIG_PARAMETER": parameter_name},
                reserved_concurrency=settings.worker_reserved_concurrency,
                role_name=names.worker_role,
            ),
            settings=settings,
            code=code,
            powertools_layer=powertools_layer,
        )
        # Not SqsEventSource: its grant adds actions the worker does not need. Maximum concurrency equals the
        # reserved concurrency, so the poller never invokes into a throttle (which would burn receive counts).
        self.event_source = self.worker.function.add_event_source_mapping(
            "SyncQueueSource",
            event_source_arn=self.sync_queue.queue_arn,
            batch_size=settings.worker_batch_size,
            report_batch_item_failures=True,
            max_concurrency=settings.worker_reserved_concurrency,
        )

        self.push_rule = events.Rule(
            self,
            "ImagePushed",
            rule_name=names.push_rule,
            description="An image was pushed: make sure its repository has the configured lifecycle policy",
            event_pattern=IMAGE_PUSHED_PATTERN,
            targets=[eventbridge_target(self.dispatcher, self.dispatcher_dead_letter_queue)],
        )
        # Pushes in the registry's other regions reach this region only through the hub's bus (a spoke stack in
        # the registry account forwards them); plan_sync reads the event's region and syncs the repository there.
        self.forwarded_push_rule = (
            events.Rule(
                self,
                "ForwardedImagePushed",
                rule_name=names.forwarded_push_rule,
                event_bus=forwarded_events,
                description="An image was pushed in another registry region: sync its repository there",
                event_pattern=IMAGE_PUSHED_PATTERN,
                targets=[eventbridge_target(self.dispatcher, self.dispatcher_dead_letter_queue)],
            )
            if forwarded_events is not None
            else None
        )
        self.config_rule = events.Rule(
            self,
            "ConfigChanged",
            rule_name=names.config_change_rule,
            description="The central config changed: re-sync every repository",
            event_pattern=config_changed_pattern(parameter_name),
            targets=[eventbridge_target(self.dispatcher, self.dispatcher_dead_letter_queue)],
        )
        self.sweep_rule = events.Rule(
            self,
            "DriftSweep",
            rule_name=names.sweep_rule,
            description="Scheduled drift sweep: re-sync every repository",
            schedule=events.Schedule.expression(settings.sweep_schedule),
            targets=[eventbridge_target(self.dispatcher, self.dispatcher_dead_letter_queue)],
        )
