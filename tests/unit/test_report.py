"""The impact report's figures: what a user reads in `housekeeper report`."""

from __future__ import annotations

from collections.abc import Sequence
from typing import cast

import pytest
from housekeeper.aws.ports import EcrGateway, FindingCounts
from housekeeper.core.config import Config, load_config
from housekeeper.core.images import ARCHIVE, ImageRecord
from housekeeper.operator.report import (
    BYTES_PER_GB,
    EXPIRE,
    TRANSITION,
    Prices,
    Report,
    build_report,
    measured_change,
    repository_report,
)

from tests.fakes import FakeImageListing, FakeInspector

GB = BYTES_PER_GB


def _image(number: int, size: int = GB, storage_class: str = "STANDARD") -> ImageRecord:
    return ImageRecord(
        digest=f"sha256:{number:064x}",
        tags=(str(number),),
        pushed_at=1_600_000_000 + number,
        size_bytes=size,
        storage_class=storage_class,
    )


def _findings(image: ImageRecord, critical: int, high: int) -> FindingCounts:
    return FindingCounts(image.digest, {"CRITICAL": critical, "HIGH": high})


def test_expired_images_leave_the_counts_bytes_findings_and_cost() -> None:
    images = [_image(n) for n in range(4)]
    findings = {images[0].digest: _findings(images[0], 2, 10), images[3].digest: _findings(images[3], 0, 1)}
    outcome = {images[0].digest: EXPIRE, images[1].digest: EXPIRE}

    report = repository_report("shop/api", images, findings, outcome)

    assert (report.before.images, report.after.images) == (4, 2)
    assert (report.before.bytes, report.after.bytes) == (4 * GB, 2 * GB)
    assert report.before.findings_total == 13
    assert report.after.findings_total == 1
    assert report.after.findings["CRITICAL"] == 0
    assert report.expiring_images == 2
    assert report.monthly_saving_usd == pytest.approx(0.20)


def test_archived_images_stay_and_are_priced_at_the_archive_rate() -> None:
    images = [_image(1), _image(2, storage_class=ARCHIVE)]
    outcome = {images[0].digest: TRANSITION}
    prices = Prices(standard_per_gb_month=0.10, archive_per_gb_month=0.07)

    report = repository_report("shop/api", images, {}, outcome, prices)

    assert report.after.images == 2
    assert (report.before.standard_bytes, report.before.archive_bytes) == (GB, GB)
    assert (report.after.standard_bytes, report.after.archive_bytes) == (0, 2 * GB)
    assert report.archiving_images == 1
    assert report.monthly_saving_usd == pytest.approx(0.03)


def test_findings_of_images_no_longer_in_the_repository_are_not_counted() -> None:
    present = _image(1)
    deleted = _image(2)
    findings = {present.digest: _findings(present, 1, 0), deleted.digest: _findings(deleted, 5, 5)}

    report = repository_report("shop/api", [present], findings, {})

    assert report.before.findings_total == 1


CONFIG = load_config(
    {
        "environments": [{"name": "prod", "tagPrefix": "Prod", "keep": 5, "clusters": ["prod-*"]}],
        "catchAll": {"expireAfterDays": 90},
        "repositories": {"include": ["*"], "exclude": ["sandbox/*"]},
    },
    check_limits=False,
)


def _expire_all_but_newest(
    config: Config, repository: str, images: Sequence[ImageRecord], now: float
) -> dict[str, str]:
    newest = max(images, key=lambda image: image.pushed_at)
    return {image.digest: EXPIRE for image in images if image is not newest}


def _build(ecr: FakeImageListing, inspector: FakeInspector, patterns: Sequence[str] = ()) -> Report:
    return build_report(
        CONFIG,
        cast(EcrGateway, ecr),
        inspector,
        now=1_700_000_000,
        patterns=patterns,
        planner=_expire_all_but_newest,
    )


def test_report_covers_repositories_in_scope_and_matching_the_globs() -> None:
    ecr = FakeImageListing(
        {"shop/api": [_image(1)], "shop/web": [_image(2)], "sandbox/x": [_image(3)], "ops/cron": [_image(4)]}
    )

    report = _build(ecr, FakeInspector({}), patterns=["shop/*"])

    assert [r.repository for r in report.repositories] == ["shop/api", "shop/web"]


