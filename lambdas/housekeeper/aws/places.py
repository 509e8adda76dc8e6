"""Places on boto3: the registry account with the environment's credentials, each workload account through its
read-only reader role (sts:AssumeRole, deployed by the spoke stack).

What is slow to build or to learn is kept in `PlaceCaches`, one per Lambda container: the STS credentials (for their
lifetime), the registry's ECR gateways, each place's gateways, and each place's memos (task definition revisions,
function versions, unchanged schedules), which cost API calls to learn and never go stale. A place's gateways are
rebuilt when its credentials are renewed, and at most `MAX_PLACES` places' gateways are kept (least recently used
first out: four boto3 clients hold close to a megabyte), but the memos of every place are kept, so a rebuilt place
is still warm. The inventory scans places on several threads; the caches are shared under one lock.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from housekeeper.aws.ecr import Boto3EcrGateway
from housekeeper.aws.ecs import Boto3EcsGateway
from housekeeper.aws.errors import AwsError
from housekeeper.aws.events import Boto3EventsGateway
from housekeeper.aws.lambda_functions import Boto3LambdaGateway, LambdaMemo
from housekeeper.aws.ports import ContainerImageRef, InventorySources
from housekeeper.aws.scheduler import Boto3SchedulerGateway
from housekeeper.aws.session import client, client_with, shared_session
from housekeeper.aws.sts import Boto3StsGateway
from housekeeper.core.places import Estate, Place

MAX_PLACES = 64


def partition_of(region: str) -> str:
    if region.startswith("cn-"):
        return "aws-cn"
    if region.startswith("us-gov-"):
        return "aws-us-gov"
    return "aws"


def role_arn(account: str, region: str, role_name: str) -> str:
    return f"arn:{partition_of(region)}:iam::{account}:role/{role_name}"


@dataclass
class _View:
    """The read-only gateways of one place, built with credentials that last until `expires_at`."""

    expires_at: float
    ecs: Boto3EcsGateway
    sources: InventorySources


@dataclass
class _Memo:
    """What a place's gateways learn once and may keep for ever (kept for every place, apart from its clients)."""

    revision_images: dict[str, list[ContainerImageRef]] = field(default_factory=dict)
    lambdas: LambdaMemo = field(default_factory=LambdaMemo)
    schedules: dict[tuple[str, str, str], str | None] = field(default_factory=dict)


@dataclass
class PlaceCaches:
    """Shared by every Boto3Places of a process (a warm Lambda container, one CLI run)."""

    sts: Boto3StsGateway = field(default_factory=Boto3StsGateway)
    registries: dict[str, Boto3EcrGateway] = field(default_factory=dict)
    views: OrderedDict[Place, _View] = field(default_factory=OrderedDict)
    memos: dict[Place, _Memo] = field(default_factory=dict)
    max_places: int = MAX_PLACES
    lock: threading.RLock = field(default_factory=threading.RLock, repr=False)


class Boto3Places:
    """housekeeper.aws.ports.Places for the estate the config describes. Safe to use from several threads."""

    def __init__(self, estate: Estate, caches: PlaceCaches | None = None, home_region: str | None = None) -> None:
        self._estate = estate
        self._caches = caches or PlaceCaches()
        self._home_region = home_region

    @property
    def home(self) -> Place:
        region = self._home_region or shared_session().region_name
        if not region:
            raise AwsError("configure", "NoRegionError", "no AWS region configured (set AWS_REGION)")
        with self._caches.lock:
            return Place(self._caches.sts.account_id(), str(region))

    def registry(self, region: str) -> Boto3EcrGateway:
        with self._caches.lock:
            gateway = self._caches.registries.get(region)
            if gateway is None:
                gateway = Boto3EcrGateway(client("ecr", region), client("sts", region))
                self._caches.registries[region] = gateway
            return gateway

    def ecs(self, place: Place) -> Boto3EcsGateway:
        return self._view(place).ecs

    def sources(self, place: Place) -> InventorySources:
        return self._view(place).sources

    def _view(self, place: Place) -> _View:
        caches = self._caches
        home = self.home
        with caches.lock:  # one thread at a time builds, renews or evicts; AssumeRole is rare (credentials cached)
            view = caches.views.get(place)
            if place.account == home.account:
                if view is None:
                    view = self._build(place, lambda service: client(service, place.region), float("inf"))
            else:
                arn = role_arn(place.account, place.region, self._estate.role_name(place.account))
                credentials = caches.sts.credentials(arn, place.region)
                if view is None or view.expires_at != credentials.expires_at:
                    view = self._build(
                        place, lambda service: client_with(service, place.region, credentials), credentials.expires_at
                    )
            caches.views[place] = view
            caches.views.move_to_end(place)
            while len(caches.views) > caches.max_places:
                caches.views.popitem(last=False)
            return view

    def _build(self, place: Place, make: Callable[[str], Any], expires_at: float) -> _View:
        memo = self._caches.memos.setdefault(place, _Memo())
        ecs = Boto3EcsGateway(make("ecs"), memo.revision_images)
        sources = InventorySources(
            ecs=ecs,
            lambdas=Boto3LambdaGateway(make("lambda"), memo.lambdas),
            scheduler=Boto3SchedulerGateway(make("scheduler"), memo.schedules),
            events=Boto3EventsGateway(make("events")),
        )
        return _View(expires_at, ecs, sources)
