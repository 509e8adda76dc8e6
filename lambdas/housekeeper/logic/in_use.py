"""What ECS runs now: the digests the safety guard must never let a policy expire.

The scan covers every cluster that a configured environment's `clusters` globs match. It costs a ListClusters
walk plus ListTasks/DescribeTasks per matching cluster, so it runs at most once per invocation and the result is
kept for a short time (`TTL_SECONDS`) in the warm Lambda container: a batch of ten repositories, and the next
batches a warm worker takes, share one scan instead of scanning per repository.

ECS reports the digest a task resolved (`imageDigest`) for images pulled by tag; where it does not, the image
reference is kept as repository + tag (or its `@sha256:` digest) and resolved against the repository's own image
list, so no extra API call is needed.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field

from housekeeper.aws.ports import EcsGateway, RunningContainer
from housekeeper.core.config import Config
from housekeeper.core.images import ImageRecord
from housekeeper.core.resolution import parse_image_reference

TTL_SECONDS = 60.0


@dataclass(frozen=True)
class InUse:
    """Digests that run now, plus `repository -> tags` for containers whose digest ECS did not report."""

    digests: frozenset[str] = frozenset()
    tags_by_repository: Mapping[str, frozenset[str]] = field(default_factory=dict)
    clusters: tuple[str, ...] = ()

    def digests_for(self, repository: str, images: Iterable[ImageRecord]) -> frozenset[str]:
        """The in-use digests that concern one repository's images (digest or unresolved tag matches)."""
        tags = self.tags_by_repository.get(repository, frozenset())
        if not tags:
            return self.digests
        return self.digests | {image.digest for image in images if tags.intersection(image.tags)}


NOTHING_IN_USE = InUse()


def collect_in_use(containers: Iterable[RunningContainer], clusters: tuple[str, ...] = ()) -> InUse:
    digests: set[str] = set()
    tags: dict[str, set[str]] = {}
    for container in containers:
        if container.image_digest:
            digests.add(container.image_digest)
            continue
        reference = parse_image_reference(container.image)
        if not reference.is_private_ecr:
            continue
        if reference.digest:
            digests.add(reference.digest)
        elif reference.tag:
            tags.setdefault(reference.repository, set()).add(reference.tag)
    return InUse(
        digests=frozenset(digests),
        tags_by_repository={repo: frozenset(values) for repo, values in tags.items()},
        clusters=clusters,
    )


class InUseScanner:
    """Scans the matching clusters and remembers the answer for `ttl_seconds` per set of cluster globs."""

    def __init__(self, ttl_seconds: float = TTL_SECONDS, clock: Callable[[], float] = time.monotonic) -> None:
        self._ttl = ttl_seconds
        self._clock = clock
        self._cache: dict[tuple[str, ...], tuple[float, InUse]] = {}

    def scan(self, ecs: EcsGateway, config: Config) -> InUse:
        if not config.safety.protect_in_use:
            return NOTHING_IN_USE
        patterns = tuple(sorted({p for env in config.environments for p in env.clusters}))
        if not patterns:
            return NOTHING_IN_USE
        cached = self._cache.get(patterns)
        now = self._clock()
        if cached is not None and cached[0] > now:
            return cached[1]
        clusters = tuple(
            name for name in ecs.iter_cluster_names() if any(env.matches_cluster(name) for env in config.environments)
        )
        containers = (c for cluster in clusters for c in ecs.iter_running_containers(cluster))
        result = collect_in_use(containers, clusters)
        self._cache[patterns] = (now + self._ttl, result)
        return result

    def clear(self) -> None:
        self._cache.clear()


# One per warm Lambda container: shared by every invocation it serves within the TTL.
shared_scanner = InUseScanner()