def test_report_totals_and_largest_savings_across_repositories() -> None:
    big = [_image(n) for n in range(10)]
    small = [_image(100 + n) for n in range(2)]
    ecr = FakeImageListing({"shop/api": big, "shop/web": small})
    inspector = FakeInspector({"shop/api": {image.digest: _findings(image, 1, 2) for image in big}})

    report = _build(ecr, inspector)

    assert (report.before.images, report.after.images) == (12, 2)
    assert (report.before.findings_total, report.after.findings_total) == (30, 3)
    assert [r.repository for r in report.largest_savings()] == ["shop/api", "shop/web"]
    assert report.to_json()["totals"]["estimatedMonthlySavingUsd"] == pytest.approx(1.0)


def test_a_repository_without_inspector_access_still_reports_images_and_says_why() -> None:
    ecr = FakeImageListing({"shop/api": [_image(1), _image(2)]})
    inspector = FakeInspector({}, denied={"shop/api"})

    report = _build(ecr, inspector)

    (repo,) = report.repositories
    assert repo.after.images == 1
    assert not repo.findings_known
    assert "AccessDeniedException" in repo.note
    # Unknown never reads as zero: null in JSON, "unknown" for people.
    totals = report.to_json()["totals"]
    assert totals["findingsCoverage"] == "none"
    assert totals["before"]["findings"] is None
    assert report.to_json()["repositories"][0]["before"]["findings"] is None
    assert report.findings_label(report.before.findings_total) == "unknown"


def test_a_partial_findings_total_is_marked() -> None:
    ecr = FakeImageListing({"shop/api": [_image(1)], "shop/web": [_image(2)]})
    inspector = FakeInspector({"shop/web": {_image(2).digest: _findings(_image(2), 1, 2)}}, denied={"shop/api"})

    report = _build(ecr, inspector)

    assert report.findings_coverage == "partial"
    assert report.findings_label(report.before.findings_total) == f"{report.before.findings_total:,}+"


def test_after_is_what_the_desired_policy_expires() -> None:
    day = 86_400
    now = 1_700_000_000
    old = [ImageRecord(f"sha256:{n:064x}", (str(n),), now - (200 + n) * day, size_bytes=GB) for n in range(6)]
    prod_old = ImageRecord(f"sha256:{99:064x}", ("99", "Prod-99"), now - 300 * day, size_bytes=GB)
    recent = [ImageRecord(f"sha256:{50 + n:064x}", (str(50 + n),), now - n * day, size_bytes=GB) for n in range(3)]
    ecr = FakeImageListing({"shop/api": [*old, prod_old, *recent]})
    inspector = FakeInspector({"shop/api": {image.digest: _findings(image, 1, 1) for image in [*old, prod_old]}})

    report = build_report(CONFIG, cast(EcrGateway, ecr), inspector, now=now)

    (repo,) = report.repositories
    # The 90-day catch-all expires the six old builds; the Prod-tagged image is kept by its environment rule.
    assert (repo.before.images, repo.after.images) == (10, 4)
    assert (repo.before.findings_total, repo.after.findings_total) == (14, 2)
    assert repo.expiring_images == 6


def test_measured_change_compares_two_reports_of_the_same_account() -> None:
    images = [_image(n) for n in range(5)]
    findings = {image.digest: _findings(image, 1, 1) for image in images}
    earlier = Report([repository_report("shop/api", images, findings, {})], generated_at=1)
    later = Report(
        [
            repository_report("shop/api", images[3:], findings, {}),
            repository_report("shop/new", [_image(9)], {}, {}),
        ],
        generated_at=2,
    )

    change = measured_change(earlier, later)

    api, new = change.repositories
    assert (api.before.images, api.after.images) == (5, 2)
    assert (api.before.findings_total, api.after.findings_total) == (10, 4)
    assert api.monthly_saving_usd == pytest.approx(0.30)
    assert (new.before.images, new.after.images) == (0, 1)
