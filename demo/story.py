"""The seed's clean-up, step by step, through the real handlers on the emulated account.

`run_story` is shared by `make demo` (full scenario) and the e2e test (reduced scenario); it prints each step in
plain words to `out` and returns what happened, so the test can assert on it.
"""

from __future__ import annotations

import copy
import io
import json
import time
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
from housekeeper.operator.report import Report, build_report, measured_change
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
from demo.seed import Scenario, SeededAccount, build_account

CONFIG_PARAMETER = "/ecr-housekeeper/config"
QUEUE_NAME = "housekeeper-policy-sync"
# What the operator raises maxExpireFraction to for the one-off initial clean-up, and restores afterwards.
INITIAL_CLEANUP_FRACTION = 0.99


@dataclass
class StoryResult:
    account: SeededAccount
    before: Report | None = None
    after: Report | None = None
    # The clean-up as measured: `before` from the first report, `after` from the last.
    change: Report | None = None
    preview_decisions: list[dict[str, Any]] = field(default_factory=list)
    enforce_decisions: list[dict[str, Any]] = field(default_factory=list)
    proceed_decisions: list[dict[str, Any]] = field(default_factory=list)
    restore_decisions: list[dict[str, Any]] = field(default_factory=list)
    release_decisions: list[dict[str, Any]] = field(default_factory=list)
    # In-use protections in the stored policies: repository -> the tags they select, after enforce and after release.
    protections_on: dict[str, list[str]] = field(default_factory=dict)
    protections_after_release: dict[str, list[str]] = field(default_factory=dict)
    inventory_output: str = ""
    env_tags: dict[str, tuple[str, ...]] = field(default_factory=dict)
    policies: dict[str, dict[str, Any] | None] = field(default_factory=dict)
    deleted: dict[str, list[str]] = field(default_factory=dict)
    remaining: dict[str, list[ImageRecord]] = field(default_factory=dict)
    lost_in_use: list[str] = field(default_factory=list)
    html_path: Path | None = None

    def decision(self, decisions: Sequence[Mapping[str, Any]], repository: str) -> Mapping[str, Any]:
        return next(d for d in decisions if d.get("repository") == repository)


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


REPORT_HEADERS = ("repository", "images", "after policy", "storage", "findings", "after policy", "saving/month")


def _decision_rows(decisions: Sequence[Mapping[str, Any]]) -> list[list[Any]]:
    rows = []
    for decision in sorted(decisions, key=lambda d: str(d.get("repository"))):
        rows.append(
            [
                decision.get("repository"),
                decision.get("images"),
                decision.get("expiring"),
                decision.get("protected") or "",
                decision.get("action"),
                decision.get("reason"),
            ]
        )
    return rows


DECISION_HEADERS = ("repository", "images", "would expire", "in use, protected", "decision", "reason")


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


