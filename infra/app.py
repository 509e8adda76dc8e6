"""Build the CDK app: settings from context, the hub and the spoke stacks, optional cdk-nag validation."""

from __future__ import annotations

import json
import sys
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from aws_cdk import App, Validations

from infra.config_parameter import InitialConfigInvalid
from infra.function import PROJECT_ROOT
from infra.settings import DeploySettings, SettingsInvalid
from infra.spoke import SpokeStack
from infra.stack import HousekeeperStack

CDK_JSON = PROJECT_ROOT / "cdk.json"


def cdk_json_context() -> dict[str, Any]:
    """cdk.json's context, for builds that do not go through the CDK CLI (tests, `make nag`)."""
    context = json.loads(CDK_JSON.read_text(encoding="utf-8")).get("context", {})
    return dict(context)


@dataclass(frozen=True)
class HousekeeperApp:
    app: App
    hub: HousekeeperStack
    spoke: SpokeStack


def build_stacks(
    context: Mapping[str, Any] | None = None, *, outdir: str | None = None, nag: bool = False
) -> HousekeeperApp:
    """The app with both stacks: the hub (registry account) and the spoke (each workload account and region).

    Without `context`, the app reads what the CDK CLI hands it (cdk.json plus `-c`). With `context`, the build is
    the CLI-less one of the tests and quality gates: cdk.json's context overlaid with the given keys.
    """
    full_context = None if context is None else {**cdk_json_context(), **context}
    app = App(context=full_context, outdir=outdir)
    settings = DeploySettings.from_context(app.node.try_get_context)
    if nag:
        from cdk_nag import AwsSolutionsChecks

        Validations.of(app).add_plugins(AwsSolutionsChecks(app))
    # Environment-agnostic: account and region come from the CLI's credentials at deploy; synth needs neither.
    hub = HousekeeperStack(app, settings.stack_name, settings=settings)
    spoke = SpokeStack(app, settings.spoke_stack_name, settings=settings)
    return HousekeeperApp(app=app, hub=hub, spoke=spoke)


def build_app(
    context: Mapping[str, Any] | None = None, *, outdir: str | None = None, nag: bool = False
) -> tuple[App, HousekeeperStack]:
    """The app and its hub stack (see `build_stacks` for both)."""
    built = build_stacks(context, outdir=outdir, nag=nag)
    return built.app, built.hub


def main() -> int:
    """`app.py`: fail with one readable line for a bad setting or config, instead of a traceback."""
    try:
        app, _ = build_app()
    except (SettingsInvalid, InitialConfigInvalid) as exc:
        print(f"cdk synth failed: {exc}", file=sys.stderr)
        return 1
    app.synth()
    return 0
