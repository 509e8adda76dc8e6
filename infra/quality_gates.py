"""`make nag`: synthesize with cdk-nag AwsSolutions as a validation plugin, then cfn-lint every template.

Both stacks are checked: the hub (`EcrHousekeeper`) and the spoke (`EcrHousekeeperSpoke`). Exit status 0 only if
cdk-nag has no unacknowledged finding in either and cfn-lint reports nothing (W3005 aside: CDK's explicit DependsOn
next to an implied one is CDK's doing, not ours).
"""

from __future__ import annotations

import json
import sys
import tempfile
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from aws_cdk import Stack

CFN_LINT_IGNORED = ["W3005"]


@dataclass(frozen=True)
class NagFinding:
    rule: str
    construct_path: str

    def __str__(self) -> str:
        return f"{self.rule} at {self.construct_path}"


@dataclass(frozen=True)
class GateResult:
    nag_findings: tuple[NagFinding, ...]
    lint_findings: tuple[str, ...]
    # Every synthesized template, by stack name (the hub's and the spoke's).
    templates: dict[str, dict[str, Any]]
    hub_stack_name: str

    @property
    def passed(self) -> bool:
        return not self.nag_findings and not self.lint_findings

    @property
    def template(self) -> dict[str, Any]:
        """The hub's template."""
        return self.templates[self.hub_stack_name]


def run_quality_gates(
    context: Mapping[str, Any] | None = None,
    *,
    customize: Callable[[Stack], None] | None = None,
    customize_spoke: Callable[[Stack], None] | None = None,
) -> GateResult:
    """Synthesize both stacks once with cdk-nag into a scratch directory and lint each template.

    `customize` (the hub) and `customize_spoke` may add to a stack before synthesis (the tests use them to prove
    the gate catches a finding).
    """
    from infra.app import build_stacks

    with tempfile.TemporaryDirectory(prefix="housekeeper-nag-") as outdir:
        built = build_stacks(dict(context or {}), outdir=outdir, nag=True)
        if customize is not None:
            customize(built.hub)
        if customize_spoke is not None:
            customize_spoke(built.spoke)
        try:
            built.app.synth()
        except RuntimeError as exc:  # jsii surfaces the plugins' verdict as "ValidationFailed: ..."
            if "ValidationFailed" not in str(exc):
                raise
        nag_findings = read_validation_report(Path(outdir) / "validation-report.json")
        templates: dict[str, dict[str, Any]] = {}
        lint_findings: list[str] = []
        for stack in (built.hub, built.spoke):
            template_path = Path(outdir) / stack.template_file
            templates[stack.stack_name] = json.loads(template_path.read_text(encoding="utf-8"))
            lint_findings.extend(f"{stack.template_file}: {line}" for line in lint_template(template_path))
    return GateResult(
        nag_findings=nag_findings,
        lint_findings=tuple(lint_findings),
        templates=templates,
        hub_stack_name=built.hub.stack_name,
    )


def read_validation_report(path: Path) -> tuple[NagFinding, ...]:
    """Every violation CDK's policy-validation report lists (acknowledged ones are not in it)."""
    if not path.exists():
        return ()
    report = json.loads(path.read_text(encoding="utf-8"))
    return tuple(
        NagFinding(rule=violation["ruleName"], construct_path=construct["constructPath"])
        for plugin in report.get("pluginReports", [])
        for violation in plugin.get("violations", [])
        for construct in violation.get("violatingConstructs", [])
    )


def lint_template(path: Path) -> tuple[str, ...]:
    from cfnlint.api import ManualArgs, lint_file

    matches = lint_file(path, config=ManualArgs(ignore_checks=CFN_LINT_IGNORED))
    return tuple(str(match) for match in matches)


def main() -> int:
    result = run_quality_gates()
    for finding in result.nag_findings:
        print(f"cdk-nag: {finding}", file=sys.stderr)
    for line in result.lint_findings:
        print(f"cfn-lint: {line}", file=sys.stderr)
    if result.passed:
        print(
            f"quality gates passed for {', '.join(result.templates)}: cdk-nag AwsSolutions (all findings "
            "acknowledged), cfn-lint clean"
        )
        return 0
    print(
        f"quality gates failed: {len(result.nag_findings)} cdk-nag finding(s), "
        f"{len(result.lint_findings)} cfn-lint finding(s)",
        file=sys.stderr,
    )
    return 1


if __name__ == "__main__":
    sys.exit(main())
