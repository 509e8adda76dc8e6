"""The seed's clean-up, step by step, through the real handlers on the emulated accounts.

`run_story` is shared by `make demo` (full scenario) and the e2e test (reduced scenario); it prints each step in
plain words to `out` and returns what happened, so the test can assert on it.

Repositories live in the registry account's home region and (replicas) in its replica region; most results are
therefore keyed by `(region, repository)`.
"""

from __future__ import annotations

import copy
import io
import json
import time
from collections import Counter
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager, redirect_stderr, redirect_stdout
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TextIO

import boto3
from housekeeper.cli.output import render_table
from housekeeper.core.compiler import IN_USE_DESCRIPTION
from housekeeper.core.config import load_config
from housekeeper.core.images import ImageRecord
from housekeeper.operator.report import Report, RepositoryReport, build_regional_report, measured_change
from housekeeper.operator.report_html import render_html

from demo.emulator import patched_environ
from demo.lambda_runtime import (
    LAMBDA_ENVIRONMENT,
    FakeLambdaContext,
    LogCollector,
    deployment_completed,
    drain_queue,
    handler_logs_to,
    parameter_store_change,
    scheduled_event,
)
from demo.scenario import IDLE_SERVICE, MULTI_ARCH_REPOSITORY, PLATFORMS
from demo.seed import ORGANIZATION_ROLE, RunningService, Scenario, SeededAccount, build_account

CONFIG_PARAMETER = "/ecr-housekeeper/config"
QUEUE_NAME = "housekeeper-policy-sync"
# What the operator raises maxExpireFraction to for the one-off initial clean-up, and restores afterwards.
INITIAL_CLEANUP_FRACTION = 0.99

# A repository in one registry region.
Where = tuple[str, str]


@dataclass
class StoryResult:
    account: SeededAccount
    before: Report | None = None
    after: Report | None = None
    # The clean-up as measured: `before` from the first report, `after` from the last.
    change: Report | None = None
    preview_decisions: list[dict[str, Any]] = field(default_factory=list)
    # What the tagger did for each deployment event: the event's account and region, and each image's outcome.
    tag_outcomes: list[dict[str, Any]] = field(default_factory=list)
    enforce_decisions: list[dict[str, Any]] = field(default_factory=list)
    proceed_decisions: list[dict[str, Any]] = field(default_factory=list)
    restore_decisions: list[dict[str, Any]] = field(default_factory=list)
    release_decisions: list[dict[str, Any]] = field(default_factory=list)
    # In-use protections in the stored policies: (region, repository) -> the tags they select, after enforce and
    # after release.
    protections_on: dict[Where, list[str]] = field(default_factory=dict)
    protections_after_release: dict[Where, list[str]] = field(default_factory=dict)
    inventory_output: str = ""
    env_tags: dict[str, tuple[str, ...]] = field(default_factory=dict)
    policies: dict[Where, dict[str, Any] | None] = field(default_factory=dict)
    deleted: dict[Where, list[str]] = field(default_factory=dict)
    remaining: dict[Where, list[ImageRecord]] = field(default_factory=dict)
    lost_in_use: list[str] = field(default_factory=list)
    html_path: Path | None = None

    def decision(
        self, decisions: Sequence[Mapping[str, Any]], repository: str, region: str | None = None
    ) -> Mapping[str, Any]:
        """The decision about `repository` in `region` (default: the home region)."""
        region = region or self.account.home_region
        return next(d for d in decisions if d.get("repository") == repository and d.get("region") == region)


class Narrator:
    """Plain words on `out`: numbered steps, indented details, tables."""

    def __init__(self, out: TextIO, total_steps: int = 9) -> None:
        self.out = out
        self.total = total_steps

    def step(self, number: int, title: str) -> None:
        self.out.write(f"\n[{number}/{self.total}] {title}\n")
        self.out.flush()

    def say(self, text: str = "") -> None:
        for line in text.splitlines() or [""]:
            self.out.write(f"    {line}\n" if line else "\n")
        self.out.flush()

    def table(self, headers: Sequence[str], rows: Sequence[Sequence[Any]]) -> None:
        self.say(render_table(headers, rows))


