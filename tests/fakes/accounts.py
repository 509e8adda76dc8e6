"""The test account and image material: ids, the config parameter and configs, manifests with their real sha256
digests, image URIs."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any

ACCOUNT = "123456789012"
REGION = "us-east-1"
REGISTRY = f"{ACCOUNT}.dkr.ecr.{REGION}.amazonaws.com"
DAY = 86_400.0
# The SSM parameter that holds the central config (HOUSEKEEPER_CONFIG_PARAMETER).
CONFIG_PARAMETER = "/ecr-housekeeper/config"
# DESIGN.md's example config: three environments (prod, staging, dev), a payments/* override.
EXAMPLE_CONFIG_FILE = Path(__file__).resolve().parents[2] / "config" / "example.json"

DOCKER_V2 = "application/vnd.docker.distribution.manifest.v2+json"
DOCKER_LIST = "application/vnd.docker.distribution.manifest.list.v2+json"
OCI_MANIFEST = "application/vnd.oci.image.manifest.v1+json"
OCI_INDEX = "application/vnd.oci.image.index.v1+json"


def example_config() -> dict[str, Any]:
    """A fresh copy of DESIGN.md's example config, to use as is or change."""
    config: dict[str, Any] = json.loads(EXAMPLE_CONFIG_FILE.read_text(encoding="utf-8"))
    return config


def config_json(mode: str = "enforce", **changes: Any) -> dict[str, Any]:
    """The sync tests' config: prod keeps 2 Prod-* builds, a 90-day catch-all, legacy/* excluded, in-use protection
    on and at most half of a repository's images expired; `changes` replace top-level keys."""
    config: dict[str, Any] = {
        "version": 1,
        "mode": mode,
        "environments": [{"name": "prod", "tagPrefix": "Prod", "keep": 2, "clusters": ["prod-*"]}],
        "catchAll": {"expireAfterDays": 90},
        "repositories": {"include": ["*"], "exclude": ["legacy/*"]},
        "safety": {"protectInUse": True, "maxExpireFraction": 0.5},
    }
    config.update(changes)
    return config


def sha256_digest(text: str) -> str:
    return "sha256:" + hashlib.sha256(text.encode()).hexdigest()


def image_manifest(seed: str, media_type: str = DOCKER_V2) -> str:
    """A single-platform manifest whose bytes (and so digest) depend on `seed`. Indented like a real push."""
    config_type = (
        "application/vnd.docker.container.image.v1+json"
        if media_type == DOCKER_V2
        else "application/vnd.oci.image.config.v1+json"
    )
    layer_type = (
        "application/vnd.docker.image.rootfs.diff.tar.gzip"
        if media_type == DOCKER_V2
        else "application/vnd.oci.image.layer.v1.tar+gzip"
    )
    document = {
        "schemaVersion": 2,
        "mediaType": media_type,
        "config": {"mediaType": config_type, "size": 1470, "digest": sha256_digest(f"config-{seed}")},
        "layers": [{"mediaType": layer_type, "size": 2811969, "digest": sha256_digest(f"layer-{seed}")}],
    }
    return json.dumps(document, indent=3)


def index_manifest(children: Sequence[str], media_type: str = OCI_INDEX) -> str:
    """A multi-arch index (OCI) or manifest list (Docker) over the given child digests."""
    child_type = OCI_MANIFEST if media_type == OCI_INDEX else DOCKER_V2
    platforms = [("amd64", "linux"), ("arm64", "linux")]
    document = {
        "schemaVersion": 2,
        "mediaType": media_type,
        "manifests": [
            {
                "mediaType": child_type,
                "size": 1000 + i,
                "digest": digest,
                "platform": {"architecture": platforms[i % 2][0], "os": platforms[i % 2][1]},
            }
            for i, digest in enumerate(children)
        ],
    }
    return json.dumps(document, indent=3)


def ecr_image_uri(repository: str, ref: str, account: str = ACCOUNT, region: str = REGION) -> str:
    """`ref` is `:tag` or `@sha256:...`."""
    return f"{account}.dkr.ecr.{region}.amazonaws.com/{repository}{ref}"
