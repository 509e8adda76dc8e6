"""boto3 clients, built one way: adaptive retries, bounded timeouts, endpoints only from boto3's own settings.

The endpoint comes from boto3's standard `AWS_ENDPOINT_URL` handling, so the emulator is reached exactly like AWS.
"""

from __future__ import annotations

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


@lru_cache(maxsize=32)
def client(service_name: str, region_name: str | None = None) -> Any:
    """A cached client per service and region: created once per Lambda container, not per call."""
    with aws_call(f"{service_name}: create client"):  # no region configured is a setup error, said plainly
        session = boto3.session.Session()
        return session.client(service_name, region_name=region_name, config=RETRY_CONFIG)


def reset_clients() -> None:
    """Forget cached clients (tests change AWS_ENDPOINT_URL between cases)."""
    client.cache_clear()
