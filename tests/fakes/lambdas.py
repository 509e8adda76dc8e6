"""LambdaGateway in memory."""

from __future__ import annotations

from collections.abc import Iterator

from housekeeper.aws.ports import (
    FunctionImage,
)


class FakeLambda:
    """LambdaGateway in memory: image functions with their `$LATEST` and aliased versions."""

    def __init__(self) -> None:
        self.functions: list[FunctionImage] = []
        self.fail: Exception | None = None
        self.calls = 0

    def add(self, function: str, image_uri: str, resolved_digest: str | None, qualifier: str = "$LATEST") -> None:
        repository_uri = (
            image_uri.split("@", 1)[0].rsplit(":", 1)[0] if "@" not in image_uri else image_uri.split("@")[0]
        )
        resolved = f"{repository_uri}@{resolved_digest}" if resolved_digest else None
        version = "$LATEST" if qualifier == "$LATEST" else str(len(self.functions) + 1)
        self.functions.append(FunctionImage(function, qualifier, version, image_uri, resolved))

    def iter_function_images(self) -> Iterator[FunctionImage]:
        self.calls += 1
        if self.fail is not None:
            raise self.fail
        yield from list(self.functions)
