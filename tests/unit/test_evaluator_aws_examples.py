"""Every worked example of the AWS page "Examples of lifecycle policies" gives its documented outcome.

Each fixture in tests/fixtures/aws_examples holds the page's policy, its repository as `aws ecr describe-images`
output, the moment of evaluation and the documented result (by image letter). Examples that give only a policy get
a small repository that exercises what the page says the policy does.
"""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

import pytest
from housekeeper.core.evaluator import evaluate
from housekeeper.core.images import parse_images_document, parse_time

from tests.unit.helpers import read_json

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures" / "aws_examples"
EXAMPLES = sorted(FIXTURES.glob("*.json"))


def outcome(example: dict[str, Any], policy: dict[str, Any] | None = None) -> dict[str, list[str]]:
    images = parse_images_document(example["images"])
    result = evaluate(policy or example["policy"], images, parse_time(example["now"], "now"))
    letter = {digest: name for name, digest in example["names"].items()}
    return {
        "expire": sorted(letter[d] for d in result.expiring_digests),
        "transition": sorted(letter[d] for d in result.transitioning_digests),
    }


def test_every_documented_section_has_a_fixture() -> None:
    titles = " | ".join(read_json(path)["title"] for path in EXAMPLES)
    for section in (
        "Filtering on image age",
        "Filtering on last pulled time",
        "Filtering on archive transition time",
        "Filtering on image count",
        "Filtering on multiple rules, Example A",
        "Filtering on multiple rules, Example B",
        "Filtering on multiple tags in a single rule, Example A",
        "Filtering on multiple tags in a single rule, Example B",
        "Filtering on all images, Example A",
        "Filtering on all images, Example B",
        "Archive examples: archiving images older",
        "Archive examples: archiving images not pulled",
        "Archive examples: combining archive and expire",
    ):
        assert section in titles


@pytest.mark.parametrize("path", EXAMPLES, ids=[p.stem for p in EXAMPLES])
def test_documented_outcome(path: Path) -> None:
    example = read_json(path)
    assert outcome(example) == example["expected"], example["notes"]


@pytest.mark.parametrize(
    "stem", ["multiple_rules_a", "multiple_rules_b", "multiple_tags_a", "multiple_tags_b", "all_images_b"]
)
def test_older_page_version_with_tag_prefix_lists_gives_the_same_outcome(stem: str) -> None:
    """Earlier versions of the page wrote these examples with tagPrefixList ["prod"] instead of ["prod*"]."""
    example = read_json(FIXTURES / f"{stem}.json")
    policy = copy.deepcopy(example["policy"])
    for rule in policy["rules"]:
        patterns = rule["selection"].pop("tagPatternList", None)
        if patterns:
            rule["selection"]["tagPrefixList"] = [p.rstrip("*") for p in patterns]
    assert outcome(example, policy) == example["expected"]


def test_older_page_version_expires_untagged_images_older_than_14_days() -> None:
    """The older page's "Filtering on image age" example: untagged images older than 14 days expire."""
    policy = {
        "rules": [
            {
                "rulePriority": 1,
                "description": "Expire images older than 14 days",
                "selection": {
                    "tagStatus": "untagged",
                    "countType": "sinceImagePushed",
                    "countUnit": "days",
                    "countNumber": 14,
                },
                "action": {"type": "expire"},
            }
        ]
    }
    example = read_json(FIXTURES / "image_age.json")  # F is untagged and 30 days old; E is tagged
    assert outcome(example, policy) == {"expire": ["F"], "transition": []}


def test_preview_response_of_multiple_rules_example_a() -> None:
    example = read_json(FIXTURES / "multiple_rules_a.json")
    images = parse_images_document(example["images"])
    preview = evaluate(example["policy"], images, parse_time(example["now"], "now")).to_preview_response()
    assert preview == {
        "previewResults": [
            {
                "imageDigest": example["names"]["A"],
                "imageTags": ["beta-1", "prod-1"],
                "imagePushedAt": "2024-05-22T12:00:00+00:00",
                "action": {"type": "EXPIRE"},
                "appliedRulePriority": 1,
                "storageClass": "STANDARD",
            }
        ],
        "summary": {"expiringImageTotalCount": 1},
    }
