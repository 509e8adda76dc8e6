"""The environment variables housekeeper reads, by name, in one light module (the CLI imports it on every run)."""

from __future__ import annotations

# Names the SSM config parameter: the Lambdas require it, the CLI falls back to it.
CONFIG_PARAMETER_VARIABLE = "HOUSEKEEPER_CONFIG_PARAMETER"
# The sync queue's URL: plan_sync and the tagger send to it; without it plan_sync syncs inline.
SYNC_QUEUE_URL_VARIABLE = "HOUSEKEEPER_SYNC_QUEUE_URL"
