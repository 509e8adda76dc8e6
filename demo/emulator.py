"""The local emulated AWS account: a moto server on 127.0.0.1 on a free port.

Code under test never special-cases the emulator: it only sees AWS_ENDPOINT_URL and dummy credentials, which is
how boto3 reaches any endpoint.
"""

from __future__ import annotations

import os
import socket
import urllib.request
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager

DUMMY_ENVIRONMENT = {
    "AWS_ACCESS_KEY_ID": "testing",
    "AWS_SECRET_ACCESS_KEY": "testing",
    "AWS_SESSION_TOKEN": "testing",
    "AWS_DEFAULT_REGION": "us-east-1",
    "AWS_REGION": "us-east-1",
    # The emulated Lambda resolves a container image's tag to its digest in the emulated ECR, as Lambda does.
    "MOTO_LAMBDA_STUB_ECR": "false",
}


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class EmulatedAccount:
    """A running moto server. `endpoint` is what AWS_ENDPOINT_URL should be."""

    def __init__(self, port: int | None = None) -> None:
        from moto.server import ThreadedMotoServer

        self.port = port or free_port()
        self.endpoint = f"http://127.0.0.1:{self.port}"
        self._server = ThreadedMotoServer(ip_address="127.0.0.1", port=self.port, verbose=False)

    def start(self) -> EmulatedAccount:
        self._server.start()
        return self

    def stop(self) -> None:
        self._server.stop()

    def reset(self) -> None:
        """Forget every resource, so each test starts from an empty account."""
        request = urllib.request.Request(f"{self.endpoint}/moto-api/reset", method="POST")
        with urllib.request.urlopen(request, timeout=10):
            pass


@contextmanager
def patched_environ(values: Mapping[str, str], remove: Sequence[str] = ()) -> Iterator[None]:
    """Set `values` and unset `remove` in os.environ for the block; put back exactly what was there."""
    saved = {key: os.environ.get(key) for key in [*values, *remove]}
    for key in remove:
        os.environ.pop(key, None)
    os.environ.update(values)
    try:
        yield
    finally:
        for key, value in saved.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value


@contextmanager
def emulated_account_environment(account: EmulatedAccount) -> Iterator[None]:
    """Point boto3 at the emulator through the standard variables only; restore them afterwards."""
    with patched_environ({**DUMMY_ENVIRONMENT, "AWS_ENDPOINT_URL": account.endpoint}, remove=["AWS_PROFILE"]):
        yield


@contextmanager
def running_emulator() -> Iterator[EmulatedAccount]:
    account = EmulatedAccount().start()
    try:
        with emulated_account_environment(account):
            yield account
    finally:
        account.stop()


def backdate_images(
    repository: str, pushed_at: Mapping[str, float], region: str = "us-east-1", account: str | None = None
) -> int:
    """Set the push time of images in the emulated ECR, keyed by digest; returns how many were changed.

    The seed needs five years of pushes, and ECR (moto too) stamps every push with the current time. The moto
    server runs in this process, so the demo sets the times on its in-memory repository directly (in the dummy
    credentials' account unless `account` is given). Only the demo's account builder calls this; the product code
    never sees it.
    """
    from moto.core import DEFAULT_ACCOUNT_ID
    from moto.ecr.models import ecr_backends

    images = ecr_backends[account or DEFAULT_ACCOUNT_ID][region].repositories[repository].images
    changed = 0
    for image in images:
        moment = pushed_at.get(image.image_digest)
        if moment is not None:
            image.image_pushed_at = int(moment)
            changed += 1
    return changed
