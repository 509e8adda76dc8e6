"""Builds the seed's accounts on the emulator: years of pushes, replicas in a second region, ECS environments in the
registry account and in a workload account, synthetic Inspector findings.

Everything is parametrised by a `Scenario`, so that `make demo` (2,200+ images) and the e2e test (about 200) run the
same code. Pushes go through the real ECR API (PutImage, each manifest under its real sha256 digest); only the push
times are set afterwards, because ECR stamps every push with the current time and the story needs five years of
history. A replica is the same pushes replayed in the replica region (same manifests, so the same digests) with the
same push times, as ECR replication would have copied them.

The workload account is a separate account in the emulator: the builder enters it with sts:AssumeRole of the role an
Organization creates in its member accounts, creates the spoke's reader role there, and runs production in it.
moto honours AssumeRole (the credentials act in the role's account) but checks no trust policy.
"""

from __future__ import annotations

import hashlib
import json
import random
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import boto3
from housekeeper.aws.ports import FindingCounts
from housekeeper.core.places import DEFAULT_READER_ROLE, Place

from demo.emulator import backdate_images
from demo.synthetic_findings import SyntheticInspectorFindings, synthetic_findings

DAY = 86_400.0
YEAR = 365.25 * DAY
MANIFEST_MEDIA_TYPE = "application/vnd.docker.distribution.manifest.v2+json"
OCI_MANIFEST = "application/vnd.oci.image.manifest.v1+json"
OCI_INDEX = "application/vnd.oci.image.index.v1+json"
BASE_AMI = "ami-12c6146b"
# The role AWS Organizations creates in each member account; the demo builds the workload account through it.
ORGANIZATION_ROLE = "OrganizationAccountAccessRole"
# The hub's roles that the spoke's reader role trusts (ResourcePrefix `ecr-housekeeper`).
HUB_ROLES = ("ecr-housekeeper-tag-deployment-role", "ecr-housekeeper-sync-repository-role")


@dataclass(frozen=True)
class RepositorySpec:
    """One repository: `builds` tagged images (tags 1..builds), the newest `recent_builds` of them pushed within
    the last three months, the rest spread over `years` before that; plus untagged images, old and recent."""

    name: str
    builds: int
    recent_builds: int
    years: float
    untagged_old: int = 0
    untagged_recent: int = 0
    size_mb: tuple[int, int] = (120, 240)
    findings_total: int = 0
    latest_tag: bool = True
    # Multi-arch: each build is an OCI index over one image manifest and one attestation manifest per platform,
    # the way `docker buildx build --platform linux/amd64,linux/arm64 --push` stores it; only the index is tagged.
    platforms: tuple[str, ...] = ()


@dataclass(frozen=True)
class ServiceSpec:
    """An ECS service in `cluster` running build `builds - builds_back` of `repository`.

    `desired_count` 0 is a service scaled to zero: no task runs, yet it needs its image the moment it scales up.
    """

    cluster: str
    service: str
    repository: str
    builds_back: int
    desired_count: int = 1
    # Runs in the scenario's workload account (in its region), not in the registry account's home region.
    workload: bool = False
    # Its deployment completes during the story, so the tagger (not backfill) tags it.
    deployed_today: bool = False


@dataclass(frozen=True)
class FunctionSpec:
    """A Lambda container-image function: `$LATEST` runs the newest build, `alias` an older published version."""

    name: str
    repository: str
    alias: str
    alias_builds_back: int


@dataclass(frozen=True)
class Scenario:
    repositories: tuple[RepositorySpec, ...]
    services: tuple[ServiceSpec, ...]
    config: Mapping[str, Any]
    big_repository: str
    seed: int = 20_190_301
    functions: tuple[FunctionSpec, ...] = ()
    # The registry's replica region and the repositories replicated there (every image, same digests).
    replica_region: str = ""
    replicated: tuple[str, ...] = ()
    # The workload account that runs the services marked `workload`, in `workload_region`.
    workload_account: str = ""
    workload_region: str = ""

    def repository(self, name: str) -> RepositorySpec:
        return next(spec for spec in self.repositories if spec.name == name)


