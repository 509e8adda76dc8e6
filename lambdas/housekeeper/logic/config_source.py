"""Read the central config from its SSM parameter. Shared by the tagger, the sync and the CLI's `--parameter`."""

from __future__ import annotations

from housekeeper.aws.errors import NotFound
from housekeeper.aws.ports import SsmGateway
from housekeeper.core.config import Config, load_config
from housekeeper.core.errors import ConfigInvalid
from housekeeper.settings import CONFIG_PARAMETER_VARIABLE


def read_config(ssm: SsmGateway, parameter_name: str, force_fetch: bool = False) -> Config:
    """The validated config. Raises NotFound when the parameter is missing, ConfigInvalid naming each problem."""
    try:
        text = ssm.get_parameter(parameter_name, force_fetch=force_fetch)
    except NotFound as exc:
        raise NotFound(
            exc.operation,
            exc.code,
            f"the config parameter '{parameter_name}' does not exist; create it (see `housekeeper validate`) "
            f"or point {CONFIG_PARAMETER_VARIABLE} / --parameter at the right name",
            parameter_name,
        ) from exc
    try:
        return load_config(text)
    except ConfigInvalid as exc:
        raise ConfigInvalid(exc.problems, source=f"config in SSM parameter '{parameter_name}'") from exc
