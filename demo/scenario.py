"""The seed's accounts, full size for `make demo` and reduced for the e2e test.

The large repository is shaped so that the desired policy keeps what the seed team ended with: the builds of the
last 90 days, the untagged images of the last 14 days, and the old build production still runs (about 91 images).

Where things are: the registry account (the dummy credentials' account) keeps every repository in its home region
(the emulator's region) and replicas of two of them in REPLICA_REGION; staging, dev and the Lambda function run in
the registry account's home region. Production runs in the workload account WORKLOAD_ACCOUNT, in REPLICA_REGION:
it pulls the replicated repositories from the replica region's registry and the others from the home region's.
"""

from __future__ import annotations

import copy
from typing import Any

from demo.emulator import DUMMY_ENVIRONMENT
from demo.seed import FunctionSpec, RepositorySpec, Scenario, ServiceSpec

BIG_REPOSITORY = "storefront/web"
# Pushed the way `docker buildx` pushes by default: an OCI index over platform and attestation manifests.
MULTI_ARCH_REPOSITORY = "platform/gateway"
PLATFORMS = ("linux/amd64", "linux/arm64")
# A Lambda container-image function's repository (a name without '/': the emulator's Lambda needs that).
FUNCTION_REPOSITORY = "thumbnailer"
# A production service scaled to zero: nothing runs, and backfill (which tags what runs) never tags its image.
IDLE_SERVICE = "reports-nightly"

# The hub's region (where the emulated Lambdas run), the registry's replica region and what is replicated there.
HOME_REGION = DUMMY_ENVIRONMENT["AWS_REGION"]
REPLICA_REGION = "eu-west-1"
REPLICATED = ("storefront/worker", "billing/api")
# The workload account where production runs (in REPLICA_REGION).
WORKLOAD_ACCOUNT = "222233334444"

# The demo's central config: the DESIGN's example, minus the payments override (no such repository here), with the
# registry's two regions and the workload account; production is the workload account's deployments.
DEMO_CONFIG: dict[str, Any] = {
    "version": 1,
    "mode": "preview",
    "regions": [HOME_REGION, REPLICA_REGION],
    "accounts": [{"id": WORKLOAD_ACCOUNT, "regions": [REPLICA_REGION]}],
    "environments": [
        {"name": "prod", "tagPrefix": "Prod", "keep": 5, "accounts": [WORKLOAD_ACCOUNT]},
        {"name": "staging", "tagPrefix": "Staging", "keep": 5, "clusters": ["staging-*"]},
        {"name": "dev", "tagPrefix": "Dev", "keep": 3, "clusters": ["dev-*"]},
    ],
    "buildTagPattern": "^[0-9]+$",
    "protectTags": ["latest"],
    "untagged": {"expireAfterDays": 14},
    "catchAll": {"expireAfterDays": 90},
    "repositories": {"include": ["*"], "exclude": []},
    "safety": {"protectInUse": True, "maxExpireFraction": 0.5},
}


def _services(big_recent: int, gateway_back: int, idle_back: int) -> tuple[ServiceSpec, ...]:
    """Production (the workload account) runs an old build of the large repository (older than 90 days: only its
    env tag keeps it), an old multi-arch gateway build, and has a reports service scaled to zero on an old worker
    build; its billing-api deploys today. Staging and dev (the registry account) deploy today."""
    return (
        ServiceSpec("prod-eu-west", "storefront-web", BIG_REPOSITORY, builds_back=big_recent + 6, workload=True),
        ServiceSpec("prod-eu-west", "gateway", MULTI_ARCH_REPOSITORY, builds_back=gateway_back, workload=True),
        ServiceSpec(
            "prod-eu-west", IDLE_SERVICE, "storefront/worker", builds_back=idle_back, desired_count=0, workload=True
        ),
        ServiceSpec("prod-eu-west", "storefront-worker", "storefront/worker", builds_back=4, workload=True),
        ServiceSpec("prod-eu-west", "billing-api", "billing/api", builds_back=2, workload=True, deployed_today=True),
        ServiceSpec("staging-us-east", "storefront-web", BIG_REPOSITORY, builds_back=3, deployed_today=True),
        ServiceSpec("staging-us-east", "storefront-worker", "storefront/worker", builds_back=1, deployed_today=True),
        ServiceSpec("staging-us-east", "billing-api", "billing/api", builds_back=0, deployed_today=True),
        ServiceSpec("dev-us-east", "storefront-web", BIG_REPOSITORY, builds_back=0, deployed_today=True),
        ServiceSpec("dev-us-east", "storefront-worker", "storefront/worker", builds_back=0, deployed_today=True),
    )