class Story:
    def __init__(self, scenario: Scenario, out: TextIO, workdir: Path) -> None:
        self.scenario = scenario
        self.say = Narrator(out)
        self.workdir = workdir
        self.ssm = boto3.client("ssm")
        self.sqs = boto3.client("sqs")
        self.ecr = boto3.client("ecr")
        self.queue_url = ""
        self.config: dict[str, Any] = copy.deepcopy(dict(scenario.config))
        self.logs: LogCollector | None = None

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
        self.say.say(
            f"plan_sync queued {plan.get('queued', delivered)} repositories; sync_repository handled {delivered} "
            f"messages ({failed} failed)."
        )
        return self.logs.take("sync")

    # --- the steps ----------------------------------------------------------------------------------------

    def build(self, now: float) -> SeededAccount:
        self.say.step(1, "Build an account modelled on the seed (emulated ECR, ECS, SSM, SQS)")
        started = time.monotonic()
        account = build_account(self.scenario, now)
        big = self.scenario.repository(self.scenario.big_repository)
        for spec in self.scenario.repositories:
            self.say.say(
                f"{spec.name:<22} {account.image_count(spec.name):>5} images: builds 1-{spec.builds} over "
                f"{spec.years:g} years, {spec.untagged_old + spec.untagged_recent} untagged"
            )
        self.say.say()
        self.say.table(
            ("consumer", "desired", "image"),
            [
                *(
                    (f"ecs-service:{s.cluster}/{s.service}", s.desired_count, s.image.split("/", 1)[1])
                    for s in account.services
                ),
                *(
                    row
                    for f in account.functions
                    for row in (
                        (f"lambda:{f.name}:$LATEST", "", f"{f.repository}:{f.latest_build}"),
                        (f"lambda:{f.name}:{f.alias}", "", f"{f.repository}:{f.alias_build}"),
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
        self.say.say(
            f"Inspector findings are SYNTHETIC (moto has no Inspector): {account.findings.total(big.name):,} in "
            f"{big.name}, more on older images, served by demo.synthetic_findings.SyntheticInspectorFindings. "
            "On a real account `housekeeper report` reads them with Inspector2 ListFindingAggregations."
        )
        self.say.say(f"(built in {time.monotonic() - started:.0f} s)")
        return account

    def report(self, account: SeededAccount, title: str, step: int) -> Report:
        from housekeeper.aws.ecr import Boto3EcrGateway

        self.say.step(step, title)
        from housekeeper.aws.places import Boto3Places
        from housekeeper.logic.inventory import scan_places
        from housekeeper.operator.report import protected_policy_outcome

        config = load_config(self.config)
        places = Boto3Places(config.estate)
        inventory = scan_places(config.safety.in_use, places, config.estate.places(places.home))
        planner = protected_policy_outcome(inventory)
        report = build_report(config, Boto3EcrGateway(), account.findings, now=time.time(), planner=planner)
        self.say.table(REPORT_HEADERS, report_rows(report))
        total_before, total_after = report.before, report.after
        self.say.say(
            f"All repositories: {total_before.images:,} images, {_gb(total_before.bytes)}, "
            f"{total_before.findings_total:,} findings now; {total_after.images:,} images and "
            f"{total_after.findings_total:,} findings once the desired policy has run "
            f"(est. ${report.monthly_saving_usd:,.2f}/month less storage at $0.10/GB-month)."
        )
        return report

    def preview(self, result: StoryResult) -> None:
        self.say.step(3, "Write the config (mode: preview) to SSM; the real plan_sync and sync_repository handlers run")
        self.say.say(
            "moto cannot invoke Lambda from EventBridge, so the demo hands each handler the event JSON that "
            "EventBridge would deliver, and plays the SQS trigger by reading the emulated queue."
        )
        result.preview_decisions = self._edit_config("Create")
        self.say.table(DECISION_HEADERS, _decision_rows(result.preview_decisions))
        self.say.say(
            "Preview mode writes nothing. Blocked repositories show what the guard would refuse. 'In use, protected' "
            "counts the images something uses that the config's rules alone would expire: the policy that would be "
            "written keeps each of them with a rule of its own (here, production's images before they carry an env "
            "tag, the service scaled to zero, the Lambda alias)."
        )

    def tag(self, result: StoryResult) -> None:
        from housekeeper.cli.main import main as housekeeper
        from housekeeper.handlers import tag_deployment

        account = result.account
        self.say.step(4, "Deployments complete: the real tag_deployment handler tags what ECS deployed")
        fresh = [s for s in account.running_services if not s.cluster.startswith("prod-")]
        for service in fresh:
            tag_deployment.handler(
                deployment_completed(service.service_arn, service.deployment_id), FakeLambdaContext("tag-deployment")
            )
        from housekeeper.handlers import sync_repository

        synced, _ = drain_queue(self.queue_url, sync_repository.handler, "sync-repository")
        assert self.logs is not None
        self.logs.take("sync")
        self.say.say(
            f"Delivered {len(fresh)} SERVICE_DEPLOYMENT_COMPLETED events (staging and dev deployed today); the tagger "
            f"also queued a policy sync of the {synced} repositories they run (in preview mode it writes nothing). "
            "Production has run its build since before the tagger existed, so the operator runs backfill:"
        )
        self.say.say(f"$ housekeeper backfill --parameter {CONFIG_PARAMETER} --yes")
        with redirect_stdout(io.StringIO()) as printed, redirect_stderr(io.StringIO()) as errors:
            code = housekeeper(["backfill", "--parameter", CONFIG_PARAMETER, "--yes", "--output", "table"])
        assert self.logs is not None
        self.logs.reattach()
        # The CLI's JSON log lines join the handlers' in the log file; its plain messages are shown.
        log_lines = [line for line in errors.getvalue().splitlines() if line.startswith("{")]
        self.logs.write_lines(log_lines)
        self.say.say(printed.getvalue().rstrip())
        for line in errors.getvalue().splitlines():
            if line.strip() and not line.startswith("{"):
                self.say.say(line)
        self.say.say(f"(exit code {code})")
        rows = []
        for service in account.services:
            described = self.ecr.describe_images(
                repositoryName=service.repository, imageIds=[{"imageDigest": service.digest}]
            )["imageDetails"][0]
            tags = tuple(sorted(described.get("imageTags", [])))
            result.env_tags[f"{service.cluster}/{service.service}"] = tags
            rows.append((service.cluster, service.service, service.build, ", ".join(tags)))
        self.say.table(("cluster", "service", "build", "tags on the running digest now"), rows)

    def enforce(self, result: StoryResult) -> None:
        self.say.step(5, "Switch mode to enforce (second SSM edit): policies are written where the guard allows")
        self.config["mode"] = "enforce"
        result.enforce_decisions = self._edit_config("Update")
        self.say.table(DECISION_HEADERS, _decision_rows(result.enforce_decisions))
        blocked = [d for d in result.enforce_decisions if d.get("action") == "blocked"]
        for decision in blocked:
            self.say.say(f"BLOCKED {decision['repository']}: {decision.get('detail')}")
        if not blocked:
            return
        self.say.say()
        self.say.say(
            f"The operator checks the plan (the images it keeps are the last 90 days and every env-tagged image), "
            f"then raises safety.maxExpireFraction to {INITIAL_CLEANUP_FRACTION} for the one-off initial clean-up:"
        )
        self.config["safety"] = {**self.config.get("safety", {}), "maxExpireFraction": INITIAL_CLEANUP_FRACTION}
        result.proceed_decisions = self._edit_config("Update")
        self.say.table(DECISION_HEADERS, _decision_rows(result.proceed_decisions))
        self.say.say("...and restores the everyday limit of 0.5 once the policy is in place (third edit):")
        self.config["safety"] = {**self.config["safety"], "maxExpireFraction": 0.5}
        result.restore_decisions = self._edit_config("Update")
        self.say.table(DECISION_HEADERS, _decision_rows(result.restore_decisions))
        result.protections_on = self._protections()
        self._show_protections(result.protections_on, "In-use protections the stored policies now hold")

    def _protections(self) -> dict[str, list[str]]:
        from housekeeper.aws.ecr import Boto3EcrGateway

        ecr = Boto3EcrGateway()
        found = {spec.name: in_use_rules(ecr.get_lifecycle_policy(spec.name)) for spec in self.scenario.repositories}
        return {name: tags for name, tags in found.items() if tags}

    def _show_protections(self, protections: Mapping[str, list[str]], title: str) -> None:
        self.say.say()
        self.say.say(f"{title}: one rule per image, above the rule that would expire it:")
        rows = [(name, tag) for name, tags in sorted(protections.items()) for tag in tags]
        self.say.table(("repository", "protected tag"), rows or [("(none)", "")])

    def inventory(self, result: StoryResult) -> None:
        from housekeeper.cli.main import main as housekeeper

        self.say.step(6, "What is in use: `housekeeper inventory` (the scan the sync worker runs)")
        self.say.say(f"$ housekeeper inventory --parameter {CONFIG_PARAMETER}")
        with redirect_stdout(io.StringIO()) as printed, redirect_stderr(io.StringIO()) as errors:
            code = housekeeper(["inventory", "--parameter", CONFIG_PARAMETER])
        assert self.logs is not None
        self.logs.reattach()
        result.inventory_output = printed.getvalue()
        self.say.say(printed.getvalue().rstrip())
        for line in errors.getvalue().splitlines():
            if line.strip() and not line.startswith("{"):
                self.say.say(line)
        self.say.say(f"(exit code {code})")

    def release(self, result: StoryResult) -> None:
        account = result.account
        self.say.step(7, f"The team deletes {IDLE_SERVICE}; the next daily sweep releases its protection")
        ecs = boto3.client("ecs")
        for service in account.idle_services:
            ecs.delete_service(cluster=service.cluster, service=service.service, force=True)
            self.say.say(f"DeleteService {service.cluster}/{service.service} (it ran {service.image.split('/', 1)[1]})")
        result.release_decisions = self._sweep()
        changed = [d for d in result.release_decisions if d.get("action") != "in_sync"]
        self.say.table(DECISION_HEADERS, _decision_rows(changed) or [["(all in sync)", "", "", "", "", ""]])
        result.protections_after_release = self._protections()
        self._show_protections(result.protections_after_release, "In-use protections after the sweep")
        released = {
            name: [tag for tag in tags if tag not in result.protections_after_release.get(name, [])]
            for name, tags in result.protections_on.items()
        }
        for name, tags in released.items():
            for tag in tags:
                self.say.say(f"released: {name} {tag} (no consumer left); ECR's next run may expire it")

    def lifecycle_run(self, result: StoryResult) -> None:
        from housekeeper.aws.ecr import Boto3EcrGateway
        from housekeeper.core.evaluator import evaluate

        self.say.step(8, "ECR's lifecycle run, EMULATED: moto never runs lifecycle policies")
        self.say.say(
            "This step stands in for ECR: for each repository, the exact offline evaluator runs the policy ECR "
            "now stores, on the images as ECR sees them (every status, each index with its children), and the "
            "images it expires are removed with BatchDeleteImage."
        )
        ecr = Boto3EcrGateway()
        rows = []
        for spec in self.scenario.repositories:
            policy = ecr.get_lifecycle_policy(spec.name)
            result.policies[spec.name] = policy
            images = list(ecr.iter_images(spec.name))
            if policy is None:
                result.remaining[spec.name] = images
                rows.append((spec.name, len(images), 0, len(images), "no policy"))
                continue
            expiring = sorted(evaluate(policy, images, time.time()).expiring_digests)
            if expiring:
                ecr.batch_delete_images(spec.name, expiring)
            remaining = list(ecr.iter_images(spec.name))
            present = {image.digest for image in remaining}
            deleted = [image.digest for image in images if image.digest not in present]
            result.deleted[spec.name] = deleted
            result.remaining[spec.name] = remaining
            rows.append((spec.name, len(images), len(deleted), len(remaining), f"{len(policy['rules'])} rules"))
        self.say.table(("repository", "images", "expired", "kept", "stored policy"), rows)
        kept = {name: {image.digest for image in images} for name, images in result.remaining.items()}
        for consumer, repository, digests in in_use_digests(result.account):
            if not set(digests) <= kept.get(repository, set()):
                result.lost_in_use.append(consumer)
        self.say.say(
            "Every image in use (services, their platform images, the Lambda function's versions) is still there."
            if not result.lost_in_use
            else f"LOST images in use: {', '.join(result.lost_in_use)}"
        )
        self._multi_arch_summary(result)

    def _multi_arch_summary(self, result: StoryResult) -> None:
        children = result.account.children.get(MULTI_ARCH_REPOSITORY, {})
        if not children:
            return
        kept = {image.digest for image in result.remaining.get(MULTI_ARCH_REPOSITORY, [])}
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
                subtitle="demo account on the emulator, SYNTHETIC Inspector findings",
            ),
            encoding="utf-8",
        )
        return path

    def summary(self, result: StoryResult) -> None:
        assert result.change is not None
        change = result.change
        self.say.out.write("\nBefore and after (measured on the emulated account)\n")
        rows = [
            (
                repo.repository,
                f"{repo.before.images:,}",
                f"{repo.after.images:,}",
                _gb(repo.before.bytes),
                _gb(repo.after.bytes),
                f"{repo.before.findings_total:,}",
                f"{repo.after.findings_total:,}",
                _percent(repo.before.findings_total, repo.after.findings_total),
            )
            for repo in change.repositories
        ]
        total_before, total_after = change.before, change.after
        rows.append(
            (
                "all repositories",
                f"{total_before.images:,}",
                f"{total_after.images:,}",
                _gb(total_before.bytes),
                _gb(total_after.bytes),
                f"{total_before.findings_total:,}",
                f"{total_after.findings_total:,}",
                _percent(total_before.findings_total, total_after.findings_total),
            )
        )
        self.say.table(
            ("repository", "images", "after", "storage", "after", "findings*", "after", "change"),
            rows,
        )
        big = next(r for r in change.repositories if r.repository == self.scenario.big_repository)
        self.say.say(
            f"{big.repository}: {big.before.images:,} -> {big.after.images:,} images, "
            f"{big.before.findings_total:,} -> {big.after.findings_total:,} findings "
            f"({_percent(big.before.findings_total, big.after.findings_total)}). The seed team: 2,200+ -> 91 images, "
            "33,000 -> about 1,100 findings."
        )
        self.say.say(
            f"Storage saved: est. ${change.monthly_saving_usd:,.2f}/month at $0.10/GB-month. "
            "* findings are synthetic (moto has no Inspector)."
        )
        consumers = len(in_use_digests(result.account))
        self.say.say(f"Consumers whose images are still present: {consumers - len(result.lost_in_use)} of {consumers}.")
        if result.html_path:
            self.say.say(f"HTML report: {result.html_path}")


def in_use_digests(account: SeededAccount) -> list[tuple[str, str, tuple[str, ...]]]:
    """(consumer, repository, digests it needs) for every consumer left at the end of the story."""
    found: list[tuple[str, str, tuple[str, ...]]] = []
    for service in account.running_services:
        children = next(
            (kids for build, kids in account.children.get(service.repository, {}).items() if build == service.build), ()
        )
        found.append((f"{service.cluster}/{service.service}", service.repository, (service.digest, *children)))
    for function in account.functions:
        found.append((f"lambda:{function.name}:$LATEST", function.repository, (function.latest_digest,)))
        found.append((f"lambda:{function.name}:{function.alias}", function.repository, (function.alias_digest,)))
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
