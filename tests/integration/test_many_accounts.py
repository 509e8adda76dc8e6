"""One registry account in several regions, and workload accounts read through their reader role, on moto.

The real handlers (tag_deployment, plan_sync, sync_repository) and the real CLI run against a moto hub
(123456789012: registry regions us-east-1 and eu-west-1) and spokes (222233334444 and 333344445555, reached with
sts:AssumeRole of their `ecr-housekeeper-reader`). moto keeps the accounts apart, so a spoke's services, tasks and
functions are visible only through the role: reading them any other way finds nothing.

- a spoke's completed deployment is tagged on its digest in the hub's ECR of the image's own region; another
  registry's image and an unlisted account's deployment are skipped with their reasons;
- an image only a spoke uses is kept by the policy ECR stores, and `housekeeper inventory` shows where it runs;
- a sweep queues one message per (region, repository), every registry region gets its policy, and an image in use
  is protected in every region that holds its digest; `plan` and `report` cover both regions;
- a spoke whose role cannot be assumed fails closed exactly the repositories it could pull from;
- each spoke role is assumed once per region, however many repositories a worker syncs.
"""

from __future__ import annotations

import json
import time
from typing import Any

import pytest
from housekeeper import observability
from housekeeper.aws.session import client
from housekeeper.cli.main import main
from housekeeper.core.compiler import compile_policy
from housekeeper.core.config import load_config
from housekeeper.handlers.tag_deployment import handler as tag_handler
from housekeeper.logic.inventory import shared_scanner

from demo.emulator import backdate_images
from tests.fakes import (
    CONFIG_PARAMETER,
    DAY,
    DOCKER_V2,
    SCHEDULED_EVENT,
    FakeLambdaContext,
    image_manifest,
    push_to_moto,
    run_moto_service,
    sha256_digest,
)
from tests.fakes.lambda_runtime import forwarded_deployment_event
from tests.integration.estate_scenario import (
    CLUSTER,
    HOME_REGION,
    HUB,
    OTHER_SPOKE,
    REPLICA_REGION,
    REPOSITORY,
    SPOKE,
    SPOKE_REGION,
    STRANGER,
    DeniedAssumeRole,
    allow_pull,
    as_account,
    assume_role_calls,
    estate_config,
    expired_by,
    expired_by_stored_policy,
    hub_task,
    image_tags,
    image_uri,
    role_arn,
    seed_builds,
    spoke_function,
    spoke_service,
    stored_policy,
    table_rows,
)
from tests.integration.moto_account import Account, count_calls
from tests.integration.shop_scenario import OLD_TAGS

ALL_REGIONS = (HOME_REGION, REPLICA_REGION, SPOKE_REGION)


