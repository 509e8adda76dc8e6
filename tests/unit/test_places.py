"""Many accounts and regions, in the config: `accounts`, `regions`, an environment's `accounts`, and the places the
hub reads. Pure: no AWS."""

from __future__ import annotations

from typing import Any

import pytest
from housekeeper.core.config import dump_config, load_config
from housekeeper.core.errors import ConfigInvalid
from housekeeper.core.places import DEFAULT_READER_ROLE, Place, filter_places
from housekeeper.core.repository_access import ANY_ACCOUNT, accounts_allowed, may_use
from housekeeper.core.resolution import resolve_environment

REGISTRY = "111111111111"
PROD = "222233334444"
STAGING = "555566667777"
HOME = Place(REGISTRY, "us-east-1")


def config(**changes: Any) -> dict[str, Any]:
    base: dict[str, Any] = {
        "environments": [
            {"name": "prod", "tagPrefix": "Prod", "keep": 5, "accounts": [PROD]},
            {"name": "staging", "tagPrefix": "Staging", "keep": 3, "accounts": [STAGING], "clusters": ["staging-*"]},
            {"name": "dev", "tagPrefix": "Dev", "keep": 2, "clusters": ["dev-*"]},
        ],
        "catchAll": {"expireAfterDays": 90},
        "accounts": [{"id": PROD, "regions": ["eu-west-1"]}, {"id": STAGING, "roleName": "custom-reader"}],
        "regions": ["us-east-1", "eu-west-1"],
    }
    base.update(changes)
    return base


def problems_of(data: dict[str, Any]) -> dict[str, str]:
    with pytest.raises(ConfigInvalid) as caught:
        load_config(data)
    return {p.path: p.message for p in caught.value.problems}


def test_accounts_and_regions_are_read_with_their_defaults() -> None:
    estate = load_config(config()).estate
    assert estate.regions == ("us-east-1", "eu-west-1")
    assert [(a.id, a.regions, a.role_name) for a in estate.accounts] == [
        (PROD, ("eu-west-1",), DEFAULT_READER_ROLE),
        (STAGING, (), "custom-reader"),
    ]


def test_the_places_are_the_registry_in_every_region_and_each_account_in_its_regions() -> None:
    places = load_config(config()).estate.places(HOME)
    assert places == (
        Place(REGISTRY, "eu-west-1"),
        Place(REGISTRY, "us-east-1"),
        Place(PROD, "eu-west-1"),  # its own list
        Place(STAGING, "eu-west-1"),  # the registry regions
        Place(STAGING, "us-east-1"),
    )


def test_without_accounts_or_regions_the_hub_reads_itself_in_its_own_region() -> None:
    estate = load_config(config(accounts=[], regions=[])).estate
    assert estate.places(HOME) == (HOME,)
    assert estate.registry_regions("ap-south-1") == ("ap-south-1",)


def test_filters_keep_the_places_of_the_accounts_and_regions_asked_for() -> None:
    places = load_config(config()).estate.places(HOME)
    assert filter_places(places, accounts=[STAGING]) == [Place(STAGING, "eu-west-1"), Place(STAGING, "us-east-1")]
    assert filter_places(places, regions=["us-east-1"]) == [Place(REGISTRY, "us-east-1"), Place(STAGING, "us-east-1")]
    assert filter_places(places) == list(places)


def test_an_environment_is_chosen_by_account_and_by_cluster_with_config_order_as_precedence() -> None:
    loaded = load_config(config())

    def env(account: str, cluster: str) -> str | None:
        found = resolve_environment(loaded, cluster, account)
        return found.name if found else None

    assert env(PROD, "anything") == "prod"  # accounts only: every cluster of the account
    assert env(STAGING, "staging-main") == "staging"  # both named: both must match
    assert env(STAGING, "batch") is None
    assert env(REGISTRY, "dev-1") == "dev"  # clusters only: any account
    assert env(PROD, "dev-1") == "prod"  # the first match wins, as with clusters


