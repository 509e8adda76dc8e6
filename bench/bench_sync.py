"""Policy sync benchmark: 1,000 repositories on the moto server, the real handlers over HTTP.

Goal (issue 4): syncing an account where every policy is already in step costs at most 1.3x a bare loop of the
same GetLifecyclePolicy + DescribeImages calls, and writes nothing. Figures:
- seconds for the first sync (every policy written) and for plan_sync (list + queue 1,000 messages);
- best-of-N seconds for an in-sync worker pass over all repositories (the real sync_repository handler, batches
  of 10 SQS records) and for the bare loop, and their ratio;
- writes during the in-sync pass (goal 0);
- API calls by operation for one full sync (plan_sync + worker), counted with a botocore `before-call` hook.
"""

from __future__ import annotations

import contextlib
import hashlib
import io
import json
import logging
import os
import time
from collections import Counter
from collections.abc import Iterator
from typing import Any

from demo.emulator import EmulatedAccount, backdate_images, emulated_account_environment

REPOSITORIES = 1_000
IMAGES_PER_REPOSITORY = 3
ROUNDS = 2
PARAMETER = "/ecr-housekeeper/config"
DAY = 86_400.0
DOCKER_V2 = "application/vnd.docker.distribution.manifest.v2+json"
CONFIG = {
    "version": 1,
    "mode": "enforce",
    "environments": [
        {"name": "prod", "tagPrefix": "Prod", "keep": 5, "clusters": ["prod-*"]},
        {"name": "dev", "tagPrefix": "Dev", "keep": 3, "clusters": ["dev-*"]},
    ],
    "untagged": {"expireAfterDays": 14},
    "catchAll": {"expireAfterDays": 90},
    "safety": {"protectInUse": True, "maxExpireFraction": 0.5},
}


class _Context:
    function_name = "bench-sync"
    memory_limit_in_mb = 1024
    invoked_function_arn = "arn:aws:lambda:us-east-1:123456789012:function:bench-sync"
    aws_request_id = "bench"


def _manifest(seed: str) -> str:
    config_digest = "sha256:" + hashlib.sha256(seed.encode()).hexdigest()
    return json.dumps(
        {
            "schemaVersion": 2,
            "mediaType": DOCKER_V2,
            "config": {
                "mediaType": "application/vnd.docker.container.image.v1+json",
                "size": 1,
                "digest": config_digest,
            },
            "layers": [],
        }
    )


def _seed(names: list[str]) -> None:
    from housekeeper.aws.session import client

    ecr, ssm, ecs = client("ecr"), client("ssm"), client("ecs")
    now = time.time()
    for name in names:
        ecr.create_repository(repositoryName=name)
        pushed: dict[str, float] = {}
        for build in range(1, IMAGES_PER_REPOSITORY + 1):
            manifest = _manifest(f"{name}:{build}")
            digest = "sha256:" + hashlib.sha256(manifest.encode()).hexdigest()  # moto would invent one
            ecr.put_image(
                repositoryName=name,
                imageManifest=manifest,
                imageManifestMediaType=DOCKER_V2,
                imageTag=f"Prod-{build}",
                imageDigest=digest,
            )
            pushed[digest] = now - (IMAGES_PER_REPOSITORY + 1 - build) * DAY
        backdate_images(name, pushed)
    ssm.put_parameter(Name=PARAMETER, Value=json.dumps(CONFIG), Type="String")
    ecs.create_cluster(clusterName="prod-main")


def _records(names: list[str]) -> Iterator[dict[str, Any]]:
    for start in range(0, len(names), 10):
        yield {
            "Records": [
                {
                    "messageId": f"m-{start + i}",
                    "receiptHandle": f"r-{start + i}",
                    "body": json.dumps({"repositoryName": name, "trigger": "sweep"}),
                    "attributes": {},
                    "messageAttributes": {},
                    "md5OfBody": "",
                    "eventSource": "aws:sqs",
                    "eventSourceARN": "arn:aws:sqs:us-east-1:123456789012:sync",
                    "awsRegion": "us-east-1",
                }
                for i, name in enumerate(names[start : start + 10])
            ]
        }


def _worker_pass(names: list[str]) -> tuple[float, int]:
    """Every repository through the real worker handler; returns seconds and failed messages."""
    from housekeeper.handlers import sync_repository

    failed = 0
    started = time.perf_counter()
    for event in _records(names):
        failed += len(sync_repository.handler(event, _Context())["batchItemFailures"])  # type: ignore[arg-type]
    return time.perf_counter() - started, failed


