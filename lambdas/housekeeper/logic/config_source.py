"""Read the central config from its SSM parameter. Shared by the tagger, the sync and the CLI's `--parameter`."""

from __future__ import annotations

from functools import lru_cache

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
        return _parsed(text)
    except ConfigInvalid as exc:
        raise ConfigInvalid(exc.problems, source=f"config in SSM parameter '{parameter_name}'") from exc


@lru_cache(maxsize=4)
def _parsed(text: str) -> Config:
    """The same text gives the same frozen Config: a warm Lambda parses each config version once, not once per
    invocation (a config with hundreds of accounts takes about a millisecond to validate). Invalid text raises each
    time: lru_cache does not keep exceptions."""
    return load_config(text)
