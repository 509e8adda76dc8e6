"""Small helpers shared by the Lambda handlers: settings from the environment and long-lived gateways.

Handlers read environment variables; logic never does. Gateways are cached per boto3 client, so a warm Lambda
keeps the SSM parameter cache, and tests that reset the clients (new AWS_ENDPOINT_URL) get fresh gateways.
"""

from __future__ import annotations

import os
from functools import lru_cache
from typing import Any

from housekeeper.aws.ecr import Boto3EcrGateway
from housekeeper.aws.ecs import Boto3EcsGateway
from housekeeper.aws.events import Boto3EventsGateway
from housekeeper.aws.lambda_functions import Boto3LambdaGateway
from housekeeper.aws.scheduler import Boto3SchedulerGateway
from housekeeper.aws.session import client
from housekeeper.aws.sqs import Boto3SqsGateway
from housekeeper.aws.ssm import Boto3SsmGateway
from housekeeper.core.errors import HousekeeperError
from housekeeper.handlers import _metrics
from housekeeper.logic.inventory import InventorySources, shared_scanner
from housekeeper.logic.plan import MessageSink
from housekeeper.logic.worker import InlineSync, prepare_run
from housekeeper.settings import CONFIG_PARAMETER_VARIABLE, SYNC_QUEUE_URL_VARIABLE


class MissingSetting(HousekeeperError):
    """A required environment variable of the Lambda is not set: a deployment error."""


def config_parameter_name() -> str:
    name = os.environ.get(CONFIG_PARAMETER_VARIABLE, "").strip()
    if not name:
        raise MissingSetting(f"{CONFIG_PARAMETER_VARIABLE} is not set: it must name the SSM config parameter")
    return name


def sync_queue_url() -> str | None:
    return os.environ.get(SYNC_QUEUE_URL_VARIABLE, "").strip() or None


def ssm_gateway() -> Boto3SsmGateway:
    """One SSM gateway per client, so the Powertools parameter cache survives between warm invocations."""
    return _ssm_gateway_for(client("ssm"))


def ecr_gateway() -> Boto3EcrGateway:
    """One ECR gateway per client, so the account id is looked up once per Lambda container."""
    return _ecr_gateway_for(client("ecr"))


# maxsize=1: a new client (reset_clients) replaces the gateway built on the old one.
@lru_cache(maxsize=1)
def _ssm_gateway_for(ssm_client: Any) -> Boto3SsmGateway:
    return Boto3SsmGateway(ssm_client)


@lru_cache(maxsize=1)
def _ecr_gateway_for(ecr_client: Any) -> Boto3EcrGateway:
    return Boto3EcrGateway(ecr_client)


def ecs_gateway() -> Boto3EcsGateway:
    """One ECS gateway per client: it caches the images of task definition revisions, which never change."""
    return _ecs_gateway_for(client("ecs"))


@lru_cache(maxsize=1)
def _ecs_gateway_for(ecs_client: Any) -> Boto3EcsGateway:
    return Boto3EcsGateway(ecs_client)


@lru_cache(maxsize=1)
def _lambda_gateway_for(lambda_client: Any) -> Boto3LambdaGateway:
    return Boto3LambdaGateway(lambda_client)


@lru_cache(maxsize=1)
def _scheduler_gateway_for(scheduler_client: Any) -> Boto3SchedulerGateway:
    return Boto3SchedulerGateway(scheduler_client)


def inventory_sources() -> InventorySources:
    """The gateways the in-use inventory reads (ECS, Lambda, EventBridge Scheduler, EventBridge), one per client:
    their caches (task definition revisions, function versions, unmodified schedules) last as long as the
    warm container."""
    return InventorySources(
        ecs=ecs_gateway(),
        lambdas=_lambda_gateway_for(client("lambda")),
        scheduler=_scheduler_gateway_for(client("scheduler")),
        events=Boto3EventsGateway(client("events")),
    )


def sqs_gateway() -> Boto3SqsGateway:
    return Boto3SqsGateway(client("sqs"))


def message_sink(config_parameter: str) -> MessageSink:
    """The queue when one is configured; otherwise (a minimal install) sync each repository inline."""
    if sync_queue_url():
        return sqs_gateway()
    return InlineSync(
        lambda: prepare_run(
            ssm=ssm_gateway(),
            config_parameter=config_parameter,
            ecr=ecr_gateway(),
            sources=inventory_sources(),
            scanner=shared_scanner,
        ),
        lambda result: _metrics.record_sync_result(result),
    )
