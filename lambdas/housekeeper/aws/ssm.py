"""The SSM gateway: the central config parameter, read through Powertools Parameters so warm Lambdas cache it.

The cache lives as long as the provider (one per Lambda container). `force_fetch=True` bypasses it, for the
Parameter Store Change trigger that must see the new value at once.
"""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools.utilities.parameters import SSMProvider
from aws_lambda_powertools.utilities.parameters.exceptions import GetParameterError
from botocore.exceptions import BotoCoreError, ClientError

from housekeeper.aws.errors import AwsError, aws_call, translate
from housekeeper.aws.session import client as make_client

# Seconds a read value stays cached in a warm container; config changes also arrive as events (force_fetch).
DEFAULT_MAX_AGE_SECONDS = 60


class Boto3SsmGateway:
    """SsmGateway on boto3 plus the Powertools SSM provider (for its cache)."""

    def __init__(self, ssm_client: Any | None = None, max_age_seconds: int = DEFAULT_MAX_AGE_SECONDS) -> None:
        self._ssm = ssm_client or make_client("ssm")
        self._provider = SSMProvider(boto3_client=self._ssm)
        self._max_age = max_age_seconds

    def get_parameter(self, name: str, *, force_fetch: bool = False) -> str:
        """The parameter's value. Raises NotFound when it does not exist, Throttled when SSM throttles."""
        try:
            value = self._provider.get(name, max_age=self._max_age, force_fetch=force_fetch)
        except GetParameterError as exc:
            cause = exc.__cause__ or exc.__context__
            if isinstance(cause, ClientError | BotoCoreError):
                raise translate(cause, "ssm:GetParameter", name) from exc
            raise AwsError("ssm:GetParameter", "GetParameterError", str(exc), name) from exc
        return str(value)

    def put_parameter(self, name: str, value: str) -> None:
        with aws_call("ssm:PutParameter", name):
            self._ssm.put_parameter(Name=name, Value=value, Type="String", Overwrite=True)