@dataclass(frozen=True)
class RunningService:
    cluster: str
    service: str
    repository: str
    build: int
    digest: str
    image: str
    deployment_id: str
    service_arn: str
    desired_count: int = 1
    account: str = ""  # where it runs
    region: str = ""
    registry_region: str = ""  # the registry region its image is pulled from
    deployed_today: bool = False

    @property
    def place(self) -> Place:
        return Place(self.account, self.region)

    @property
    def short_image(self) -> str:
        """`storefront/web:2121`, as the tables show it."""
        return self.image.split("/", 1)[1]


@dataclass(frozen=True)
class SeededFunction:
    name: str
    repository: str
    alias: str
    latest_build: int
    alias_build: int
    latest_digest: str
    alias_digest: str


@dataclass
class SeededAccount:
    """The registry account (its home region and replica region) and the workload account, as seeded.

    Replicas hold the same images as their source, so digests, builds and children are the same in every region.
    """

    scenario: Scenario
    now: float
    registry_account: str
    home_region: str
    digests_by_build: dict[str, dict[int, str]] = field(default_factory=dict)
    untagged: dict[str, list[str]] = field(default_factory=dict)
    # Multi-arch repositories: the platform and attestation manifests of each build's index.
    children: dict[str, dict[int, tuple[str, ...]]] = field(default_factory=dict)
    services: list[RunningService] = field(default_factory=list)
    functions: list[SeededFunction] = field(default_factory=list)
    findings: SyntheticInspectorFindings = field(default_factory=lambda: SyntheticInspectorFindings({}))
    sessions: dict[Place, boto3.Session] = field(default_factory=dict, repr=False)

    @property
    def home(self) -> Place:
        return Place(self.registry_account, self.home_region)

    @property
    def registry(self) -> str:
        """The home region's registry host."""
        return self.registry_in(self.home_region)

    def registry_in(self, region: str) -> str:
        return f"{self.registry_account}.dkr.ecr.{region}.amazonaws.com"

    @property
    def regions(self) -> tuple[str, ...]:
        """The registry regions: home first, then the replica region if anything is replicated."""
        replica = self.scenario.replica_region
        return (self.home_region, replica) if replica and self.scenario.replicated else (self.home_region,)

    def repositories_in(self, region: str) -> tuple[str, ...]:
        names = tuple(spec.name for spec in self.scenario.repositories)
        return names if region == self.home_region else tuple(n for n in names if n in self.scenario.replicated)

    def place_of(self, spec: ServiceSpec) -> Place:
        if spec.workload:
            return Place(self.scenario.workload_account, self.scenario.workload_region)
        return self.home

    def session(self, place: Place) -> boto3.Session:
        """A session acting in `place`: the dummy credentials in the registry account, else the credentials of the
        Organization's role in that account (sts:AssumeRole, which moto honours)."""
        found = self.sessions.get(place)
        if found is None:
            if place.account == self.registry_account:
                found = boto3.Session(region_name=place.region)
            else:
                found = assume_role_session(place.account, ORGANIZATION_ROLE, place.region)
            self.sessions[place] = found
        return found

    def image_count(self, repository: str) -> int:
        children = sum(len(c) for c in self.children.get(repository, {}).values())
        return len(self.digests_by_build.get(repository, {})) + len(self.untagged.get(repository, [])) + children

    @property
    def running_services(self) -> list[RunningService]:
        return [service for service in self.services if service.desired_count > 0]

    @property
    def idle_services(self) -> list[RunningService]:
        return [service for service in self.services if service.desired_count == 0]


