"""Where things are: the registry account and its regions, and the workload accounts that run its images. Pure.

The registry ("home") is the account the hub stack runs in. Its repositories get lifecycle policies in every
registry region (`regions` in the config, default the hub's own region). Workload accounts (`accounts`) run images
from the registry; the hub reads them through a read-only role (`roleName`, deployed by the spoke stack) to tag
their deployments and to know what they use. The registry's own account is always read, in every registry region.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from functools import lru_cache

DEFAULT_READER_ROLE = "ecr-housekeeper-reader"


@dataclass(frozen=True, order=True)
class Place:
    """One account in one region."""

    account: str
    region: str

    def __str__(self) -> str:
        return f"{self.account}/{self.region}"


@dataclass(frozen=True)
class WorkloadAccount:
    """An account that runs the registry's images. `regions` empty means the registry regions."""

    id: str
    regions: tuple[str, ...] = ()
    role_name: str = DEFAULT_READER_ROLE


@dataclass(frozen=True)
class Estate:
    """The registry regions and the workload accounts, as the config lists them (both may be empty)."""

    accounts: tuple[WorkloadAccount, ...] = ()
    regions: tuple[str, ...] = ()

    def registry_regions(self, home_region: str) -> tuple[str, ...]:
        """The regions whose repositories get policies: the listed ones, else the hub's own."""
        return self.regions or (home_region,)

    def places(self, home: Place) -> tuple[Place, ...]:
        """Every place the in-use inventory reads: the registry account in each registry region, then each
        workload account in its regions (or the registry regions). Sorted, without repeats; worked out once per
        estate and home (both frozen), not once per message."""
        return _places(self, home)

    def account(self, account_id: str) -> WorkloadAccount | None:
        return next((account for account in self.accounts if account.id == account_id), None)

    def knows(self, account_id: str, home: Place) -> bool:
        """Is this the registry account or a listed workload account? Events from any other are skipped."""
        return account_id == home.account or self.account(account_id) is not None

    def role_name(self, account_id: str) -> str:
        account = self.account(account_id)
        return account.role_name if account is not None else DEFAULT_READER_ROLE


@lru_cache(maxsize=8)
def _places(estate: Estate, home: Place) -> tuple[Place, ...]:
    registry_regions = estate.registry_regions(home.region)
    found = {Place(home.account, region) for region in registry_regions}
    for account in estate.accounts:
        found.update(Place(account.id, region) for region in account.regions or registry_regions)
    return tuple(sorted(found))


def filter_places(places: Iterable[Place], accounts: Iterable[str] = (), regions: Iterable[str] = ()) -> list[Place]:
    """The places among `places` in the given accounts and regions (an empty filter keeps every one)."""
    wanted_accounts, wanted_regions = set(accounts), set(regions)
    return [
        place
        for place in places
        if (not wanted_accounts or place.account in wanted_accounts)
        and (not wanted_regions or place.region in wanted_regions)
    ]
