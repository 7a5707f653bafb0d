"""The package is laid out as the pipeline, and the layout keeps its rules.

The import graph of ``tinybench/`` (module-level and function-level imports alike) has no
cycles, and a subpackage imports only from its own layer or the layers below it (the order is
drawn in docs/architecture.md). Modules stay short, functions stay short unless a comment says
why, and no module reaches into another's private names.
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1] / "tinybench"

#: Lowest first. A module may import from its own layer and the layers before it.
LAYERS: tuple[frozenset[str], ...] = (
    frozenset({"errors", "atomic", "boards", "native_logs", "processes", "tf_runtime"}),
    frozenset({"wire"}),
    frozenset({"measure"}),
    frozenset({"capture"}),
    frozenset({"dataset"}),
    frozenset({"train"}),
    frozenset({"optimize"}),
    frozenset({"sweep"}),
    # Putting a model on a board, real or emulated, is one layer: deploy's budget and summary
    # use the emulated firmware's linked sizes, and the firmware is built from deploy's export.
    frozenset({"deploy", "emulate"}),
    frozenset({"sim"}),  # the virtual board runs what deploy exported
    frozenset({"live"}),
    frozenset({"teach"}),  # opening the box: reads models, runs interpreters and firmware
    frozenset({"widgets"}),
    frozenset({"lab"}),
    frozenset({"cli", "__main__", "__init__"}),
)
MAX_MODULE_LINES = 400
MAX_FUNCTION_LINES = 50
#: A function longer than MAX_FUNCTION_LINES needs this comment just above its ``def``.
LENGTH_REASON = "# Long because"


def module_name(path: Path) -> str:
    parts = path.relative_to(ROOT.parent).with_suffix("").parts
    if parts[-1] == "__init__":
        parts = parts[:-1]
    return ".".join(parts)


MODULES = {module_name(p): p for p in sorted(ROOT.rglob("*.py"))}


def imported_modules(name: str, tree: ast.AST) -> Iterator[str]:
    """Yield the tinybench modules that ``name`` imports, wherever the import statement is."""
    package = name if MODULES[name].name == "__init__.py" else name.rpartition(".")[0]
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            targets = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package.split(".")
                anchor = anchor[: len(anchor) - node.level + 1]
                base = ".".join([*anchor, base] if base else anchor)
            targets = [f"{base}.{alias.name}" for alias in node.names] + [base]
        else:
            continue
        for target in targets:
            while target and target not in MODULES:
                target = target.rpartition(".")[0]
            if target and target != name:
                yield target


def import_graph() -> dict[str, set[str]]:
    """Map each module to the modules it imports, leaving out its own packages' ``__init__``."""
    graph: dict[str, set[str]] = {}
    for name, path in MODULES.items():
        tree = ast.parse(path.read_text())
        ancestors = {name.rsplit(".", n)[0] for n in range(1, name.count(".") + 1)}
        graph[name] = {t for t in imported_modules(name, tree) if t not in ancestors}
    return graph


def cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Return the strongly connected components with more than one module (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    found: list[list[str]] = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        for nxt in graph.get(node, ()):
            if nxt not in index:
                visit(nxt)
                low[node] = min(low[node], low[nxt])
            elif nxt in stack:
                low[node] = min(low[node], index[nxt])
        if low[node] == index[node]:
            component = []
            while True:
                member = stack.pop()
                component.append(member)
                if member == node:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    for node in graph:
        if node not in index:
            visit(node)
    return found


def layer_of(name: str) -> int:
    top = name.split(".")[1] if "." in name else "__init__"
    for i, layer in enumerate(LAYERS):
        if top in layer:
            return i
    raise AssertionError(f"{name} is in no layer: add its subpackage to LAYERS and the docs")


def test_the_import_graph_has_no_cycles() -> None:
    assert cycles(import_graph()) == []


def test_cycle_finder_finds_a_planted_cycle() -> None:
    graph = {"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}
    assert cycles(graph) == [["a", "b", "c"]]


def test_subpackages_import_only_their_layer_and_below() -> None:
    bad = [
        f"{src} (layer {layer_of(src)}) imports {dst} (layer {layer_of(dst)})"
        for src, targets in import_graph().items()
        for dst in targets
        if layer_of(dst) > layer_of(src)
    ]
    assert bad == []


def test_no_module_imports_another_modules_private_names() -> None:
    bad = []
    for name, path in MODULES.items():
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.ImportFrom) and (node.module or "").startswith("tinybench"):
                bad += [
                    f"{name}: {a.name}"
                    for a in node.names
                    if a.name.startswith("_") and not a.name.endswith("__")
                ]
    assert bad == []


@pytest.mark.parametrize("name", sorted(MODULES))
def test_modules_stay_short(name: str) -> None:
    lines = len(MODULES[name].read_text().splitlines())
    assert lines <= MAX_MODULE_LINES, f"{name} has {lines} lines; split it by responsibility"


def long_functions(source: str) -> list[str]:
    """Return ``name (N lines)`` for each function over the limit without a stated reason.

    A function's length is counted from its ``def`` to its end, leaving out the docstring.
    """
    lines = source.splitlines()
    found = []
    for node in ast.walk(ast.parse(source)):
        if not isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
            continue
        length = node.end_lineno - node.lineno + 1
        body = node.body[0]
        if isinstance(body, ast.Expr) and isinstance(getattr(body, "value", None), ast.Constant):
            length -= body.end_lineno - body.lineno + 1
        first = min([node.lineno, *(d.lineno for d in node.decorator_list)])
        reason = lines[first - 2].strip() if first >= 2 else ""
        if length > MAX_FUNCTION_LINES and not reason.startswith(LENGTH_REASON):
            found.append(f"{node.name} ({length} lines)")
    return found


def test_long_function_finder() -> None:
    body = "\n".join(f"    x{i} = {i}" for i in range(60))
    assert long_functions(f"def f():\n{body}\n") == ["f (61 lines)"]
    assert long_functions(f"{LENGTH_REASON} it is a table.\ndef f():\n{body}\n") == []


@pytest.mark.parametrize("name", sorted(MODULES))
def test_functions_stay_short(name: str) -> None:
    assert long_functions(MODULES[name].read_text()) == []