def cli(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    capsys.readouterr()
    code = main([*argv, "--parameter", CONFIG_PARAMETER])
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def sweep(account: Account, batch_size: int = 10) -> list[str]:
    """The daily sweep through the real plan_sync and worker handlers; returns the failed message ids."""
    shared_scanner.clear()  # a minute after any earlier run: a warm worker's inventory has expired
    account.results.clear()
    account.plan(SCHEDULED_EVENT)
    return account.work(batch_size=batch_size)


def outcomes(account: Account) -> dict[tuple[str, str], tuple[str, str]]:
    """(region, repository) -> (action, reason) of the worker's decisions."""
    return {(r.region, r.repository): (r.action, r.reason) for r in account.results}


def per_repository(calls: list[dict[str, Any]]) -> list[str]:
    """The repositories of the ECR requests tests.integration.moto_account.count_calls recorded."""
    return sorted(json.loads(call["body"])["repositoryName"] for call in calls)


# --- 1. tagging a spoke's deployment ----------------------------------------------------------------------------


def push_build(tag: str, regions: tuple[str, ...], repository: str = REPOSITORY) -> str:
    """The same manifest tagged `tag` in each region (a replica); returns its digest."""
    digests = set()
    for region in regions:
        ecr = client("ecr", region)
        ecr.create_repository(repositoryName=repository)
        digests.add(push_to_moto(ecr, repository, image_manifest(f"{repository}-{tag}"), DOCKER_V2, tag))
    [digest] = digests
    return digest


def spoke_deployment(images: list[str], account: str = SPOKE, service: str = "api") -> dict[str, Any]:
    """A service deployed in `account` (us-west-2) and the completed-deployment event the hub's bus receives."""
    deployment_id = run_moto_service(as_account("ecs", account), CLUSTER, service, images)
    return forwarded_deployment_event(account, SPOKE_REGION, CLUSTER, service, deployment_id)


def test_a_spoke_deployment_is_tagged_on_its_digest_in_the_registry_region_of_the_image(account: Account) -> None:
    account.put_config(estate_config())
    digest = push_build("7", (HOME_REGION, REPLICA_REGION))
    event = spoke_deployment([image_uri(":7", REPLICA_REGION)])
    assert client("ecs", SPOKE_REGION).list_clusters()["clusterArns"] == []  # the hub's own view: nothing there

    result = tag_handler(event, FakeLambdaContext())

    assert result["counts"] == {"tagged": 1}
    [image] = result["images"]
    where = (image["account"], image["region"], image["digest"], image["tag"])
    assert where == (SPOKE, REPLICA_REGION, digest, "Prod-7")
    assert image_tags(REPOSITORY, digest, REPLICA_REGION) == ["7", "Prod-7"]
    # The tag goes where the image was pulled from (eu-west-1); the us-east-1 copy of the manifest is left as it is.
    assert image_tags(REPOSITORY, digest, HOME_REGION) == ["7"]
    # The protection sync it queues is for the image's own region.
    assert [json.loads(m["Body"]) for m in account.receive()] == [
        {"repositoryName": REPOSITORY, "region": REPLICA_REGION, "trigger": "deployment"}
    ]
    # A replayed event finds the tag in place.
    assert tag_handler(event, FakeLambdaContext())["counts"] == {"already_present": 1}


@pytest.mark.parametrize(
    ("registry", "region", "reason"),
    [("999988887777", HOME_REGION, "other-registry"), (HUB, "ap-south-1", "other-region")],
    ids=["other-registry", "other-region"],
)
def test_an_image_outside_the_registry_is_skipped_with_its_reason(
    account: Account, registry: str, region: str, reason: str
) -> None:
    """The other registry's (or region's) repository and tag are those of one of ours: only the account (or the
    region) tells them apart."""
    account.put_config(estate_config())
    digest = push_build("8", (HOME_REGION,))
    foreign = image_uri(":8", region, account=registry)
    event = spoke_deployment([foreign])

    result = tag_handler(event, FakeLambdaContext())

    assert [(i["image"], i["status"], i["reason"]) for i in result["images"]] == [(foreign, "skipped", reason)]
    assert image_tags(REPOSITORY, digest, HOME_REGION) == ["8"]
    assert account.receive() == []  # nothing of ours runs there: no protection sync either


def test_a_deployment_in_an_account_the_config_does_not_list_is_skipped_and_tags_nothing(account: Account) -> None:
    account.put_config(estate_config())
    digest = push_build("9", (HOME_REGION,))
    event = spoke_deployment([image_uri(":9")], account=STRANGER)  # the service exists there, and runs our image
    assumed = assume_role_calls(ALL_REGIONS)

    result = tag_handler(event, FakeLambdaContext())  # not an error: the event is not retried

    assert [(i["status"], i["reason"], i["account"]) for i in result["images"]] == [
        ("skipped", "unknown-account", STRANGER)
    ]
    assert image_tags(REPOSITORY, digest, HOME_REGION) == ["9"]
    assert assumed == []  # the unlisted account is not even entered
    assert account.receive() == []


# --- 2. an image only a spoke uses ------------------------------------------------------------------------------

SPOKE_SERVICE = f"ecs-service:{CLUSTER}/web@{SPOKE}/{SPOKE_REGION}"
SPOKE_FUNCTION = f"lambda:api:$LATEST@{SPOKE}/{SPOKE_REGION}"


def test_an_image_only_a_spoke_uses_is_kept_by_the_policy_ecr_stores(account: Account) -> None:
    seed_builds()
    spoke_service(image_uri(":100"))  # desired count 0: nothing runs, the service still needs build 100
    spoke_function("99")
    config = estate_config(regions=[HOME_REGION])
    unprotected = compile_policy(load_config(config), REPOSITORY)
    assert expired_by(unprotected, REPOSITORY, HOME_REGION) == set(OLD_TAGS)  # the config alone expires them all
    account.put_config(config)

    assert sweep(account) == []

    assert outcomes(account) == {(HOME_REGION, REPOSITORY): ("updated", "POLICY_MISSING")}
    assert account.results[0].protected == 2
    assert expired_by_stored_policy(REPOSITORY, HOME_REGION) == {"98"}


def test_inventory_shows_where_each_consumer_runs_and_narrows_by_account_and_region(
    account: Account, capsys: pytest.CaptureFixture[str]
) -> None:
    digests = seed_builds()
    spoke_service(image_uri(":100"))
    spoke_function("99")
    task = hub_task(image_uri(":101"))
    account.put_config(estate_config(regions=[HOME_REGION]))

    code, out, err = cli(capsys, "inventory")

    assert code == 0, err
    rows = {(r["account"], r["region"], r["registry region"], r["consumer"], r["tags"]) for r in table_rows(out)}
    assert rows == {
        (SPOKE, SPOKE_REGION, HOME_REGION, SPOKE_SERVICE, "100"),
        (SPOKE, SPOKE_REGION, HOME_REGION, SPOKE_FUNCTION, "99"),
        (HUB, HOME_REGION, HOME_REGION, f"ecs-task:{CLUSTER}/{task}", "101"),
    }
    assert "places read: 2 of 2" in err

    code, out, _ = cli(capsys, "inventory", "--account", SPOKE)
    assert code == 0
    assert {r["consumer"] for r in table_rows(out)} == {SPOKE_SERVICE, SPOKE_FUNCTION}

    code, out, _ = cli(capsys, "inventory", "--region", HOME_REGION)
    assert code == 0
    assert {r["consumer"] for r in table_rows(out)} == {f"ecs-task:{CLUSTER}/{task}"}

    code, out, _ = cli(capsys, "inventory", "--output", "json", "--account", SPOKE, "--region", SPOKE_REGION)
    assert code == 0
    report = json.loads(out)
    assert report["places"] == [f"{SPOKE}/{SPOKE_REGION}"]
    [shop] = report["repositories"]
    consumers = {
        (image["digest"], c["consumer"], c["account"], c["region"])
        for image in shop["images"]
        for c in image["consumers"]
    }
    assert consumers == {
        (digests["100"], SPOKE_SERVICE, SPOKE, SPOKE_REGION),
        (digests["99"], SPOKE_FUNCTION, SPOKE, SPOKE_REGION),
    }


# --- 3. several registry regions --------------------------------------------------------------------------------


def seed_two_regions() -> dict[str, str]:
    """`shop` replicated in both registry regions, `cart` in eu-west-1 only, `legacy/old` (excluded) in both."""
    digests = seed_builds(REPOSITORY, (HOME_REGION, REPLICA_REGION))
    seed_builds("cart", (REPLICA_REGION,))
    seed_builds("legacy/old", (HOME_REGION, REPLICA_REGION))
    return digests


def test_a_sweep_syncs_every_region_and_protects_an_in_use_digest_in_each(account: Account) -> None:
    digests = seed_two_regions()
    # Build 100 runs in the hub's home region, named by digest; build 99 runs in the spoke from the eu-west-1 copy.
    hub_task(image_uri(f"@{digests['100']}"))
    spoke_service(image_uri(":99", REPLICA_REGION))
    config = estate_config()
    account.put_config(config)

    shared_scanner.clear()
    planned = account.plan(SCHEDULED_EVENT)
    messages = account.receive()

    assert planned["queued"] == 3
    assert sorted(json.loads(m["Body"]).items() for m in messages) == sorted(
        {"repositoryName": name, "region": region, "trigger": "sweep"}.items()
        for region, name in ((HOME_REGION, REPOSITORY), (REPLICA_REGION, REPOSITORY), (REPLICA_REGION, "cart"))
    )
    assert account.work(messages) == []
    assert outcomes(account) == {
        (HOME_REGION, REPOSITORY): ("updated", "POLICY_MISSING"),
        (REPLICA_REGION, REPOSITORY): ("updated", "POLICY_MISSING"),
        (REPLICA_REGION, "cart"): ("updated", "POLICY_MISSING"),
    }
    # The same digests are the same images in both regions: each is kept wherever it is stored.
    assert expired_by_stored_policy(REPOSITORY, HOME_REGION) == {"98"}
    assert expired_by_stored_policy(REPOSITORY, REPLICA_REGION) == {"98"}
    assert expired_by_stored_policy("cart", REPLICA_REGION) == set(OLD_TAGS)  # nothing uses cart
    assert stored_policy("legacy/old", HOME_REGION) is None
    assert stored_policy("legacy/old", REPLICA_REGION) is None
    assert account.metric(observability.POLICIES_UPDATED) == 3


def test_plan_shows_account_and_region_and_narrows_by_region(
    account: Account, capsys: pytest.CaptureFixture[str]
) -> None:
    seed_two_regions()
    account.put_config(estate_config())

    code, out, err = cli(capsys, "plan")

    assert code == 0, err
    rows = [(r["account"], r["region"], r["repository"], r["action"]) for r in table_rows(out)]
    assert sorted(rows) == sorted(
        [
            (HUB, HOME_REGION, REPOSITORY, "would_update"),
            (HUB, REPLICA_REGION, REPOSITORY, "would_update"),
            (HUB, REPLICA_REGION, "cart", "would_update"),
        ]
    )

    code, out, _ = cli(capsys, "plan", "--region", REPLICA_REGION)
    assert code == 0
    assert sorted((r["region"], r["repository"]) for r in table_rows(out)) == [
        (REPLICA_REGION, "cart"),
        (REPLICA_REGION, REPOSITORY),
    ]

    code, out, _ = cli(capsys, "plan", "--region", HOME_REGION, "--output", "json")
    assert code == 0
    assert [(r["account"], r["region"], r["repository"]) for r in json.loads(out)["repositories"]] == [
        (HUB, HOME_REGION, REPOSITORY)
    ]
    assert (stored_policy(REPOSITORY, HOME_REGION), stored_policy(REPOSITORY, REPLICA_REGION)) == (None, None)


def test_report_sums_images_across_the_registry_regions(account: Account, capsys: pytest.CaptureFixture[str]) -> None:
    seed_two_regions()
    account.put_config(estate_config())
    per_repository_images = len(OLD_TAGS) + 4

    code, out, err = cli(capsys, "report", "--output", "json")

    assert code == 0, err
    report = json.loads(out)
    rows = {
        (r["region"], r["repository"]): (r["before"]["images"], r["after"]["images"]) for r in report["repositories"]
    }
    assert rows == {
        (HOME_REGION, REPOSITORY): (per_repository_images, 4),
        (REPLICA_REGION, REPOSITORY): (per_repository_images, 4),
        (REPLICA_REGION, "cart"): (per_repository_images, 4),
    }
    assert (report["totals"]["before"]["images"], report["totals"]["after"]["images"]) == (
        3 * per_repository_images,
        3 * 4,
    )

    code, out, _ = cli(capsys, "report", "--output", "json", "--region", REPLICA_REGION)
    assert code == 0
    assert json.loads(out)["totals"]["before"]["images"] == 2 * per_repository_images


# --- 4. a spoke that cannot be read -----------------------------------------------------------------------------

UNREADABLE = f"sts:AssumeRole in {SPOKE}/{SPOKE_REGION}"


def run_untagged(repository: str) -> str:
    """An untagged image of `repository`, 30 days old, that a hub task runs by digest: a sync that goes ahead pins
    it (PutImage) and protects it from the untagged rule. Returns its digest."""
    manifest = image_manifest(f"{repository}-untagged")
    digest = sha256_digest(manifest)
    client("ecr").put_image(
        repositoryName=repository, imageManifest=manifest, imageManifestMediaType=DOCKER_V2, imageDigest=digest
    )
    backdate_images(repository, {digest: time.time() - 30 * DAY})
    hub_task(image_uri(f"@{digest}", repository=repository), family=f"{repository}-job")
    return digest


def test_an_unreadable_spoke_fails_closed_only_the_repositories_it_could_pull_from(
    account: Account, capsys: pytest.CaptureFixture[str]
) -> None:
    shared = ("shop", "open")  # the spoke may pull from these: its own account, or anyone
    untagged = {}
    for repository in (*shared, "private"):
        seed_builds(repository)
        untagged[repository] = run_untagged(repository)
    allow_pull("shop", f"arn:aws:iam::{SPOKE}:root")
    allow_pull("open", "*")
    account.put_config(estate_config(regions=[HOME_REGION], untagged={"expireAfterDays": 14}))
    denied = DeniedAssumeRole(SPOKE, SPOKE_REGION)
    puts, pins = count_calls("PutLifecyclePolicy"), count_calls("PutImage")

    assert len(sweep(account)) == 2  # the two messages fail, for redelivery

    assert outcomes(account) == {
        (HOME_REGION, "shop"): ("failed", "INVENTORY_INCOMPLETE"),
        (HOME_REGION, "open"): ("failed", "INVENTORY_INCOMPLETE"),
        (HOME_REGION, "private"): ("updated", "POLICY_MISSING"),
    }
    assert all(UNREADABLE in r.detail for r in account.results if r.repository in shared)
    assert (per_repository(puts), per_repository(pins)) == (["private"], ["private"])
    assert (stored_policy("shop", HOME_REGION), stored_policy("open", HOME_REGION)) == (None, None)
    assert image_tags("shop", untagged["shop"], HOME_REGION) == []
    assert expired_by_stored_policy("private", HOME_REGION) == set(OLD_TAGS)  # its in-use image is pinned and kept
    assert account.metric(observability.INVENTORY_INCOMPLETE) == 2

    code, out, _ = cli(capsys, "plan")
    assert code == 1
    assert {(r["repository"], r["action"], r["reason"]) for r in table_rows(out)} == {
        ("shop", "failed", "INVENTORY_INCOMPLETE"),
        ("open", "failed", "INVENTORY_INCOMPLETE"),
        ("private", "in_sync", "POLICY_MATCHES"),
    }

    code, out, err = cli(capsys, "inventory")
    assert code == 1
    [line] = [line for line in err.splitlines() if line.startswith("error:")]
    assert "INVENTORY_INCOMPLETE" in line and UNREADABLE in line and "AccessDenied" in line
    assert "places read: 1 of 2" in err
    assert {r["repository"] for r in table_rows(out)} == {"shop", "open", "private"}  # what could be read

    # Once the role can be assumed, the redelivered messages go through (so the checks above could fail).
    denied.lift()
    shared_scanner.clear()
    account.results.clear()
    assert account.work() == []
    assert outcomes(account) == {
        (HOME_REGION, "shop"): ("updated", "POLICY_MISSING"),
        (HOME_REGION, "open"): ("updated", "POLICY_MISSING"),
    }
    assert image_tags("shop", untagged["shop"], HOME_REGION) == ["hk-pin-" + untagged["shop"].removeprefix("sha256:")]
    assert expired_by_stored_policy("shop", HOME_REGION) == set(OLD_TAGS)


# --- 5. assumed-role credentials are cached ---------------------------------------------------------------------


def test_each_spoke_role_is_assumed_once_per_region_however_many_repositories_a_worker_syncs(
    account: Account,
) -> None:
    names = [f"team-{n}/api" for n in range(5)]
    for name in names:
        seed_builds(name, (HOME_REGION, REPLICA_REGION))
    spoke_service(image_uri(":100", repository=names[0]))
    spokes = ((SPOKE, (SPOKE_REGION, REPLICA_REGION)), (OTHER_SPOKE, (SPOKE_REGION,)))
    account.put_config(estate_config(spokes=spokes))
    assumed = assume_role_calls(ALL_REGIONS)

    shared_scanner.clear()
    account.plan(SCHEDULED_EVENT)
    messages = account.receive()
    assert len(messages) == 10
    assert account.work(messages, batch_size=10) == []  # one worker invocation, ten repositories

    assert {r.action for r in account.results} == {"updated"}
    assert expired_by_stored_policy(names[0], REPLICA_REGION) == {"98", "99"}  # the spoke was read
    assert sorted(assumed) == sorted(
        [(SPOKE_REGION, role_arn(SPOKE)), (REPLICA_REGION, role_arn(SPOKE)), (SPOKE_REGION, role_arn(OTHER_SPOKE))]
    )

    # The next sweep in the same warm container, once its inventory has expired, reads every place again with
    # the credentials it holds (valid for an hour): no new AssumeRole.
    assert sweep(account) == []
    assert {r.action for r in account.results} == {"in_sync"}
    assert len(assumed) == 3


# --- backfill: where each image runs, and the registry region it was tagged in ---------------------------------


def test_backfill_shows_the_region_each_image_runs_in(account: Account, capsys: pytest.CaptureFixture[str]) -> None:
    digests = seed_builds(regions=(HOME_REGION, REPLICA_REGION))
    run_moto_service(as_account("ecs"), CLUSTER, "web", [image_uri(":101", REPLICA_REGION)])  # runs in us-west-2
    account.put_config(estate_config())

    code, out, err = cli(capsys, "backfill", "--yes", "--region", SPOKE_REGION)

    assert code == 0, err
    assert image_tags(REPOSITORY, digests["101"], REPLICA_REGION) == ["101", "Prod-101"]
    assert [(r["account"], r["region"], r["status"]) for r in table_rows(out)] == [(SPOKE, SPOKE_REGION, "tagged")]
