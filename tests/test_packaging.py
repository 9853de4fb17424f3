"""The wheel built with `python -m build` installs and runs in a clean virtual environment."""

from __future__ import annotations

import subprocess
import sys
import textwrap
import zipfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]

SMOKE = textwrap.dedent("""
    import sys, tempfile
    import memory_agent
    from memory_agent import ChromaStore, FakeLLM, HashingEmbedder, MemoryManager
    assert "llama_cpp" not in sys.modules
    with tempfile.TemporaryDirectory() as tmp:
        store = ChromaStore.persistent(tmp)
        with MemoryManager(user_id="u", store=store, llm=FakeLLM(), embedder=HashingEmbedder(),
                           background=False) as m:
            m.record("I grow tomatoes on my balcony.", "Nice!", session_id="s1")
            m.end_session("s1")
            ctx = m.recall("tomatoes balcony", token_budget=300)
            assert "tomatoes" in ctx.to_prompt(), ctx.to_prompt()
            assert m.tree().verify() == []
    print("wheel ok", memory_agent.__version__)
""")


@pytest.fixture(scope="module")
def wheel(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("dist")
    subprocess.run([sys.executable, "-m", "build", "--wheel", "--outdir", str(out), str(ROOT)],
                   check=True, capture_output=True, text=True, timeout=600)
    [built] = out.glob("memory_agent-*.whl")
    return built


def test_wheel_contents(wheel: Path):
    names = zipfile.ZipFile(wheel).namelist()
    assert "memory_agent/py.typed" in names
    assert "memory_agent/engine/manager.py" in names
    for asset in ("templates/base.html", "templates/profile.html", "static/inspector.js",
                  "static/inspector.css"):  # the inspector works offline: assets in the wheel
        assert f"memory_agent/apps/inspect/{asset}" in names, asset
    assert not any(n.startswith(("tests/", "benchmarks/", "integrations/")) for n in names)
    metadata = next(n for n in names if n.endswith("METADATA"))
    text = zipfile.ZipFile(wheel).read(metadata).decode()
    assert "Provides-Extra: inspect" in text and "starlette" in text
    assert "Provides-Extra: local" in text and "License-Expression: Apache-2.0" in text
    assert "llama-cpp-python" in text and "extra == \"local\"" in text.replace("'", '"')


def test_wheel_installs_and_runs_in_a_clean_venv(wheel: Path, tmp_path: Path):
    venv = tmp_path / "venv"
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True, timeout=300)
    python = venv / "bin" / "python"
    subprocess.run([str(python), "-m", "pip", "install", "--quiet", str(wheel)], check=True,
                   capture_output=True, text=True, timeout=900)
    out = subprocess.run([str(python), "-c", SMOKE], check=True, capture_output=True,
                         text=True, timeout=300)
    assert "wheel ok" in out.stdout
    cli = subprocess.run([str(venv / "bin" / "memory-agent"), "--help"], check=True,
                         capture_output=True, text=True, timeout=120)
    assert "demo" in cli.stdout and "profile" in cli.stdout
