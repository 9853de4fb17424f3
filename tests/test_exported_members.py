"""The public surface is explicit: everything in __all__ imports; nothing heavy loads eagerly."""

from __future__ import annotations

import subprocess
import sys

import memory_agent


def test_all_names_resolve():
    for name in memory_agent.__all__:
        assert getattr(memory_agent, name) is not None, name


def test_all_is_sorted_and_unique():
    names = [n for n in memory_agent.__all__ if n != "__version__"]
    assert len(set(names)) == len(names)


def test_import_does_not_load_llama_or_chromadb():
    code = ("import sys, memory_agent; "
            "print('llama_cpp' in sys.modules, 'chromadb' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.split() == ["False", "False"]
