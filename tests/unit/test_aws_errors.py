"""AWS errors become project exceptions that say whether retrying can help."""

from __future__ import annotations

import pytest
from botocore.exceptions import (
    ClientError,
    EndpointConnectionError,
    NoCredentialsError,
    NoRegionError,
    ParamValidationError,
)
from housekeeper.aws.errors import AccessDenied, AwsError, NotFound, Throttled, TransientAwsError, aws_call, translate
from housekeeper.aws.session import client, reset_clients


def _client_error(code: str, status: int = 400) -> ClientError:
    return ClientError(
        {"Error": {"Code": code, "Message": f"{code} happened"}, "ResponseMetadata": {"HTTPStatusCode": status}},
        "AnyOperation",
    )


@pytest.mark.parametrize(
    ("code", "status", "expected", "retryable"),
    [
        ("ThrottlingException", 400, Throttled, True),
        ("SomethingElse", 429, Throttled, True),
        ("RepositoryNotFoundException", 400, NotFound, False),
        ("ParameterNotFound", 400, NotFound, False),
        ("AccessDeniedException", 403, AccessDenied, False),
        ("InternalFailure", 500, TransientAwsError, True),
        ("InvalidParameterException", 400, AwsError, False),
    ],
)
def test_client_errors_map_to_project_exceptions(
    code: str, status: int, expected: type[AwsError], retryable: bool
) -> None:
    error = translate(_client_error(code, status), "ecr:PutImage", "payments/api")
    assert type(error) is expected
    assert error.retryable is retryable
    assert "ecr:PutImage on payments/api failed" in str(error)
    assert code in str(error)


def test_a_request_botocore_refuses_to_send_is_not_retried() -> None:
    error = translate(ParamValidationError(report="bad digest"), "ecr:BatchGetImage")
    assert not error.retryable


def test_connection_errors_are_transient() -> None:
    error = translate(EndpointConnectionError(endpoint_url="http://127.0.0.1:1"), "ssm:GetParameter")
    assert isinstance(error, TransientAwsError)


def test_aws_call_raises_the_translated_error_with_the_cause_kept() -> None:
    with pytest.raises(NotFound) as caught, aws_call("ssm:GetParameter", "/housekeeper/config"):
        raise _client_error("ParameterNotFound")
    assert isinstance(caught.value.__cause__, ClientError)


def test_missing_credentials_or_region_is_a_setup_error_that_says_what_to_set() -> None:
    error = translate(NoRegionError(), "ecr: create client")
    assert not error.retryable
    assert "AWS_REGION" in str(error)
    assert not translate(NoCredentialsError(), "ecr:DescribeImages").retryable


def test_a_client_without_a_region_fails_with_a_project_error(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("AWS_DEFAULT_REGION", raising=False)
    monkeypatch.delenv("AWS_REGION", raising=False)
    monkeypatch.setenv("AWS_CONFIG_FILE", "/nonexistent")
    reset_clients()
    try:
        with pytest.raises(AwsError, match="AWS_REGION"):
            client("ecr")
    finally:
        reset_clients()
