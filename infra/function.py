"""The one shape every Housekeeper Lambda shares: its own role, its own log group, Powertools, X-Ray, bounds.

Each function gets a dedicated role whose only policy is the explicit statement list its construct passes in (plus
writing to its own log group), so a reviewer reads a function's whole permission set in one place.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import cast

from aws_cdk import Duration, Fn, RemovalPolicy
from aws_cdk import aws_events_targets as targets
from aws_cdk import aws_iam as iam
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_logs as logs
from aws_cdk import aws_sqs as sqs
from constructs import Construct

from infra.names import METRICS_NAMESPACE, SERVICE
from infra.settings import DeploySettings

PROJECT_ROOT = Path(__file__).resolve().parent.parent
LAMBDA_SOURCE = PROJECT_ROOT / "lambdas"
# The asset is the plain runtime package: no build step, no Docker. Everything else in lambdas/ stays out.
ASSET_EXCLUDE = [
    "*.egg-info",
    "**/__pycache__",
    "**/*.pyc",
    "**/.mypy_cache",
    "housekeeper/cli",
    "housekeeper/operator",  # the CLI's report and native preview
    "**/tests",
]

_APPLICATION_LOG_LEVELS = {
    "DEBUG": lambda_.ApplicationLogLevel.DEBUG,
    "INFO": lambda_.ApplicationLogLevel.INFO,
    "WARNING": lambda_.ApplicationLogLevel.WARN,
    "ERROR": lambda_.ApplicationLogLevel.ERROR,
}


# EventBridge keeps retrying a failed delivery for this long, this many times, before the event goes to the DLQ.
TARGET_RETRY_ATTEMPTS = 8
TARGET_MAX_EVENT_AGE = Duration.hours(6)


def account_arn(service: str, resource: str) -> str:
    """`arn:<partition>:<service>:<region>:<account>:<resource>` for this stack's account and region."""
    return cast(str, Fn.sub(f"arn:${{AWS::Partition}}:{service}:${{AWS::Region}}:${{AWS::AccountId}}:{resource}"))


def read_config_statement(parameter_arn: str) -> iam.PolicyStatement:
    """Every function reads the central config parameter, and only that one."""
    return iam.PolicyStatement(sid="ReadConfig", actions=["ssm:GetParameter"], resources=[parameter_arn])


@dataclass(frozen=True)
class FunctionSpec:
    """What differs between the functions; everything else is shared."""

    function_name: str
    handler: str
    description: str
    timeout: Duration
    memory_mb: int
    statements: Sequence[iam.PolicyStatement]
    environment: Mapping[str, str]
    reserved_concurrency: int | None = None
    # Asynchronous invocations (EventBridge): failures after Lambda's retries go to this queue.
    async_dead_letter_queue: sqs.IQueue | None = None
    # A fixed role name, for roles that another account's trust policy names (the spoke's reader role).
    role_name: str | None = None


class HousekeeperFunction(Construct):  # type: ignore[misc]  # CDK types are opaque to mypy (follow_imports=skip)
    """A python3.13 arm64 function with Powertools, X-Ray, JSON logs, a retained log group and its own role."""

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        spec: FunctionSpec,
        settings: DeploySettings,
        code: lambda_.Code,
        powertools_layer: lambda_.ILayerVersion,
    ) -> None:
        super().__init__(scope, construct_id)
        self.log_group = logs.LogGroup(
            self,
            "Logs",
            retention=_RETENTION[settings.log_retention_days],
            removal_policy=RemovalPolicy.RETAIN if settings.retain_logs else RemovalPolicy.DESTROY,
        )
        write_logs = iam.PolicyStatement(
            sid="WriteOwnLogGroup",
            actions=["logs:CreateLogStream", "logs:PutLogEvents"],
            resources=[self.log_group.log_group_arn],
        )
        self.role = iam.Role(
            self,
            "Role",
            assumed_by=iam.ServicePrincipal("lambda.amazonaws.com"),
            role_name=spec.role_name,
            description=f"Least-privilege role of {spec.function_name}",
            inline_policies={
                "LeastPrivilege": iam.PolicyDocument(statements=[write_logs, *spec.statements]),
            },
        )
        async_options: dict[str, object] = {}
        if spec.async_dead_letter_queue is not None:
            async_options = {
                "dead_letter_queue": spec.async_dead_letter_queue,
                "retry_attempts": 2,
                "max_event_age": Duration.hours(6),
            }
        self.function = lambda_.Function(
            self,
            "Function",
            function_name=spec.function_name,
            description=spec.description,
            runtime=lambda_.Runtime.PYTHON_3_13,
            architecture=lambda_.Architecture.ARM_64,
            handler=spec.handler,
            code=code,
            layers=[powertools_layer],
            role=self.role,
            timeout=spec.timeout,
            memory_size=spec.memory_mb,
            tracing=lambda_.Tracing.ACTIVE,
            log_group=self.log_group,
            logging_format=lambda_.LoggingFormat.JSON,
            application_log_level_v2=_APPLICATION_LOG_LEVELS[settings.log_level],
            system_log_level_v2=lambda_.SystemLogLevel.WARN,
            reserved_concurrent_executions=spec.reserved_concurrency,
            environment={
                "POWERTOOLS_SERVICE_NAME": SERVICE,
                "POWERTOOLS_METRICS_NAMESPACE": METRICS_NAMESPACE,
                "POWERTOOLS_LOG_LEVEL": settings.log_level,
                **spec.environment,
            },
            **async_options,  # type: ignore[arg-type]
        )


_RETENTION = {
    1: logs.RetentionDays.ONE_DAY,
    3: logs.RetentionDays.THREE_DAYS,
    5: logs.RetentionDays.FIVE_DAYS,
    7: logs.RetentionDays.ONE_WEEK,
    14: logs.RetentionDays.TWO_WEEKS,
    30: logs.RetentionDays.ONE_MONTH,
    60: logs.RetentionDays.TWO_MONTHS,
    90: logs.RetentionDays.THREE_MONTHS,
    120: logs.RetentionDays.FOUR_MONTHS,
    150: logs.RetentionDays.FIVE_MONTHS,
    180: logs.RetentionDays.SIX_MONTHS,
    365: logs.RetentionDays.ONE_YEAR,
    400: logs.RetentionDays.THIRTEEN_MONTHS,
    545: logs.RetentionDays.EIGHTEEN_MONTHS,
    731: logs.RetentionDays.TWO_YEARS,
    1096: logs.RetentionDays.THREE_YEARS,
    1827: logs.RetentionDays.FIVE_YEARS,
    2192: logs.RetentionDays.SIX_YEARS,
    2557: logs.RetentionDays.SEVEN_YEARS,
    2922: logs.RetentionDays.EIGHT_YEARS,
}


def eventbridge_target(function: HousekeeperFunction, dead_letter_queue: sqs.IQueue) -> targets.LambdaFunction:
    """An EventBridge rule's target: the function, with retries, an event age limit and a dead-letter queue."""
    return targets.LambdaFunction(
        function.function,
        dead_letter_queue=dead_letter_queue,
        retry_attempts=TARGET_RETRY_ATTEMPTS,
        max_event_age=TARGET_MAX_EVENT_AGE,
    )


def python_code() -> lambda_.Code:
    """The `lambdas/` folder as a plain asset: runtime code only."""
    return lambda_.Code.from_asset(str(LAMBDA_SOURCE), exclude=ASSET_EXCLUDE)
