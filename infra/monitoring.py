"""Alarms, an encrypted SNS topic for them, and the on-call dashboard.

Metric names come from `housekeeper.observability`, the module the Lambdas emit with, so a renamed metric cannot
silently leave an alarm watching nothing. Powertools Metrics (with `service` set) puts every metric under the
`EcrHousekeeper` namespace with the single dimension `service=ecr-housekeeper`.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from aws_cdk import Duration, RemovalPolicy
from aws_cdk import aws_cloudwatch as cw
from aws_cdk import aws_cloudwatch_actions as cw_actions
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_sns as sns
from aws_cdk import aws_sns_subscriptions as subscriptions
from aws_cdk import aws_sqs as sqs
from constructs import Construct
from housekeeper import observability as metric_names

from infra.names import METRICS_NAMESPACE, SERVICE, ResourceNames

PERIOD = Duration.minutes(5)


@dataclass(frozen=True)
class WatchedFunction:
    label: str
    function: lambda_.IFunction


@dataclass(frozen=True)
class WatchedQueue:
    label: str
    queue: sqs.IQueue


def product_metric(name: str, label: str | None = None) -> cw.Metric:
    """A Housekeeper metric as Powertools emits it: namespace EcrHousekeeper, dimension service."""
    return cw.Metric(
        namespace=METRICS_NAMESPACE,
        metric_name=name,
        dimensions_map={"service": SERVICE},
        statistic=cw.Stats.SUM,
        period=PERIOD,
        label=label,
    )


class Monitoring(Construct):  # type: ignore[misc]  # CDK types are opaque to mypy (follow_imports=skip)
    """One alarm per failure an operator must act on; all of them notify one topic."""

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        names: ResourceNames,
        functions: Sequence[WatchedFunction],
        dead_letter_queues: Sequence[WatchedQueue],
        sync_queue: sqs.IQueue,
        alarm_email: str | None,
    ) -> None:
        super().__init__(scope, construct_id)
        self.topic_key = kms.Key(
            self,
            "AlarmTopicKey",
            description="Encrypts the ECR Housekeeper alarm topic",
            enable_key_rotation=True,
            removal_policy=RemovalPolicy.DESTROY,
            pending_window=Duration.days(7),
        )
        # CloudWatch publishes alarm notifications to the encrypted topic; it needs to use this key to do so.
        self.topic_key.add_to_resource_policy(
            iam.PolicyStatement(
                sid="AllowCloudWatchAlarmsToUseTheKey",
                principals=[iam.ServicePrincipal("cloudwatch.amazonaws.com")],
                actions=["kms:Decrypt", "kms:GenerateDataKey*"],
                resources=["*"],
            )
        )
        self.topic = sns.Topic(
            self,
            "AlarmTopic",
            topic_name=names.alarm_topic,
            display_name="ECR Housekeeper alarms",
            master_key=self.topic_key,
            enforce_ssl=True,
        )
        if alarm_email:
            self.topic.add_subscription(subscriptions.EmailSubscription(alarm_email))
        notify = cw_actions.SnsAction(self.topic)

        self.alarms: list[cw.Alarm] = []

        def alarm(construct_id: str, *, name: str, description: str, metric: cw.IMetric) -> cw.Alarm:
            created = cw.Alarm(
                self,
                construct_id,
                alarm_name=names.alarm(name),
                alarm_description=description,
                metric=metric,
                threshold=1,
                evaluation_periods=1,
                comparison_operator=cw.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
                treat_missing_data=cw.TreatMissingData.NOT_BREACHING,
            )
            created.add_alarm_action(notify)
            self.alarms.append(created)
            return created

        for watched_queue in dead_letter_queues:
            alarm(
                f"{watched_queue.label}DeadLettersAlarm",
                name=f"{_kebab(watched_queue.label)}-dlq-not-empty",
                description=(
                    f"Messages in the {watched_queue.label} dead-letter queue: events or syncs that failed every "
                    "retry. Inspect them, fix the cause, then redrive (docs/operations.md, Operating)."
                ),
                metric=watched_queue.queue.metric_approximate_number_of_messages_visible(
                    period=Duration.minutes(1), statistic=cw.Stats.MAXIMUM
                ),
            )
        for watched in functions:
            alarm(
                f"{watched.label}ErrorsAlarm",
                name=f"{_kebab(watched.label)}-errors",
                description=f"The {watched.label} function failed (unhandled error); see its log group.",
                metric=watched.function.metric_errors(period=PERIOD, statistic=cw.Stats.SUM),
            )
        alarm(
            "ConfigInvalidAlarm",
            name="config-invalid",
            description="The central config in SSM is invalid; nothing is synced until it is fixed (see the logs).",
            metric=product_metric(metric_names.CONFIG_INVALID),
        )
        alarm(
            "SyncBlockedAlarm",
            name="sync-blocked",
            description="The safety guard blocked a lifecycle policy change (in-use image or too many expiries).",
            metric=product_metric(metric_names.SYNC_BLOCKED),
        )
        alarm(
            "TaggingFailedAlarm",
            name="tagging-failed",
            description="A deployed image could not be tagged, so its environment may not protect it.",
            metric=product_metric(metric_names.TAGGING_FAILED),
        )
        alarm(
            "InUseImagesAtRiskAlarm",
            name="in-use-images-at-risk",
            description=(
                "The lifecycle policy ECR holds would expire or archive an image that something uses (the sync log "
                "names the digest and its consumers). In enforce mode the next sync protects it; in preview mode, "
                "or when the image cannot be protected, act now (docs/safety.md)."
            ),
            metric=product_metric(metric_names.IN_USE_IMAGES_AT_RISK),
        )
        alarm(
            "InventoryIncompleteAlarm",
            name="inventory-incomplete",
            description=(
                "A source of the in-use inventory could not be read (permissions, throttling): syncs fail closed "
                "and write nothing until it can be read again."
            ),
            metric=product_metric(metric_names.INVENTORY_INCOMPLETE),
        )

        self.dashboard = self._dashboard(names, functions, dead_letter_queues, sync_queue)

    def _dashboard(
        self,
        names: ResourceNames,
        functions: Sequence[WatchedFunction],
        dead_letter_queues: Sequence[WatchedQueue],
        sync_queue: sqs.IQueue,
    ) -> cw.Dashboard:
        dashboard = cw.Dashboard(self, "Dashboard", dashboard_name=names.dashboard)
        width = 8
        dashboard.add_widgets(
            cw.TextWidget(
                markdown=(
                    "## ECR Housekeeper\n"
                    "Tags go on at deploy time; lifecycle policies follow the SSM config. "
                    "In **preview** mode *Policies that would change* counts what **enforce** would write."
                ),
                width=24,
                height=2,
            )
        )
        dashboard.add_widgets(
            cw.GraphWidget(
                title="Tags applied",
                width=width,
                left=[
                    product_metric(metric_names.IMAGES_TAGGED, "Images tagged"),
                    product_metric(metric_names.TAGS_ALREADY_PRESENT, "Already tagged"),
                    product_metric(metric_names.IMAGES_SKIPPED, "Skipped (no env or build)"),
                    product_metric(metric_names.TAGGING_FAILED, "Tagging failed"),
                ],
            ),
            cw.GraphWidget(
                title="Repositories: in sync / updated / blocked",
                width=width,
                left=[
                    product_metric(metric_names.REPOS_IN_SYNC, "In sync"),
                    product_metric(metric_names.POLICIES_UPDATED, "Policies updated"),
                    product_metric(metric_names.POLICIES_WOULD_UPDATE, "Policies that would change (preview)"),
                    product_metric(metric_names.SYNC_BLOCKED, "Blocked by the guard"),
                    product_metric(metric_names.SYNC_FAILED, "Sync failed"),
                ],
            ),
            cw.GraphWidget(
                title="Images projected to expire; in-use images",
                width=width,
                left=[product_metric(metric_names.IMAGES_PROJECTED_TO_EXPIRE, "Images projected to expire")],
                right=[
                    product_metric(metric_names.IN_USE_IMAGES_AT_RISK, "In use, at risk"),
                    product_metric(metric_names.IN_USE_IMAGES_PROTECTED, "In use, protected by a write"),
                    product_metric(metric_names.IMAGES_PINNED, "Pin tags added"),
                ],
            ),
        )
        dashboard.add_widgets(
            cw.GraphWidget(
                title="Errors",
                width=width,
                left=[
                    *(w.function.metric_errors(period=PERIOD, label=f"{w.label} errors") for w in functions),
                    product_metric(metric_names.CONFIG_INVALID, "Config invalid"),
                ],
            ),
            cw.GraphWidget(
                title="Dead-letter queue depth",
                width=width,
                left=[
                    q.queue.metric_approximate_number_of_messages_visible(
                        period=Duration.minutes(1), statistic=cw.Stats.MAXIMUM, label=q.label
                    )
                    for q in dead_letter_queues
                ],
            ),
            cw.GraphWidget(
                title="Sync queue",
                width=width,
                left=[
                    product_metric(metric_names.REPOSITORIES_QUEUED, "Repositories queued"),
                    sync_queue.metric_approximate_number_of_messages_visible(
                        period=Duration.minutes(1), statistic=cw.Stats.MAXIMUM, label="Waiting"
                    ),
                ],
                right=[
                    sync_queue.metric_approximate_age_of_oldest_message(
                        period=Duration.minutes(1), statistic=cw.Stats.MAXIMUM, label="Oldest message (s)"
                    )
                ],
            ),
        )
        dashboard.add_widgets(cw.AlarmStatusWidget(title="Alarms", alarms=self.alarms, width=24, height=4))
        return dashboard


def _kebab(label: str) -> str:
    """`PlanSync` → `plan-sync`, for alarm names."""
    out: list[str] = []
    for index, char in enumerate(label):
        if char.isupper() and index:
            out.append("-")
        out.append(char.lower())
    return "".join(out)
