"""Standing protection on moto: the policy ECR stores keeps every image something uses, and says so when it does not.

- a stored policy that expires an in-use image is `at_risk` (preview: reported, nothing written; enforce: the
  protected policy is written in the same run), and the protection ends with the consumer;
- untagged in-use images get a pin tag (byte-exact PutImage) that a protect rule selects;
- multi-arch indexes keep their platform manifests; archived images (Stubber: moto has no archive) are read with
  every status;
- a source of the inventory that cannot be read fails every repository closed, and `housekeeper inventory` says
  which source.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

import boto3
import pytest
from botocore.stub import ANY, Stubber
from housekeeper import observability
from housekeeper.aws.ecr import Boto3EcrGateway
from housekeeper.aws.session import client, reset_clients
from housekeeper.cli.main import main
from housekeeper.core.compiler import compile_policy
from housekeeper.core.config import load_config
from housekeeper.core.evaluator import evaluate
from housekeeper.core.images import ARCHIVE, STANDARD, image_from_detail
from housekeeper.core.manifests import MANIFEST_MEDIA_TYPES
from housekeeper.logic.inventory import shared_scanner
from housekeeper.logic.sync import SyncRun, sync_repository

from demo.emulator import backdate_images
from tests.fakes import (
    ACCOUNT,
    CONFIG_PARAMETER,
    DAY,
    DOCKER_V2,
    HOME,
    OCI_INDEX,
    OCI_MANIFEST,
    REGION,
    REGISTRY,
    SCHEDULED_EVENT,
    FakeEcs,
    FakePlaces,
    config_json,
    fake_sources,
    image_manifest,
    index_manifest,
    push_to_moto,
    sha256_digest,
)
from tests.integration.moto_account import Account, count_calls, fail_calls
from tests.integration.shop_scenario import (
    CLUSTER,
    OLD_TAGS,
    REPOSITORY,
    create_schedule,
    create_service,
    expired_by_stored_policy,
    image_uri,
    in_use_now,
    lambda_alias_on_an_older_version,
    seed_shop,
    start_task,
    sync_now,
)

SERVICE = f"ecs-service:{CLUSTER}/web"


def store_policy(repository: str, policy: dict[str, Any]) -> None:
    client("ecr").put_lifecycle_policy(repositoryName=repository, lifecyclePolicyText=json.dumps(policy))


def cli(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    capsys.readouterr()
    code = main([*argv, "--parameter", CONFIG_PARAMETER])
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def push_untagged(repository: str, manifest: str, media_type: str = DOCKER_V2) -> str:
    """Push a manifest with no tag under its real sha256 digest."""
    digest = sha256_digest(manifest)
    client("ecr").put_image(
        repositoryName=repository, imageManifest=manifest, imageManifestMediaType=media_type, imageDigest=digest
    )
    return digest


def run_by_digest(digest: str) -> None:
    """A running ECS task whose task definition names `shop@<digest>` (an image that may carry no tag)."""
    ecs = client("ecs")
    ecs.create_cluster(clusterName=CLUSTER)
    ecs.register_task_definition(
        family="worker",
        networkMode="bridge",
        containerDefinitions=[{"name": "app", "image": f"{REGISTRY}/{REPOSITORY}@{digest}", "memory": 128}],
    )
    ecs.run_task(cluster=CLUSTER, taskDefinition="worker", launchType="FARGATE")


# --- at risk: preview reports, enforce protects ---------------------------------------------------------------


def test_preview_reports_a_stored_policy_that_expires_an_in_use_image_and_writes_nothing(
    account: Account, capsys: pytest.CaptureFixture[str]
) -> None:
    digests = seed_shop()
    create_service(tag="100")  # scaled to zero: no task runs build 100, the service still needs it
    config = config_json(mode="preview")
    unprotected = compile_policy(load_config(config), REPOSITORY)  # the config's own policy, from before
    store_policy(REPOSITORY, unprotected)
    puts, pins = count_calls("PutLifecyclePolicy"), count_calls("PutImage")

    result = sync_now(account, config)

    assert (result.action, result.reason) == ("at_risk", "EXPIRES_IN_USE_IMAGE")
    assert [(c.digest, c.tags, c.consumers) for c in result.at_risk] == [(digests["100"], ("100",), (SERVICE,))]
    assert result.to_dict()["atRisk"] == [
        {"digest": digests["100"], "tags": ["100"], "action": "EXPIRE", "consumers": [SERVICE]}
    ]
    assert SERVICE in result.detail
    assert (puts, pins) == ([], [])
    assert account.policy(REPOSITORY) == unprotected
    assert account.metric(observability.IN_USE_IMAGES_AT_RISK) == 1

    code, out, _ = cli(capsys, "plan", "--output", "json")
    assert code == 1
    [repository] = json.loads(out)["repositories"]
    assert (repository["repository"], repository["action"]) == (REPOSITORY, "at_risk")
    assert [(c["digest"], c["tags"], c["consumers"]) for c in repository["atRisk"]] == [
        (digests["100"], ["100"], [SERVICE])
    ]
    assert (puts, pins) == ([], [])
    assert account.policy(REPOSITORY) == unprotected


def test_enforce_writes_the_protection_in_the_same_run_and_the_next_run_is_in_sync(account: Account) -> None:
    seed_shop()
    create_service(tag="100")
    config = config_json(mode="enforce")
    store_policy(REPOSITORY, compile_policy(load_config(config), REPOSITORY))
    assert expired_by_stored_policy(account) == set(OLD_TAGS)  # before: the stored policy expires build 100

    first = sync_now(account, config)
    assert (first.action, first.reason, first.at_risk) == ("updated", "POLICY_DIFFERS", ())
    assert first.protected == 1
    assert expired_by_stored_policy(account) == {"98", "99"}
    assert account.metric(observability.IN_USE_IMAGES_PROTECTED) == 1

    puts = count_calls("PutLifecyclePolicy")
    second = sync_now(account, config)
    assert (second.action, second.reason, second.at_risk) == ("in_sync", "POLICY_MATCHES", ())
    assert puts == []


# --- release: the protection ends with the consumer -----------------------------------------------------------


def delete_service() -> None:
    client("ecs").delete_service(cluster=CLUSTER, service="web", force=True)


def delete_alias() -> None:
    client("lambda").delete_alias(FunctionName="api", Name="live")


def delete_schedule() -> None:
    client("scheduler").delete_schedule(Name="nightly", GroupName="batch")


RELEASES: dict[str, tuple[Callable[[], object], Callable[[], None]]] = {
    "service-deleted": (create_service, delete_service),
    "alias-deleted": (lambda_alias_on_an_older_version, delete_alias),
    "schedule-deleted": (create_schedule, delete_schedule),
}


@pytest.mark.parametrize("case", list(RELEASES))
def test_when_the_consumer_is_gone_the_next_sync_drops_its_protection(account: Account, case: str) -> None:
    create, release = RELEASES[case]
    digests = seed_shop()
    create()
    config = config_json(mode="enforce")
    assert sync_now(account, config).protected == 1
    assert "100" not in expired_by_stored_policy(account)

    release()
    assert digests["100"] not in in_use_now(config)
    result = sync_now(account, config)

    assert (result.action, result.reason, result.protected) == ("updated", "POLICY_DIFFERS", 0)
    assert account.policy(REPOSITORY) == compile_policy(load_config(config), REPOSITORY)
    assert expired_by_stored_policy(account) == set(OLD_TAGS)


# --- untagged in-use images: pinned -----------------------------------------------------------------------------


@pytest.mark.parametrize("mutability", ["MUTABLE", "IMMUTABLE"])
def test_an_untagged_in_use_image_is_pinned_byte_exact_and_protected_by_the_pin(
    account: Account, mutability: str
) -> None:
    """In an IMMUTABLE repository too: ECR (and moto) accept a new tag on an existing image there, since no tag
    moves; only an existing tag cannot be pointed elsewhere."""
    ecr = client("ecr")
    ecr.create_repository(repositoryName=REPOSITORY, imageTagMutability=mutability)
    running_manifest = image_manifest("shop-untagged-running")
    running = push_untagged(REPOSITORY, running_manifest)
    unused = push_untagged(REPOSITORY, image_manifest("shop-untagged-unused"))
    recent = [push_to_moto(ecr, REPOSITORY, image_manifest(f"shop-{t}"), DOCKER_V2, t) for t in ("101", "102")]
    now = time.time()
    backdate_images(REPOSITORY, {running: now - 30 * DAY, unused: now - 30 * DAY, **dict.fromkeys(recent, now - DAY)})
    run_by_digest(running)
    config = config_json(mode="enforce", untagged={"expireAfterDays": 14})
    pin = "hk-pin-" + running.removeprefix("sha256:")

    result = sync_now(account, config)

    assert (result.action, result.pinned, result.protected) == ("updated", (pin,), 1)
    by_pin = ecr.describe_images(repositoryName=REPOSITORY, imageIds=[{"imageTag": pin}])["imageDetails"]
    assert [(d["imageDigest"], d["imageTags"]) for d in by_pin] == [(running, [pin])]
    stored = ecr.batch_get_image(
        repositoryName=REPOSITORY, imageIds=[{"imageDigest": running}], acceptedMediaTypes=list(MANIFEST_MEDIA_TYPES)
    )["images"][0]
    assert stored["imageManifest"] == running_manifest
    assert len(ecr.describe_images(repositoryName=REPOSITORY)["imageDetails"]) == 4  # no new image
    policy = account.policy(REPOSITORY)
    assert policy is not None
    pin_rules = [r for r in policy["rules"] if r["selection"].get("tagPatternList") == [pin]]
    untagged_rule = next(r for r in policy["rules"] if r["selection"]["tagStatus"] == "untagged")
    assert len(pin_rules) == 1 and pin_rules[0]["rulePriority"] < untagged_rule["rulePriority"]
    assert expired_by_stored_policy(account) == {unused}
    assert account.metric(observability.IMAGES_PINNED) == 1

    # The next run finds the pin already there and adds nothing. The pinned image is a tagged image now, which
    # the untagged rule no longer selects, and the catch-all is 60 days away; its rule is held all the same while
    # it is in use, so the stored policy is not rewritten back and forth.
    pins = count_calls("PutImage")
    puts = count_calls("PutLifecyclePolicy")
    again = sync_now(account, config)
    assert again.action == "in_sync"
    assert (again.at_risk, pins, puts) == ((), [], [])
    assert expired_by_stored_policy(account) == {unused}


# --- multi-arch: an index keeps its platform manifests --------------------------------------------------------


def seed_multi_arch(age_days: float) -> tuple[str, tuple[str, str], str]:
    """An OCI index tagged `7` over two untagged platform manifests, and one unrelated untagged image, all
    `age_days` old; returns (index, children, the unrelated image)."""
    ecr = client("ecr")
    ecr.create_repository(repositoryName=REPOSITORY)
    children = (
        push_untagged(REPOSITORY, image_manifest("shop-amd64", OCI_MANIFEST), OCI_MANIFEST),
        push_untagged(REPOSITORY, image_manifest("shop-arm64", OCI_MANIFEST), OCI_MANIFEST),
    )
    index = push_to_moto(ecr, REPOSITORY, index_manifest(children), OCI_INDEX, "7")
    stray = push_untagged(REPOSITORY, image_manifest("shop-stray"))
    pushed = time.time() - age_days * DAY
    backdate_images(REPOSITORY, dict.fromkeys((index, *children, stray), pushed))
    return index, children, stray


def test_the_ecr_gateway_reports_the_children_of_an_index(account: Account) -> None:
    index, children, stray = seed_multi_arch(age_days=30)
    records = {r.digest: r for r in Boto3EcrGateway().iter_images(REPOSITORY)}
    assert set(records) == {index, *children, stray}
    assert records[index].child_digests == children
    assert records[index].tags == ("7",)
    assert [records[d].child_digests for d in (*children, stray)] == [(), (), ()]


def test_the_children_of_a_kept_index_are_not_counted_as_expiring(account: Account) -> None:
    """Untagged images older than 1 day expire, but the platform manifests of a kept index cannot be."""
    _, _, stray = seed_multi_arch(age_days=30)
    config = config_json(mode="enforce", untagged={"expireAfterDays": 1})

    result = sync_now(account, config)

    assert (result.action, result.images, result.expiring) == ("updated", 4, 1)
    assert expired_by_stored_policy(account) == {stray}


def test_a_task_running_the_index_keeps_the_index_and_its_children(account: Account) -> None:
    index, children, stray = seed_multi_arch(age_days=100)  # older than the catch-all too
    config = config_json(mode="enforce", untagged={"expireAfterDays": 1})
    images = list(Boto3EcrGateway().iter_images(REPOSITORY))
    unprotected = evaluate(compile_policy(load_config(config), REPOSITORY), images, time.time())
    assert unprotected.expiring_digests == {index, *children, stray}  # what the config alone would do
    task = start_task("7")

    assert in_use_now(config) == {index: {f"ecs-task:{CLUSTER}/{task}"}}
    result = sync_now(account, config)

    assert (result.action, result.at_risk) == ("updated", ())
    assert expired_by_stored_policy(account) == {stray}


# --- archived images and large listings (Stubber: moto has no archive) ----------------------------------------

DESCRIBE_ALL = {"repositoryName": REPOSITORY, "filter": {"imageStatus": "ANY"}, "maxResults": 1000}
PUSHED = datetime(2025, 1, 1, tzinfo=UTC)


def detail(digest: str, tags: list[str] | None = None, **extra: Any) -> dict[str, Any]:
    found: dict[str, Any] = {
        "registryId": "123456789012",
        "repositoryName": REPOSITORY,
        "imageDigest": digest,
        "imagePushedAt": PUSHED,
        "imageSizeInBytes": 1000,
        "imageManifestMediaType": DOCKER_V2,
        **extra,
    }
    if tags:
        found["imageTags"] = tags
    return found


def stubbed_ecr() -> Any:
    return boto3.client("ecr", region_name="us-east-1")


def test_images_of_every_status_are_listed_and_archived_ones_are_in_the_archive_class() -> None:
    ecr = stubbed_ecr()
    active, archived = sha256_digest("active"), sha256_digest("archived")
    archived_at = datetime(2025, 3, 1, tzinfo=UTC)
    with Stubber(ecr) as stub:
        stub.add_response(
            "describe_images",
            {
                "imageDetails": [
                    detail(active, ["1"], imageStatus="ACTIVE"),
                    detail(archived, ["2"], imageStatus="ARCHIVED", lastArchivedAt=archived_at),
                ]
            },
            DESCRIBE_ALL,  # without `imageStatus: ANY` ECR lists only ACTIVE images
        )
        records = {r.digest: r for r in Boto3EcrGateway(ecr_client=ecr).iter_images(REPOSITORY)}
        stub.assert_no_pending_responses()
    assert (records[active].storage_class, records[active].image_status) == (STANDARD, "ACTIVE")
    assert (records[archived].storage_class, records[archived].image_status) == (ARCHIVE, "ARCHIVED")
    assert records[archived].last_archived_at == archived_at.timestamp()


def test_the_children_of_more_than_100_indexes_are_read_100_at_a_time() -> None:
    ecr = stubbed_ecr()
    indexes = [sha256_digest(f"index-{n}") for n in range(150)]
    children = {d: (sha256_digest(f"{d}-amd64"), sha256_digest(f"{d}-arm64")) for d in indexes}
    index_details = [detail(d, [str(n)], imageManifestMediaType=OCI_INDEX) for n, d in enumerate(indexes)]
    plain = detail(sha256_digest("plain"), ["plain"])

    def manifests(chunk: list[str]) -> dict[str, Any]:
        return {
            "images": [
                {
                    "registryId": "123456789012",
                    "repositoryName": REPOSITORY,
                    "imageId": {"imageDigest": d},
                    "imageManifest": index_manifest(children[d]),
                    "imageManifestMediaType": OCI_INDEX,
                }
                for d in chunk
            ],
            "failures": [],
        }

    with Stubber(ecr) as stub:
        stub.add_response("describe_images", {"imageDetails": [*index_details, plain]}, DESCRIBE_ALL)
        for chunk in (indexes[:100], indexes[100:]):
            stub.add_response(
                "batch_get_image",
                manifests(chunk),
                {
                    "repositoryName": REPOSITORY,
                    "imageIds": [{"imageDigest": d} for d in chunk],
                    "acceptedMediaTypes": list(MANIFEST_MEDIA_TYPES),
                },
            )
        records = {r.digest: r for r in Boto3EcrGateway(ecr_client=ecr).iter_images(REPOSITORY)}
        stub.assert_no_pending_responses()  # exactly two BatchGetImage calls: 100 ids, then 50
    assert len(records) == 151
    assert all(records[d].child_digests == children[d] for d in indexes)
    assert records[plain["imageDigest"]].child_digests == ()


def archive_config() -> dict[str, Any]:
    return config_json(mode="enforce", catchAll={"archiveAfterDays": 30, "expireArchivedAfterDays": 90})


def test_an_archived_in_use_image_is_protected_in_the_archive_class() -> None:
    """A tagged image archived 200 days ago is deleted by the archive rule unless a service still names it."""
    ecr = stubbed_ecr()
    archived, other_archived = sha256_digest("archived-100"), sha256_digest("archived-99")
    recent = [sha256_digest(f"recent-{n}") for n in range(3)]
    now = datetime.now(UTC)
    archived_at = datetime.fromtimestamp(now.timestamp() - 200 * DAY, tz=UTC)
    details = [
        detail(archived, ["100"], imageStatus="ARCHIVED", lastArchivedAt=archived_at),
        detail(other_archived, ["99"], imageStatus="ARCHIVED", lastArchivedAt=archived_at),
        *(detail(d, [f"10{n + 1}"], imagePushedAt=now) for n, d in enumerate(recent)),
    ]
    ecs = FakeEcs()
    ecs.add_service(CLUSTER, "web", "web:1", [image_uri("100")])
    written: list[dict[str, Any]] = []
    ecr.meta.events.register(
        "before-parameter-build.ecr.PutLifecyclePolicy",
        lambda params, **_: written.append(json.loads(params["lifecyclePolicyText"])),
    )
    with Stubber(ecr) as stub:
        stub.add_client_error("get_lifecycle_policy", "LifecyclePolicyNotFoundException", http_status_code=400)
        stub.add_response("describe_images", {"imageDetails": details}, DESCRIBE_ALL)
        stub.add_response("put_lifecycle_policy", {}, {"repositoryName": REPOSITORY, "lifecyclePolicyText": ANY})
        places = FakePlaces(HOME, {HOME.region: Boto3EcrGateway(ecr_client=ecr)}, {HOME: fake_sources(ecs)})  # type: ignore[dict-item]
        run = SyncRun(load_config(archive_config()), places, write=True)
        result = sync_repository(REPOSITORY, run)
        stub.assert_no_pending_responses()

    assert (result.action, result.protected, result.at_risk) == ("updated", 1, ())
    [policy] = written
    [rule] = [r for r in policy["rules"] if r["selection"].get("tagPatternList") == ["100"]]
    assert rule["selection"]["storageClass"] == "archive"
    # The written policy, on the repository as listed, deletes only the archived build nothing uses.
    images = [image_from_detail(d) for d in details]
    assert evaluate(policy, images, now).expiring_digests == {other_archived}


def test_an_archived_untagged_in_use_image_is_reported_unprotectable_and_the_guard_blocks() -> None:
    """A pin would need PutImage on an archived image (which restores nothing and is refused): no protection is
    possible, so no policy that deletes it may be written."""
    ecr = stubbed_ecr()
    archived = sha256_digest("archived-untagged")
    now = datetime.now(UTC)
    archived_at = datetime.fromtimestamp(now.timestamp() - 200 * DAY, tz=UTC)
    details = [
        detail(archived, None, imageStatus="ARCHIVED", lastArchivedAt=archived_at),
        *(detail(sha256_digest(f"recent-{n}"), [f"10{n}"], imagePushedAt=now) for n in range(3)),
    ]
    ecs = FakeEcs()
    ecs.run_task(CLUSTER, None, [(f"{REGISTRY}/{REPOSITORY}@{archived}", archived)])
    with Stubber(ecr) as stub:  # any PutImage or PutLifecyclePolicy would fail the stub
        stub.add_client_error("get_lifecycle_policy", "LifecyclePolicyNotFoundException", http_status_code=400)
        stub.add_response("describe_images", {"imageDetails": details}, DESCRIBE_ALL)
        places = FakePlaces(HOME, {HOME.region: Boto3EcrGateway(ecr_client=ecr)}, {HOME: fake_sources(ecs)})  # type: ignore[dict-item]
        run = SyncRun(load_config(archive_config()), places, write=True)
        result = sync_repository(REPOSITORY, run)
        stub.assert_no_pending_responses()

    assert (result.action, result.reason) == ("blocked", "EXPIRES_IN_USE_IMAGE")
    assert [(u.digest, u.reason) for u in result.unprotected] == [(archived, "ARCHIVED_UNTAGGED")]
    assert [(c.digest, c.consumers) for c in result.conflicts] == [(archived, (f"ecs-task:{CLUSTER}/task-1",))]


# --- an inventory source that cannot be read: fail closed ----------------------------------------------------

FAULTS = {
    "lambdaFunctions": ("lambda", "ListFunctions"),
    "schedulerSchedules": ("scheduler", "ListSchedules"),
    "eventRules": ("events", "ListRules"),
    "ecsTasks": ("ecs", "ListClusters"),
}


@pytest.mark.parametrize("source", list(FAULTS))
def test_an_unreadable_source_fails_every_repository_closed_and_the_inventory_command_names_it(
    account: Account, capsys: pytest.CaptureFixture[str], source: str
) -> None:
    service, operation = FAULTS[source]
    ecr = client("ecr")
    ecr.create_repository(repositoryName=REPOSITORY)
    running = push_untagged(REPOSITORY, image_manifest("shop-untagged-running"))
    backdate_images(REPOSITORY, {running: time.time() - 30 * DAY})
    seed_shop("cart")
    run_by_digest(running)
    account.put_config(config_json(mode="enforce", untagged={"expireAfterDays": 14}))
    fail_calls(service, operation, "AccessDeniedException", lambda _: True)
    puts, pins = count_calls("PutLifecyclePolicy"), count_calls("PutImage")

    account.plan(SCHEDULED_EVENT)
    assert len(account.work()) == 2  # both messages fail, for redelivery

    assert {r.repository: (r.action, r.reason) for r in account.results} == {
        REPOSITORY: ("failed", "INVENTORY_INCOMPLETE"),
        "cart": ("failed", "INVENTORY_INCOMPLETE"),
    }
    assert all(source in r.detail for r in account.results)
    assert (puts, pins) == ([], [])
    assert (account.policy(REPOSITORY), account.policy("cart")) == (None, None)
    assert account.metric(observability.INVENTORY_INCOMPLETE) == 2

    code, _, err = cli(capsys, "inventory")
    assert code == 1  # what could be read is still listed, but the command fails and names what could not be
    [line] = [line for line in err.splitlines() if line.startswith("error:")]
    assert "INVENTORY_INCOMPLETE" in line and source in line and f"{service}:{operation}" in line

    # Once the source can be read again, the redelivered messages pin and protect (the checks above could fail).
    reset_clients()
    shared_scanner.clear()
    account.results.clear()
    assert account.work() == []
    assert {r.repository: r.action for r in account.results} == {REPOSITORY: "updated", "cart": "updated"}
    assert ecr.describe_images(repositoryName=REPOSITORY, imageIds=[{"imageDigest": running}])["imageDetails"][0][
        "imageTags"
    ] == ["hk-pin-" + running.removeprefix("sha256:")]


# --- `housekeeper inventory` ----------------------------------------------------------------------------------


def seed_inventory_scenario() -> dict[str, str]:
    """Build 100 used by a service scaled to zero and a running task, build 101 by a Lambda function, a
    schedule naming a repository that does not exist, and a rule naming a tag that no image carries."""
    digests = seed_shop()
    create_service(tag="100")
    task = start_task("100")
    client("iam").create_role(RoleName="lambda-runner", AssumeRolePolicyDocument="{}")
    client("lambda").create_function(
        FunctionName="api",
        Role="arn:aws:iam::123456789012:role/lambda-runner",
        PackageType="Image",
        Code={"ImageUri": image_uri("101")},
    )
    create_schedule(tag="1")  # the task definition names shop:1 ...
    client("ecs").register_task_definition(  # ... re-pointed below at a repository that does not exist
        family="nightly-report",
        networkMode="bridge",
        containerDefinitions=[{"name": "app", "image": f"{REGISTRY}/ghost:1", "memory": 128}],
    )
    client("scheduler").update_schedule(
        Name="nightly",
        GroupName="batch",
        ScheduleExpression="cron(0 3 * * ? *)",
        FlexibleTimeWindow={"Mode": "OFF"},
        Target={
            "Arn": f"arn:aws:ecs:us-east-1:123456789012:cluster/{CLUSTER}",
            "RoleArn": "arn:aws:iam::123456789012:role/runner",
            "EcsParameters": {"TaskDefinitionArn": "nightly-report:2"},
        },
    )
    return {**digests, "task": task}


def test_inventory_json_lists_each_repository_digest_tags_and_consumers(
    account: Account, capsys: pytest.CaptureFixture[str]
) -> None:
    seeded = seed_inventory_scenario()
    account.put_config(config_json())

    code, out, _ = cli(capsys, "inventory", "--output", "json")

    assert code == 0
    report = json.loads(out)
    assert report["sources"] == ["ecsTasks", "ecsServices", "lambdaFunctions", "schedulerSchedules", "eventRules"]
    by_name = {r["repository"]: r for r in report["repositories"]}
    assert set(by_name) == {REPOSITORY, "ghost"}
    shop = by_name[REPOSITORY]
    assert shop["missing"] is False and shop["unresolved"] == []
    images = {i["digest"]: i for i in shop["images"]}
    assert set(images) == {seeded["100"], seeded["101"]}
    assert images[seeded["100"]]["repository"] == REPOSITORY
    assert images[seeded["100"]]["tags"] == ["100"]
    here = {"account": ACCOUNT, "region": REGION}  # where each consumer runs
    assert images[seeded["100"]]["consumers"] == [
        {"consumer": SERVICE, "source": "ecsServices", "image": image_uri("100"), **here},
        {"consumer": f"ecs-task:{CLUSTER}/{seeded['task']}", "source": "ecsTasks", "image": image_uri("100"), **here},
    ]
    assert images[seeded["101"]]["tags"] == ["101"]
    assert images[seeded["101"]]["consumers"] == [
        {
            "consumer": "lambda:api:$LATEST",
            "source": "lambdaFunctions",
            "image": f"{REGISTRY}/{REPOSITORY}@{seeded['101']}",
            **here,
        }
    ]
    ghost = by_name["ghost"]
    assert (ghost["missing"], ghost["images"]) == (True, [])
    assert [u["consumer"] for u in ghost["unresolved"]] == ["schedule:batch/nightly"]

    code, out, _ = cli(capsys, "inventory", "--output", "json", "--repository", "sh*")
    assert code == 0
    assert [r["repository"] for r in json.loads(out)["repositories"]] == [REPOSITORY]


def test_inventory_table_shows_one_row_per_image_and_consumer(
    account: Account, capsys: pytest.CaptureFixture[str]
) -> None:
    seeded = seed_inventory_scenario()
    account.put_config(config_json())

    code, out, err = cli(capsys, "inventory")

    assert code == 0
    header, _, *rows = out.strip().splitlines()
    assert header.split() == ["repository", "digest", "tags", "consumer", "source", "image", "as", "named"]
    cells = sorted(row.split() for row in rows)
    assert cells == sorted(
        [
            ["ghost", "(repository", "not", "found)", "schedule:batch/nightly", "schedulerSchedules", "ghost:1"],
            [REPOSITORY, seeded["100"][:19], "100", SERVICE, "ecsServices", f"{REPOSITORY}:100"],
            [
                REPOSITORY,
                seeded["100"][:19],
                "100",
                f"ecs-task:{CLUSTER}/{seeded['task']}",
                "ecsTasks",
                f"{REPOSITORY}:100",
            ],
            [
                REPOSITORY,
                seeded["101"][:19],
                "101",
                "lambda:api:$LATEST",
                "lambdaFunctions",
                f"{REPOSITORY}@{seeded['101'][:19]}",
            ],
        ]
    )
    assert "2 image(s) in use in 2 repositories, by 3 consumer(s)" in err
