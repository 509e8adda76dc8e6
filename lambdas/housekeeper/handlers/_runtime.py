"""Small helpers shared by the Lambda handlers: settings from the environment and long-lived gateways.

Handlers read environment variables; logic never does. Gateways are cached per boto3 client, so a warm Lambda
keeps the SSM parameter cache, and tests that reset the clients (new AWS_ENDPOINT_URL) get fresh gateways. The
places (the registry's ECR per region, each account's read-only gateways, assumed-role credentials) share one
PlaceCaches per container.
"""

from __future__ import annotations

import os
from functools import lru_cache
from typing import Any

from housekeeper.aws.places import Boto3Places, PlaceCaches
from housekeeper.aws.session import client, shared_session
from housekeeper.aws.sqs import Boto3SqsGateway
from housekeeper.aws.ssm import Boto3SsmGateway
from housekeeper.core.errors import HousekeeperError
from housekeeper.core.places import Estate
from housekeeper.handlers import _metrics
from housekeeper.logic.inventory import shared_scanner
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


# maxsize=1: a new client (reset_clients) replaces the gateway built on the old one.
@lru_cache(maxsize=1)
def _ssm_gateway_for(ssm_client: Any) -> Boto3SsmGateway:
    return Boto3SsmGateway(ssm_client)


def places(estate: Estate) -> Boto3Places:
    """The places of `estate` (from the config), sharing this container's caches: ECR gateways per region, each
    place's gateways with their caches (task definition revisions, function versions), assumed-role credentials."""
    return Boto3Places(estate, _caches_for(shared_session()))


@lru_cache(maxsize=1)
def _caches_for(session: Any) -> PlaceCaches:
    return PlaceCaches()


def sqs_gateway() -> Boto3SqsGateway:
    return Boto3SqsGateway(client("sqs"))


def message_sink(config_parameter: str) -> MessageSink:
    """The queue when one is configured; otherwise (a minimal install) sync each repository inline."""
    if sync_queue_url():
        return sqs_gateway()
    return InlineSync(
        lambda: prepare_run(
            ssm=ssm_gateway(), config_parameter=config_parameter, places_for=places, scanner=shared_scanner
        ),
        lambda result: _metrics.record_sync_result(result),
    )