def _manifest(repository: str, label: str, size_bytes: int) -> str:
    """A Docker v2 manifest: one base layer shared by the repository, one layer of its own (unique digest)."""

    def sha(text: str) -> str:
        return "sha256:" + hashlib.sha256(text.encode()).hexdigest()

    document = {
        "schemaVersion": 2,
        "mediaType": MANIFEST_MEDIA_TYPE,
        # moto reports the config size as the image size.
        "config": {
            "mediaType": "application/vnd.docker.container.image.v1+json",
            "size": size_bytes,
            "digest": sha(f"{repository}/{label}/config"),
        },
        "layers": [
            {
                "mediaType": "application/vnd.docker.image.rootfs.diff.tar.gzip",
                "size": size_bytes // 2,
                "digest": sha(f"{repository}/base"),
            },
            {
                "mediaType": "application/vnd.docker.image.rootfs.diff.tar.gzip",
                "size": size_bytes // 2,
                "digest": sha(f"{repository}/{label}"),
            },
        ],
    }
    return json.dumps(document, separators=(",", ":"))


def _push_times(spec: RepositorySpec, now: float, rng: random.Random) -> list[float]:
    """Build push times, oldest first: most of them over the years, the newest ones in the last 88 days."""
    old = spec.builds - spec.recent_builds
    start, end = now - spec.years * YEAR, now - 95 * DAY
    times = [start + (end - start) * index / max(old - 1, 1) + rng.uniform(0, 3600) for index in range(old)]
    recent_start, recent_end = now - 88 * DAY, now - 2 * 3600
    times += [
        recent_start + (recent_end - recent_start) * index / max(spec.recent_builds - 1, 1)
        for index in range(spec.recent_builds)
    ]
    return times


def _sha(text: str) -> str:
    return "sha256:" + hashlib.sha256(text.encode()).hexdigest()


# One push: manifest, media type, tag (None: untagged). A repository's pushes in order are what replication copies.
Push = tuple[str, str, str | None]


def _push_exact(
    ecr: Any, repository: str, manifest: str, media_type: str, tag: str | None = None, log: list[Push] | None = None
) -> str:
    """Push a manifest under its true sha256 digest (moto would otherwise make one up) and return the digest."""
    if log is not None:
        log.append((manifest, media_type, tag))
    digest = _sha(manifest)
    extra = {"imageTag": tag} if tag else {}
    ecr.put_image(
        repositoryName=repository,
        imageManifest=manifest,
        imageManifestMediaType=media_type,
        imageDigest=digest,
        **extra,
    )
    return digest


def _platform_manifest(repository: str, label: str, platform: str, size_bytes: int) -> str:
    document = {
        "schemaVersion": 2,
        "mediaType": OCI_MANIFEST,
        "config": {
            "mediaType": "application/vnd.oci.image.config.v1+json",
            "size": size_bytes,
            "digest": _sha(f"{repository}/{label}/{platform}/config"),
        },
        "layers": [
            {
                "mediaType": "application/vnd.oci.image.layer.v1.tar+gzip",
                "size": size_bytes,
                "digest": _sha(f"{repository}/{label}/{platform}/layer"),
            }
        ],
    }
    return json.dumps(document, separators=(",", ":"))


def _attestation_manifest(repository: str, label: str, platform: str) -> str:
    """buildx's provenance attestation for one platform image: an in-toto statement as a one-layer manifest."""
    document = {
        "schemaVersion": 2,
        "mediaType": OCI_MANIFEST,
        "config": {
            "mediaType": "application/vnd.oci.image.config.v1+json",
            "size": 167,
            "digest": _sha(f"{repository}/{label}/{platform}/attestation-config"),
        },
        "layers": [
            {
                "mediaType": "application/vnd.in-toto+json",
                "size": 1354,
                "digest": _sha(f"{repository}/{label}/{platform}/provenance"),
                "annotations": {"in-toto.io/predicate-type": "https://slsa.dev/provenance/v0.2"},
            }
        ],
    }
    return json.dumps(document, separators=(",", ":"))


