"""The worker's memory stays bounded on a repository of 100,000 images (ECR's default per-repository quota)."""

from __future__ import annotations

import tracemalloc
from collections.abc import Iterator

import pytest
from housekeeper.core.images import ImageRecord
from housekeeper.logic.sync import sync_repository

from tests.fakes import FakeEcr
from tests.unit.sync_helpers import NOW, make_config, run_for

IMAGES = 100_000
# Measured peak is about 100 MB (records, tag index, evaluation); the bound leaves room, not a blank cheque.
PEAK_BYTES_BOUND = 200 * 1024 * 1024


class StreamingEcr(FakeEcr):
    """Yields the images one by one, like the paginated gateway, without holding them itself."""

    def iter_images(self, repository: str) -> Iterator[ImageRecord]:
        self._repo(repository)
        base = NOW.timestamp()
        for n in range(IMAGES):
            tags = (f"Prod-{n}", str(n)) if n % 5 else ()
            yield ImageRecord(digest=f"sha256:{n:064x}", tags=tags, pushed_at=base - n * 60.0)


@pytest.mark.slow
def test_a_repository_of_100000_images_syncs_within_a_bounded_peak() -> None:
    ecr = StreamingEcr()
    ecr.create_repository("big/repo")
    config = make_config(safety={"protectInUse": True, "maxExpireFraction": 1.0})
    tracemalloc.start()
    try:
        result = sync_repository("big/repo", run_for(ecr, config))
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert (result.action, result.images) == ("updated", IMAGES)
    assert result.expiring > 0
    assert peak < PEAK_BYTES_BOUND