@contextmanager
def lambda_environment(queue_url: str) -> Iterator[None]:
    """The variables the deployed functions get from the stack, set here the same way."""
    wanted = {
        **LAMBDA_ENVIRONMENT,
        "HOUSEKEEPER_CONFIG_PARAMETER": CONFIG_PARAMETER,
        "HOUSEKEEPER_SYNC_QUEUE_URL": queue_url,
    }
    with patched_environ(wanted):
        yield


def _gb(size: int) -> str:
    return f"{size / 1024**3:,.0f} GB"


def _percent(before: int, after: int) -> str:
    if not before:
        return "n/a"
    change = (after - before) / before
    return f"{change:+.0%}" if round(change, 2) else "0%"


def report_rows(report: Report) -> list[list[Any]]:
    rows: list[list[Any]] = []
    for repo in report.repositories:
        rows.append(
            [
                repo.region,
                repo.repository,
                f"{repo.before.images:,}",
                f"{repo.after.images:,}",
                _gb(repo.before.bytes),
                f"{repo.before.findings_total:,}",
                f"{repo.after.findings_total:,}",
                f"${repo.monthly_saving_usd:,.2f}",
            ]
        )
    return rows


REPORT_HEADERS = (
    "region",
    "repository",
    "images",
    "after policy",
    "storage",
    "findings",
    "after policy",
    "saving/month",
)


def _decision_rows(decisions: Sequence[Mapping[str, Any]], regions: Sequence[str]) -> list[list[Any]]:
    def order(decision: Mapping[str, Any]) -> tuple[int, str]:
        region = str(decision.get("region"))
        return (regions.index(region) if region in regions else len(regions), str(decision.get("repository")))

    return [
        [
            decision.get("region"),
            decision.get("repository"),
            decision.get("images"),
            decision.get("expiring"),
            decision.get("protected") or "",
            decision.get("action"),
            decision.get("reason"),
        ]
        for decision in sorted(decisions, key=order)
    ]


DECISION_HEADERS = ("region", "repository", "images", "would expire", "in use, protected", "decision", "reason")


def in_use_rules(policy: Mapping[str, Any] | None) -> list[str]:
    """The tags that a stored policy's in-use protections select (housekeeper.core.compiler's `In use` rules)."""
    if not policy:
        return []
    return [
        tag
        for rule in policy.get("rules", [])
        if str(rule.get("description", "")).startswith(IN_USE_DESCRIPTION)
        for tag in rule.get("selection", {}).get("tagPatternList", [])
    ]


def consumer_name(account: SeededAccount, service: RunningService) -> str:
    """The service as the inventory names it: with `@<account>/<region>` outside the hub's own place."""
    suffix = "" if service.place == account.home else f"@{service.place}"
    return f"ecs-service:{service.cluster}/{service.service}{suffix}"


