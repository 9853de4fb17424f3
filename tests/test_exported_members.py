"""The public surface is explicit: everything in __all__ imports; nothing heavy loads eagerly."""

from __future__ import annotations

import subprocess
import sys

import memory_agent


def test_all_names_resolve():
    for name in memory_agent.__all__:
        assert getattr(memory_agent, name) is not None, name


def isort_order(name: str) -> tuple[int, str]:
    """ruff's RUF022 order: CONSTANTS, then Classes, then everything else; each sorted."""
    return (0 if name.isupper() else 1 if name[:1].isupper() else 2), name


def test_all_is_sorted_and_unique():
    names = list(memory_agent.__all__)
    assert len(set(names)) == len(names)
    assert names == sorted(names, key=isort_order)


def test_the_order_is_not_plain_alphabetical():
    assert sorted(["Turn", "LLM", "parse_profile", "Fact"], key=isort_order) == [
        "LLM", "Fact", "Turn", "parse_profile"]


def test_every_lazy_name_is_public_and_comes_from_its_module():
    assert set(memory_agent._LAZY) <= set(memory_agent.__all__)
    for name, module in memory_agent._LAZY.items():
        assert getattr(memory_agent, name).__module__ == module, name


def test_import_does_not_load_llama_or_chromadb():
    code = ("import sys, memory_agent; "
            "print('llama_cpp' in sys.modules, 'chromadb' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.split() == ["False", "False"]