@pytest.mark.parametrize(
    ("change", "path", "words"),
    [
        ({"accounts": [{"id": "12345"}]}, "$.accounts[0].id", "not an AWS account id"),
        ({"accounts": [{"id": 222233334444}]}, "$.accounts[0].id", "non-empty string"),
        ({"accounts": [{"id": PROD}, {"id": PROD}]}, "$.accounts[1].id", "duplicate account"),
        ({"accounts": [{"id": PROD, "regions": ["Europe"]}]}, "$.accounts[0].regions[0]", "not an AWS region"),
        ({"accounts": [{"id": PROD, "roleName": "a b"}]}, "$.accounts[0].roleName", "not an IAM role name"),
        ({"accounts": [{"id": PROD, "role": "x"}]}, "$.accounts[0].role", "did you mean 'roleName'"),
        ({"accounts": {"id": PROD}}, "$.accounts", "must be a list"),
        ({"regions": ["us-east-1", "us-east-1"]}, "$.regions[1]", "duplicate region"),
        ({"regions": ["us-east-1\n"]}, "$.regions[0]", "not an AWS region"),
    ],
)
def test_bad_accounts_and_regions_are_refused_with_their_path(change: dict[str, Any], path: str, words: str) -> None:
    assert words in problems_of(config(**change))[path]


def test_an_environment_account_must_be_an_account_id_and_listed_once() -> None:
    environments = [{"name": "prod", "tagPrefix": "Prod", "keep": 5, "accounts": [PROD, "prod", PROD]}]
    found = problems_of(config(environments=environments))
    assert "not an AWS account id" in found["$.environments[0].accounts[1]"]
    assert "duplicate account" in found["$.environments[0].accounts[2]"]


def test_the_config_round_trips_with_its_accounts_and_regions() -> None:
    loaded = load_config(config())
    assert load_config(dump_config(loaded)) == loaded


# --- who may use a repository ---------------------------------------------------------------------------------


def policy(*statements: dict[str, Any]) -> dict[str, Any]:
    return {"Version": "2012-10-17", "Statement": list(statements)}


def allow(principal: Any, **extra: Any) -> dict[str, Any]:
    return {"Effect": "Allow", "Principal": principal, "Action": ["ecr:BatchGetImage"], **extra}


def test_without_a_repository_policy_no_other_account_can_pull() -> None:
    assert accounts_allowed(None) == frozenset()
    assert not may_use(None, PROD)


def test_accounts_named_as_ids_roots_or_roles_are_the_ones_allowed() -> None:
    named = policy(
        allow({"AWS": [f"arn:aws:iam::{PROD}:root", STAGING]}),
        allow({"AWS": "arn:aws:iam::999988887777:role/ci"}),
        {"Effect": "Deny", "Principal": "*", "Action": "ecr:*"},
    )
    assert accounts_allowed(named) == {PROD, STAGING, "999988887777"}
    assert may_use(named, PROD) and not may_use(named, "123123123123")


@pytest.mark.parametrize(
    "statement",
    [
        allow("*"),
        allow({"AWS": "*"}, Condition={"StringEquals": {"aws:PrincipalOrgID": "o-abc"}}),
        allow({"Service": "lambda.amazonaws.com"}),
        {"Effect": "Allow", "NotPrincipal": {"AWS": PROD}, "Action": "*"},
        allow({"AWS": "arn:aws:iam::not-an-account:root"}),
        allow({"AWS": 42}),
    ],
)
def test_anything_that_may_reach_further_counts_as_any_account(statement: dict[str, Any]) -> None:
    assert accounts_allowed(policy(statement)) == {ANY_ACCOUNT}
    assert may_use(policy(statement), "123123123123")


def test_an_unreadable_statement_list_counts_as_any_account() -> None:
    assert accounts_allowed({"Statement": "everyone"}) == {ANY_ACCOUNT}
    assert accounts_allowed({"Statement": ["x"]}) == {ANY_ACCOUNT}
    assert accounts_allowed({"Statement": allow({"AWS": PROD})}) == {PROD}  # one statement, not in a list
