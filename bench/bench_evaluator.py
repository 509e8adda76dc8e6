"""Evaluator benchmark: 10k and 100k synthetic images, a 20-rule policy, timed against json.load of the same file.

Goal (issue 2): at 100k images, evaluation costs at most 2x parsing the describe-images JSON, and 10x the images
costs at most 12x the time. Three figures per size, each the best of several rounds:
- load: `json.load` of the describe-images file (the yardstick);
- records: `parse_images_document`, DescribeImages details -> ImageRecords (ISO times parsed);
- evaluate: `evaluate(policy, records, now)`.
The headline ratio is evaluate / load; (records + evaluate) / load is reported too, so nothing is hidden.
"""

from __future__ import annotations

import gc
import hashlib
import json
import random
import tempfile
import time
from collections.abc import Callable
from datetime import UTC, datetime
from operator import attrgetter
from pathlib import Path
from typing import Any

from housekeeper.core.evaluator import evaluate
from housekeeper.core.images import parse_images_document
from housekeeper.core.policy import validate_policy

NOW = datetime(2024, 6, 1, tzinfo=UTC).timestamp()
DAY = 86_400.0
SIZES = (10_000, 100_000)
ROUNDS = 7
ENVIRONMENTS = [
    "Prod", "Staging", "Dev", "Qa", "Uat", "Perf", "Demo", "Sandbox", "Preprod", "Hotfix", "Train", "Canary",
    "Eu", "Us",
]  # fmt: skip


def synthetic_describe_images(count: int, seed: int = 7) -> dict[str, Any]:
    """A repository like the seed's: build tags, env tags on deployed builds, 20% untagged, 5% archived, 5 years."""
    rng = random.Random(seed)
    details = []
    for number in range(count):
        pushed = NOW - rng.uniform(0, 5 * 365) * DAY
        tags: list[str] = []
        roll = rng.random()
        if roll >= 0.2:
            tags.append(str(100_000 + number))
            if roll < 0.5:
                tags.append(f"{rng.choice(ENVIRONMENTS)}-{100_000 + number}")
            elif roll < 0.55:
                tags.append(f"{100_000 + number}-rc{rng.randint(1, 5)}")
            elif roll < 0.56:
                tags.append(f"release-{number}")
        detail: dict[str, Any] = {
            "registryId": "123456789012",
            "repositoryName": "bench/service",
            "imageDigest": "sha256:" + hashlib.sha256(f"{seed}-{number}".encode()).hexdigest(),
            "imageSizeInBytes": rng.randint(20_000_000, 900_000_000),
            "imagePushedAt": datetime.fromtimestamp(pushed, tz=UTC).isoformat(),
            "imageManifestMediaType": "application/vnd.docker.distribution.manifest.v2+json",
            "artifactMediaType": "application/vnd.docker.container.image.v1+json",
        }
        if tags:
            detail["imageTags"] = tags
        if rng.random() < 0.6:
            pulled = rng.uniform(pushed, NOW)
            detail["lastRecordedPullTime"] = datetime.fromtimestamp(pulled, tz=UTC).isoformat()
        if rng.random() < 0.05:
            detail["imageStatus"] = "ARCHIVED"
            archived = rng.uniform(pushed, NOW)
            detail["lastArchivedAt"] = datetime.fromtimestamp(archived, tz=UTC).isoformat()
        else:
            detail["imageStatus"] = "ACTIVE"
        details.append(detail)
    return {"imageDetails": details}


def twenty_rule_policy() -> dict[str, Any]:
    """Protect rules, one keep-N rule per environment, a glob rule, untagged, archive expiry, catch-all: 20 rules."""
    rules: list[dict[str, Any]] = []

    def add(priority: int, selection: dict[str, Any], action: dict[str, Any] | None = None) -> None:
        rules.append({"rulePriority": priority, "selection": selection, "action": action or {"type": "expire"}})

    protect = {"countType": "imageCountMoreThan", "countNumber": 9999, "tagStatus": "tagged"}
    add(1, {**protect, "tagPatternList": ["latest"]})
    add(2, {**protect, "tagPatternList": ["release-*"]})
    for index, env in enumerate(ENVIRONMENTS, start=1):
        add(
            10 * index,
            {
                "tagStatus": "tagged",
                "tagPatternList": [f"{env}-*"],
                "countType": "imageCountMoreThan",
                "countNumber": 5,
            },
        )
    days = {"countUnit": "days"}
    add(
        500,
        {
            "tagStatus": "tagged",
            "tagPatternList": ["*-rc*"],
            "countType": "sinceImagePushed",
            "countNumber": 30,
            **days,
        },
    )
    add(600, {"tagStatus": "untagged", "countType": "sinceImagePushed", "countNumber": 14, **days})
    add(
        700,
        {
            "tagStatus": "any",
            "storageClass": "archive",
            "countType": "sinceImageTransitioned",
            "countNumber": 180,
            **days,
        },
    )
    add(800, {"tagStatus": "any", "countType": "sinceImagePushed", "countNumber": 90, **days})
    return {"rules": rules}


