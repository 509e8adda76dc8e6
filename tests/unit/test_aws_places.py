"""Assumed-role credentials and per-place gateways: each role is assumed once per region for as long as its
credentials last, a place's gateways are rebuilt when they are renewed, and few places are kept at a time."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest
from housekeeper.aws import places as places_module
from housekeeper.aws.places import Boto3Places, PlaceCaches, role_arn
from housekeeper.aws.session import Credentials
from housekeeper.aws.sts import REFRESH_MARGIN_SECONDS, Boto3StsGateway
from housekeeper.core.places import Estate, Place, WorkloadAccount

HUB = "111111111111"
SPOKE = "222233334444"


class FakeStsClient:
    """The two STS calls the gateway makes; each AssumeRole answer lasts an hour from the fake clock."""

    def __init__(self, clock: list[float]) -> None:
        self.clock = clock
        self.assumed: list[str] = []

    def get_caller_identity(self) -> dict[str, str]:
        return {"Account": HUB}

    def assume_role(self, RoleArn: str, RoleSessionName: str, DurationSeconds: int) -> dict[str, Any]:  # noqa: N803
        self.assumed.append(RoleArn)
        expires = datetime.fromtimestamp(self.clock[0] + DurationSeconds, UTC)
        n = len(self.assumed)
        return {
            "Credentials": {"AccessKeyId": f"AK{n}", "SecretAccessKey": "s", "SessionToken": "t", "Expiration": expires}
        }


def test_a_role_is_assumed_once_per_region_until_its_credentials_are_about_to_expire() -> None:
    clock = [1_000.0]
    client = FakeStsClient(clock)
    sts = Boto3StsGateway(lambda region: client, clock=lambda: clock[0])
    arn = role_arn(SPOKE, "eu-west-1", "ecr-housekeeper-reader")
    first = sts.credentials(arn, "eu-west-1")
    assert sts.credentials(arn, "eu-west-1") == first
    sts.credentials(arn, "us-east-1")  # another region's endpoint: its own credentials
    assert client.assumed == [arn, arn]
    clock[0] = first.expires_at - REFRESH_MARGIN_SECONDS - 1
    assert sts.credentials(arn, "eu-west-1") == first
    clock[0] += 2  # within the margin: renewed before they lapse
    assert sts.credentials(arn, "eu-west-1") != first
    assert (len(client.assumed), sts.assumed) == (3, 3)
    assert sts.account_id() == HUB


def test_role_arns_follow_the_partition_of_the_region() -> None:
    assert role_arn(SPOKE, "eu-west-1", "r") == f"arn:aws:iam::{SPOKE}:role/r"
    assert role_arn(SPOKE, "cn-north-1", "r") == f"arn:aws-cn:iam::{SPOKE}:role/r"
    assert role_arn(SPOKE, "us-gov-west-1", "r") == f"arn:aws-us-gov:iam::{SPOKE}:role/r"


class FakeSts:
    """What Boto3Places asks of the STS gateway; credentials change when `renew` is called."""

    def __init__(self) -> None:
        self.version = 0
        self.asked: list[tuple[str, str]] = []

    def account_id(self) -> str:
        return HUB

    def credentials(self, arn: str, region: str) -> Credentials:
        self.asked.append((arn, region))
        return Credentials(f"AK{self.version}", "s", "t", 10_000.0 + self.version)


@pytest.fixture
def built(monkeypatch: pytest.MonkeyPatch) -> list[tuple[str, str, str]]:
    """(service, region, whose credentials) of every client Boto3Places builds, without building one."""
    made: list[tuple[str, str, str]] = []
    monkeypatch.setattr(places_module, "client", lambda service, region=None: made.append((service, region, "hub")))
    monkeypatch.setattr(
        places_module,
        "client_with",
        lambda service, region, credentials: made.append((service, region, credentials.access_key_id)),
    )
    return made


def test_the_registry_account_is_read_with_its_own_credentials_and_a_workload_account_through_its_role(
    built: list[tuple[str, str, str]],
) -> None:
    sts = FakeSts()
    estate = Estate(accounts=(WorkloadAccount(SPOKE, (), "custom-reader"),))
    places = Boto3Places(estate, PlaceCaches(sts=sts), home_region="us-east-1")  # type: ignore[arg-type]
    assert places.home == Place(HUB, "us-east-1")
    places.sources(Place(HUB, "eu-west-1"))
    places.sources(Place(SPOKE, "eu-west-1"))
    places.ecs(Place(SPOKE, "eu-west-1"))  # the same view: nothing new is built
    assert sts.asked == [(f"arn:aws:iam::{SPOKE}:role/custom-reader", "eu-west-1")] * 2
    services = ["ecs", "lambda", "scheduler", "events"]
    assert built == [(s, "eu-west-1", "hub") for s in services] + [(s, "eu-west-1", "AK0") for s in services]


def test_a_place_is_rebuilt_when_its_credentials_are_renewed(built: list[tuple[str, str, str]]) -> None:
    sts = FakeSts()
    places = Boto3Places(Estate(accounts=(WorkloadAccount(SPOKE),)), PlaceCaches(sts=sts), "us-east-1")  # type: ignore[arg-type]
    spoke = Place(SPOKE, "us-east-1")
    first = places.sources(spoke)
    assert places.sources(spoke) is first
    sts.version = 1
    assert places.sources(spoke) is not first
    assert [key for _, _, key in built] == ["AK0"] * 4 + ["AK1"] * 4


def test_only_the_most_recently_used_places_are_kept(built: list[tuple[str, str, str]]) -> None:
    caches = PlaceCaches(sts=FakeSts(), max_places=2)  # type: ignore[arg-type]
    places = Boto3Places(Estate(), caches, "us-east-1")
    regions = ["us-east-1", "eu-west-1", "ap-south-1"]
    for region in regions:
        places.sources(Place(HUB, region))
    assert list(caches.views) == [Place(HUB, "eu-west-1"), Place(HUB, "ap-south-1")]
    places.sources(Place(HUB, "us-east-1"))  # evicted, so built again
    assert len(built) == 4 * 4


def test_an_evicted_place_is_rebuilt_warm_its_memos_are_kept(built: list[tuple[str, str, str]]) -> None:
    """Clients are dropped past max_places; what the gateways learned (task definition revisions, function
    versions, unchanged schedules) is not, so a rebuilt place makes no call it made before."""
    caches = PlaceCaches(sts=FakeSts(), max_places=1)  # type: ignore[arg-type]
    places = Boto3Places(Estate(), caches, "us-east-1")
    first = places.ecs(Place(HUB, "us-east-1"))
    first._revision_images["web:1"] = []  # as if learned from DescribeTaskDefinition
    places.ecs(Place(HUB, "eu-west-1"))  # evicts us-east-1's clients
    again = places.ecs(Place(HUB, "us-east-1"))
    assert again is not first
    assert again._revision_images is first._revision_images
    assert len(built) == 3 * 4
