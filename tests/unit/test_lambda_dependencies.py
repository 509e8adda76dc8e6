"""The Lambda asset runs on the python3.13 runtime (boto3) plus the public Powertools layer, and nothing else.

The layer's own canary imports aws_lambda_powertools, aws_xray_sdk (Tracer), pydantic, jmespath and
fastjsonschema; we use only the first two. These tests read the imports of every module in the asset, so a new
third-party import fails here instead of at the first cold start. The core stays free of boto3.
"""

from __future__ import annotations

import ast
import sys
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[2] / "lambdas" / "housekeeper"
LAMBDA_RUNTIME_AND_LAYER = {"boto3", "botocore", "aws_lambda_powertools", "aws_xray_sdk", "housekeeper"}
MODULES = sorted(PACKAGE.rglob("*.py"))


def _top_level_imports(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.update(alias.name.split(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            names.add(node.module.split(".")[0])
    return names


@pytest.mark.parametrize("path", MODULES, ids=lambda p: str(p.relative_to(PACKAGE)))
def test_lambda_code_imports_only_the_runtime_and_the_powertools_layer(path: Path) -> None:
    foreign = _top_level_imports(path) - set(sys.stdlib_module_names) - LAMBDA_RUNTIME_AND_LAYER - {"__future__"}
    assert not foreign, f"{path.name} imports {sorted(foreign)}, which neither Lambda's runtime nor the layer has"


@pytest.mark.parametrize("path", sorted((PACKAGE / "core").rglob("*.py")), ids=lambda p: p.name)
def test_the_core_is_pure(path: Path) -> None:
    imports = _top_level_imports(path)
    assert not imports & {"boto3", "botocore", "aws_lambda_powertools"}, f"core/{path.name} must not touch AWS"
    assert "os.environ" not in path.read_text(encoding="utf-8"), f"core/{path.name} must not read the environment"
