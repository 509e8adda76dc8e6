"""A hub and its spokes on moto: the registry account (moto's default account, 123456789012) with repositories in
two registry regions, and workload accounts that run its images, read through the reader role.

moto keeps accounts apart and honours sts:AssumeRole: credentials from assuming `arn:aws:iam::<id>:role/<name>` act
in account <id>. It does not check that the role exists or whom it trusts, so these helpers create the spokes'
resources by assuming the reader role themselves, and a role that cannot be assumed is an injected AccessDenied
(`deny_assume_role`).

`shop` holds three tagged builds older than the 90-day catch-all (`98`, `99`, `100`) and four recent ones (`101` ..
`104`), pushed with the same manifests (so the same digests) to every registry region it is seeded in: a replica.
"""

from __future__ import annotations

import contextlib
import json
import time
from collections.abc import Iterable, Sequence
from typing import Any
from urllib.parse import parse_qs

import boto3
from botocore.awsrequest import AWSResponse
from housekeeper.aws.ecr import Boto3EcrGateway
from housekeeper.aws.session import client
from housekeeper.core.evaluator import evaluate

from tests.fakes import ACCOUNT, DOCKER_V2, REGION, config_json, image_manifest, push_to_moto
from tests.integration.shop_scenario import seed_shop

HUB = ACCOUNT
HOME_REGION = REGION  # us-east-1: the hub's own region
REPLICA_REGION = "eu-west-1"  # the second registry region
SPOKE = "222233334444"
SPOKE_REGION = "us-west-2"  # where the spoke runs (not a registry region)
OTHER_SPOKE = "333344445555"
STRANGER = "444455556666"  # an account the config does not list
READER_ROLE = "ecr-housekeeper-reader"

REPOSITORY = "shop"
CLUSTER = "prod-main"


def role_arn(account: str, role: str = READER_ROLE) -> str:
    return f"arn:aws:iam::{account}:role/{role}"


def image_uri(ref: str, region: str = HOME_REGION, repository: str = REPOSITORY, account: str = HUB) -> str:
    """`ref` is `:<tag>` or `@sha256:...`."""
    return f"{account}.dkr.ecr.{region}.amazonaws.com/{repository}{ref}"


def estate_config(
    mode: str = "enforce",
    regions: Sequence[str] = (HOME_REGION, REPLICA_REGION),
    spokes: Sequence[tuple[str, Sequence[str]]] = ((SPOKE, (SPOKE_REGION,)),),
    **changes: Any,
) -> dict[str, Any]:
    """The sync tests' config (tests.fakes.config_json) with registry `regions` and workload accounts
    `(id, regions)`, each read through the reader role."""
    accounts = [{"id": account, "regions": list(where), "roleName": READER_ROLE} for account, where in spokes]
    return config_json(mode, accounts=accounts, regions=list(regions), **changes)


# --- the registry ----------------------------------------------------------------------------------------------


def seed_builds(repository: str = REPOSITORY, regions: Iterable[str] = (HOME_REGION,)) -> dict[str, str]:
    """The old and new builds of `repository` in each region, the same manifests everywhere; tag -> digest."""
    digests: dict[str, str] = {}
    for region in regions:
        digests = seed_shop(repository, region)
    return digests


def allow_pull(repository: str, principal: Any, region: str = HOME_REGION) -> None:
    """A repository policy that lets `principal` (an account's root ARN, or "*") pull from the repository."""
    policy = {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Sid": "pull",
                "Effect": "Allow",
                "Principal": principal if principal == "*" else {"AWS": principal},
                "Action": ["ecr:BatchGetImage", "ecr:GetDownloadUrlForLayer"],
            }
        ],
    }
    client("ecr", region).set_repository_policy(repositoryName=repository, policyText=json.dumps(policy))


def stored_policy(repository: str, region: str) -> dict[str, Any] | None:
    ecr = client("ecr", region)
    try:
        text = ecr.get_lifecycle_policy(repositoryName=repository)["lifecyclePolicyText"]
    except ecr.exceptions.LifecyclePolicyNotFoundException:
        return None
    policy: dict[str, Any] = json.loads(text)
    return policy


def expired_by(policy: dict[str, Any], repository: str, region: str) -> set[str]:
    """The tags (or digests, for untagged images) of the images `policy` expires or archives today in `region`."""
    images = list(Boto3EcrGateway(client("ecr", region)).iter_images(repository))
    evaluation = evaluate(policy, images, time.time())
    acted = evaluation.expiring_digests | evaluation.transitioning_digests
    return {",".join(image.tags) or image.digest for image in images if image.digest in acted}


def expired_by_stored_policy(repository: str, region: str) -> set[str]:
    """What the policy ECR holds in `region` expires or archives today; raises when no policy was written."""
    policy = stored_policy(repository, region)
    if policy is None:
        raise AssertionError(f"no lifecycle policy on {repository} in {region}")
    return expired_by(policy, repository, region)


def image_tags(repository: str, digest: str, region: str) -> list[str]:
    detail = client("ecr", region).describe_images(repositoryName=repository, imageIds=[{"imageDigest": digest}])
    return sorted(detail["imageDetails"][0].get("imageTags", []))


# --- the spokes ------------------------------------------------------------------------------------------------


def as_account(service: str, account: str = SPOKE, region: str = SPOKE_REGION) -> Any:
    """A boto3 client acting in `account`, through the reader role, as the spoke's own setup would be. Built on a
    fresh STS client, so that the hooks on the product's cached clients never see these calls."""
    sts = boto3.client("sts", region_name=region)
    credentials = sts.assume_role(RoleArn=role_arn(account), RoleSessionName="test-setup")["Credentials"]
    return boto3.client(
        service,
        region_name=region,
        aws_access_key_id=credentials["AccessKeyId"],
        aws_secret_access_key=credentials["SecretAccessKey"],
        aws_session_token=credentials["SessionToken"],
    )