# Where the scenario's accounts and regions are (both scenarios share them).
_ESTATE: dict[str, Any] = {
    "replica_region": REPLICA_REGION,
    "replicated": REPLICATED,
    "workload_account": WORKLOAD_ACCOUNT,
    "workload_region": REPLICA_REGION,
}


def full_scenario() -> Scenario:
    """2,200+ images over five years in the large repository, ~33,000 synthetic findings; four smaller ones."""
    big_recent = 87
    return Scenario(
        repositories=(
            RepositorySpec(
                BIG_REPOSITORY,
                builds=2_214,
                recent_builds=big_recent,
                years=5.0,
                untagged_old=37,
                untagged_recent=3,
                size_mb=(180, 260),
                findings_total=33_000,
            ),
            RepositorySpec(
                "storefront/worker", builds=120, recent_builds=70, years=2.0, untagged_old=4, untagged_recent=1
            ),
            RepositorySpec("billing/api", builds=64, recent_builds=40, years=1.5, untagged_old=2, untagged_recent=1),
            RepositorySpec("platform/base-image", builds=30, recent_builds=20, years=1.0, size_mb=(60, 90)),
            RepositorySpec("tools/db-migrator", builds=12, recent_builds=12, years=0.2, size_mb=(40, 60)),
            RepositorySpec(
                MULTI_ARCH_REPOSITORY, builds=40, recent_builds=15, years=1.5, size_mb=(40, 80), platforms=PLATFORMS
            ),
            RepositorySpec(FUNCTION_REPOSITORY, builds=30, recent_builds=10, years=1.0, size_mb=(90, 140)),
        ),
        services=_services(big_recent, gateway_back=18, idle_back=80),
        config=copy.deepcopy(DEMO_CONFIG),
        big_repository=BIG_REPOSITORY,
        functions=(FunctionSpec("thumbnailer", FUNCTION_REPOSITORY, "live", alias_builds_back=25),),
        **_ESTATE,
    )


def reduced_scenario() -> Scenario:
    """The same story at about 200 images in the large repository, for the e2e test."""
    big_recent = 14
    return Scenario(
        repositories=(
            RepositorySpec(
                BIG_REPOSITORY,
                builds=190,
                recent_builds=big_recent,
                years=5.0,
                untagged_old=8,
                untagged_recent=2,
                size_mb=(180, 260),
                findings_total=3_000,
            ),
            RepositorySpec(
                "storefront/worker", builds=20, recent_builds=14, years=1.0, untagged_old=1, untagged_recent=1
            ),
            RepositorySpec("billing/api", builds=10, recent_builds=7, years=1.0, untagged_old=1),
            RepositorySpec("platform/base-image", builds=6, recent_builds=4, years=0.5, size_mb=(60, 90)),
            RepositorySpec("tools/db-migrator", builds=4, recent_builds=4, years=0.1, size_mb=(40, 60)),
            RepositorySpec(
                MULTI_ARCH_REPOSITORY, builds=12, recent_builds=5, years=1.0, size_mb=(40, 80), platforms=PLATFORMS
            ),
            RepositorySpec(FUNCTION_REPOSITORY, builds=8, recent_builds=3, years=1.0, size_mb=(90, 140)),
        ),
        services=_services(big_recent, gateway_back=7, idle_back=16),
        config=copy.deepcopy(DEMO_CONFIG),
        big_repository=BIG_REPOSITORY,
        functions=(FunctionSpec("thumbnailer", FUNCTION_REPOSITORY, "live", alias_builds_back=6),),
        **_ESTATE,
    )
