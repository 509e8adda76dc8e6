"""AWS errors translated into project exceptions, so logic and handlers never catch botocore types."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from botocore.exceptions import (
    BotoCoreError,
    ClientError,
    NoCredentialsError,
    NoRegionError,
    ParamValidationError,
)

from housekeeper.core.errors import HousekeeperError

THROTTLING_CODES = frozenset(
    {
        "ThrottlingException",
        "Throttling",
        "ThrottledException",
        "TooManyRequestsException",
        "RequestLimitExceeded",
        "RequestThrottled",
        "RequestThrottledException",
        "SlowDown",
        "LimitExceededException",
        "ProvisionedThroughputExceededException",
    }
)
NOT_FOUND_SUFFIXES = ("NotFoundException", "NotFound", "ParameterNotFound", "NonExistentQueue")
ACCESS_DENIED_CODES = frozenset({"AccessDeniedException", "AccessDenied", "UnauthorizedOperation"})
SETUP_HINT = "(set AWS_REGION and credentials, e.g. AWS_PROFILE, as for the AWS CLI)"


class AwsError(HousekeeperError):
    """An AWS call failed. `operation` and `code` say which and why; `resource` names what it was about."""

    retryable = False

    def __init__(self, operation: str, code: str, message: str, resource: str = "") -> None:
        self.operation = operation
        self.code = code
        self.resource = resource
        where = f" on {resource}" if resource else ""
        super().__init__(f"{operation}{where} failed: {code}: {message}")


class Throttled(AwsError):
    """Still throttled after boto3's adaptive retries. Transient: let the caller's retry (SQS, EventBridge) act."""

    retryable = True


class TransientAwsError(AwsError):
    """A server-side or connection error worth retrying later."""

    retryable = True


class NotFound(AwsError):
    """The repository, parameter, service, queue or image does not exist."""


class AccessDenied(AwsError):
    """IAM refused the call: a deployment problem, not a transient one."""


MAX_MESSAGE_LENGTH = 300


def _one_line(message: str) -> str:
    """AWS messages are one sentence; a proxy's or an emulator's HTML error page is not, so fold and cut it."""
    folded = " ".join(message.split())
    return folded if len(folded) <= MAX_MESSAGE_LENGTH else folded[: MAX_MESSAGE_LENGTH - 1] + "…"


def translate(exc: Exception, operation: str, resource: str = "") -> AwsError:
    """Map a botocore exception to the project exception that says what went wrong."""
    if isinstance(exc, ClientError):
        error = exc.response.get("Error", {})
        code = str(error.get("Code", "Unknown"))
        message = _one_line(str(error.get("Message", "")) or str(exc))
        status = int(exc.response.get("ResponseMetadata", {}).get("HTTPStatusCode", 0) or 0)
        if code in THROTTLING_CODES or status == 429:
            return Throttled(operation, code, message, resource)
        if code.endswith(NOT_FOUND_SUFFIXES):
            return NotFound(operation, code, message, resource)
        if code in ACCESS_DENIED_CODES:
            return AccessDenied(operation, code, message, resource)
        if status >= 500:
            return TransientAwsError(operation, code, message, resource)
        return AwsError(operation, code, message, resource)
    if isinstance(exc, NoCredentialsError | NoRegionError):
        return AwsError(operation, type(exc).__name__, f"{exc} {SETUP_HINT}", resource)
    if isinstance(exc, ParamValidationError):
        # A request botocore refused to send: retrying the same request cannot help.
        return AwsError(operation, "ParamValidationError", str(exc), resource)
    if isinstance(exc, BotoCoreError):
        return TransientAwsError(operation, type(exc).__name__, str(exc), resource)
    return AwsError(operation, type(exc).__name__, str(exc), resource)


@contextmanager
def aws_call(operation: str, resource: str = "") -> Iterator[None]:
    """`with aws_call("ecr:PutImage", repo): ...` turns botocore errors into project exceptions."""
    try:
        yield
    except (ClientError, BotoCoreError) as exc:
        raise translate(exc, operation, resource) from exc