def _bare_loop(names: list[str]) -> float:
    """The floor: the same two reads per repository, nothing else."""
    from housekeeper.aws.session import client

    ecr = client("ecr")
    paginator = ecr.get_paginator("describe_images")
    started = time.perf_counter()
    for name in names:
        with contextlib.suppress(ecr.exceptions.LifecyclePolicyNotFoundException):
            ecr.get_lifecycle_policy(repositoryName=name)
        for page in paginator.paginate(repositoryName=name, PaginationConfig={"PageSize": 1000}):
            page.get("imageDetails")
    return time.perf_counter() - started


@contextlib.contextmanager
def _count_calls() -> Iterator[Counter[str]]:
    from housekeeper.aws.session import client

    counts: Counter[str] = Counter()

    def hook(model: Any, **_: Any) -> None:
        counts[f"{model.service_model.service_id.hyphenize()}:{model.name}"] += 1

    clients = [client(name) for name in ("ecr", "ecs", "ssm", "sqs", "lambda", "scheduler", "events")]
    for each in clients:
        each.meta.events.register("before-call", hook, unique_id="bench-sync-count")
    try:
        yield counts
    finally:
        for each in clients:
            each.meta.events.unregister("before-call", unique_id="bench-sync-count")


class _NullStream(io.TextIOBase):
    def write(self, text: str) -> int:
        return len(text)


@contextlib.contextmanager
def _quiet_logs() -> Iterator[None]:
    """The worker logs one line per repository (formatted as in Lambda); the lines are dropped, not printed."""
    from housekeeper.observability import logger

    handler = logger.registered_handler
    previous = handler.setStream(_NullStream())  # type: ignore[attr-defined]
    try:
        yield
    finally:
        handler.setStream(previous)  # type: ignore[attr-defined]


def run() -> dict[str, Any]:
    from housekeeper.aws.session import client, reset_clients
    from housekeeper.handlers import plan_sync
    from housekeeper.logic.inventory import shared_scanner

    names = [f"team-{i // 50:02d}/service-{i:04d}" for i in range(REPOSITORIES)]
    logging.getLogger("werkzeug").setLevel(logging.ERROR)  # the moto server's request log
    account = EmulatedAccount().start()
    saved = {key: os.environ.get(key) for key in ("HOUSEKEEPER_CONFIG_PARAMETER", "HOUSEKEEPER_SYNC_QUEUE_URL")}
    try:
        with emulated_account_environment(account), contextlib.redirect_stdout(_NullStream()), _quiet_logs():
            reset_clients()
            shared_scanner.clear()
            os.environ["HOUSEKEEPER_CONFIG_PARAMETER"] = PARAMETER
            started = time.perf_counter()
            _seed(names)
            seed_seconds = time.perf_counter() - started
            queue_url = client("sqs").create_queue(QueueName="sync")["QueueUrl"]
            os.environ["HOUSEKEEPER_SYNC_QUEUE_URL"] = queue_url

            with _count_calls() as calls:
                started = time.perf_counter()
                planned = plan_sync.handler(
                    {"id": "bench", "source": "aws.events", "detail-type": "Scheduled Event"},
                    _Context(),  # type: ignore[arg-type]
                )
                plan_seconds = time.perf_counter() - started
                first_seconds, first_failed = _worker_pass(names)
            full_sync_calls = dict(sorted(calls.items()))

            in_sync_times, bare_times, writes, failed = [], [], 0, first_failed
            for _ in range(ROUNDS):
                bare_times.append(_bare_loop(names))
                with _count_calls() as calls:
                    seconds, round_failed = _worker_pass(names)
                in_sync_times.append(seconds)
                writes += calls.get("ecr:PutLifecyclePolicy", 0)
                failed += round_failed
            in_sync_calls = dict(sorted(calls.items()))
            reset_clients()
    finally:
        account.stop()
        for key, value in saved.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value

    best_sync, best_bare = min(in_sync_times), min(bare_times)
    return {
        "repositories": REPOSITORIES,
        "images per repository": IMAGES_PER_REPOSITORY,
        "seed seconds": round(seed_seconds, 1),
        "plan_sync seconds (list + queue)": round(plan_seconds, 2),
        "queued": planned["queued"],
        "first sync seconds (all written)": round(first_seconds, 2),
        "in-sync pass seconds (best)": round(best_sync, 2),
        "bare loop seconds (best)": round(best_bare, 2),
        "ratio in-sync / bare (goal <= 1.3)": round(best_sync / best_bare, 2),
        "writes when in sync (goal 0)": writes,
        "failed messages": failed,
        "API calls, full sync (plan_sync + worker)": full_sync_calls,
        "API calls, in-sync pass": in_sync_calls,
    }


if __name__ == "__main__":
    for key, value in run().items():
        print(f"{key}: {value}")
