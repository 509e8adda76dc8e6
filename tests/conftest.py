"""Test-wide settings: dummy credentials and no real AWS endpoint, ever."""

from __future__ import annotations

import logging
import os
from collections.abc import Callable, Iterator, Mapping, Sequence
from typing import Any

import pytest

from demo.emulator import DUMMY_ENVIRONMENT, EmulatedAccount, emulated_account_environment

for _key, _value in DUMMY_ENVIRONMENT.items():
    os.environ[_key] = _value
for _key in ("AWS_PROFILE", "AWS_ENDPOINT_URL", "HOUSEKEEPER_CONFIG_PARAMETER", "HOUSEKEEPER_SYNC_QUEUE_URL"):
    os.environ.pop(_key, None)
os.environ.setdefault("POWERTOOLS_TRACE_DISABLED", "true")
os.environ.setdefault("POWERTOOLS_METRICS_NAMESPACE", "EcrHousekeeper")
os.environ.setdefault("POWERTOOLS_SERVICE_NAME", "housekeeper-tests")

# Helper modules the tests share assert like test modules do: rewritten, so a failing assert shows its values.
pytest.register_assert_rewrite(
    "tests.integration.moto_account",
    "tests.integration.shop_scenario",
    "tests.unit.helpers",
    "tests.unit.sync_helpers",
)


@pytest.fixture(autouse=True)
def _isolate_process_state() -> Iterator[None]:
    """Undo what one test leaves in process-wide state, so tests pass in any order and on any xdist worker.

    The CLI moves the shared Powertools logger to stderr at WARNING, the demo sets it to INFO, and the boto3
    clients and the in-use scanner are cached for the whole process, like in a warm Lambda.
    """
    from housekeeper.aws.session import reset_clients
    from housekeeper.logic.inventory import shared_scanner
    from housekeeper.observability import logger

    handler = logger.registered_handler
    level = logger.log_level
    stream = handler.stream if isinstance(handler, logging.StreamHandler) else None
    yield
    logger.setLevel(level)
    if isinstance(handler, logging.StreamHandler) and stream is not None:
        handler.setStream(stream)
    reset_clients()
    shared_scanner.clear()


@pytest.fixture
def offline_report(monkeypatch: pytest.MonkeyPatch) -> Callable[[Mapping[str, Sequence[Any]], Any], None]:
    """Point the CLI's gateways at in-memory fakes: the given ImageRecords per repository, the given Inspector
    (a tests.fakes.FakeInspector) and nothing in use. The CLI modules reach their gateways through `common` at run
    time, so patching `common` reaches them all."""
    from housekeeper.cli import common

    from tests.fakes import HOME, FakeImageListing, FakePlaces

    def use(images: Mapping[str, Sequence[Any]], inspector: Any) -> None:
        places = FakePlaces(HOME, {HOME.region: FakeImageListing(images)})  # type: ignore[dict-item]
        monkeypatch.setattr(common, "places", lambda estate: places)
        monkeypatch.setattr("housekeeper.aws.inspector.Boto3InspectorGateway", lambda *client: inspector)

    return use


@pytest.fixture(scope="session")
def emulator() -> Iterator[EmulatedAccount]:
    """One moto server per test worker, on 127.0.0.1 and a free port."""
    account = EmulatedAccount().start()
    yield account
    account.stop()


@pytest.fixture
def emulated_account(emulator: EmulatedAccount) -> Iterator[EmulatedAccount]:
    """An empty emulated account, reached only through AWS_ENDPOINT_URL."""
    emulator.reset()
    with emulated_account_environment(emulator):
        yield emulator
