"""The package's import graph: no cycles, and the layers import only downwards.

Edges are the imports a module runs when it is imported (module level, outside
``if TYPE_CHECKING``), or with ``module_level_only=False`` also those inside functions (the
deferred ones); a ``from package import name`` counts as an edge to the submodule when
``name`` is one, else to the package.
"""

from __future__ import annotations

import ast
from pathlib import Path

import work_data_hub

ROOT = Path(work_data_hub.__file__).parent
PACKAGE = "work_data_hub"


def _module_name(path: Path) -> str:
    parts = path.relative_to(ROOT.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


MODULES = {
    _module_name(path): path
    for path in ROOT.rglob("*.py")
    if "migrations" not in path.relative_to(ROOT).parts
}


def _target(base: str, name: str | None) -> str:
    candidate = f"{base}.{name}" if name else base
    return candidate if candidate in MODULES else base


def _is_type_checking(node: ast.If) -> bool:
    test = node.test
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING"
    )


def _imports(tree: ast.AST, *, module_level_only: bool) -> set[str]:
    found: set[str] = set()
    pending: list[ast.AST] = list(ast.iter_child_nodes(tree))
    while pending:
        node = pending.pop()
        if isinstance(node, ast.Import):
            found.update(a.name for a in node.names if a.name.startswith(PACKAGE))
        elif isinstance(node, ast.ImportFrom) and (node.module or "").startswith(PACKAGE):
            assert node.module is not None
            found.update(_target(node.module, alias.name) for alias in node.names)
        elif isinstance(node, ast.If) and _is_type_checking(node):
            pending.extend(node.orelse)
        elif module_level_only and isinstance(
            node, ast.FunctionDef | ast.AsyncFunctionDef | ast.Lambda
        ):
            continue
        else:
            pending.extend(ast.iter_child_nodes(node))
    return {name for name in found if name in MODULES}


def _graph(*, module_level_only: bool) -> dict[str, set[str]]:
    return {
        name: _imports(
            ast.parse(path.read_text(encoding="utf-8")), module_level_only=module_level_only
        )
        - {name}
        for name, path in MODULES.items()
    }


def _cycle(graph: dict[str, set[str]]) -> list[str] | None:
    state: dict[str, int] = {}
    stack: list[str] = []

    def visit(node: str) -> list[str] | None:
        state[node] = 1
        stack.append(node)
        for nxt in sorted(graph.get(node, ())):
            if state.get(nxt) == 1:
                return [*stack[stack.index(nxt) :], nxt]
            if nxt not in state and (found := visit(nxt)):
                return found
        stack.pop()
        state[node] = 2
        return None

    for node in sorted(graph):
        if node not in state and (found := visit(node)):
            return found
    return None


def test_the_graph_sees_the_package() -> None:
    graph = _graph(module_level_only=True)
    runner = f"{PACKAGE}.infrastructure.enrichment.resolve.batch"
    assert f"{PACKAGE}.infrastructure.enrichment.resolve.tiers" in graph[runner]


def test_the_graph_sees_imports_inside_functions_only_when_asked() -> None:
    resolver = f"{PACKAGE}.infrastructure.enrichment.company_id_resolver"
    runner = f"{PACKAGE}.infrastructure.enrichment.resolve.batch"
    assert runner not in _graph(module_level_only=True)[resolver]
    assert runner in _graph(module_level_only=False)[resolver]


def test_the_cycle_finder_finds_a_cycle() -> None:
    assert _cycle({"a": {"b"}, "b": {"c"}, "c": {"a"}}) == ["a", "b", "c", "a"]


def test_no_import_cycles() -> None:
    assert _cycle(_graph(module_level_only=True)) is None


def test_no_import_cycles_counting_imports_inside_functions() -> None:
    """Deferring an import (to keep pandas out of start-up) must not hide a cycle."""
    assert _cycle(_graph(module_level_only=False)) is None


def test_the_eqc_layer_imports_nothing_from_enrichment() -> None:
    graph = _graph(module_level_only=False)
    eqc = f"{PACKAGE}.infrastructure.eqc"
    enrichment = f"{PACKAGE}.infrastructure.enrichment"
    offenders = {
        (module, target)
        for module, targets in graph.items()
        if module.startswith(eqc)
        for target in targets
        if target.startswith(enrichment)
    }
    assert offenders == set()


def test_pure_layers_import_no_infrastructure() -> None:
    graph = _graph(module_level_only=False)
    pure = [f"{PACKAGE}.errors", f"{PACKAGE}.settings", f"{PACKAGE}.infrastructure.eqc.types"]
    for module in pure:
        assert not {t for t in graph[module] if t.startswith(f"{PACKAGE}.infrastructure")}
