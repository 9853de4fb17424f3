"""The import rule of docs/architecture.md, checked on the source (AST) and in a subprocess.

Module-level imports only (imports inside functions run on first use; imports under
``if TYPE_CHECKING:`` never run, so they are allowed anywhere):

- core     -> the stdlib, pydantic, memory_agent.errors, memory_agent.core.*
- engine   -> the above, numpy, memory_agent.engine.* (never backends, apps or testing)
- backends -> the stdlib, third-party libraries, memory_agent.errors, core, backends
              (never engine, apps or testing)
- errors   -> the stdlib only
- apps, testing, memory_agent/__init__.py and the composition root
  (memory_agent/defaults.py, which builds MemoryManager.open's defaults) -> anything.

Also: no import cycle among memory_agent's modules, no module over 400 lines, no class over
250 lines, and importing any core module loads none of numpy, chromadb, tiktoken, llama_cpp.
"""

from __future__ import annotations

import ast
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

PACKAGE = Path(__file__).resolve().parent.parent / "memory_agent"
HEAVY = ("numpy", "chromadb", "tiktoken", "llama_cpp")
MAX_MODULE_LINES = 400
MAX_CLASS_LINES = 250
COMPOSITION_ROOT = "memory_agent.defaults"
FREE = ("memory_agent", COMPOSITION_ROOT)  # may import anything (plus apps.*, testing.*)

# Known violations in files other helpers of issue #12 are rewriting right now. Each entry
# names who fixes it; the integrator empties these after merging (a stale entry fails
# test_allowlists_are_not_stale, so none can outlive its fix).
KNOWN_IMPORT_VIOLATIONS: frozenset[tuple[str, str]] = frozenset()
KNOWN_LONG_MODULES: frozenset[str] = frozenset()
KNOWN_LONG_CLASSES: frozenset[str] = frozenset()


def module_name(path: Path) -> str:
    parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def modules() -> dict[str, Path]:
    return {module_name(p): p for p in sorted(PACKAGE.rglob("*.py"))}


MODULES = modules()


def is_type_checking(test: ast.expr) -> bool:
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING"
    )


def run_time_imports(body: list[ast.stmt]) -> Iterator[ast.Import | ast.ImportFrom]:
    """Import statements that run when the module (or a class body in it) is executed."""
    for node in body:
        if isinstance(node, (ast.Import, ast.ImportFrom)):
            yield node
        elif isinstance(node, ast.If):
            if not is_type_checking(node.test):
                yield from run_time_imports(node.body)
            yield from run_time_imports(node.orelse)
        elif isinstance(node, ast.Try):
            for block in (node.body, node.orelse, node.finalbody):
                yield from run_time_imports(block)
            for handler in node.handlers:
                yield from run_time_imports(handler.body)
        elif isinstance(node, (ast.With, ast.ClassDef)):
            yield from run_time_imports(node.body)


def targets(module: str, node: ast.Import | ast.ImportFrom) -> list[str]:
    """The modules an import statement loads (``from pkg import mod`` counts as pkg.mod)."""
    if isinstance(node, ast.Import):
        return [alias.name for alias in node.names]
    base = node.module or ""
    if node.level:  # relative: resolve against this module's package
        package = module if MODULES[module].name == "__init__.py" else module.rpartition(".")[0]
        for _ in range(node.level - 1):
            package = package.rpartition(".")[0]
        base = f"{package}.{base}" if base else package
    found = [f"{base}.{alias.name}" for alias in node.names if f"{base}.{alias.name}" in MODULES]
    return found if len(found) == len(node.names) else [base, *found]


def imports() -> dict[str, set[str]]:
    """Each memory_agent module -> the modules it imports at run time, at module level."""
    graph: dict[str, set[str]] = {}
    for module, path in MODULES.items():
        tree = ast.parse(path.read_text(encoding="utf-8"), str(path))
        graph[module] = {
            t for node in run_time_imports(tree.body) for t in targets(module, node)
            if t != "__future__"
        }
    return graph


def layer(module: str) -> str:
    parts = module.split(".")
    if module in FREE or parts[1] in ("apps", "testing"):
        return "free"
    return parts[1]  # core, engine, backends, errors, or a new top-level module


def allowed(source: str, target: str) -> bool:
    kind = layer(source)
    top = target.split(".")[0]
    if kind == "free":
        return True
    if top != "memory_agent":
        stdlib = top in sys.stdlib_module_names
        return {
            "errors": stdlib,
            "core": stdlib or top == "pydantic",
            "engine": stdlib or top in ("pydantic", "numpy"),
            "backends": True,
        }.get(kind, False)
    inner = layer(target) if target != "memory_agent" else "free"
    return inner == "errors" or {
        "core": inner == "core",
        "engine": inner in ("core", "engine"),
        "backends": inner in ("core", "backends"),
    }.get(kind, False)


