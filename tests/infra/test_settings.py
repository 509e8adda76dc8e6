"""Deploy settings: cdk.json is the one source of defaults, `-c` strings are coerced, bad values name their key."""

from __future__ import annotations

import json
from dataclasses import FrozenInstanceError, fields

import pytest

from infra.function import PROJECT_ROOT
from infra.settings import CONTEXT_KEYS, PREFIX, DeploySettings, SettingsInvalid


def cdk_json_context() -> dict[str, object]:
    context: dict[str, object] = json.loads((PROJECT_ROOT / "cdk.json").read_text(encoding="utf-8"))["context"]
    return context


def test_cdk_json_lists_every_setting_with_its_default() -> None:
    context = cdk_json_context()
    defaults = DeploySettings()
    for field_ in fields(DeploySettings):
        key = PREFIX + CONTEXT_KEYS[field_.name]
        assert key in context, f"{key} missing from cdk.json"
        default = getattr(defaults, field_.name)
        assert context[key] == (list(default) if isinstance(default, tuple) else default), key
    assert DeploySettings.from_context(context.get) == defaults


def test_command_line_strings_are_coerced_to_their_types() -> None:
    settings = DeploySettings.from_context(
        {
            "housekeeper:workerReservedConcurrency": "4",
            "housekeeper:retainLogs": "false",
            "housekeeper:alarmEmail": "oncall@example.com",
            "housekeeper:logRetentionDays": "30",
        }.get
    )
    assert settings.worker_reserved_concurrency == 4
    assert settings.retain_logs is False
    assert settings.alarm_email == "oncall@example.com"
    assert settings.log_retention_days == 30


def test_empty_alarm_email_means_no_subscription() -> None:
    assert DeploySettings.from_context({"housekeeper:alarmEmail": ""}.get).alarm_email is None


@pytest.mark.parametrize(
    ("key", "value", "message"),
    [
        ("housekeeper:logRetentionDays", "8", "housekeeper:logRetentionDays = 8: must be one of"),
        ("housekeeper:sweepSchedule", "every day", "housekeeper:sweepSchedule = 'every day'"),
        ("housekeeper:workerReservedConcurrency", "1", "between 2 and 20"),
        ("housekeeper:workerReservedConcurrency", "two", "must be a whole number"),
        ("housekeeper:retainLogs", "yes", "must be true or false"),
        ("housekeeper:alarmEmail", "not-an-address", "must be an e-mail address"),
        ("housekeeper:configParameterName", "/aws/reserved", "housekeeper:configParameterName"),
        ("housekeeper:powertoolsLayerVersion", "v3", "a Powertools release"),
        ("housekeeper:powertoolsLayerArn", "arn:aws:s3:::bucket", "a Lambda layer version ARN"),
        ("housekeeper:logLevel", "VERBOSE", "one of DEBUG, INFO, WARNING, ERROR"),
        ("housekeeper:workloadAccounts", "222233334444,1234", "'1234' is not a 12-digit AWS account id"),
        ("housekeeper:workloadAccounts", ["222233334444", 333344445555], "must be a list of strings"),
        ("housekeeper:workloadAccounts", "222233334444,222233334444", "222233334444 listed more than once"),
        ("housekeeper:workloadAccounts", '["222233334444",', "not a valid JSON list"),
        ("housekeeper:workloadAccounts", {"id": "222233334444"}, "must be a list of strings"),
        ("housekeeper:organizationId", "r-abcd", "an AWS Organizations id such as o-a1b2c3d4e5"),
        ("housekeeper:registryRegions", ["eu-west-1", "Europe"], "'Europe' is not an AWS region name"),
        ("housekeeper:registryRegions", "eu-west-1,eu-west-1", "eu-west-1 listed more than once"),
        ("housekeeper:readerRoleName", "reader/role", "an IAM role name"),
        ("housekeeper:readerRoleName", "r" * 65, "an IAM role name"),
        ("housekeeper:hubAccountId", "11112222333", "a 12-digit AWS account id"),
        ("housekeeper:hubRegion", "eu_west_1", "an AWS region name"),
        ("housekeeper:readerRoleRegion", "west", "an AWS region name"),
        ("housekeeper:spokeStackName", "1Spoke", "housekeeper:spokeStackName = '1Spoke'"),
        ("housekeeper:spokeStackName", "EcrHousekeeper", "must differ from housekeeper:stackName"),
    ],
)
def test_a_bad_value_fails_with_its_context_key(key: str, value: str, message: str) -> None:
    with pytest.raises(SettingsInvalid, match="housekeeper:") as raised:
        DeploySettings.from_context({key: value}.get)
    assert message in str(raised.value)


def test_workload_accounts_and_organization_are_one_or_the_other() -> None:
    with pytest.raises(SettingsInvalid) as raised:
        DeploySettings.from_context(
            {"housekeeper:workloadAccounts": ["222233334444"], "housekeeper:organizationId": "o-a1b2c3d4e5"}.get
        )
    message = str(raised.value)
    assert "housekeeper:workloadAccounts and housekeeper:organizationId are both set" in message


@pytest.mark.parametrize(
    "raw",
    [
        ["222233334444", "333344445555"],
        "222233334444,333344445555",
        " 222233334444 , 333344445555 ",
        '["222233334444", "333344445555"]',
    ],
)
def test_lists_come_from_cdk_json_or_from_the_command_line(raw: object) -> None:
    settings = DeploySettings.from_context({"housekeeper:workloadAccounts": raw}.get)
    assert settings.workload_accounts == ("222233334444", "333344445555")


def test_empty_lists_and_ids_mean_single_account() -> None:
    settings = DeploySettings.from_context(
        {
            "housekeeper:workloadAccounts": "",
            "housekeeper:registryRegions": "[]",
            "housekeeper:organizationId": "",
            "housekeeper:hubAccountId": "",
        }.get
    )
    assert settings.workload_accounts == ()
    assert settings.registry_regions == ()
    assert settings.organization_id is None
    assert settings.hub_account_id is None


def test_the_reader_role_region_defaults_to_the_hub_region() -> None:
    assert DeploySettings(hub_region="eu-west-1").spoke_reader_role_region == "eu-west-1"
    assert DeploySettings(hub_region="eu-west-1", reader_role_region="us-east-1").spoke_reader_role_region == (
        "us-east-1"
    )
    assert DeploySettings().spoke_reader_role_region is None


def test_settings_are_read_once_into_a_frozen_object() -> None:
    settings = DeploySettings()
    with pytest.raises(FrozenInstanceError):
        settings.stack_name = "Other"  # type: ignore[misc]


def test_visibility_timeout_follows_the_worker_timeout() -> None:
    assert DeploySettings(worker_timeout_seconds=120).sync_visibility_timeout_seconds == 720


def test_layer_parameter_names_the_pinned_release() -> None:
    settings = DeploySettings(powertools_layer_version="3.40.0")
    assert settings.powertools_layer_parameter == "/aws/service/powertools/python/arm64/python3.13/3.40.0"