class Story:
    def __init__(self, scenario: Scenario, out: TextIO, workdir: Path) -> None:
        self.scenario = scenario
        self.say = Narrator(out)
        self.workdir = workdir
        self.ssm = boto3.client("ssm")
        self.sqs = boto3.client("sqs")
        self.queue_url = ""
        self.config: dict[str, Any] = copy.deepcopy(dict(scenario.config))
        self.logs: LogCollector | None = None
        self.regions: tuple[str, ...] = ()
        self._ecr_clients: dict[str, Any] = {}

    # --- the Lambda side ----------------------------------------------------------------------------------

    def _edit_config(self, operation: str) -> list[dict[str, Any]]:
        """Write the config to SSM, deliver the Parameter Store Change, run the worker on the queue."""
        self.ssm.put_parameter(
            Name=CONFIG_PARAMETER, Value=json.dumps(self.config), Type="String", Overwrite=True, Tier="Standard"
        )
        return self._dispatch(parameter_store_change(CONFIG_PARAMETER, operation))

    def _sweep(self) -> list[dict[str, Any]]:
        """The daily drift sweep: EventBridge's scheduled event to plan_sync, then the worker on the queue."""
        return self._dispatch(scheduled_event())

    def _dispatch(self, event: dict[str, Any]) -> list[dict[str, Any]]:
        from housekeeper.handlers import plan_sync, sync_repository
        from housekeeper.logic.inventory import shared_scanner

        assert self.logs is not None
        shared_scanner.clear()  # each step is minutes apart: the warm worker's inventory has expired
        plan = plan_sync.handler(event, FakeLambdaContext("plan-sync"))
        delivered, failed = drain_queue(self.queue_url, sync_repository.handler, "sync-repository")
        decisions = self.logs.take("sync")
        by_region = Counter(str(d.get("region")) for d in decisions)
        regions = ", ".join(f"{region}: {by_region[region]}" for region in self.regions if by_region[region])
        self.say.say(
            f"plan_sync queued {plan.get('queued', delivered)} messages, one per region and repository ({regions}); "
            f"sync_repository handled {delivered} ({failed} failed)."
        )
        return decisions

    def _ecr(self, region: str) -> Any:
        """The registry's ECR client in `region` (the demo's own look, outside the handlers)."""
        if region not in self._ecr_clients:
            self._ecr_clients[region] = boto3.client("ecr", region_name=region)
        return self._ecr_clients[region]

    # --- the steps ----------------------------------------------------------------------------------------

    def build(self, now: float) -> SeededAccount:
        self.say.step(1, "Build the accounts modelled on the seed (emulated ECR, ECS, Lambda, IAM, STS, SSM, SQS)")
        started = time.monotonic()
        account = build_account(self.scenario, now)
        self.regions = account.regions
        big = self.scenario.repository(self.scenario.big_repository)
        self.say.say(
            f"Registry account {account.registry_account} (the hub's), home region {account.home_region}: "
            f"{len(self.scenario.repositories)} repositories"
        )
        for spec in self.scenario.repositories:
            self.say.say(
                f"  {spec.name:<22} {account.image_count(spec.name):>5} images: builds 1-{spec.builds} over "
                f"{spec.years:g} years, {spec.untagged_old + spec.untagged_recent} untagged"
            )
        for region in account.regions[1:]:
            replicas = ", ".join(
                f"{name} ({account.image_count(name)} images)" for name in account.repositories_in(region)
            )
            self.say.say(f"Replica region {region}: {replicas}")
        if self.scenario.workload_account:
            self.say.say(
                f"Workload account {self.scenario.workload_account}, {self.scenario.workload_region}: production "
                f'(the config\'s prod environment is this account: "accounts": ["{self.scenario.workload_account}"])'
            )
        self.say.say()
        self.say.table(
            ("account", "region", "consumer", "desired", "image", "pulled from"),
            [
                *(
                    (
                        s.account,
                        s.region,
                        f"ecs-service:{s.cluster}/{s.service}",
                        s.desired_count,
                        s.short_image,
                        s.registry_region,
                    )
                    for s in account.services
                ),
                *(
                    row
                    for f in account.functions
                    for row in (
                        (
                            account.registry_account,
                            account.home_region,
                            f"lambda:{f.name}:$LATEST",
                            "",
                            f"{f.repository}:{f.latest_build}",
                            "",
                        ),
                        (
                            account.registry_account,
                            account.home_region,
                            f"lambda:{f.name}:{f.alias}",
                            "",
                            f"{f.repository}:{f.alias_build}",
                            "",
                        ),
                    )
                ),
            ],
        )
        self.say.say(
            f"{IDLE_SERVICE} is scaled to zero: no task runs it, and backfill (which tags what runs) never tags it. "
            f"{MULTI_ARCH_REPOSITORY} is pushed the way buildx pushes: each build is an OCI index over "
            f"{len(PLATFORMS)} platform images and their attestations, all untagged but the index."
        )
        self.say.say()
        self._say_what_is_emulated(account)
        self.say.say()
        self.say.say(
            f"Inspector findings are SYNTHETIC (moto has no Inspector): {account.findings.total(big.name):,} in "
            f"{big.name}, more on older images, served by demo.synthetic_findings.SyntheticInspectorFindings "
            "(a replica has the same findings as its source: the same images). On a real account `housekeeper "
            "report` reads them with Inspector2 ListFindingAggregations in each region."
        )
        self.say.say(f"(built in {time.monotonic() - started:.0f} s)")
        return account

    def _say_what_is_emulated(self, account: SeededAccount) -> None:
        scenario = self.scenario
        if len(account.regions) > 1:
            self.say.say(
                f"The replicas are what ECR replication would have copied: the demo pushed the same manifests to "
                f"{scenario.replica_region} under the same sha256 digests, with the same push times. It does not "
                f"replay replication afterwards (tags added in {account.home_region} stay there)."
            )
        if scenario.workload_account:
            self.say.say(
                f"The workload account is a separate account in the emulator. The demo entered it with "
                f"sts:AssumeRole of {ORGANIZATION_ROLE}, created the spoke's reader role ecr-housekeeper-reader "
                "there and ran production in it; the hub's handlers and the CLI read it through that role "
                "(moto honours AssumeRole: the credentials act in the role's account; it checks no trust policy). "
                "Its deployment events reach the tagger with the workload account's id, as the spoke's forwarding "
                "rule delivers them to the hub's bus."
            )

    def report(self, account: SeededAccount, title: str, step: int) -> Report:
        from housekeeper.aws.places import Boto3Places
        from housekeeper.logic.inventory import scan_places
        from housekeeper.operator.report import protected_policy_outcome

        self.say.step(step, title)
        config = load_config(self.config)
        places = Boto3Places(config.estate)
        inventory = scan_places(config.safety.in_use, places, config.estate.places(places.home))
        report = build_regional_report(
            config,
            places,
            lambda region: account.findings,
            time.time(),
            config.estate.registry_regions(places.home.region),
            planner=protected_policy_outcome(inventory),
        )
        self.say.table(REPORT_HEADERS, report_rows(report))
        total_before, total_after = report.before, report.after
        self.say.say(
            f"All repositories, summed across {' and '.join(self.regions)}: {total_before.images:,} images, "
            f"{_gb(total_before.bytes)}, {total_before.findings_total:,} findings now; {total_after.images:,} images "
            f"and {total_after.findings_total:,} findings once the desired policy has run "
            f"(est. ${report.monthly_saving_usd:,.2f}/month less storage at $0.10/GB-month)."
        )
        return report

    def preview(self, result: StoryResult) -> None:
        self.say.step(3, "Write the config (mode: preview) to SSM; the real plan_sync and sync_repository handlers run")
        self.say.say(
            "moto cannot invoke Lambda from EventBridge, so the demo hands each handler the event JSON that "
            "EventBridge would deliver, and plays the SQS trigger by reading the emulated queue."
        )
        self.say.say(f'"regions": {json.dumps(self.config.get("regions", []))}')
        self.say.say(f'"accounts": {json.dumps(self.config.get("accounts", []))}')
        result.preview_decisions = self._edit_config("Create")
        self.say.table(DECISION_HEADERS, _decision_rows(result.preview_decisions, self.regions))
        self.say.say(
            "Preview mode writes nothing. Blocked repositories show what the guard would refuse. 'In use, protected' "
            "counts the images something uses that the config's rules alone would expire: the policy that would be "
            "written keeps each of them with a rule of its own (here, production's images before they carry an env "
            "tag, the service scaled to zero, the Lambda alias), in every region that holds them."
        )

    def tag(self, result: StoryResult) -> None:
        from housekeeper.handlers import sync_repository, tag_deployment

        account = result.account
        self.say.step(4, "Deployments complete: the real tag_deployment handler tags what ECS deployed")
        fresh = [s for s in account.running_services if s.deployed_today]
        self.say.say("Each completed deployment's event, as EventBridge delivers it to the tagger, and what it tagged:")
        rows = []
        for service in fresh:
            event = deployment_completed(service.service_arn, service.deployment_id, service.account, service.region)
            summary = tag_deployment.handler(event, FakeLambdaContext("tag-deployment"))
            for image in summary.get("images", []):
                outcome = {"eventAccount": event["account"], "eventRegion": event["region"], **image}
                result.tag_outcomes.append(outcome)
                rows.append(
                    (
                        event["account"],
                        event["region"],
                        f"{service.cluster}/{service.service}",
                        image.get("repository"),
                        image.get("region"),
                        image.get("tag"),
                        image.get("status"),
                    )
                )
        synced, _ = drain_queue(self.queue_url, sync_repository.handler, "sync-repository")
        assert self.logs is not None
        self.logs.take("sync")
        self.say.table(
            ("event account", "event region", "cluster/service", "repository", "tagged in", "tag", "status"), rows
        )
        workload = [s for s in fresh if s.place != account.home]
        self.say.say(
            f"Delivered {len(fresh)} SERVICE_DEPLOYMENT_COMPLETED events: staging and dev deployed today in the "
            f"registry account, "
            + (
                f"and production's {', '.join(s.service for s in workload)} in the workload account "
                f"{workload[0].account} ({workload[0].region}): its event carries that account's id, the tagger read "
                f"the service there through the reader role and tagged the image in the {workload[0].registry_region} "
                "registry it was pulled from. "
                if workload
                else ""
            )
            + f"The tagger also queued {synced} sync messages, one per region and repository each deployment runs "
            "(in preview mode they write nothing). The rest of production has run its build since before the "
            "tagger existed, so the operator runs backfill; it reads the workload account through the reader role "
            "too (account and region: where each cluster runs; registry region: where each image is tagged):"
        )
        self._backfill()
        tagged: list[tuple[str, ...]] = []
        for service in account.services:
            described = self._ecr(service.registry_region).describe_images(
                repositoryName=service.repository, imageIds=[{"imageDigest": service.digest}]
            )["imageDetails"][0]
            tags = tuple(sorted(described.get("imageTags", [])))
            result.env_tags[f"{service.cluster}/{service.service}"] = tags
            tagged.append((service.account, service.cluster, service.service, service.registry_region, ", ".join(tags)))
        self.say.table(("account", "cluster", "service", "pulled from", "tags on the running digest now"), tagged)

    def _backfill(self) -> None:
        code, printed = self._cli(["backfill", "--parameter", CONFIG_PARAMETER, "--yes", "--output", "table"])
        self.say.say(printed)
        self.say.say(f"(exit code {code})")

    def _cli(self, argv: list[str]) -> tuple[int, str]:
        """Run the real CLI as an operator would (`$ housekeeper ...`); return its exit code and what it printed
        (stdout, then its plain stderr messages; its JSON log lines go to the log file)."""
        from housekeeper.cli.main import main as housekeeper

        shown = [arg for arg in argv if arg not in ("--output", "table")]
        self.say.say(f"$ housekeeper {' '.join(shown)}")
        with redirect_stdout(io.StringIO()) as stdout, redirect_stderr(io.StringIO()) as stderr:
            code = housekeeper(argv)
        assert self.logs is not None
        self.logs.reattach()
        self.logs.write_lines([line for line in stderr.getvalue().splitlines() if line.startswith("{")])
        messages = [line for line in stderr.getvalue().splitlines() if line.strip() and not line.startswith("{")]
        return code, "\n".join([stdout.getvalue().rstrip(), *messages])

    def enforce(self, result: StoryResult) -> None:
        self.say.step(5, "Switch mode to enforce (second SSM edit): policies are written where the guard allows")
        self.config["mode"] = "enforce"
        result.enforce_decisions = self._edit_config("Update")
        self.say.table(DECISION_HEADERS, _decision_rows(result.enforce_decisions, self.regions))
        blocked = [d for d in result.enforce_decisions if d.get("action") == "blocked"]
        for decision in blocked:
            self.say.say(f"BLOCKED {decision['repository']} in {decision['region']}: {decision.get('detail')}")
        if blocked:
            self.say.say()
            self.say.say(
                f"The operator checks the plan (the images it keeps are the last 90 days and every env-tagged image), "
                f"then raises safety.maxExpireFraction to {INITIAL_CLEANUP_FRACTION} for the one-off initial "
                "clean-up:"
            )
            self.config["safety"] = {**self.config.get("safety", {}), "maxExpireFraction": INITIAL_CLEANUP_FRACTION}
            result.proceed_decisions = self._edit_config("Update")
            self.say.table(DECISION_HEADERS, _decision_rows(result.proceed_decisions, self.regions))
            self.say.say("...and restores the everyday limit of 0.5 once the policy is in place (third edit):")
            self.config["safety"] = {**self.config["safety"], "maxExpireFraction": 0.5}
            result.restore_decisions = self._edit_config("Update")
            self.say.table(DECISION_HEADERS, _decision_rows(result.restore_decisions, self.regions))
        result.protections_on = self._protections(result.account)
        self._show_protections(result.protections_on, "In-use protections the stored policies now hold")

    def _protections(self, account: SeededAccount) -> dict[Where, list[str]]:
        from housekeeper.aws.ecr import Boto3EcrGateway

        found: dict[Where, list[str]] = {}
        for region in account.regions:
            ecr = Boto3EcrGateway(self._ecr(region))
            for name in account.repositories_in(region):
                tags = in_use_rules(ecr.get_lifecycle_policy(name))
                if tags:
                    found[(region, name)] = tags
        return found

    def _show_protections(self, protections: Mapping[Where, list[str]], title: str) -> None:
        self.say.say()
        self.say.say(f"{title}: one rule per image, above the rule that would expire it:")
        order = {region: index for index, region in enumerate(self.regions)}
        rows = [
            (region, name, tag)
            for (region, name), tags in sorted(protections.items(), key=lambda item: (order[item[0][0]], item[0][1]))
            for tag in tags
        ]
        self.say.table(("region", "repository", "protected tag"), rows or [("(none)", "", "")])

    def inventory(self, result: StoryResult) -> None:
        self.say.step(6, "What is in use: `housekeeper inventory` (the scan the sync worker runs)")
        code, printed = self._cli(["inventory", "--parameter", CONFIG_PARAMETER])
        result.inventory_output = printed
        self.say.say(printed)
        self.say.say(f"(exit code {code})")
        account = result.account
        for service in account.services:
            if service.place == account.home or any(
                other.place == account.home and other.digest == service.digest for other in account.services
            ):
                continue
            regions = [
                region
                for (region, name), tags in result.protections_on.items()
                if name == service.repository and str(service.build) in tags
            ]
            if regions:
                self.say.say(
                    f"{service.short_image} is used only in the workload account "
                    f"({consumer_name(account, service)}): the stored policies of {service.repository} in "
                    f"{' and '.join(regions)} protect it (step 5)."
                )

    def release(self, result: StoryResult) -> None:
        account = result.account
        self.say.step(
            7, f"The team deletes {IDLE_SERVICE}; the next daily sweep (every region) releases its protection"
        )
        for service in account.idle_services:
            ecs = account.session(service.place).client("ecs")
            ecs.delete_service(cluster=service.cluster, service=service.service, force=True)
            self.say.say(
                f"DeleteService {service.cluster}/{service.service} in {service.place} (it ran {service.short_image})"
            )
        result.release_decisions = self._sweep()
        changed = [d for d in result.release_decisions if d.get("action") != "in_sync"]
        self.say.table(
            DECISION_HEADERS, _decision_rows(changed, self.regions) or [["(all in sync)", "", "", "", "", "", ""]]
        )
        result.protections_after_release = self._protections(account)
        self._show_protections(result.protections_after_release, "In-use protections after the sweep")
        for (region, name), tags in result.protections_on.items():
            for tag in tags:
                if tag not in result.protections_after_release.get((region, name), []):
                    self.say.say(
                        f"released: {name} {tag} in {region} (no consumer left); ECR's next run there may expire it"
                    )

    def lifecycle_run(self, result: StoryResult) -> None:
        from housekeeper.aws.ecr import Boto3EcrGateway
        from housekeeper.core.evaluator import evaluate

        self.say.step(8, "ECR's lifecycle run, EMULATED: moto never runs lifecycle policies")
        self.say.say(
            "This step stands in for ECR in each region: for each repository, the exact offline evaluator runs the "
            "policy ECR now stores, on the images as ECR sees them (every status, each index with its children), "
            "and the images it expires are removed with BatchDeleteImage."
        )
        account = result.account
        rows = []
        for region in account.regions:
            ecr = Boto3EcrGateway(self._ecr(region))
            for name in account.repositories_in(region):
                where = (region, name)
                policy = ecr.get_lifecycle_policy(name)
                result.policies[where] = policy
                images = list(ecr.iter_images(name))
                if policy is None:
                    result.remaining[where] = images
                    rows.append((region, name, len(images), 0, len(images), "no policy"))
                    continue
                expiring = sorted(evaluate(policy, images, time.time()).expiring_digests)
                if expiring:
                    ecr.batch_delete_images(name, expiring)
                remaining = list(ecr.iter_images(name))
                present = {image.digest for image in remaining}
                result.deleted[where] = [image.digest for image in images if image.digest not in present]
                result.remaining[where] = remaining
                rows.append(
                    (
                        region,
                        name,
                        len(images),
                        len(result.deleted[where]),
                        len(remaining),
                        f"{len(policy['rules'])} rules",
                    )
                )
        self.say.table(("region", "repository", "images", "expired", "kept", "stored policy"), rows)
        kept = {where: {image.digest for image in images} for where, images in result.remaining.items()}
        for consumer, where, digests in in_use_digests(account):
            if not set(digests) <= kept.get(where, set()):
                result.lost_in_use.append(consumer)
        self.say.say(
            "Every image in use (services in both accounts, their platform images, the Lambda function's versions) "
            "is still there, in the region it is pulled from."
            if not result.lost_in_use
            else f"LOST images in use: {', '.join(result.lost_in_use)}"
        )
        self._multi_arch_summary(result)

    def _multi_arch_summary(self, result: StoryResult) -> None:
        children = result.account.children.get(MULTI_ARCH_REPOSITORY, {})
        if not children:
            return
        home = result.account.home_region
        kept = {image.digest for image in result.remaining.get((home, MULTI_ARCH_REPOSITORY), [])}
        indexes = result.account.digests_by_build[MULTI_ARCH_REPOSITORY]
        whole = [b for b in indexes if indexes[b] in kept and set(children[b]) <= kept]
        gone = [b for b in indexes if indexes[b] not in kept and not set(children[b]) & kept]
        self.say.say(
            f"{MULTI_ARCH_REPOSITORY}: {len(whole)} builds kept whole (index, {len(PLATFORMS)} platform images, "
            f"their attestations), {len(gone)} expired whole; none split. Without reading the indexes, the "
            "untagged rule would have counted every platform image as expiring."
        )

    def write_html(self, report: Report) -> Path:
        path = self.workdir / "housekeeper-report.html"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(
            render_html(
                report,
                title="ECR Housekeeper: the clean-up, before and after",
                subtitle="demo accounts on the emulator, SYNTHETIC Inspector findings",
            ),
            encoding="utf-8",
        )
        return path

    def summary(self, result: StoryResult) -> None:
        assert result.change is not None
        change = result.change

        def row(label: Sequence[str], before: Any, after: Any) -> tuple[str, ...]:
            return (
                *label,
                f"{before.images:,}",
                f"{after.images:,}",
                _gb(before.bytes),
                _gb(after.bytes),
                f"{before.findings_total:,}",
                f"{after.findings_total:,}",
                _percent(before.findings_total, after.findings_total),
            )

        self.say.out.write("\nBefore and after (measured on the emulated accounts)\n")
        order = {region: index for index, region in enumerate(self.regions)}
        repositories = sorted(change.repositories, key=lambda r: (order.get(r.region, len(order)), r.repository))
        rows = [row((repo.region, repo.repository), repo.before, repo.after) for repo in repositories]
        rows.append(row(("all regions", "all repositories"), change.before, change.after))
        self.say.table(
            ("region", "repository", "images", "after", "storage", "after", "findings*", "after", "change"),
            rows,
        )
        big = _row_of(change, result.account.home_region, self.scenario.big_repository)
        self.say.say(
            f"{big.repository}: {big.before.images:,} -> {big.after.images:,} images, "
            f"{big.before.findings_total:,} -> {big.after.findings_total:,} findings "
            f"({_percent(big.before.findings_total, big.after.findings_total)}). The seed team: 2,200+ -> 91 images, "
            "33,000 -> about 1,100 findings."
        )
        self.say.say(
            f"Storage saved: est. ${change.monthly_saving_usd:,.2f}/month at $0.10/GB-month, summed across "
            f"{len(self.regions)} regions. * findings are synthetic (moto has no Inspector)."
        )
        consumers = len(in_use_digests(result.account))
        self.say.say(f"Consumers whose images are still present: {consumers - len(result.lost_in_use)} of {consumers}.")
        if result.html_path:
            self.say.say(f"HTML report: {result.html_path}")


