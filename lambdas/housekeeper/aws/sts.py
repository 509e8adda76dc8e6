"""The STS gateway: who the hub is, and short-lived credentials for a workload account's reader role.

Credentials are cached per role and region for their lifetime, less a margin, so a warm Lambda assumes each role
once an hour or so, not once per call (STS's AssumeRole quota is shared by the whole account).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

from housekeeper.aws.errors import aws_call
from housekeeper.aws.session import Credentials
from housekeeper.aws.session import client as make_client

# Refresh this long before expiry, so no call starts with credentials about to lapse.
REFRESH_MARGIN_SECONDS = 300.0
SESSION_NAME = "ecr-housekeeper"
# One hour: the default maximum of a role's sessions, and enough for the longest sync worker run (15 minutes).
SESSION_SECONDS = 3600


class Boto3StsGateway:
    def __init__(
        self,
        client_for_region: Callable[[str | None], Any] | None = None,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self._client_for_region = client_for_region or (lambda region: make_client("sts", region))
        self._clock = clock
        self._account: str | None = None
        self._cache: dict[tuple[str, str], Credentials] = {}
        self.assumed = 0  # AssumeRole calls made, for the benchmarks and tests

    def account_id(self) -> str:
        """The hub's own account id (GetCallerIdentity once)."""
        if self._account is None:
            with aws_call("sts:GetCallerIdentity"):
                self._account = str(self._client_for_region(None).get_caller_identity()["Account"])
        return self._account

    def credentials(self, role_arn: str, region: str) -> Credentials:
        """Credentials for `role_arn`, from the region's STS endpoint; cached until shortly before they expire."""
        key = (role_arn, region)
        cached = self._cache.get(key)
        if cached is not None and cached.expires_at - REFRESH_MARGIN_SECONDS > self._clock():
            return cached
        with aws_call("sts:AssumeRole", role_arn):
            answer = self._client_for_region(region).assume_role(
                RoleArn=role_arn, RoleSessionName=SESSION_NAME, DurationSeconds=SESSION_SECONDS
            )["Credentials"]
        self.assumed += 1
        expiration = answer["Expiration"]
        expires_at = expiration.timestamp() if hasattr(expiration, "timestamp") else float(expiration)
        credentials = Credentials(answer["AccessKeyId"], answer["SecretAccessKey"], answer["SessionToken"], expires_at)
        self._cache[key] = credentials
        return credentials
