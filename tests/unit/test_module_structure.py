"""The shape of the code a newcomer reads: layers that import downwards only, no import cycles, small functions;
and test modules that share helpers through conftest.py fixtures and helper modules, never through each other.

Imports are read from the source (module level and inside functions; `if TYPE_CHECKING:` blocks are not runtime
imports and are left out), so a new upward import or a cycle fails here, not in review.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
SOURCE = ROOT / "lambdas"
PACKAGE = SOURCE / "housekeeper"
TESTS = ROOT / "tests"
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


def _absolute(node: ast.ImportFrom, package: str) -> str:
    """The module a `from ... import` reads from: `from .x import y` in package `a.b` reads `a.b.x`, `..x` `a.x`."""
    if not node.level:
        return node.module or ""
    parts = package.split(".")
    base = parts[: len(parts) - node.level + 1]
    return ".".join([*base, node.module] if node.module else base)


def _imported_names(path: Path, package: str) -> set[str]:
    """Every module `path` imports at run time, and `module.name` for each name it imports from one (which may be a
    submodule); relative imports are resolved against `package`, the package `path` belongs to."""
    found: set[str] = set()
    stack: list[ast.AST] = [ast.parse(path.read_text(encoding="utf-8"))]
    while stack:
        node = stack.pop()
        for child in ast.iter_child_nodes(node):
            if _is_type_checking(child):
                continue
            if isinstance(child, ast.Import):
                found.update(alias.name for alias in child.names)
            elif isinstance(child, ast.ImportFrom):
                module = _absolute(child, package)
                found.add(module)
                found.update(f"{module}.{alias.name}" for alias in child.names)
            stack.append(child)
    return found


def _imports(path: Path) -> set[str]:
    """The housekeeper modules `path` imports at run time."""
    name = _module_name(path)
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    return {target for target in _imported_names(path, package) if target in MODULES and target != name}


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


def test_no_test_module_imports_another_test_module() -> None:
    """What several test modules use lives in a conftest.py (fixtures) or a helper module that is not a test module
    (plain functions and constants): importing from a test module runs its tests' module code and couples the two."""
    modules = {".".join(path.relative_to(ROOT).with_suffix("").parts): path for path in TESTS.rglob("test_*.py")}
    offenders = [
        f"{path.relative_to(ROOT)} imports {modules[target].relative_to(ROOT)}"
        for name, path in sorted(modules.items())
        for target in sorted(_imported_names(path, name.rpartition(".")[0]) & set(modules) - {name})
    ]
    assert not offenders, f"move what they share to a conftest.py or a helper module: {offenders}"
