"""SsmGateway in memory."""

from __future__ import annotations

from collections.abc import Mapping

from housekeeper.aws.errors import NotFound


class FakeSsm:
    """SsmGateway in memory. `reads` counts get_parameter calls (cached or not)."""

    def __init__(self, parameters: Mapping[str, str] | None = None) -> None:
        self.parameters: dict[str, str] = dict(parameters or {})
        self.reads = 0

    def get_parameter(self, name: str, *, force_fetch: bool = False) -> str:
        self.reads += 1
        if name not in self.parameters:
            raise NotFound("ssm:GetParameter", "ParameterNotFound", f"Parameter {name} not found.", name)
        return self.parameters[name]

    def put_parameter(self, name: str, value: str) -> None:
        self.parameters[name] = value
