"""The hub stack: config, tagger, policy sync, the bus for forwarded events and monitoring, wired together."""

from __future__ import annotations

from pathlib import Path
from typing import cast

from aws_cdk import CfnOutput, Stack
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_ssm as ssm
from constructs import Construct

from infra.accounts import ForwardedEventsBus
from infra.config_parameter import ConfigParameter
from infra.function import PROJECT_ROOT, python_code
from infra.monitoring import Monitoring, WatchedFunction, WatchedQueue
from infra.nag import acknowledge_findings
from infra.names import ResourceNames
from infra.policy_sync import PolicySync
from infra.settings import DeploySettings
from infra.tagger import Tagger


class HousekeeperStack(Stack):  # type: ignore[misc]  # CDK types are opaque to mypy (follow_imports=skip)
    """Everything ECR Housekeeper runs in the registry (hub) account; workload accounts get the spoke stack."""

    def __init__(self, scope: Construct, construct_id: str, *, settings: DeploySettings, **kwargs: object) -> None:
        super().__init__(
            scope,
            construct_id,
            description="ECR Housekeeper: env tags on ECS deploy, lifecycle policies in step with one SSM config",
            **kwargs,  # type: ignore[arg-type]
        )
        self.settings = settings
        names = ResourceNames(settings.resource_prefix)

        config_file = Path(settings.config_file)
        if not config_file.is_absolute():
            config_file = PROJECT_ROOT / config_file
        self.config = ConfigParameter(
            self, "Config", parameter_name=settings.config_parameter_name, config_file=config_file
        )

        code = python_code()
        powertools_layer = lambda_.LayerVersion.from_layer_version_arn(
            self, "PowertoolsLayer", self._powertools_layer_arn()
        )
        common = {
            "settings": settings,
            "names": names,
            "parameter_name": settings.config_parameter_name,
            "parameter_arn": self.config.parameter_arn,
            "code": code,
            "powertools_layer": powertools_layer,
        }
        self.forwarded_events = ForwardedEventsBus(self, "ForwardedEvents", names=names, settings=settings)
        self.policy_sync = PolicySync(
            self,
            "PolicySync",
            forwarded_events=self.forwarded_events.bus,
            **common,  # type: ignore[arg-type]
        )
        self.tagger = Tagger(
            self,
            "Tagger",
            sync_queue=self.policy_sync.sync_queue,
            forwarded_events=self.forwarded_events.bus,
            **common,  # type: ignore[arg-type]
        )

        self.monitoring = Monitoring(
            self,
            "Monitoring",
            names=names,
            functions=[
                WatchedFunction("TagDeployment", self.tagger.function.function),
                WatchedFunction("PlanSync", self.policy_sync.dispatcher.function),
                WatchedFunction("SyncRepository", self.policy_sync.worker.function),
            ],
            dead_letter_queues=[
                WatchedQueue("TagDeployment", self.tagger.dead_letter_queue),
                WatchedQueue("PlanSync", self.policy_sync.dispatcher_dead_letter_queue),
                WatchedQueue("SyncRepository", self.policy_sync.sync_dead_letter_queue),
            ],
            sync_queue=self.policy_sync.sync_queue,
            alarm_email=settings.alarm_email,
        )
        acknowledge_findings(
            settings,
            tagger=self.tagger.function,
            dispatcher=self.policy_sync.dispatcher,
            worker=self.policy_sync.worker,
        )

        CfnOutput(self, "ConfigParameterName", value=settings.config_parameter_name)
        CfnOutput(self, "SyncQueueUrl", value=self.policy_sync.sync_queue.queue_url)
        CfnOutput(self, "AlarmTopicArn", value=self.monitoring.topic.topic_arn)
        CfnOutput(self, "ForwardedEventBusArn", value=self.forwarded_events.bus.event_bus_arn)
        CfnOutput(
            self,
            "DashboardUrl",
            value=(
                f"https://console.aws.amazon.com/cloudwatch/home?region={self.region}#dashboards:name={names.dashboard}"
            ),
        )
        for label, function in (
            ("TagDeployment", self.tagger.function),
            ("PlanSync", self.policy_sync.dispatcher),
            ("SyncRepository", self.policy_sync.worker),
        ):
            CfnOutput(self, f"{label}LogGroup", value=function.log_group.log_group_name)

    def _powertools_layer_arn(self) -> str:
        """An explicit ARN, or the public parameter of the pinned release, resolved by CloudFormation at deploy."""
        if self.settings.powertools_layer_arn:
            return self.settings.powertools_layer_arn
        return cast(str, ssm.StringParameter.value_for_string_parameter(self, self.settings.powertools_layer_parameter))
