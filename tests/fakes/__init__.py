"""In-memory gateways implementing housekeeper.aws.ports, one module per port, with ECR's real semantics where moto
differs (digests are the sha256 of the manifest bytes, tags never move, the lifecycle preview is whatever the test
sets), plus the moto helpers and the Lambda runtime's test doubles (sample events, a context). Each fake records the
writes it received, so tests can assert what was (not) changed. Import from here:
`from tests.fakes import FakeEcr, push_to_moto`.
"""

from tests.fakes.accounts import (
    ACCOUNT,
    CONFIG_PARAMETER,
    DAY,
    DOCKER_LIST,
    DOCKER_V2,
    EXAMPLE_CONFIG_FILE,
    OCI_INDEX,
    OCI_MANIFEST,
    REGION,
    REGISTRY,
    config_json,
    ecr_image_uri,
    example_config,
    image_manifest,
    index_manifest,
    sha256_digest,
)
from tests.fakes.ecr import FakeEcr, FakeImage, FakeImageListing, FakeRepository
from tests.fakes.ecs import FakeEcs
from tests.fakes.events import FakeEvents
from tests.fakes.inspector import FakeInspector
from tests.fakes.inventory import fake_sources
from tests.fakes.lambda_runtime import (
    SCHEDULED_EVENT,
    FakeLambdaContext,
    deployment_event,
    image_push,
    parameter_change,
    sqs_event,
)
from tests.fakes.lambdas import FakeLambda
from tests.fakes.moto import push_prod_builds, push_to_moto, run_moto_service
from tests.fakes.places import HOME, FakePlaces, one_place
from tests.fakes.scheduler import FakeScheduler
from tests.fakes.sqs import FakeSqs
from tests.fakes.ssm import FakeSsm

__all__ = [
    "ACCOUNT",
    "CONFIG_PARAMETER",
    "DAY",
    "DOCKER_LIST",
    "DOCKER_V2",
    "EXAMPLE_CONFIG_FILE",
    "HOME",
    "OCI_INDEX",
    "OCI_MANIFEST",
    "REGION",
    "REGISTRY",
    "SCHEDULED_EVENT",
    "FakeEcr",
    "FakeEcs",
    "FakeEvents",
    "FakeImage",
    "FakeImageListing",
    "FakeInspector",
    "FakeLambda",
    "FakeLambdaContext",
    "FakePlaces",
    "FakeRepository",
    "FakeScheduler",
    "FakeSqs",
    "FakeSsm",
    "config_json",
    "deployment_event",
    "ecr_image_uri",
    "example_config",
    "fake_sources",
    "image_manifest",
    "image_push",
    "index_manifest",
    "one_place",
    "parameter_change",
    "push_prod_builds",
    "push_to_moto",
    "run_moto_service",
    "sha256_digest",
    "sqs_event",
]
