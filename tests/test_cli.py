"""The memory-agent command on a real embedded Chroma store."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from memory_agent import ChromaStore
from memory_agent.apps.cli import main


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


# --- data loss: each destructive path needs an explicit confirmation --------------------

def show(data_dir: Path, capsys, user: str = "alice") -> str:
    capsys.readouterr()
    run(data_dir, "profile", "show", "--user", user)
    return capsys.readouterr().out


def test_demo_refuses_to_erase_a_user_it_did_not_make(data_dir, capsys):
    before = show(data_dir, capsys)
    assert run(data_dir, "--model", "missing.gguf", "demo", "--user", "alice") == 2
    err = capsys.readouterr().err
    assert "ConfirmationRequiredError" in err and "--reset" in err and "1 sessions" in err
    assert show(data_dir, capsys) == before


def test_demo_reset_erases_nothing_when_the_model_fails_to_load(data_dir, capsys):
    before = show(data_dir, capsys)
    assert run(data_dir, "--model", "missing.gguf", "demo", "--user", "alice", "--reset") == 2
    assert "ModelUnavailableError" in capsys.readouterr().err
    assert show(data_dir, capsys) == before


def test_empty_editor_buffer_saves_nothing(data_dir, tmp_path, monkeypatch, capsys):
    before = show(data_dir, capsys)
    monkeypatch.setenv("EDITOR", write_editor(tmp_path, """
        import sys
        open(sys.argv[1], "w").write("  \\n")
    """))
    assert run(data_dir, "profile", "edit", "--user", "alice") == 1
    assert "edit aborted, profile unchanged" in capsys.readouterr().out
    assert show(data_dir, capsys) == before


def test_editor_failure_is_a_clear_error(data_dir, tmp_path, monkeypatch, capsys):
    before = show(data_dir, capsys)
    monkeypatch.setenv("EDITOR", write_editor(tmp_path, "raise SystemExit(3)\n"))
    assert run(data_dir, "profile", "edit", "--user", "alice") == 2
    err = capsys.readouterr().err
    assert "exited with status 3; profile unchanged" in err and "Traceback" not in err
    assert show(data_dir, capsys) == before


def test_unparseable_edit_keeps_the_persons_text(data_dir, tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("EDITOR", write_editor(tmp_path, """
        import sys
        open(sys.argv[1], "a").write("\\n## Hobbies\\n- chess, my own words\\n")
    """))
    assert run(data_dir, "profile", "edit", "--user", "alice") == 2
    err = capsys.readouterr().err
    kept = Path(err.split("your edited text is kept in ")[1].split()[0])
    assert "- chess, my own words" in kept.read_text()
    kept.unlink()


def test_removing_facts_needs_confirmation_and_can_be_undone(data_dir, tmp_path, monkeypatch,
                                                             capsys):
    before = show(data_dir, capsys)
    monkeypatch.setenv("EDITOR", write_editor(tmp_path, """
        import sys
        path = sys.argv[1]
        lines = open(path).read().splitlines()
        open(path, "w").write("\\n".join(l for l in lines if "Diet:" not in l) + "\\n")
    """))
    assert run(data_dir, "profile", "edit", "--user", "alice") == 2  # no terminal, no --yes
    captured = capsys.readouterr()
    assert "removes 1 of 2 facts" in captured.out and "Diet: vegetarian" in captured.out
    assert "ConfirmationRequiredError" in captured.err
    assert show(data_dir, capsys) == before

    assert run(data_dir, "profile", "edit", "--user", "alice", "--yes") == 0
    assert "Diet:" not in show(data_dir, capsys)
    assert run(data_dir, "profile", "history", "--user", "alice") == 0
    history = capsys.readouterr().out
    fact_id = next(line.split()[0] for line in history.splitlines() if "Diet: vegetarian" in line)
    assert "removed by a person's edit" in history
    assert run(data_dir, "profile", "restore", fact_id, "--user", "alice") == 0
    assert "Diet: vegetarian" in show(data_dir, capsys)


def test_a_typo_in_the_user_creates_no_user(data_dir, tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("EDITOR", write_editor(tmp_path, """
        import sys
        open(sys.argv[1], "a").write("\\n## Goals\\n- Learn Italian\\n")
    """))
    assert run(data_dir, "profile", "edit", "--user", "alcie") == 2
    assert "UnknownUserError" in capsys.readouterr().err
    store = ChromaStore.from_settings(data_dir=data_dir)
    try:
        assert store.list_users() == ["alice"]
    finally:
        store.close()


@pytest.mark.parametrize(("typed", "forgotten"), [("yes", False), ("alice", True)])
def test_chat_forget_needs_the_user_id_typed(data_dir, capsys, monkeypatch, typed, forgotten):
    before = show(data_dir, capsys)
    answers = iter(["/forget", typed, "/quit"])
    monkeypatch.setattr("builtins.input", lambda prompt="": next(answers))
    assert run(data_dir, "--model", "missing.gguf", "chat", "--user", "alice") == 0
    out = capsys.readouterr().out
    assert "erases everything stored about alice (1 sessions, 1 turns" in out
    if forgotten:
        assert "was forgotten" in out
        assert run(data_dir, "profile", "show", "--user", "alice") == 2
    else:
        assert "nothing was forgotten" in out
        assert show(data_dir, capsys) == before
