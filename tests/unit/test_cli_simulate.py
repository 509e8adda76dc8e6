"""`housekeeper simulate` reproduces every documented AWS example from describe-images JSON, and rejects bad input."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from housekeeper.cli.main import main
from housekeeper.core.images import parse_time

from tests.unit.helpers import read_json, write_json

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures" / "aws_examples"
EXAMPLES = sorted(FIXTURES.glob("*.json"))


def simulate(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, policy: Any, images: Any, *extra: str
) -> tuple[int, str, str]:
    policy_path, images_path = write_json(tmp_path, "p.json", policy), write_json(tmp_path, "i.json", images)
    code = main(["simulate", "--policy", policy_path, "--images", images_path, *extra])
    out, err = capsys.readouterr()
    return code, out, err


@pytest.mark.parametrize("path", EXAMPLES, ids=[p.stem for p in EXAMPLES])
def test_every_aws_example_through_the_cli(path: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    example = read_json(path)
    args = ("--now", example["now"], "--output", "json")
    code, out, _ = simulate(capsys, tmp_path, example["policy"], example["images"], *args)
    assert code == 0
    preview = json.loads(out)
    letter = {digest: name for name, digest in example["names"].items()}
    got: dict[str, list[str]] = {"expire": [], "transition": []}
    for result in preview["previewResults"]:
        got[result["action"]["type"].lower()].append(letter[result["imageDigest"]])
    assert {kind: sorted(names) for kind, names in got.items()} == example["expected"]
    assert preview["summary"]["expiringImageTotalCount"] == len(example["expected"]["expire"])


def test_get_lifecycle_policy_output_and_a_bare_image_list_with_epoch_times(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    example = read_json(FIXTURES / "multiple_rules_a.json")
    policy_output = {
        "registryId": "123456789012",
        "repositoryName": "example",
        "lifecyclePolicyText": json.dumps(example["policy"]),
        "lastEvaluatedAt": "2024-06-01T00:00:00+00:00",
    }
    details = example["images"]["imageDetails"]
    for detail in details:
        detail["imagePushedAt"] = parse_time(detail["imagePushedAt"], "t")
    code, out, _ = simulate(capsys, tmp_path, policy_output, details, "--now", "1717243200", "--output", "json")
    assert code == 0
    assert [r["imageDigest"] for r in json.loads(out)["previewResults"]] == [example["names"]["A"]]


def test_table_lists_each_action_and_a_summary(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    example = read_json(FIXTURES / "archive_then_expire.json")
    code, out, _ = simulate(capsys, tmp_path, example["policy"], example["images"], "--now", example["now"])
    assert code == 0
    lines = out.splitlines()
    assert lines[0].split() == ["RULE", "ACTION", "DIGEST", "PUSHED", "STORAGE", "TAGS"]
    assert any(example["names"]["A"] in line and "TRANSITION to ARCHIVE" in line for line in lines)
    assert any(example["names"]["C"] in line and "EXPIRE" in line and "ARCHIVE" in line for line in lines)
    assert "4 images: 1 expire, 1 transition to archive, 2 untouched (as of 2024-06-01T12:00:00+00:00)" in out


def test_nothing_to_do_prints_only_the_summary(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    example = read_json(FIXTURES / "image_age.json")
    code, out, _ = simulate(capsys, tmp_path, example["policy"], example["images"], "--now", "2024-05-01T00:00:00Z")
    assert code == 0
    assert out.startswith("6 images: 0 expire, 0 transition to archive, 6 untouched")


def test_invalid_policy_exits_2_naming_the_rule_and_constraint(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    example = read_json(FIXTURES / "all_images_b.json")
    policy = example["policy"]
    policy["rules"][0]["rulePriority"] = 9  # the `any` rule (priority 3) is no longer last
    code, out, err = simulate(capsys, tmp_path, policy, example["images"], "--output", "json")
    assert code == 2
    problems = json.loads(out)["problems"]
    assert [p["path"] for p in problems] == ["$.rules[2].rulePriority"]
    assert "rulePriority 3" in err and "'any'" in err


@pytest.mark.parametrize(
    ("images", "now", "message"),
    [
        ({"images": []}, "2024-06-01T00:00:00Z", "imageDetails"),
        (
            [{"imageDigest": "sha256:" + "a" * 64, "imagePushedAt": "last tuesday"}],
            "2024-06-01T00:00:00Z",
            "imagePushedAt",
        ),
        ([], "tomorrow", "--now"),
    ],
)
def test_bad_images_or_now_exit_2(
    images: Any, now: str, message: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    example = read_json(FIXTURES / "image_count.json")
    code, _, err = simulate(capsys, tmp_path, example["policy"], images, "--now", now)
    assert code == 2
    assert message in err


def test_unreadable_files_exit_2(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (tmp_path / "broken.json").write_text("{not json")
    policy = write_json(tmp_path, "p.json", read_json(FIXTURES / "image_count.json")["policy"])
    assert main(["simulate", "--policy", policy, "--images", str(tmp_path / "missing.json")]) == 2
    assert "cannot read images file" in capsys.readouterr().err
    assert main(["simulate", "--policy", policy, "--images", str(tmp_path / "broken.json")]) == 2
    assert "not valid JSON" in capsys.readouterr().err


def test_help_explains_the_inputs(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exited:
        main(["simulate", "--help"])
    assert exited.value.code == 0
    text = capsys.readouterr().out
    assert "aws ecr describe-images" in text and "get-lifecycle-policy" in text and "--now" in text


# --- multi-arch images: --manifests ---------------------------------------------------------------------------

AMD64, ARM64, ATTESTATION = ("sha256:" + c * 64 for c in "abc")
INDEX = "sha256:" + "d" * 64
OCI_INDEX = "application/vnd.oci.image.index.v1+json"
OCI_MANIFEST = "application/vnd.oci.image.manifest.v1+json"


def _multi_arch_images() -> dict[str, Any]:
    """A buildx push 30 days ago: a tagged index over two platform images and an attestation, all untagged."""
    pushed = "2024-05-01T00:00:00+00:00"
    detail = {"imagePushedAt": pushed, "imageManifestMediaType": OCI_MANIFEST}
    return {
        "imageDetails": [
            {"imageDigest": INDEX, "imageTags": ["v1"], "imagePushedAt": pushed, "imageManifestMediaType": OCI_INDEX},
            *({"imageDigest": digest, **detail} for digest in (AMD64, ARM64, ATTESTATION)),
        ]
    }


def _batch_get_image_output() -> dict[str, Any]:
    index = {
        "schemaVersion": 2,
        "mediaType": OCI_INDEX,
        "manifests": [
            {
                "mediaType": OCI_MANIFEST,
                "digest": AMD64,
                "size": 1,
                "platform": {"architecture": "amd64", "os": "linux"},
            },
            {
                "mediaType": OCI_MANIFEST,
                "digest": ARM64,
                "size": 1,
                "platform": {"architecture": "arm64", "os": "linux"},
            },
            {
                "mediaType": OCI_MANIFEST,
                "digest": ATTESTATION,
                "size": 1,
                "platform": {"architecture": "unknown", "os": "unknown"},
                "annotations": {"vnd.docker.reference.type": "attestation-manifest"},
            },
        ],
    }
    return {
        "images": [
            {
                "registryId": "123456789012",
                "repositoryName": "web",
                "imageId": {"imageDigest": INDEX, "imageTag": "v1"},
                "imageManifest": json.dumps(index),
                "imageManifestMediaType": OCI_INDEX,
            }
        ],
        "failures": [],
    }


UNTAGGED_AFTER_A_DAY = {
    "rules": [
        {
            "rulePriority": 1,
            "selection": {
                "tagStatus": "untagged",
                "countType": "sinceImagePushed",
                "countUnit": "days",
                "countNumber": 1,
            },
            "action": {"type": "expire"},
        }
    ]
}


def test_without_manifests_the_platform_images_of_a_multi_arch_image_look_expiring(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, _ = simulate(
        capsys,
        tmp_path,
        UNTAGGED_AFTER_A_DAY,
        _multi_arch_images(),
        "--now",
        "2024-06-01T00:00:00Z",
        "--output",
        "json",
    )
    assert code == 0
    assert json.loads(out)["summary"]["expiringImageTotalCount"] == 3


def test_with_manifests_a_kept_index_keeps_its_platform_and_attestation_manifests(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    manifests = write_json(tmp_path, "m.json", _batch_get_image_output())
    args = ("--manifests", manifests, "--now", "2024-06-01T00:00:00Z")
    code, out, _ = simulate(capsys, tmp_path, UNTAGGED_AFTER_A_DAY, _multi_arch_images(), *args, "--output", "json")
    assert code == 0
    assert json.loads(out) == {"previewResults": [], "summary": {"expiringImageTotalCount": 0}}
    code, out, _ = simulate(capsys, tmp_path, UNTAGGED_AFTER_A_DAY, _multi_arch_images(), *args)
    assert "3 image(s) spared: referenced by a manifest list that is kept" in out


def test_several_batch_get_image_responses_can_be_given_as_a_list(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    manifests = write_json(tmp_path, "m.json", [{"images": [], "failures": []}, _batch_get_image_output()])
    args = ("--manifests", manifests, "--now", "2024-06-01T00:00:00Z", "--output", "json")
    code, out, _ = simulate(capsys, tmp_path, UNTAGGED_AFTER_A_DAY, _multi_arch_images(), *args)
    assert (code, json.loads(out)["summary"]["expiringImageTotalCount"]) == (0, 0)


def test_a_bad_manifests_file_exits_2_naming_the_entry(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    manifests = write_json(tmp_path, "m.json", {"images": [{"imageId": {}, "imageManifest": "{}"}]})
    code, _, err = simulate(capsys, tmp_path, UNTAGGED_AFTER_A_DAY, _multi_arch_images(), "--manifests", manifests)
    assert code == 2
    assert "$.images[0].imageId.imageDigest" in err