def push_multi_arch_build(
    ecr: Any,
    repository: str,
    label: str,
    platforms: tuple[str, ...],
    size_bytes: int,
    tag: str,
    log: list[Push] | None = None,
) -> tuple[str, tuple[str, ...]]:
    """Push one build as buildx does: per platform an image manifest and its attestation, then the tagged index.

    Returns the index digest and its children (image manifests and attestations), all untagged.
    """
    entries: list[dict[str, Any]] = []
    children: list[str] = []
    for platform in platforms:
        os_name, architecture = platform.split("/", 1)
        manifest = _platform_manifest(repository, label, platform, size_bytes)
        image = _push_exact(ecr, repository, manifest, OCI_MANIFEST, log=log)
        entries.append(
            {
                "mediaType": OCI_MANIFEST,
                "digest": image,
                "size": 1000,
                "platform": {"architecture": architecture, "os": os_name},
            }
        )
        children.append(image)
    for platform, image in zip(platforms, list(children), strict=True):
        manifest = _attestation_manifest(repository, label, platform)
        attestation = _push_exact(ecr, repository, manifest, OCI_MANIFEST, log=log)
        entries.append(
            {
                "mediaType": OCI_MANIFEST,
                "digest": attestation,
                "size": 800,
                "platform": {"architecture": "unknown", "os": "unknown"},
                "annotations": {
                    "vnd.docker.reference.digest": image,
                    "vnd.docker.reference.type": "attestation-manifest",
                },
            }
        )
        children.append(attestation)
    index = json.dumps({"schemaVersion": 2, "mediaType": OCI_INDEX, "manifests": entries}, separators=(",", ":"))
    return _push_exact(ecr, repository, index, OCI_INDEX, tag, log), tuple(children)


def seed_multi_arch_repository(
    ecr: Any, spec: RepositorySpec, now: float, rng: random.Random, log: list[Push] | None = None
) -> tuple[dict[int, str], dict[int, tuple[str, ...]], dict[str, float]]:
    """Push every build of a multi-arch repository; return index digests and children by build, and push times."""
    ecr.create_repository(repositoryName=spec.name)
    low, high = spec.size_mb
    indexes: dict[int, str] = {}
    children: dict[int, tuple[str, ...]] = {}
    pushed_at: dict[str, float] = {}
    for build, moment in enumerate(_push_times(spec, now, rng), start=1):
        size = rng.randint(low, high) * 1024 * 1024
        index, kids = push_multi_arch_build(ecr, spec.name, f"build-{build}", spec.platforms, size, str(build), log)
        indexes[build], children[build] = index, kids
        for digest in (index, *kids):
            pushed_at[digest] = moment
    if spec.latest_tag and indexes:
        newest = max(indexes)
        manifest = ecr.batch_get_image(
            repositoryName=spec.name, imageIds=[{"imageDigest": indexes[newest]}], acceptedMediaTypes=[OCI_INDEX]
        )["images"][0]["imageManifest"]
        _push_exact(ecr, spec.name, manifest, OCI_INDEX, "latest", log)
    backdate_images(spec.name, pushed_at)
    return indexes, children, pushed_at


def seed_repository(
    ecr: Any, spec: RepositorySpec, now: float, rng: random.Random, log: list[Push] | None = None
) -> tuple[dict[int, str], list[str], dict[str, float]]:
    """Push every image of one repository; return digests by build, untagged digests, and push times."""
    ecr.create_repository(repositoryName=spec.name)
    low, high = spec.size_mb
    digests: dict[int, str] = {}
    manifests: dict[int, str] = {}
    pushed_at: dict[str, float] = {}
    times = _push_times(spec, now, rng)
    for build, moment in enumerate(times, start=1):
        size = rng.randint(low, high) * 1024 * 1024 + build
        manifest = _manifest(spec.name, f"build-{build}", size)
        digest = _push_exact(ecr, spec.name, manifest, MANIFEST_MEDIA_TYPE, str(build), log)
        digests[build] = digest
        manifests[build] = manifest
        pushed_at[digest] = moment
    if spec.latest_tag and digests:
        newest = max(digests)
        # The same manifest bytes under a second tag: the newest build is also `latest`.
        _push_exact(ecr, spec.name, manifests[newest], MANIFEST_MEDIA_TYPE, "latest", log)
    untagged: list[str] = []
    windows = [(now - spec.years * YEAR, now - 15 * DAY)] * spec.untagged_old
    windows += [(now - 13 * DAY, now - DAY)] * spec.untagged_recent
    for index, (start, end) in enumerate(windows):
        size = rng.randint(low, high) * 1024 * 1024
        digest = _push_exact(
            ecr, spec.name, _manifest(spec.name, f"untagged-{index}", size), MANIFEST_MEDIA_TYPE, log=log
        )
        untagged.append(digest)
        pushed_at[digest] = rng.uniform(start, end)
    backdate_images(spec.name, pushed_at)
    return digests, untagged, pushed_at


