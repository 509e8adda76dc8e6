"""cdk-nag acknowledgements: every finding the stacks keep on purpose, by its exact granular id, with the reason.

Each acknowledgement sits on the one role, function or queue it is about, never on a stack, so a new wildcard or a
new function elsewhere still fails `make nag`.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from aws_cdk import Acknowledgment, Validations
from constructs import IConstruct

if TYPE_CHECKING:
    from infra.function import HousekeeperFunction
    from infra.settings import DeploySettings

PLUGIN = "AwsSolutions::"

# Resource patterns of the hub's account, as (service, resource): one ARN per registry region, each a finding.
ECR_REPOSITORIES = ("ecr", "repository/*")
ECS_SERVICES = ("ecs", "service/*")
ECS_SERVICE_DEPLOYMENTS = ("ecs", "service-deployment/*")
ECS_SERVICE_REVISIONS = ("ecs", "service-revision/*")
ECS_TASKS = ("ecs", "task/*")
LAMBDA_FUNCTIONS = ("lambda", "function:*")
SCHEDULES = ("scheduler", "schedule/*")
EVENT_RULES = ("events", "rule/*")
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
}
RUNTIME_REASON = (
    "python3.13 is pinned on purpose: the public Powertools layer is resolved for python3.13 arm64, and the "
    "code is tested on 3.13. Moving to a newer runtime is a deliberate upgrade, not a drift fix."
)
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


def regional_findings(settings: DeploySettings, *patterns: tuple[str, str]) -> dict[str, str]:
    """The granular id and reason of each pattern in each registry region (the stack's own region by default)."""
    findings: dict[str, str] = {}
    for service, resource in patterns:
        reason = REASONS[(service, resource)]
        if not settings.registry_regions:
            findings[_regional_id(service, resource, "<AWS::Region>")] = reason
        for region in settings.registry_regions:
            findings[_regional_id(service, resource, region)] = (
                f"{reason} Region {region} is one of the registry regions (context housekeeper:registryRegions), "
                "where this account's repositories and the images it runs itself are."
            )
    return findings


def _regional_id(service: str, resource: str, region: str) -> str:
    return f"AwsSolutions-IAM5[Resource::arn:<AWS::Partition>:{service}:{region}:<AWS::AccountId>:{resource}]"


def organization_reader_findings(settings: DeploySettings) -> dict[str, str]:
    """In Organization mode, sts:AssumeRole names the reader role in any account, narrowed by aws:ResourceOrgID."""
    if settings.workload_accounts or not settings.organization_id:
        return {}
    finding = f"AwsSolutions-IAM5[Resource::arn:<AWS::Partition>:iam::*:role/{settings.reader_role_name}]"
    return {
        finding: (
            f"Organization mode (context housekeeper:organizationId = {settings.organization_id}): IAM cannot list an "
            "Organization's accounts in a resource ARN, so the account is '*' and the condition aws:ResourceOrgID "
            "limits sts:AssumeRole to the read-only reader role of accounts in this Organization only."
        )
    }


def acknowledge_findings(
    settings: DeploySettings,
    *,
    tagger: HousekeeperFunction,
    dispatcher: HousekeeperFunction,
    worker: HousekeeperFunction,
) -> None:
    """The deliberate findings of the hub, each on the function (and role) it concerns."""
    readers = organization_reader_findings(settings)

    tagger_patterns = (ECR_REPOSITORIES, ECS_SERVICES, ECS_SERVICE_DEPLOYMENTS, ECS_SERVICE_REVISIONS, ECS_TASKS)
    for finding, reason in {**regional_findings(settings, *tagger_patterns), **readers}.items():
        _acknowledge(tagger.role, finding, reason)
    _acknowledge(
        tagger.role,
        ANY_RESOURCE,
        f"{_unscoped_ecs_reason('ecs:DescribeTaskDefinition', 'ecs:ListTasks')} {XRAY_REASON}",
    )

    for finding, reason in regional_findings(settings, ECR_REPOSITORIES).items():
        _acknowledge(dispatcher.role, finding, reason)
    _acknowledge(dispatcher.role, ANY_RESOURCE, XRAY_REASON)

    worker_patterns = (ECR_REPOSITORIES, ECS_SERVICES, ECS_TASKS, LAMBDA_FUNCTIONS, SCHEDULES, EVENT_RULES)
    for finding, reason in {**regional_findings(settings, *worker_patterns), **readers}.items():
        _acknowledge(worker.role, finding, reason)
    _acknowledge(
        worker.role,
        ANY_RESOURCE,
        "The in-use inventory's listing calls support no resource ARN in IAM (Resource must be '*'): "
        "ecs:DescribeTaskDefinition, ecs:ListClusters, ecs:ListServices, ecs:ListTaskDefinitionFamilies, "
        "ecs:ListTaskDefinitions, ecs:ListTasks, events:ListEventBuses, events:ListRules, lambda:ListFunctions, "
        f"scheduler:ListScheduleGroups and scheduler:ListSchedules; all read-only. {XRAY_REASON}",
    )

    for function in (tagger, dispatcher, worker):
        _acknowledge(function.function, LATEST_RUNTIME, RUNTIME_REASON)


# The spoke's reader role is global (one per workload account), so its ARNs name every region of that account.
SPOKE_READER_FINDINGS = {
    "AwsSolutions-IAM5[Resource::arn:<AWS::Partition>:ecs:*:<AWS::AccountId>:service/*]": (
        "The hub's tagger reads whichever service just deployed, and the in-use inventory every service, in any "
        "cluster and region of this workload account; account-pinned and read-only (ecs:DescribeServices)."
    ),
    "AwsSolutions-IAM5[Resource::arn:<AWS::Partition>:ecs:*:<AWS::AccountId>:service-deployment/*]": (
        "The hub's tagger reads the service deployment named by a forwarded ECS event, in any cluster and region "
        "of this workload account; account-pinned and read-only (ecs:DescribeServiceDeployments)."
    ),
    "AwsSolutions-IAM5[Resource::arn:<AWS::Partition>:ecs:*:<AWS::AccountId>:service-revision/*]": (
        "The hub's tagger reads the service revisions of a completed deployment to find the deployed digests, in "
        "any cluster and region of this workload account; account-pinned and read-only."
    ),
    "AwsSolutions-IAM5[Resource::arn:<AWS::Partition>:ecs:*:<AWS::AccountId>:task/*]": (
        "Running tasks are described to find the image digests in use, in any cluster and region of this workload "
        "account; account-pinned and read-only (ecs:DescribeTasks)."
    ),
    "AwsSolutions-IAM5[Resource::arn:<AWS::Partition>:lambda:*:<AWS::AccountId>:function:*]": (
        "The in-use inventory reads every container-image function (GetFunction, ListAliases) of this workload "
        "account in every configured region; account-pinned and read-only."
    ),
    "AwsSolutions-IAM5[Resource::arn:<AWS::Partition>:scheduler:*:<AWS::AccountId>:schedule/*]": (
        "The in-use inventory reads the EventBridge Scheduler schedules that run ECS tasks (GetSchedule), in every "
        "schedule group and region of this workload account; account-pinned and read-only."
    ),
    "AwsSolutions-IAM5[Resource::arn:<AWS::Partition>:events:*:<AWS::AccountId>:rule/*]": (
        "The in-use inventory lists the targets of every EventBridge rule (ListTargetsByRule) on every bus and in "
        "every region of this workload account; account-pinned and read-only."
    ),
    ANY_RESOURCE: (
        "The listing calls of the tagger and the in-use inventory support no resource ARN in IAM (Resource must be "
        "'*'): ecs:DescribeTaskDefinition, ecs:ListClusters, ecs:ListServices, ecs:ListTaskDefinitionFamilies, "
        "ecs:ListTaskDefinitions, ecs:ListTasks, events:ListEventBuses, events:ListRules, lambda:ListFunctions, "
        "scheduler:ListScheduleGroups and scheduler:ListSchedules; all read-only."
    ),
}
EVENT_TARGET_DLQ = "AwsSolutions-SQS3"
EVENT_TARGET_DLQ_REASON = (
    "This queue is the dead-letter queue of the forwarding rule's EventBridge target (events that could not be put "
    "on the hub's bus); cdk-nag recognises only SQS redrive and Lambda dead-letter queues. A queue behind a "
    "dead-letter queue would only move the same events once more."
)


def acknowledge_spoke_findings(*, reader_role: IConstruct, forward_dead_letter_queue: IConstruct) -> None:
    """The deliberate findings of the spoke: the reader role's account-wide reads, and the target's DLQ."""
    for finding, reason in SPOKE_READER_FINDINGS.items():
        _acknowledge(reader_role, finding, reason)
    _acknowledge(forward_dead_letter_queue, EVENT_TARGET_DLQ, EVENT_TARGET_DLQ_REASON)
