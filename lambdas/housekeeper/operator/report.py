"""The impact report: images, bytes and Inspector findings per repository, now and after the desired policy.

"After" is computed, not waited for: the exact offline evaluator runs the desired policy of each repository (the
config's, plus the protection of every in-use image when an inventory is given, as the sync writes it) against the
images that exist now. Images it would expire leave the figures, and so do their findings
(Inspector closes the findings of a deleted image on its own, some time after the deletion). Images it would move
to the archive storage class stay, at the archive price.

Storage prices are ECR's published list prices per GB-month (us-east-1), and are estimates:
- standard storage: $0.10 per GB-month;
- archive storage: $0.10 per GB-month for the first 150 TB a month (it is $0.07 above that), so archiving saves
  nothing in this estimate; it pays off only at very large volumes.
A GB here is 2^30 bytes, as AWS bills storage. The image sizes are the compressed sizes that DescribeImages reports;
ECR bills de-duplicated layers, so a repository whose images share layers saves less than the sum shows.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Any

from housekeeper.aws.errors import AwsError
from housekeeper.aws.ports import SEVERITIES, EcrGateway, FindingCounts, InspectorGateway, Places
from housekeeper.core.compiler import compile_policy
from housekeeper.core.config import Config
from housekeeper.core.evaluator import EXPIRE, TRANSITION, Evaluation, evaluate, format_time
from housekeeper.core.images import ImageRecord
from housekeeper.core.protection import plan_protection
from housekeeper.logic.inventory import Inventory
from housekeeper.logic.plan import repositories_in_scope

STANDARD_PRICE_PER_GB_MONTH = 0.10
ARCHIVE_PRICE_PER_GB_MONTH = 0.10
BYTES_PER_GB = 1024**3

# What the policy would do to one repository's images: digest -> EXPIRE | TRANSITION (absent: kept as is).
PolicyOutcome = Mapping[str, str]
Planner = Callable[[Config, str, Sequence[ImageRecord], float], PolicyOutcome]


@dataclass(frozen=True)
class Prices:
    standard_per_gb_month: float = STANDARD_PRICE_PER_GB_MONTH
    archive_per_gb_month: float = ARCHIVE_PRICE_PER_GB_MONTH

    def monthly_cost(self, standard_bytes: int, archive_bytes: int) -> float:
        return (
            standard_bytes / BYTES_PER_GB * self.standard_per_gb_month
            + archive_bytes / BYTES_PER_GB * self.archive_per_gb_month
        )


@dataclass(frozen=True)
class Figures:
    """One side (before or after) of one repository."""

    images: int
    standard_bytes: int
    archive_bytes: int
    findings: Mapping[str, int]
    monthly_cost_usd: float

    @property
    def bytes(self) -> int:
        return self.standard_bytes + self.archive_bytes

    @property
    def findings_total(self) -> int:
        return sum(self.findings.values())

    def to_json(self, findings_known: bool = True) -> dict[str, Any]:
        """`findings` is null where Inspector could not be read, so scripts never mistake unknown for zero."""
        findings = {"total": self.findings_total, **{s: self.findings.get(s, 0) for s in SEVERITIES}}
        return {
            "images": self.images,
            "bytes": self.bytes,
            "standardBytes": self.standard_bytes,
            "archiveBytes": self.archive_bytes,
            "findings": findings if findings_known else None,
            "monthlyStorageCostUsd": round(self.monthly_cost_usd, 2),
        }


@dataclass(frozen=True)
class RepositoryReport:
    repository: str
    before: Figures
    after: Figures
    expiring_images: int
    archiving_images: int
    # False when Inspector could not be read (not enabled, no permission): findings then show as 0 and unknown.
    findings_known: bool = True
    note: str = ""
    region: str = ""  # the registry region, when the report covers several

    @property
    def label(self) -> str:
        """The repository, with its region when the report covers several regions."""
        return f"{self.repository} ({self.region})" if self.region else self.repository

    @property
    def monthly_saving_usd(self) -> float:
        return self.before.monthly_cost_usd - self.after.monthly_cost_usd

    @property
    def findings_removed_fraction(self) -> float:
        before = self.before.findings_total
        return 0.0 if before == 0 else (before - self.after.findings_total) / before

    def to_json(self) -> dict[str, Any]:
        return {
            "repository": self.repository,
            **({"region": self.region} if self.region else {}),
            "before": self.before.to_json(self.findings_known),
            "after": self.after.to_json(self.findings_known),
            "expiringImages": self.expiring_images,
            "archivingImages": self.archiving_images,
            "findingsKnown": self.findings_known,
            "estimatedMonthlySavingUsd": round(self.monthly_saving_usd, 2),
            **({"note": self.note} if self.note else {}),
        }


@dataclass(frozen=True)
class Report:
    repositories: Sequence[RepositoryReport]
    generated_at: float
    prices: Prices = field(default_factory=Prices)

    @property
    def before(self) -> Figures:
        return _sum_figures([r.before for r in self.repositories])

    @property
    def after(self) -> Figures:
        return _sum_figures([r.after for r in self.repositories])

    @property
    def monthly_saving_usd(self) -> float:
        return sum(r.monthly_saving_usd for r in self.repositories)

    @property
    def findings_coverage(self) -> str:
        """ "all" when Inspector was read for every repository, "none" for none, "partial" in between."""
        known = [r.findings_known for r in self.repositories]
        if all(known):
            return "all"
        return "partial" if any(known) else "none"

    def findings_label(self, count: int) -> str:
        """A findings total for people: "unknown" where nothing was read, "N+" for a partial sum."""
        coverage = self.findings_coverage
        if coverage == "none":
            return "unknown"
        return f"{count:,}" + ("+" if coverage == "partial" else "")

    def largest_savings(self, limit: int = 10) -> list[RepositoryReport]:
        """Repositories by what the policy removes: storage first, findings second."""
        ranked = sorted(
            self.repositories,
            key=lambda r: (r.before.bytes - r.after.bytes, r.before.findings_total - r.after.findings_total),
            reverse=True,
        )
        return ranked[:limit]

    def to_json(self) -> dict[str, Any]:
        return {
            "generatedAt": format_time(self.generated_at),
            "prices": {
                "standardUsdPerGbMonth": self.prices.standard_per_gb_month,
                "archiveUsdPerGbMonth": self.prices.archive_per_gb_month,
            },
            "totals": {
                "findingsCoverage": self.findings_coverage,
                "before": self.before.to_json(self.findings_coverage != "none"),
                "after": self.after.to_json(self.findings_coverage != "none"),
                "estimatedMonthlySavingUsd": round(self.monthly_saving_usd, 2),
            },
            "repositories": [r.to_json() for r in self.repositories],
        }


def _sum_figures(parts: Sequence[Figures]) -> Figures:
    findings = {s: sum(p.findings.get(s, 0) for p in parts) for s in SEVERITIES}
    return Figures(
        images=sum(p.images for p in parts),
        standard_bytes=sum(p.standard_bytes for p in parts),
        archive_bytes=sum(p.archive_bytes for p in parts),
        findings=findings,
        monthly_cost_usd=sum(p.monthly_cost_usd for p in parts),
    )


def figures_of(
    images: Iterable[ImageRecord],
    findings: Mapping[str, FindingCounts],
    prices: Prices,
    outcome: PolicyOutcome | None = None,
) -> Figures:
    """Figures of the images that remain after `outcome` (all of them when None)."""
    outcome = outcome or {}
    count = standard = archive = 0
    by_severity = dict.fromkeys(SEVERITIES, 0)
    for image in images:
        action = outcome.get(image.digest)
        if action == EXPIRE:
            continue
        count += 1
        if image.archived or action == TRANSITION:
            archive += image.size_bytes
        else:
            standard += image.size_bytes
        counts = findings.get(image.digest)
        if counts is not None:
            for severity, number in counts.by_severity.items():
                by_severity[severity] = by_severity.get(severity, 0) + number
    return Figures(
        images=count,
        standard_bytes=standard,
        archive_bytes=archive,
        findings=by_severity,
        monthly_cost_usd=prices.monthly_cost(standard, archive),
    )


def repository_report(
    repository: str,
    images: Sequence[ImageRecord],
    findings: Mapping[str, FindingCounts],
    outcome: PolicyOutcome,
    prices: Prices | None = None,
    *,
    findings_known: bool = True,
    note: str = "",
) -> RepositoryReport:
    """Before and after for one repository. Findings of digests no longer in the repository are not counted."""
    prices = prices or Prices()
    present = {image.digest for image in images}
    return RepositoryReport(
        repository=repository,
        before=figures_of(images, findings, prices),
        after=figures_of(images, findings, prices, outcome),
        expiring_images=sum(1 for d, a in outcome.items() if a == EXPIRE and d in present),
        archiving_images=sum(1 for d, a in outcome.items() if a == TRANSITION and d in present),
        findings_known=findings_known,
        note=note,
    )


def desired_policy_outcome(config: Config, repository: str, images: Sequence[ImageRecord], now: float) -> PolicyOutcome:
    """The evaluator on the policy the config compiles for this repository: what ECR would do to each image."""
    return _outcome(evaluate(compile_policy(config, repository), images, now))


def protected_policy_outcome(inventory: Inventory) -> Planner:
    """A planner that evaluates the policy the sync would write: the config's, with the in-use images protected."""

    def planner(config: Config, repository: str, images: Sequence[ImageRecord], now: float) -> PolicyOutcome:
        in_use = inventory.in_repository(repository, images)
        return _outcome(plan_protection(config.for_repository(repository), images, in_use, now).evaluation)

    return planner


