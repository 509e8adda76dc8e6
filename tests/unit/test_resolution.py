"""Environment and build resolution, env tag grammar, and image reference parsing: pure rules."""

from __future__ import annotations

from typing import Any

import pytest
from housekeeper.core.config import Config, load_config
from housekeeper.core.resolution import (
    TagReason,
    decide_tag,
    env_tag,
    foreign_image_reason,
    is_valid_docker_tag,
    parse_image_reference,
    resolve_build,
    resolve_environment,
)

from tests.fakes import ACCOUNT, example_config


def config(**changes: Any) -> Config:
    return load_config({**example_config(), **changes})


@pytest.mark.parametrize(
    ("cluster", "expected"),
    [("prod-main", "prod"), ("staging-eu", "staging"), ("dev-1", "dev"), ("production", None), ("qa-main", None)],
)
def test_environment_comes_from_the_cluster_glob(cluster: str, expected: str | None) -> None:
    env = resolve_environment(config(), cluster, ACCOUNT)
    assert (env.name if env else None) == expected


def test_first_matching_environment_in_config_order_wins() -> None:
    overlapping = config(
        environments=[
            {"name": "prod", "tagPrefix": "Prod", "keep": 5, "clusters": ["*-main"]},
            {"name": "dev", "tagPrefix": "Dev", "keep": 3, "clusters": ["dev-*"]},
        ]
    )
    env = resolve_environment(overlapping, "dev-main", ACCOUNT)
    assert env is not None and env.name == "prod"


def test_build_from_the_reference_tag_when_it_matches() -> None:
    resolved = resolve_build(config(), "1234", ["999", "latest"])
    assert (resolved.build, resolved.source) == ("1234", "reference-tag")


def test_build_from_ecr_tags_when_the_reference_tag_does_not_match() -> None:
    resolved = resolve_build(config(), "latest", ["latest", "1234"])
    assert (resolved.build, resolved.source) == ("1234", "ecr-tag")


def test_several_matching_ecr_tags_pick_the_highest_build_numerically() -> None:
    resolved = resolve_build(config(), None, ["999", "1234", "1000"])
    assert resolved.build == "1234"
    assert resolved.candidates == ("999", "1000", "1234")
    assert resolve_build(config(), None, ["1234", "999", "1000"]).build == "1234"


def test_env_tags_already_on_the_digest_are_not_builds() -> None:
    broad = config(buildTagPattern="^[A-Za-z0-9-]+$")
    assert resolve_build(broad, None, ["Prod-7", "Dev-9"]).build is None
    assert resolve_build(broad, None, ["Prod-7", "release-3"]).build == "release-3"


def test_a_capture_group_picks_the_build_out_of_the_tag() -> None:
    assert resolve_build(config(buildTagPattern="^build-([0-9]+)$"), "build-88", []).build == "88"
    assert resolve_build(config(buildTagPattern="^v(?P<build>[0-9.]+)-rc$"), None, ["v1.2-rc"]).build == "1.2"


def test_no_build_is_a_reason_not_a_guess() -> None:
    resolved = resolve_build(config(), "latest", ["latest", "main"])
    assert (resolved.build, resolved.reason) == (None, TagReason.NO_BUILD)


def test_decide_tag_makes_prefix_dash_build() -> None:
    cfg = config()
    decision = decide_tag(cfg, resolve_environment(cfg, "prod-main", ACCOUNT), "1234", [])
    assert (decision.tag, decision.reason) == ("Prod-1234", None)


def test_decide_tag_without_environment_or_build_gives_reason_codes() -> None:
    cfg = config()
    assert decide_tag(cfg, None, "1234", []).reason == TagReason.NO_ENVIRONMENT
    assert (
        decide_tag(cfg, resolve_environment(cfg, "dev-1", ACCOUNT), "latest", ["latest"]).reason == TagReason.NO_BUILD
    )


def test_env_tag_respects_docker_grammar_and_length() -> None:
    env = resolve_environment(config(buildTagPattern=".+"), "prod-main", ACCOUNT)
    assert env is not None
    assert env_tag(env, "1234") == "Prod-1234"
    assert env_tag(env, "1" * 122) == "Prod-" + "1" * 122  # 127 characters
    assert env_tag(env, "1" * 124) is None  # 129 characters
    assert env_tag(env, "feature/x") is None
    decision = decide_tag(config(buildTagPattern=".+"), env, "a b", [])
    assert decision.reason == TagReason.INVALID_TAG


@pytest.mark.parametrize("tag", ["1234", "Prod-1234", "_x", "a.b-c_d"])
def test_legal_docker_tags(tag: str) -> None:
    assert is_valid_docker_tag(tag)


@pytest.mark.parametrize("tag", ["", "-x", ".x", "a/b", "a:b", "é", "x" * 129])
def test_illegal_docker_tags(tag: str) -> None:
    assert not is_valid_docker_tag(tag)


def test_parse_private_ecr_reference_with_tag_and_digest() -> None:
    digest = "sha256:" + "a" * 64
    ref = parse_image_reference(f"123456789012.dkr.ecr.eu-west-1.amazonaws.com/payments/api:1234@{digest}")
    assert (ref.account, ref.region, ref.repository, ref.tag, ref.digest) == (
        "123456789012",
        "eu-west-1",
        "payments/api",
        "1234",
        digest,
    )


@pytest.mark.parametrize(
    ("image", "reason"),
    [
        ("123456789012.dkr.ecr.us-east-1.amazonaws.com/api:1", None),
        ("nginx:1.27", TagReason.NOT_ECR),
        ("library/nginx", TagReason.NOT_ECR),
        ("docker.io/library/nginx:latest", TagReason.NOT_ECR),
        ("public.ecr.aws/nginx/nginx:1", TagReason.NOT_ECR),
        ("ghcr.io/org/app:2", TagReason.NOT_ECR),
        ("localhost:5000/app:2", TagReason.NOT_ECR),
        ("210987654321.dkr.ecr.us-east-1.amazonaws.com/api:1", TagReason.OTHER_REGISTRY),
        ("123456789012.dkr.ecr.eu-west-1.amazonaws.com/api:1", TagReason.OTHER_REGION),
    ],
)
def test_only_this_accounts_and_regions_ecr_images_are_ours(image: str, reason: str | None) -> None:
    assert foreign_image_reason(parse_image_reference(image), "123456789012", ["us-east-1"]) == reason


def test_registry_port_is_not_mistaken_for_a_tag() -> None:
    ref = parse_image_reference("localhost:5000/team/app")
    assert (ref.registry, ref.repository, ref.tag) == ("localhost:5000", "team/app", None)