def _row_of(report: Report, region: str, repository: str) -> RepositoryReport:
    """A repository's row; a single-region report's rows carry no region."""
    return next(r for r in report.repositories if r.repository == repository and r.region in (region, ""))


def in_use_digests(account: SeededAccount) -> list[tuple[str, Where, tuple[str, ...]]]:
    """(consumer, (registry region, repository) it pulls from, digests it needs) for every consumer left at the end
    of the story."""
    found: list[tuple[str, Where, tuple[str, ...]]] = []
    for service in account.running_services:
        children = account.children.get(service.repository, {}).get(service.build, ())
        found.append(
            (
                consumer_name(account, service),
                (service.registry_region, service.repository),
                (service.digest, *children),
            )
        )
    for function in account.functions:
        where = (account.home_region, function.repository)
        found.append((f"lambda:{function.name}:$LATEST", where, (function.latest_digest,)))
        found.append((f"lambda:{function.name}:{function.alias}", where, (function.alias_digest,)))
    return found


def run_story(scenario: Scenario, out: TextIO, workdir: Path, now: float | None = None) -> StoryResult:
    """Replay the whole story on the emulator boto3 currently points at; return what happened."""
    story = Story(scenario, out, workdir)
    account = story.build(now or time.time())
    result = StoryResult(account=account)
    result.before = story.report(
        account, "Report before: `housekeeper report` figures (desired policy applied offline)", 2
    )
    story.queue_url = story.sqs.create_queue(QueueName=QUEUE_NAME)["QueueUrl"]
    with lambda_environment(story.queue_url), handler_logs_to(workdir / "handler-logs.jsonl") as logs:
        story.logs = logs
        story.preview(result)
        story.tag(result)
        story.enforce(result)
        story.inventory(result)
        story.release(result)
        story.lifecycle_run(result)
    result.after = story.report(account, "Report after the clean-up (now, and what the policy would still do)", 9)
    result.change = measured_change(result.before, result.after)
    result.html_path = story.write_html(result.change)
    story.say.say(f"HTML report (before the clean-up vs now, as measured) written to {result.html_path}")
    story.summary(result)
    return result
