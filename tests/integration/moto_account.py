"""The moto account the sync integration tests run the real handlers in, and what they do to it.

The `account` fixture (tests/integration/conftest.py) yields an `Account`: the config parameter, the sync queue
and its DLQ, and the handlers' decisions as they record them. The functions here seed it and steer its AWS calls.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from botocore.awsrequest import AWSResponse
from housekeeper.aws.session import client
from housekeeper.handlers import plan_sync as plan_sync_handler
from housekeeper.handlers import sync_repository as worker_handler
from housekeeper.logic import sync

from tests.fakes import CONFIG_PARAMETER, REGISTRY, FakeLambdaContext, push_prod_builds, sqs_event

# A policy no config compiles to: what an operator wrote by hand before the housekeeper took over.
HAND_MADE_POLICY = {
    "rules": [
        {
            "rulePriority": 1,
            "description": "hand made",
            "selection": {"tagStatus": "any", "countType": "imageCountMoreThan", "countNumber": 500},
            "action": {"type": "expire"},
        }
    ]
}


@dataclass
class Account:
    """The seeded moto account plus what the handlers decided, collected from their one-line-per-repo records."""

    queue_url: str
    dlq_url: str
    results: list[sync.SyncResult] = field(default_factory=list)
    metrics: list[tuple[str, float]] = field(default_factory=list)

    @property
    def ecr(self) -> Any:
        return client("ecr")

    @property
    def sqs(self) -> Any:
        return client("sqs")

    def put_config(self, config: dict[str, Any] | str) -> None:
        text = config if isinstance(config, str) else json.dumps(config)
        client("ssm").put_parameter(Name=CONFIG_PARAMETER, Value=text, Type="String", Overwrite=True)

    def policy(self, repository: str) -> dict[str, Any] | None:
        try:
            text = self.ecr.get_lifecycle_policy(repositoryName=repository)["lifecyclePolicyText"]
        except self.ecr.exceptions.LifecyclePolicyNotFoundException:
            return None
        policy: dict[str, Any] = json.loads(text)
        return policy

    def decisions(self) -> dict[str, str]:
        return {r.repository: r.action for r in self.results}

    def metric(self, name: str) -> float:
        return sum(value for metric, value in self.metrics if metric == name)

    def plan(self, event: dict[str, Any]) -> dict[str, Any]:
        result: dict[str, Any] = plan_sync_handler.handler(event, FakeLambdaContext())
        return result

    def receive(self, queue_url: str | None = None) -> list[dict[str, Any]]:
        messages: list[dict[str, Any]] = []
        while True:
            page = self.sqs.receive_message(
                QueueUrl=queue_url or self.queue_url, MaxNumberOfMessages=10, MessageSystemAttributeNames=["All"]
            ).get("Messages", [])
            if not page:
                return messages
            messages.extend(page)

    def work(self, messages: list[dict[str, Any]] | None = None, batch_size: int = 5) -> list[str]:
        """Hand queued messages to the worker in batches; delete successes, return the failed message ids."""
        pending = self.receive() if messages is None else messages
        failed: list[str] = []
        for start in range(0, len(pending), batch_size):
            batch = pending[start : start + batch_size]
            response = worker_handler.handler(sqs_event(batch), FakeLambdaContext())
            failures = {f["itemIdentifier"] for f in response["batchItemFailures"]}
            failed.extend(failures)
            for message in batch:
                if message["MessageId"] in failures:  # visible again at once instead of after the timeout
                    self.sqs.change_message_visibility(
                        QueueUrl=self.queue_url, ReceiptHandle=message["ReceiptHandle"], VisibilityTimeout=0
                    )
                else:
                    self.sqs.delete_message(QueueUrl=self.queue_url, ReceiptHandle=message["ReceiptHandle"])
        return failed


def seed_repository(repository: str, builds: int = 4) -> dict[str, str]:
    """Prod-1 .. Prod-<builds>, one day apart (Prod-1 oldest, all within the catch-all); returns tag -> digest."""
    ecr = client("ecr")
    ecr.create_repository(repositoryName=repository)
    return push_prod_builds(ecr, repository, builds)


def run_prod_task(repository: str, tag: str, cluster: str = "prod-main") -> None:
    """A running ECS task of `<repository>:<tag>` (moto reports no imageDigest, so the tag identifies it)."""
    ecs = client("ecs")
    ecs.create_cluster(clusterName=cluster)
    family = f"{cluster}-{repository.replace('/', '-')}"
    ecs.register_task_definition(
        family=family,
        networkMode="bridge",
        containerDefinitions=[{"name": "app", "image": f"{REGISTRY}/{repository}:{tag}", "memory": 128}],
    )
    ecs.run_task(cluster=cluster, taskDefinition=family, launchType="FARGATE", group=f"service:{family}")


def count_calls(operation: str) -> list[dict[str, Any]]:
    """Record every call of `ecr.<operation>` the handlers make (they share the cached session client)."""
    calls: list[dict[str, Any]] = []
    client("ecr").meta.events.register(f"before-call.ecr.{operation}", lambda params, **_: calls.append(params))
    return calls


def fail_calls(service: str, operation: str, code: str, when: Callable[[dict[str, Any]], bool]) -> None:
    """Answer matching calls with an AWS error response (as if boto3's retries had given up).

    `when` sees the API parameters (the JSON request body).
    """

    def respond(params: dict[str, Any], **_: Any) -> Any:
        if not when(json.loads(params.get("body") or b"{}")):
            return None
        body = {"__type": code, "message": f"injected {code}"}
        return AWSResponse("https://fault", 400, {}, None), {"Error": {"Code": code, "Message": body["message"]}}

    client(service).meta.events.register(f"before-call.{service}.{operation}", respond)