def spoke_service(
    image: str, name: str = "web", account: str = SPOKE, region: str = SPOKE_REGION, cluster: str = CLUSTER
) -> None:
    """A service scaled to zero in a workload account: no task runs, yet it needs its image to scale up."""
    ecs = as_account("ecs", account, region)
    ecs.create_cluster(clusterName=cluster)
    ecs.register_task_definition(
        family=name, networkMode="bridge", containerDefinitions=[{"name": "app", "image": image, "memory": 128}]
    )
    ecs.create_service(cluster=cluster, serviceName=name, taskDefinition=name, desiredCount=0)


def spoke_function(tag: str, name: str = "api", account: str = SPOKE, region: str = SPOKE_REGION) -> None:
    """A Lambda image function in a workload account running the hub's `shop:<tag>` (home region).

    moto resolves an image function's tag in the function's own account and region (AWS resolves it in the
    registry the URI names), so the same manifest is pushed there too, for moto only. The resolved URI that
    moto reports still names the hub's registry, with the image's real digest.
    """
    ecr = as_account("ecr", account, region)
    with contextlib.suppress(ecr.exceptions.RepositoryAlreadyExistsException):
        ecr.create_repository(repositoryName=REPOSITORY)
    push_to_moto(ecr, REPOSITORY, image_manifest(f"{REPOSITORY}-{tag}"), DOCKER_V2, tag)
    iam = as_account("iam", account, region)
    with contextlib.suppress(iam.exceptions.EntityAlreadyExistsException):
        iam.create_role(RoleName="lambda-runner", AssumeRolePolicyDocument="{}")
    as_account("lambda", account, region).create_function(
        FunctionName=name,
        Role=f"arn:aws:iam::{account}:role/lambda-runner",
        PackageType="Image",
        Code={"ImageUri": image_uri(f":{tag}")},
    )


def hub_task(image: str, region: str = HOME_REGION, cluster: str = CLUSTER, family: str = "job") -> str:
    """A running task in the registry account itself; returns its task id."""
    ecs = client("ecs", region)
    ecs.create_cluster(clusterName=cluster)
    ecs.register_task_definition(
        family=family, networkMode="bridge", containerDefinitions=[{"name": "app", "image": image, "memory": 128}]
    )
    task = ecs.run_task(cluster=cluster, taskDefinition=family, launchType="FARGATE")["tasks"][0]
    return str(task["taskArn"]).rsplit("/", 1)[-1]


# --- STS, as the product calls it --------------------------------------------------------------------------------


def _role_of(params: dict[str, Any]) -> str:
    """The RoleArn of an AssumeRole request (STS speaks the query protocol: a form body)."""
    body = params.get("body") or {}
    if isinstance(body, bytes | str):
        parsed = parse_qs(body.decode() if isinstance(body, bytes) else body)
        return parsed.get("RoleArn", [""])[0]
    return str(body.get("RoleArn", ""))


def assume_role_calls(regions: Iterable[str]) -> list[tuple[str, str]]:
    """Record every sts:AssumeRole the product makes from its cached STS client of each region, as
    (region, role ARN)."""
    calls: list[tuple[str, str]] = []
    for region in regions:

        def record(params: dict[str, Any], _region: str = region, **_: Any) -> None:
            calls.append((_region, _role_of(params)))

        client("sts", region).meta.events.register("before-call.sts.AssumeRole", record)
    return calls


class DeniedAssumeRole:
    """sts:AssumeRole of `account`'s roles answered with AccessDenied by the product's STS client of `region`.

    moto does not enforce a role's trust policy (any caller may assume any role), so the refusal a spoke without
    the reader role, or with a trust policy that does not name the hub, would give is injected here.
    """

    def __init__(self, account: str, region: str) -> None:
        self._account = account
        self._client = client("sts", region)
        self._client.meta.events.register("before-call.sts.AssumeRole", self._respond)

    def _respond(self, params: dict[str, Any], **_: Any) -> Any:
        if f"::{self._account}:" not in _role_of(params):
            return None
        message = f"injected: not authorized to perform sts:AssumeRole on {_role_of(params)}"
        parsed = {"Error": {"Code": "AccessDenied", "Message": message}, "ResponseMetadata": {"HTTPStatusCode": 403}}
        return AWSResponse("https://fault", 403, {}, None), parsed

    def lift(self) -> None:
        """The spoke's role is deployed (or fixed): AssumeRole works again."""
        self._client.meta.events.unregister("before-call.sts.AssumeRole", self._respond)


# --- the CLI's tables ------------------------------------------------------------------------------------------


def table_rows(text: str) -> list[dict[str, str]]:
    """The rows of a table the CLI printed (housekeeper.cli.output.render_table), by header; cells are cut at the
    columns of the rule line, so empty cells stay in place."""
    lines = text.splitlines()
    rule_at = next(i for i, line in enumerate(lines) if line and set(line) <= {"-", " "})
    spans: list[tuple[int, int]] = []
    start = None
    rule = lines[rule_at] + " "
    for index, char in enumerate(rule):
        if char == "-" and start is None:
            start = index
        elif char == " " and start is not None:
            spans.append((start, index))
            start = None
    header = lines[rule_at - 1]
    names = [header[a:b].strip() for a, b in spans]
    rows = []
    for line in lines[rule_at + 1 :]:
        if not line.strip():
            break
        rows.append({name: line[a:b].strip() for name, (a, b) in zip(names, spans, strict=True)})
    return rows
