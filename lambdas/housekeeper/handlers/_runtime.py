"""Small helpers shared by the Lambda handlers: settings from the environment and long-lived gateways.

Handlers read environment variables; logic never does. Gateways are cached per boto3 client, so a warm Lambda
keeps the SSM parameter cache, and tests that reset the clients (new AWS_ENDPOINT_URL) get fresh gateways.
"""

from __future__ import annotations

import os

from housekeeper.aws.ecr import Boto3EcrGateway
from housekeeper.aws.ecs import Boto3EcsGateway
from housekeeper.aws.session import client
from housekeeper.aws.sqs import Boto3SqsGateway
from housekeeper.aws.ssm import Boto3SsmGateway
from housekeeper.core.errors import HousekeeperError
from housekeeper.logic.config_source import CONFIG_PARAMETER_VARIABLE
from housekeeper.logic.in_use import shared_scanner
from housekeeper.logic.sync import InlineSync, MessageSink, prepare_run

SYNC_QUEUE_URL_VARIABLE = "HOUSEKEEPER_SYNC_QUEUE_URL"

_ssm_gateways: dict[int, Boto3SsmGateway] = {}
_ecr_gateways: dict[int, Boto3EcrGateway] = {}


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
    ssm_client = client("ssm")
    gateway = _ssm_gateways.get(id(ssm_client))
    if gateway is None:
        _ssm_gateways.clear()
        gateway = _ssm_gateways[id(ssm_client)] = Boto3SsmGateway(ssm_client)
    return gateway


def ecr_gateway() -> Boto3EcrGateway:
    """One ECR gateway per client, so the account id is looked up once per Lambda container."""
    ecr_client = client("ecr")
    gateway = _ecr_gateways.get(id(ecr_client))
    if gateway is None:
        _ecr_gateways.clear()
        gateway = _ecr_gateways[id(ecr_client)] = Boto3EcrGateway(ecr_client)
    return gateway


def ecs_gateway() -> Boto3EcsGateway:
    return Boto3EcsGateway(client("ecs"))


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
            ecs=ecs_gateway(),
            scanner=shared_scanner,
        )
    )
