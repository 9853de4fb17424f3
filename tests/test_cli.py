"""The memory-agent command on a real embedded Chroma store."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from datetime import datetime, timezone
from pathlib import Path

import pytest

from memory_agent import ChromaStore, E5Embedder, MemoryManager
from memory_agent.apps.cli import main

from .fakes import TaskLLM, scripted_extraction

T0 = datetime(2026, 3, 2, 19, 0, tzinfo=timezone.utc)


@pytest.fixture
def data_dir(tmp_path: Path) -> Path:
    """A data directory holding alice's memory (built with a scripted fake model)."""
    store = ChromaStore.from_settings(data_dir=tmp_path)
    llm = TaskLLM([scripted_extraction({"diet": "vegetarian", "location": "Lyon"})])
    with MemoryManager(user_id="alice", store=store, llm=llm, embedder=E5Embedder(),
                       background=False) as memory:
        memory.record("I live in Lyon. Any dinner idea without meat?", "Try a lentil curry.",
                      session_id="s1", at=T0)
        memory.end_session("s1")
    store.close()
    return tmp_path


def run(data_dir: Path, *args: str) -> int:
    return main(["--data-dir", str(data_dir), *args])


def test_profile_show(data_dir, capsys):
    assert run(data_dir, "profile", "show", "--user", "alice") == 0
    out = capsys.readouterr().out
    assert "## Preferences" in out and "Diet: vegetarian" in out and "src=s1#1" in out


def test_unknown_user_is_a_clear_error(data_dir, capsys):
    assert run(data_dir, "profile", "show", "--user", "nobody") == 2
    assert "UnknownUserError" in capsys.readouterr().err


def test_bad_user_id_is_a_clear_error(data_dir, capsys):
    assert run(data_dir, "recall", "x", "--user", "bad id!") == 2
    assert "InvalidIdError" in capsys.readouterr().err


def test_recall_prints_context_within_budget(data_dir, capsys):
    assert run(data_dir, "recall", "where do I live?", "--user", "alice", "--budget", "300") == 0
    out = capsys.readouterr().out
    assert "<memory>" in out and "Lyon" in out and "of 300 tokens" in out


def test_tree_prints_and_verifies(data_dir, capsys):
    assert run(data_dir, "tree", "--user", "alice") == 0
    out = capsys.readouterr().out
    assert "session s1" in out and "tree verified" in out


def write_editor(tmp_path: Path, body: str) -> str:
    script = tmp_path / "editor.py"
    script.write_text(textwrap.dedent(body))
    return f"{sys.executable} {script}"


def test_profile_edit_through_editor(data_dir, tmp_path, monkeypatch, capsys):
    editor = write_editor(tmp_path, """
        import sys
        path = sys.argv[1]
        text = open(path).read().replace("Lives in: Lyon", "Lives in: Lyon, near the river")
        open(path, "w").write(text + "\\n## Goals\\n- Learn Italian\\n")
    """)
    monkeypatch.setenv("EDITOR", editor)
    assert run(data_dir, "profile", "edit", "--user", "alice") == 0
    capsys.readouterr()
    assert run(data_dir, "profile", "show", "--user", "alice") == 0
    out = capsys.readouterr().out
    assert "Lives in: Lyon, near the river" in out and "- Learn Italian {#f" in out


def test_bad_profile_edit_is_rejected_and_changes_nothing(data_dir, tmp_path, monkeypatch, capsys):
    run(data_dir, "profile", "show", "--user", "alice")
    before = capsys.readouterr().out
    editor = write_editor(tmp_path, """
        import sys
        open(sys.argv[1], "a").write("\\n## Hobbies\\n- chess\\n")
    """)
    monkeypatch.setenv("EDITOR", editor)
    assert run(data_dir, "profile", "edit", "--user", "alice") == 2
    err = capsys.readouterr().err
    assert "ProfileParseError" in err and "unknown section 'Hobbies'" in err and "line " in err
    run(data_dir, "profile", "show", "--user", "alice")
    assert capsys.readouterr().out == before


@pytest.mark.real
def test_chat_on_the_real_model(tmp_path):
    """Interactive chat: a fact said in one session is in the profile after /end."""
    lines = "\n".join([
        "Hi! I live in Oslo and I work as a dentist.",
        "/end",
        "/profile",
        "/quit",
    ]) + "\n"
    env = {**os.environ, "MEMORY_AGENT_HOME": str(tmp_path)}
    proc = subprocess.run([sys.executable, "-m", "memory_agent.apps.cli", "chat", "--user", "bob"],
                          input=lines, capture_output=True, text=True, env=env, timeout=900)
    assert proc.returncode == 0, proc.stderr
    assert "assistant>" in proc.stdout
    # the profile is printed after /end: the update may still be running, so check again
    show = subprocess.run([sys.executable, "-m", "memory_agent.apps.cli", "profile", "show",
                           "--user", "bob"], capture_output=True, text=True, env=env, timeout=300)
    assert "Oslo" in show.stdout, show.stdout + show.stderr