def violations() -> set[tuple[str, str]]:
    return {
        (source, target)
        for source, found in imports().items()
        for target in found
        if not allowed(source, target)
    }


def long_modules() -> set[str]:
    return {
        module for module, path in MODULES.items()
        if len(path.read_text(encoding="utf-8").splitlines()) > MAX_MODULE_LINES
    }


def long_classes() -> set[str]:
    found = set()
    for module, path in MODULES.items():
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.ClassDef) and node.end_lineno is not None:
                start = min([node.lineno, *(d.lineno for d in node.decorator_list)])
                if node.end_lineno - start + 1 > MAX_CLASS_LINES:
                    found.add(f"{module}.{node.name}")
    return found


def cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """The strongly connected components of more than one module (Tarjan), or self-loops."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    found: list[list[str]] = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        for nxt in sorted(graph.get(node, ())):
            if nxt not in graph:
                continue
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
            if len(component) > 1 or node in graph[node]:
                found.append(sorted(component))

    for node in sorted(graph):
        if node not in index:
            visit(node)
    return found


# -- the checks ------------------------------------------------------------------------------


def test_layers_import_only_what_the_rule_allows() -> None:
    unexpected = sorted(violations() - KNOWN_IMPORT_VIOLATIONS)
    assert unexpected == [], "imports that break the layer rule (module, imported):"


def test_no_import_cycles() -> None:
    internal = {m: {t for t in ts if t in MODULES} for m, ts in imports().items()}
    assert cycles(internal) == []


def test_no_module_or_class_is_too_long() -> None:
    assert sorted(long_modules() - KNOWN_LONG_MODULES) == [], f"over {MAX_MODULE_LINES} lines"
    assert sorted(long_classes() - KNOWN_LONG_CLASSES) == [], f"over {MAX_CLASS_LINES} lines"


def test_allowlists_are_not_stale() -> None:
    """An allowlist entry that no longer applies must go (so the lists only ever shrink)."""
    assert sorted(KNOWN_IMPORT_VIOLATIONS - violations()) == []
    assert sorted(KNOWN_LONG_MODULES - long_modules()) == []
    assert sorted(KNOWN_LONG_CLASSES - long_classes()) == []


def test_importing_the_core_loads_nothing_heavy() -> None:
    core = sorted(m for m in MODULES if layer(m) == "core")
    code = (
        "import sys\n"
        "import memory_agent.core.tree\n"
        "tree = sorted(m for m in " + repr(HEAVY) + " if m in sys.modules)\n"
        "import " + ", ".join(core) + "\n"
        "core = sorted(m for m in " + repr(HEAVY) + " if m in sys.modules)\n"
        "print(tree, core)\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True, cwd=PACKAGE.parent)
    assert out.stdout.split() == ["[]", "[]"]


# -- the checker checks itself -------------------------------------------------------------


def test_the_rule_flags_what_it_forbids() -> None:
    assert not allowed("memory_agent.core.tree", "numpy")
    assert not allowed("memory_agent.core.tree", "memory_agent.engine.search")
    assert not allowed("memory_agent.core.tree", "memory_agent")
    assert not allowed("memory_agent.engine.search", "memory_agent.backends.tokens")
    assert not allowed("memory_agent.engine.search", "memory_agent.apps.cli")
    assert not allowed("memory_agent.engine.search", "chromadb")
    assert not allowed("memory_agent.backends.tokens", "memory_agent.engine.search")
    assert not allowed("memory_agent.backends.tokens", "memory_agent.testing.chroma_server")
    assert not allowed("memory_agent.errors", "pydantic")
    assert allowed("memory_agent.core.tree", "memory_agent.errors")
    assert allowed("memory_agent.core.config", "pydantic")
    assert allowed("memory_agent.engine.search", "numpy")
    assert allowed("memory_agent.backends.tokens", "tiktoken")
    assert allowed("memory_agent.defaults", "memory_agent.backends.tokens")
    assert allowed("memory_agent.apps.cli", "memory_agent.engine.manager")


def test_type_checking_and_function_imports_are_not_run_time_imports() -> None:
    tree = ast.parse(
        "import os\n"
        "from typing import TYPE_CHECKING\n"
        "if TYPE_CHECKING:\n    import numpy\n"
        "try:\n    import json\nexcept ImportError:\n    import re\n"
        "class C:\n    import abc\n"
        "def f():\n    import chromadb\n"
    )
    names = {a.name for n in run_time_imports(tree.body) if isinstance(n, ast.Import)
             for a in n.names}
    assert names == {"os", "json", "re", "abc"}


def test_cycles_are_found() -> None:
    assert cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c"]]
    assert cycles({"a": {"a"}}) == [["a"]]
    assert cycles({"a": {"b"}, "b": set()}) == []
