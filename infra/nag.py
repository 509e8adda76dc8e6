"""cdk-nag acknowledgements: every finding the stack keeps on purpose, by its exact granular id, with the reason.

Each acknowledgement sits on the one role or function it is about, never on the stack, so a new wildcard or a new
function elsewhere still fails `make nag`.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from aws_cdk import Acknowledgment, Validations
from constructs import IConstruct

if TYPE_CHECKING:
    from infra.function import HousekeeperFunction

PLUGIN = "AwsSolutions::"

# Granular finding ids, exactly as cdk-nag reports them.
ECR_REPOSITORIES = "AwsSolutions-IAM5[Resource::arn:<AWS::Partition>:ecr:<AWS::Region>:<AWS::AccountId>:repository/*]"
ECS_SERVICES = "AwsSolutions-IAM5[Resource::arn:<AWS::Partition>:ecs:<AWS::Region>:<AWS::AccountId>:service/*]"
ECS_SERVICE_DEPLOYMENTS = (
    "AwsSolutions-IAM5[Resource::arn:<AWS::Partition>:ecs:<AWS::Region>:<AWS::AccountId>:service-deployment/*]"
)
ECS_SERVICE_REVISIONS = (
    "AwsSolutions-IAM5[Resource::arn:<AWS::Partition>:ecs:<AWS::Region>:<AWS::AccountId>:service-revision/*]"
)
ECS_TASKS = "AwsSolutions-IAM5[Resource::arn:<AWS::Partition>:ecs:<AWS::Region>:<AWS::AccountId>:task/*]"
LAMBDA_FUNCTIONS = "AwsSolutions-IAM5[Resource::arn:<AWS::Partition>:lambda:<AWS::Region>:<AWS::AccountId>:function:*]"
SCHEDULES = "AwsSolutions-IAM5[Resource::arn:<AWS::Partition>:scheduler:<AWS::Region>:<AWS::AccountId>:schedule/*]"
EVENT_RULES = "AwsSolutions-IAM5[Resource::arn:<AWS::Partition>:events:<AWS::Region>:<AWS::AccountId>:rule/*]"
ANY_RESOURCE = "AwsSolutions-IAM5[Resource::*]"
LATEST_RUNTIME = "AwsSolutions-L1"

REASONS = {
    ECR_REPOSITORIES: (
        "The product manages every repository the central config selects, and the config (include/exclude globs) "
        "changes at runtime without a deploy; the ARN is pinned to this account and region, and the actions are "
        "the few the function calls (never ecr:BatchDeleteImage)."
    ),
    ECS_SERVICES: (
        "The tagger reads whichever service just deployed (any cluster of this account and region); the ARN is "
        "pinned to this account and region and the action is read-only."
    ),
    ECS_SERVICE_DEPLOYMENTS: (
        "The tagger reads the service deployment named by the ECS event, which can be in any cluster of this "
        "account and region; read-only."
    ),
    ECS_SERVICE_REVISIONS: (
        "The tagger reads the service revisions of the completed deployment to find the deployed image digests; "
        "any cluster of this account and region; read-only."
    ),
    ECS_TASKS: (
        "Running tasks are described to find the image digests in use, in any cluster the config's cluster globs "
        "match; the ARN is pinned to this account and region and the action is read-only."
    ),
    LAMBDA_FUNCTIONS: (
        "The in-use inventory reads every container-image function (GetFunction, ListAliases) to protect the images "
        "it and its aliases run; any function of this account and region; read-only."
    ),
    SCHEDULES: (
        "The in-use inventory reads the EventBridge Scheduler schedules that run ECS tasks (GetSchedule), in every "
        "schedule group of this account and region; read-only."
    ),
    EVENT_RULES: (
        "The in-use inventory lists the targets of every EventBridge rule (ListTargetsByRule) on every event bus of "
        "this account and region, to find the ones that run ECS tasks; read-only."
    ),
    LATEST_RUNTIME: (
        "python3.13 is pinned on purpose: the public Powertools layer is resolved for python3.13 arm64, and the "
        "code is tested on 3.13. Moving to a newer runtime is a deliberate upgrade, not a drift fix."
    ),
}
XRAY_REASON = (
    "X-Ray tracing (Tracing.ACTIVE): xray:PutTraceSegments and xray:PutTelemetryRecords support no resource-level "
    "permissions, so IAM requires Resource '*'. CDK adds exactly these two actions."
)


def _unscoped_ecs_reason(*actions: str) -> str:
    return (
        f"{' and '.join(actions)} support no resource ARN in IAM (Resource must be '*'); read-only, and only the "
        "ones this function calls."
    )


def _acknowledge(construct: IConstruct, finding: str, reason: str) -> None:
    Validations.of(construct).acknowledge(Acknowledgment(id=PLUGIN + finding, reason=reason))


def acknowledge_findings(
    *, tagger: HousekeeperFunction, dispatcher: HousekeeperFunction, worker: HousekeeperFunction
) -> None:
    """The deliberate findings, each on the function (and role) it concerns."""

    for finding in (ECR_REPOSITORIES, ECS_SERVICES, ECS_SERVICE_DEPLOYMENTS, ECS_SERVICE_REVISIONS, ECS_TASKS):
        _acknowledge(tagger.role, finding, REASONS[finding])
    _acknowledge(
        tagger.role,
        ANY_RESOURCE,
        f"{_unscoped_ecs_reason('ecs:DescribeTaskDefinition', 'ecs:ListTasks')} {XRAY_REASON}",
    )

    _acknowledge(dispatcher.role, ECR_REPOSITORIES, REASONS[ECR_REPOSITORIES])
    _acknowledge(dispatcher.role, ANY_RESOURCE, XRAY_REASON)

    for finding in (ECR_REPOSITORIES, ECS_SERVICES, ECS_TASKS, LAMBDA_FUNCTIONS, SCHEDULES, EVENT_RULES):
        _acknowledge(worker.role, finding, REASONS[finding])
    _acknowledge(
        worker.role,
        ANY_RESOURCE,
        "The in-use inventory's listing calls support no resource ARN in IAM (Resource must be '*'): "
        "ecs:DescribeTaskDefinition, ecs:ListClusters, ecs:ListServices, ecs:ListTaskDefinitionFamilies, "
        "ecs:ListTaskDefinitions, ecs:ListTasks, events:ListEventBuses, events:ListRules, lambda:ListFunctions, "
        f"scheduler:ListScheduleGroups and scheduler:ListSchedules; all read-only. {XRAY_REASON}",
    )

    for function in (tagger, dispatcher, worker):
        _acknowledge(function.function, LATEST_RUNTIME, REASONS[LATEST_RUNTIME])
