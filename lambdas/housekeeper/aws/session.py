"""boto3 clients, built one way: adaptive retries, bounded timeouts, endpoints only from boto3's own settings.

The endpoint comes from boto3's standard `AWS_ENDPOINT_URL` handling, so the emulator is reached exactly like AWS.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from typing import Any

import boto3
from botocore.config import Config as BotoConfig

from housekeeper.aws.errors import aws_call

RETRY_CONFIG = BotoConfig(
    retries={"mode": "adaptive", "max_attempts": 8},
    connect_timeout=5,
    read_timeout=30,
    user_agent_extra="ecr-housekeeper",
)


def client(service_name: str, region_name: str | None = None) -> Any:
    """A cached client per service and region, with the environment's credentials: created once per Lambda
    container, not per call. No region means the configured one: the same client as naming that region."""
    return _client(service_name, region_name or shared_session().region_name)


@lru_cache(maxsize=64)
def _client(service_name: str, region_name: str | None) -> Any:
    with aws_call(f"{service_name}: create client"):  # no region configured is a setup error, said plainly
        return shared_session().client(service_name, region_name=region_name, config=RETRY_CONFIG)


def client_with(service_name: str, region_name: str, credentials: Credentials) -> Any:
    """A client acting with other credentials (a workload account's reader role). Not cached here: the caller
    keeps it as long as the credentials last. Built on the shared session, so the service models load once."""
    with aws_call(f"{service_name}: create client"):
        return shared_session().client(
            service_name,
            region_name=region_name,
            config=RETRY_CONFIG,
            aws_access_key_id=credentials.access_key_id,
            aws_secret_access_key=credentials.secret_access_key,
            aws_session_token=credentials.session_token,
        )


@dataclass(frozen=True)
class Credentials:
    """Temporary credentials from sts:AssumeRole; `expires_at` in epoch seconds."""

    access_key_id: str
    secret_access_key: str
    session_token: str
    expires_at: float


@lru_cache(maxsize=1)
def shared_session() -> Any:
    return boto3.session.Session()


def reset_clients() -> None:
    """Forget cached clients and the session (tests change AWS_ENDPOINT_URL between cases)."""
    _client.cache_clear()
    shared_session.cache_clear()
