"""The Lambda gateway: which container images Lambda functions run, for the in-use inventory.

A function runs `$LATEST` and, through its aliases, older published versions. GetFunction reports both the image
as configured (`ImageUri`, often a tag) and the digest Lambda resolved and runs (`ResolvedImageUri`). Published
versions never change, so their images are read once per gateway (one per warm Lambda container); `$LATEST` is read
again only when ListFunctions shows it changed (a new `CodeSha256` or `LastModified`).
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

from housekeeper.aws.errors import aws_call
from housekeeper.aws.ports import FunctionImage
from housekeeper.aws.session import client as make_client

LATEST = "$LATEST"
# ListFunctions returns at most 50 functions per page.
LIST_FUNCTIONS_PAGE = 50


@dataclass
class LambdaMemo:
    """What the gateway learns once: a published version's image never changes; `$LATEST`'s only with the function."""

    version_images: dict[tuple[str, str], tuple[str, str | None]] = field(default_factory=dict)
    latest_images: dict[tuple[str, str, str], tuple[str, str | None]] = field(default_factory=dict)


class Boto3LambdaGateway:
    """LambdaGateway on boto3."""

    def __init__(self, lambda_client: Any | None = None, memo: LambdaMemo | None = None) -> None:
        self._lambda = lambda_client or make_client("lambda")
        memo = memo or LambdaMemo()
        self._version_images = memo.version_images
        self._latest_images = memo.latest_images

    def iter_function_images(self) -> Iterator[FunctionImage]:
        """`$LATEST` and every aliased version of every function with `PackageType: Image`."""
        paginator = self._lambda.get_paginator("list_functions")
        with aws_call("lambda:ListFunctions"):
            functions = [
                function
                for page in paginator.paginate(PaginationConfig={"PageSize": LIST_FUNCTIONS_PAGE})
                for function in page.get("Functions", [])
                if function.get("PackageType") == "Image"
            ]
        for function in functions:
            name = str(function["FunctionName"])
            image_uri, resolved = self._latest_image_of(name, function)
            yield FunctionImage(name, LATEST, LATEST, image_uri, resolved)
            for alias in self._aliases(name):
                for version in _alias_versions(alias):
                    image_uri, resolved = self._image_of(name, version)
                    yield FunctionImage(name, str(alias.get("Name", "")), version, image_uri, resolved)

    def _aliases(self, function: str) -> list[dict[str, Any]]:
        paginator = self._lambda.get_paginator("list_aliases")
        with aws_call("lambda:ListAliases", function):
            return [alias for page in paginator.paginate(FunctionName=function) for alias in page.get("Aliases", [])]

    def _latest_image_of(self, function: str, listed: dict[str, Any]) -> tuple[str, str | None]:
        key = (function, str(listed.get("CodeSha256", "")), str(listed.get("LastModified", "")))
        cached = self._latest_images.get(key)
        if cached is None:
            cached = self._latest_images[key] = self._image_of(function, LATEST)
        return cached

    def _image_of(self, function: str, version: str) -> tuple[str, str | None]:
        key = (function, version)
        cached = self._version_images.get(key)
        if cached is not None:
            return cached
        with aws_call("lambda:GetFunction", f"{function}:{version}"):
            code = self._lambda.get_function(FunctionName=function, Qualifier=version).get("Code", {})
        found = (str(code.get("ImageUri", "")), code.get("ResolvedImageUri"))
        if version != LATEST:  # a published version is immutable
            self._version_images[key] = found
        return found


def _alias_versions(alias: dict[str, Any]) -> list[str]:
    """The versions an alias routes to: its own, and those of a weighted (canary) alias's routing config."""
    versions = [str(alias.get("FunctionVersion", LATEST))]
    weights = (alias.get("RoutingConfig") or {}).get("AdditionalVersionWeights") or {}
    versions.extend(str(version) for version in weights if str(version) not in versions)
    return versions