def replicate_repository(ecr: Any, repository: str, pushes: list[Push], pushed_at: Mapping[str, float]) -> int:
    """The replica of a repository in another region: the same pushes in the same order (so the same digests and
    tags), backdated to the same push times, as ECR replication would have copied them. Returns the image count."""
    ecr.create_repository(repositoryName=repository)
    for manifest, media_type, tag in pushes:
        _push_exact(ecr, repository, manifest, media_type, tag)
    return backdate_images(repository, pushed_at, ecr.meta.region_name)


def assume_role_session(account: str, role_name: str, region: str) -> boto3.Session:
    """A session with the credentials of `role_name` in `account` (sts:AssumeRole from the current credentials)."""
    credentials = boto3.client("sts").assume_role(
        RoleArn=f"arn:aws:iam::{account}:role/{role_name}", RoleSessionName="housekeeper-demo"
    )["Credentials"]
    return boto3.Session(
        aws_access_key_id=credentials["AccessKeyId"],
        aws_secret_access_key=credentials["SecretAccessKey"],
        aws_session_token=credentials["SessionToken"],
        region_name=region,
    )


def create_reader_role(session: boto3.Session, hub_account: str) -> str:
    """What the spoke stack creates in a workload account: the read-only role that only the hub's two roles may
    assume (moto checks neither the trust policy nor permissions). Returns its ARN."""
    trust = {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Effect": "Allow",
                "Principal": {"AWS": f"arn:aws:iam::{hub_account}:root"},
                "Action": "sts:AssumeRole",
                "Condition": {
                    "ArnEquals": {"aws:PrincipalArn": [f"arn:aws:iam::{hub_account}:role/{r}" for r in HUB_ROLES]}
                },
            }
        ],
    }
    role = session.client("iam").create_role(RoleName=DEFAULT_READER_ROLE, AssumeRolePolicyDocument=json.dumps(trust))
    return str(role["Role"]["Arn"])


def _container_instance(ecs: Any, ec2: Any, cluster: str) -> None:
    """moto places EC2-launch tasks only on a registered container instance, so each cluster gets one."""
    instance = ec2.run_instances(ImageId=BASE_AMI, MinCount=1, MaxCount=1)["Instances"][0]
    region = ec2.meta.region_name
    document = {"instanceId": instance["InstanceId"], "region": region, "availabilityZone": f"{region}a"}
    ecs.register_container_instance(cluster=cluster, instanceIdentityDocument=json.dumps(document))


def seed_services(account: SeededAccount) -> None:
    """Clusters, task definitions naming `<repository uri>:<build>`, services, and one running task each, in the
    account and region each service runs in. A service pulls from its own region's registry when the repository
    is replicated there, else from the home region's.

    The task is started by the service's deployment id, as ECS does, so the tagger can find what a deployment runs.
    """
    by_place: dict[Place, list[ServiceSpec]] = {}
    for spec in account.scenario.services:
        by_place.setdefault(account.place_of(spec), []).append(spec)
    for place, specs in by_place.items():
        session = account.session(place)
        ecs, ec2 = session.client("ecs"), session.client("ec2")
        for cluster in dict.fromkeys(spec.cluster for spec in specs):
            ecs.create_cluster(clusterName=cluster)
            _container_instance(ecs, ec2, cluster)
        for spec in specs:
            _run_service(ecs, account, place, spec)


