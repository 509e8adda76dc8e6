"""`housekeeper tag` on moto: the pipeline retag, where the seed's bash worked and where it broke."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import boto3
import pytest
from housekeeper.aws.ecr import MANIFEST_MEDIA_TYPES
from housekeeper.cli.main import main

from tests.fakes import DOCKER_V2, OCI_INDEX, OCI_MANIFEST, image_manifest, index_manifest, push_to_moto

EXAMPLE_CONFIG = str(Path(__file__).resolve().parents[2] / "config" / "example.json")


@pytest.fixture
def ecr(mocked_aws: None) -> Any:
    client = boto3.client("ecr", region_name="us-east-1")
    client.create_repository(repositoryName="payments/api")
    return client


def tags(ecr: Any, digest: str) -> list[str]:
    found = ecr.describe_images(repositoryName="payments/api", imageIds=[{"imageDigest": digest}])["imageDetails"]
    return sorted(found[0].get("imageTags", []))


def run_json(args: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, dict[str, Any]]:
    code = main([*args, "--output", "json"])
    return code, json.loads(capsys.readouterr().out)


def test_tag_by_image_tag_keeps_the_manifest_bytes(ecr: Any, capsys: pytest.CaptureFixture[str]) -> None:
    manifest = image_manifest("1234")
    digest = push_to_moto(ecr, "payments/api", manifest, DOCKER_V2, "1234")

    code, out = run_json(["tag", "--repository", "payments/api", "--image-tag", "1234", "--tag", "Prod-1234"], capsys)

    assert (code, out["status"], out["digest"]) == (0, "tagged", digest)
    assert tags(ecr, digest) == ["1234", "Prod-1234"]
    got = ecr.batch_get_image(
        repositoryName="payments/api",
        imageIds=[{"imageTag": "Prod-1234"}],
        acceptedMediaTypes=list(MANIFEST_MEDIA_TYPES),
    )["images"][0]
    assert got["imageManifest"] == manifest


def test_tag_a_multi_arch_index_by_digest_with_env_and_build(ecr: Any, capsys: pytest.CaptureFixture[str]) -> None:
    """The seed's bash (no --accepted-media-types) could not do this without breaking the index."""
    children = [push_to_moto(ecr, "payments/api", image_manifest(a, OCI_MANIFEST), OCI_MANIFEST, a) for a in ("x", "y")]
    index = push_to_moto(ecr, "payments/api", index_manifest(children), OCI_INDEX, "88")

    args = ["tag", "--repository", "payments/api", "--digest", index, "--env", "staging", "--build", "88"]
    code, out = run_json([*args, "--config", EXAMPLE_CONFIG], capsys)

    assert (code, out["tag"], out["status"]) == (0, "Staging-88", "tagged")
    assert tags(ecr, index) == ["88", "Staging-88"]
    assert all(tags(ecr, child) == [child_tag] for child, child_tag in zip(children, ("x", "y"), strict=True))


def test_tag_twice_is_success_and_a_tag_on_another_image_is_a_conflict(
    ecr: Any, capsys: pytest.CaptureFixture[str]
) -> None:
    first = push_to_moto(ecr, "payments/api", image_manifest("1"), DOCKER_V2, "1")
    second = push_to_moto(ecr, "payments/api", image_manifest("2"), DOCKER_V2, "2")
    assert run_json(["tag", "--repository", "payments/api", "--digest", first, "--tag", "stable"], capsys)[0] == 0

    code, out = run_json(["tag", "--repository", "payments/api", "--digest", first, "--tag", "stable"], capsys)
    assert (code, out["status"]) == (0, "already_present")

    code, out = run_json(["tag", "--repository", "payments/api", "--digest", second, "--tag", "stable"], capsys)
    assert (code, out["status"]) == (1, "conflict")
    assert tags(ecr, first) == ["1", "stable"] and tags(ecr, second) == ["2"]


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--image-tag", "1", "--tag", "bad/tag"], "--tag: 'bad/tag' is not an image tag"),
        (["--image-tag", "1", "--tag", "Prod-1\n"], "--tag: 'Prod-1\\n' is not an image tag"),
        (["--image-tag", "1\n", "--tag", "Prod-1"], "--image-tag: '1\\n' is not an image tag"),
        (["--image-tag", "1", "--env", "prod", "--build", "1"], "--config"),
        (["--image-tag", "1", "--env", "qa", "--build", "1", "--config", EXAMPLE_CONFIG], "unknown environment 'qa'"),
        (["--image-tag", "1"], "--tag"),
        (["--digest", "abc", "--tag", "Prod-1"], "not an image digest"),
    ],
)
def test_bad_input_exits_2_and_says_why(
    ecr: Any, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch, args: list[str], message: str
) -> None:
    from housekeeper.cli import common

    def no_aws() -> Any:
        raise AssertionError("bad input must be refused before any AWS call")

    monkeypatch.setattr(common, "ecr_gateway", no_aws)
    assert main(["tag", "--repository", "payments/api", *args]) == 2
    err = capsys.readouterr().err
    assert message in err
    assert err.count("\n") == 1 and "Traceback" not in err


@pytest.mark.parametrize("repository", ["Payments/API", "payments//api", "a", "payments/api\n", "-api", ""])
def test_a_repository_name_ecr_would_refuse_exits_2_before_any_call(
    repository: str, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["tag", f"--repository={repository}", "--image-tag", "1", "--tag", "Prod-1"]) == 2
    assert "--repository" in capsys.readouterr().err


def test_a_missing_image_exits_1(ecr: Any, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["tag", "--repository", "payments/api", "--image-tag", "nope", "--tag", "Prod-1"]) == 1
    assert "no image tagged 'nope'" in capsys.readouterr().err