def timed(action: Callable[[], Any]) -> tuple[float, Any]:
    gc.collect()
    started = time.perf_counter()
    result = action()
    return time.perf_counter() - started, result


class Case:
    """One size: its describe-images file and the best time seen so far for each step."""

    def __init__(self, count: int, policy: dict[str, Any], folder: Path) -> None:
        self.count, self.policy = count, policy
        self.path = folder / f"images-{count}.json"
        self.path.write_text(json.dumps(synthetic_describe_images(count)))
        self.best = {key: float("inf") for key in ("load_s", "records_s", "evaluate_s", "sort_s")}
        self.expiring = self.transitioning = 0

    def load(self) -> Any:
        with self.path.open(encoding="utf-8") as handle:
            return json.load(handle)

    def round(self) -> None:
        """load, records and evaluate back to back, so that a busy moment slows all three alike."""
        load_s, document = timed(self.load)
        records_s, images = timed(lambda: parse_images_document(document))
        evaluate_s, evaluation = timed(lambda: evaluate(self.policy, images, NOW))
        # The floor: one sort of the records by push time, the least any keep-N evaluation must do.
        sort_s, _ = timed(lambda: sorted(images, key=attrgetter("pushed_at")))
        timings = (("load_s", load_s), ("records_s", records_s), ("evaluate_s", evaluate_s), ("sort_s", sort_s))
        for key, value in timings:
            self.best[key] = min(self.best[key], value)
        self.expiring = len(evaluation.expiring_digests)
        self.transitioning = len(evaluation.transitioning_digests)

    def row(self) -> dict[str, Any]:
        return {
            "images": self.count,
            "file_mb": round(self.path.stat().st_size / 1e6, 1),
            **self.best,
            "expiring": self.expiring,
            "transitioning": self.transitioning,
        }


def measure_all(policy: dict[str, Any], folder: Path) -> list[dict[str, Any]]:
    """Best of ROUNDS rounds; the sizes take turns within each round, so that the scaling ratio compares runs
    made under the same machine load."""
    cases = [Case(count, policy, folder) for count in SIZES]
    for _ in range(ROUNDS):
        for case in cases:  # one try per size and round: the same number of samples for both sizes
            case.round()
    return [case.row() for case in cases]


def run() -> dict[str, Any]:
    policy = twenty_rule_policy()
    problems = validate_policy(policy)
    if problems:  # the benchmark must measure a policy ECR would accept
        raise RuntimeError(f"benchmark policy is invalid: {problems}")
    with tempfile.TemporaryDirectory() as folder:
        small, large = measure_all(policy, Path(folder))
    figures: dict[str, Any] = {"rules": len(policy["rules"])}
    for row in (small, large):
        label = f"{row['images'] // 1000}k"
        figures[f"{label} file MB"] = row["file_mb"]
        figures[f"{label} json.load s"] = round(row["load_s"], 4)
        figures[f"{label} records s"] = round(row["records_s"], 4)
        figures[f"{label} evaluate s"] = round(row["evaluate_s"], 4)
        figures[f"{label} expiring/transitioning"] = f"{row['expiring']}/{row['transitioning']}"
        figures[f"{label} evaluate / load"] = round(row["evaluate_s"] / row["load_s"], 2)
        figures[f"{label} (records + evaluate) / load"] = round(
            (row["records_s"] + row["evaluate_s"]) / row["load_s"], 2
        )
    figures["evaluate scaling 100k / 10k"] = round(large["evaluate_s"] / small["evaluate_s"], 2)
    figures["records + evaluate scaling 100k / 10k"] = round(
        (large["records_s"] + large["evaluate_s"]) / (small["records_s"] + small["evaluate_s"]), 2
    )
    figures["json.load scaling 100k / 10k"] = round(large["load_s"] / small["load_s"], 2)
    figures["floor: sort records by push, scaling 100k / 10k"] = round(large["sort_s"] / small["sort_s"], 2)
    # How much worse than linear evaluation scales, next to how much worse json.load itself scales on this machine.
    figures["evaluate scaling / json.load scaling"] = round(
        figures["evaluate scaling 100k / 10k"] / figures["json.load scaling 100k / 10k"], 2
    )
    figures["goal evaluate / load at 100k <= 2"] = figures["100k evaluate / load"] <= 2
    figures["goal scaling <= 12"] = figures["evaluate scaling 100k / 10k"] <= 12
    return figures