def _run_service(ecs: Any, account: SeededAccount, place: Place, spec: ServiceSpec) -> None:
    build = account.scenario.repository(spec.repository).builds - spec.builds_back
    local = spec.repository in account.repositories_in(place.region)
    registry_region = place.region if local else account.home_region
    image = f"{account.registry_in(registry_region)}/{spec.repository}:{build}"
    family = f"{spec.cluster}-{spec.service}"
    ecs.register_task_definition(
        family=family,
        containerDefinitions=[{"name": spec.service, "image": image, "memory": 256, "essential": True}],
    )
    created = ecs.create_service(
        cluster=spec.cluster, serviceName=spec.service, taskDefinition=family, desiredCount=spec.desired_count
    )
    service = created["service"]
    deployment_id = service["deployments"][0]["id"]
    if spec.desired_count:
        ecs.run_task(cluster=spec.cluster, taskDefinition=family, startedBy=deployment_id, count=1)
    account.services.append(
        RunningService(
            cluster=spec.cluster,
            service=spec.service,
            repository=spec.repository,
            build=build,
            digest=account.digests_by_build[spec.repository][build],
            image=image,
            deployment_id=deployment_id,
            service_arn=service["serviceArn"],
            desired_count=spec.desired_count,
            account=place.account,
            region=place.region,
            registry_region=registry_region,
            deployed_today=spec.deployed_today,
        )
    )


def seed_functions(account: SeededAccount) -> None:
    """Lambda container-image functions: an alias on an old published version, `$LATEST` on the newest build.

    Lambda resolves the image tag to a digest when a version is created; the emulator does the same from its ECR.
    """
    iam = boto3.client("iam")
    lambdas = boto3.client("lambda")
    role = iam.create_role(
        RoleName="demo-function-role",
        AssumeRolePolicyDocument=json.dumps(
            {
                "Version": "2012-10-17",
                "Statement": [
                    {"Effect": "Allow", "Principal": {"Service": "lambda.amazonaws.com"}, "Action": "sts:AssumeRole"}
                ],
            }
        ),
    )["Role"]["Arn"]
    for spec in account.scenario.functions:
        builds = account.digests_by_build[spec.repository]
        newest = max(builds)
        old = newest - spec.alias_builds_back
        lambdas.create_function(
            FunctionName=spec.name,
            PackageType="Image",
            Role=role,
            Code={"ImageUri": f"{account.registry}/{spec.repository}:{old}"},
        )
        version = lambdas.publish_version(FunctionName=spec.name)["Version"]
        lambdas.create_alias(FunctionName=spec.name, Name=spec.alias, FunctionVersion=version)
        lambdas.update_function_code(FunctionName=spec.name, ImageUri=f"{account.registry}/{spec.repository}:{newest}")
        account.functions.append(
            SeededFunction(spec.name, spec.repository, spec.alias, newest, old, builds[newest], builds[old])
        )


def build_account(scenario: Scenario, now: float) -> SeededAccount:
    """The registry account (home and replica region) and the workload account, on the emulator that boto3
    currently points at (AWS_ENDPOINT_URL)."""
    rng = random.Random(scenario.seed)
    ecr = boto3.client("ecr")
    account_id = boto3.client("sts").get_caller_identity()["Account"]
    account = SeededAccount(scenario=scenario, now=now, registry_account=account_id, home_region=ecr.meta.region_name)
    replica = boto3.client("ecr", region_name=scenario.replica_region) if scenario.replicated else None
    findings: dict[str, dict[str, FindingCounts]] = {}
    for spec in scenario.repositories:
        pushes: list[Push] = []
        if spec.platforms:
            digests, children, pushed_at = seed_multi_arch_repository(ecr, spec, now, rng, pushes)
            account.children[spec.name] = children
            untagged: list[str] = []
        else:
            digests, untagged, pushed_at = seed_repository(ecr, spec, now, rng, pushes)
        account.digests_by_build[spec.name] = digests
        account.untagged[spec.name] = untagged
        if replica is not None and spec.name in scenario.replicated:
            replicate_repository(replica, spec.name, pushes, pushed_at)
        findings[spec.name] = synthetic_findings(pushed_at, spec.findings_total, now, rng)
    account.findings = SyntheticInspectorFindings(findings)
    if scenario.workload_account:
        workload = Place(scenario.workload_account, scenario.workload_region)
        create_reader_role(account.session(workload), account_id)
    seed_services(account)
    seed_functions(account)
    return account