def _outcome(evaluation: Evaluation) -> PolicyOutcome:
    outcome = dict.fromkeys(evaluation.transitioning_digests, TRANSITION)
    # Artifacts (signatures, SBOMs) of expired images go too: ECR removes them within a day.
    outcome.update(dict.fromkeys(evaluation.cascading_referrers, EXPIRE))
    outcome.update(dict.fromkeys(evaluation.expiring_digests, EXPIRE))
    return outcome


def report_for_repository(
    config: Config,
    repository: str,
    ecr: EcrGateway,
    inspector: InspectorGateway,
    now: float,
    prices: Prices | None = None,
    planner: Planner = desired_policy_outcome,
) -> RepositoryReport:
    """Read one repository (all pages) and its findings, then compute before and after."""
    images = list(ecr.iter_images(repository))
    try:
        findings = inspector.findings_by_image(repository)
        known, note = True, ""
    except AwsError as exc:
        # Inspector off or not permitted: still report images and bytes, and say why findings are missing.
        findings, known, note = {}, False, f"findings unavailable: {exc.code}"
    outcome = planner(config.for_repository(repository), repository, images, now)
    return repository_report(repository, images, findings, outcome, prices, findings_known=known, note=note)


def build_report(
    config: Config,
    ecr: EcrGateway,
    inspector: InspectorGateway,
    now: float,
    patterns: Sequence[str] = (),
    prices: Prices | None = None,
    planner: Planner = desired_policy_outcome,
    each: Callable[[Sequence[str]], Iterable[str]] = lambda names: names,
) -> Report:
    """The whole report. `each` wraps the repository list (the CLI passes its progress bar)."""
    prices = prices or Prices()
    names = sorted(repositories_in_scope(ecr, config, patterns))
    reports = [report_for_repository(config, name, ecr, inspector, now, prices, planner) for name in each(names)]
    return Report(repositories=reports, generated_at=now, prices=prices)


