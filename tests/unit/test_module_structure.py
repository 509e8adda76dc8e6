"""The shape of the code a newcomer reads: layers that import downwards only, no import cycles, small functions.

Imports are read from the source (module level and inside functions; `if TYPE_CHECKING:` blocks are not runtime
imports and are left out), so a new upward import or a cycle fails here, not in review.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

SOURCE = Path(__file__).resolve().parents[2] / "lambdas"
PACKAGE = SOURCE / "housekeeper"
MAX_FUNCTION_LINES = 60

# Which top-level parts of the package each part may import (besides itself). Lower layers never import higher.
LAYERS = {
    "core": set(),
    "settings": set(),
    "observability": set(),
    "aws": {"core"},
    "logic": {"core", "aws", "observability", "settings"},
    "operator": {"core", "aws", "logic", "observability"},
    "handlers": {"core", "aws", "logic", "observability", "settings"},
    "cli": {"core", "aws", "logic", "operator", "observability", "settings"},
}


def _module_name(path: Path) -> str:
    parts = path.relative_to(SOURCE).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


MODULES = {_module_name(path): path for path in PACKAGE.rglob("*.py")}


def _is_type_checking(node: ast.AST) -> bool:
    return isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test)


def _imports(path: Path) -> set[str]:
    """The housekeeper modules `path` imports at run time."""
    found: set[str] = set()
    stack: list[ast.AST] = [ast.parse(path.read_text(encoding="utf-8"))]
    while stack:
        node = stack.pop()
        for child in ast.iter_child_nodes(node):
            if _is_type_checking(child):
                continue
            if isinstance(child, ast.Import):
                found.update(alias.name for alias in child.names)
            elif isinstance(child, ast.ImportFrom) and child.module:
                found.add(child.module)
                found.update(f"{child.module}.{alias.name}" for alias in child.names)
            stack.append(child)
    return {name for name in found if name in MODULES and name != _module_name(path)}


GRAPH = {name: _imports(path) for name, path in MODULES.items()}


def _part(module: str) -> str:
    return module.split(".")[1] if module.count(".") else "housekeeper"


@pytest.mark.parametrize("module", sorted(GRAPH))
def test_each_layer_imports_only_the_layers_below_it(module: str) -> None:
    part = _part(module)
    if part not in LAYERS:
        return
    upward = {target for target in GRAPH[module] if _part(target) not in LAYERS[part] | {part, "housekeeper"}}
    assert not upward, f"{module} imports {sorted(upward)}: {part} may import only {sorted(LAYERS[part])}"


def test_there_is_no_import_cycle() -> None:
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    cycles: list[list[str]] = []

    def visit(module: str) -> None:  # Tarjan's strongly connected components
        index[module] = low[module] = len(index)
        stack.append(module)
        for target in GRAPH[module]:
            if target not in index:
                visit(target)
                low[module] = min(low[module], low[target])
            elif target in stack:
                low[module] = min(low[module], index[target])
        if low[module] == index[module]:
            component = []
            while True:
                member = stack.pop()
                component.append(member)
                if member == module:
                    break
            if len(component) > 1:
                cycles.append(sorted(component))

    for module in sorted(GRAPH):
        if module not in index:
            visit(module)
    assert cycles == []


@pytest.mark.parametrize("path", sorted(PACKAGE.rglob("*.py")), ids=lambda p: str(p.relative_to(PACKAGE)))
def test_no_function_is_longer_than_sixty_lines(path: Path) -> None:
    long = [
        f"{node.name} ({node.end_lineno - node.lineno + 1} lines, line {node.lineno})"
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8")))
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef)
        and node.end_lineno is not None
        and node.end_lineno - node.lineno + 1 > MAX_FUNCTION_LINES
    ]
    assert not long, f"split these: {long}"
