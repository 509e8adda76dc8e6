"""The emulated account is reachable only through AWS_ENDPOINT_URL, and each test starts empty."""

from __future__ import annotations

import boto3

from demo.emulator import EmulatedAccount


def test_boto3_reaches_the_emulator_through_the_standard_endpoint_variable(emulated_account: EmulatedAccount) -> None:
    ecr = boto3.client("ecr")
    ecr.create_repository(repositoryName="payments/api")
    assert ecr.meta.endpoint_url == emulated_account.endpoint
    assert [r["repositoryName"] for r in ecr.describe_repositories()["repositories"]] == ["payments/api"]


def test_reset_empties_the_account_so_each_test_starts_from_nothing(emulated_account: EmulatedAccount) -> None:
    ecr = boto3.client("ecr")
    ecr.create_repository(repositoryName="payments/api")
    emulated_account.reset()
    assert ecr.describe_repositories()["repositories"] == []