def build_regional_report(
    config: Config,
    places: Places,
    inspector_for: Callable[[str], InspectorGateway],
    now: float,
    regions: Sequence[str],
    *,
    patterns: Sequence[str] = (),
    planner: Planner = desired_policy_outcome,
    each: Callable[[Sequence[str]], Iterable[str]] = lambda names: names,
) -> Report:
    """One report over several registry regions: each repository once per region, every total summed across
    them. With one region the rows carry no region, as a single-region report always has."""
    reports: list[RepositoryReport] = []
    for region in regions:
        part = build_report(
            config, places.registry(region), inspector_for(region), now, patterns, planner=planner, each=each
        )
        reports.extend(replace(r, region=region) if len(regions) > 1 else r for r in part.repositories)
    return Report(repositories=reports, generated_at=now)


def measured_change(earlier: Report, later: Report) -> Report:
    """Two reports of the same account compared: `before` is what `earlier` found, `after` what `later` found.

    This is the clean-up as measured (e.g. a report taken before the policies were written and one taken after ECR
    ran them), rather than as projected. Repositories that exist in only one of the two count as empty there.
    """
    empty = Figures(images=0, standard_bytes=0, archive_bytes=0, findings={}, monthly_cost_usd=0.0)
    earlier_by_name = {(r.region, r.repository): r for r in earlier.repositories}
    later_by_name = {(r.region, r.repository): r for r in later.repositories}
    repositories = []
    for region, name in sorted(set(earlier_by_name) | set(later_by_name)):
        then, now = earlier_by_name.get((region, name)), later_by_name.get((region, name))
        repositories.append(
            RepositoryReport(
                repository=name,
                region=region,
                before=then.before if then else empty,
                after=now.before if now else empty,
                expiring_images=max(0, (then.before.images if then else 0) - (now.before.images if now else 0)),
                archiving_images=0,
                findings_known=(then.findings_known if then else True) and (now.findings_known if now else True),
            )
        )
    return Report(repositories=repositories, generated_at=later.generated_at, prices=later.prices)
