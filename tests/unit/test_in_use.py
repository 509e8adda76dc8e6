"""What ECS runs, as the guard sees it: reported digests, pinned digests, or tags resolved in the repository."""

from __future__ import annotations

from housekeeper.aws.ports import RunningContainer
from housekeeper.core.images import ImageRecord
from housekeeper.logic.in_use import collect_in_use

REGISTRY = "123456789012.dkr.ecr.us-east-1.amazonaws.com"
PINNED = "sha256:" + "a" * 64
REPORTED = "sha256:" + "b" * 64
TAGGED = "sha256:" + "c" * 64
OTHER = "sha256:" + "d" * 64


def _container(image: str, digest: str | None = None) -> RunningContainer:
    return RunningContainer(
        cluster="prod-main", service="web", task_arn="arn:task", container_name="app", image=image, image_digest=digest
    )


def test_every_way_ecs_names_a_running_image_reaches_the_guard() -> None:
    in_use = collect_in_use(
        [
            _container(f"{REGISTRY}/shop/web:1234", digest=REPORTED),  # ECS reported the resolved digest
            _container(f"{REGISTRY}/shop/web@{PINNED}"),  # pinned by digest in the task definition
            _container(f"{REGISTRY}/shop/web:1300"),  # only a tag: resolved against the repository's images
            _container("nginx:1.27"),  # Docker Hub: not ours, nothing to protect in ECR
        ]
    )
    images = [
        ImageRecord(digest=TAGGED, tags=("1300", "Prod-1300"), pushed_at=0.0),
        ImageRecord(digest=OTHER, tags=("1299",), pushed_at=0.0),
    ]
    assert in_use.digests_for("shop/web", images) == {REPORTED, PINNED, TAGGED}
    assert in_use.digests_for("nginx", [ImageRecord(digest=OTHER, tags=("1.27",), pushed_at=0.0)]) == {
        REPORTED,
        PINNED,
    }
