"""The memory-agent command beyond show/edit: users, export/import, forget, --json, global
options anywhere, the config file, and the chat loop (on a real embedded Chroma store)."""

from __future__ import annotations

import json

import pytest

from memory_agent import FakeLLM, HashingEmbedder, InMemoryStore, MemoryManager
from memory_agent.apps.cli import main
from memory_agent.apps.cli.chat import Chat, profile_change
from memory_agent.apps.cli.settings import resolve
from memory_agent.errors import InvalidInputError

from .test_cli import run, show


def lines(capsys) -> str:
    return capsys.readouterr().out


@pytest.mark.integration  # alice's data dir: real Chroma and E5
def test_global_options_are_accepted_after_the_subcommand(data_dir, capsys):
    assert main(["profile", "show", "--user", "alice", "--data-dir", str(data_dir)]) == 0
    assert "Diet: vegetarian" in lines(capsys)


def test_every_option_has_help_and_subcommands_have_their_own(capsys):
    from memory_agent.apps.cli.main import cli

    def walk(command, path):
        for param in command.params:
            if param.param_type_name == "option":
                assert param.help, f"{path} {param.opts} has no help"
        for name, sub in getattr(command, "commands", {}).items():
            walk(sub, f"{path} {name}")

    walk(cli, "memory-agent")
    assert main(["profile", "show", "--help"]) == 0
    out = lines(capsys)
    assert "Print the profile document" in out and "--json" in out


@pytest.mark.integration  # alice's data dir: real Chroma and E5
def test_users_lists_counts(data_dir, capsys):
    assert run(data_dir, "users", "--json") == 0
    [row] = json.loads(lines(capsys))
    assert row["user"] == "alice" and row["sessions"] == 1 and row["turns"] == 1
    assert row["facts"] == 2


@pytest.mark.integration  # alice's data dir: real Chroma and E5
def test_json_on_read_commands(data_dir, capsys):
    assert run(data_dir, "profile", "show", "--user", "alice", "--json") == 0
    facts = json.loads(lines(capsys))["facts"]
    assert {f["text"] for f in facts} == {"Diet: vegetarian", "Lives in: Lyon"}
    assert run(data_dir, "recall", "where do I live?", "--user", "alice", "--json") == 0
    recalled = json.loads(lines(capsys))
    assert "Lyon" in recalled["prompt"] and any(i["score"] for i in recalled["items"])
    assert any(t["chosen"] and t["parts"]["dense"] > 0 for t in recalled["trace"])
    assert recalled["part_tokens"]["profile"] > 0
    assert run(data_dir, "tree", "--user", "alice", "--json") == 0
    assert json.loads(lines(capsys))["problems"] == []


@pytest.mark.integration  # alice's data dir: real Chroma and E5
def test_export_then_import_as_another_user(data_dir, tmp_path, capsys):
    out = tmp_path / "alice-archive"
    assert run(data_dir, "export", "alice", str(out)) == 0
    assert (out / "profile.md").exists()
    assert run(data_dir, "import", str(out), "--user", "alice2") == 0
    assert "Diet: vegetarian" in show(data_dir, capsys, "alice2")
    assert run(data_dir, "import", str(out), "--user", "alice2") == 2  # not empty any more
    assert "InvalidInputError" in capsys.readouterr().err


@pytest.mark.integration  # alice's data dir: real Chroma and E5
def test_forget_needs_confirmation(data_dir, capsys):
    assert run(data_dir, "forget", "--user", "alice") == 2  # no terminal, no --yes
    assert "not confirmed" in capsys.readouterr().err
    assert "Lives in: Lyon" in show(data_dir, capsys)
    assert run(data_dir, "profile", "show", "--user", "alice", "--json") == 0
    diet = next(f["id"] for f in json.loads(lines(capsys))["facts"] if "Diet" in f["text"])
    assert run(data_dir, "forget", "--user", "alice", "--fact", diet, "--yes") == 0
    assert "forgot fact" in lines(capsys)
    assert "Diet" not in show(data_dir, capsys)
    assert run(data_dir, "forget", "--user", "alice", "--yes") == 0
    assert "forgot alice: 1 sessions" in lines(capsys)
    assert run(data_dir, "users", "--json") == 0
    assert json.loads(lines(capsys)) == []


def test_settings_precedence_flags_over_env_over_file(tmp_path):
    (tmp_path / "config.toml").write_text('model = "qwen2.5-0.5b"\nthreads = 1\nbudget = 700\n')
    env = {"MEMORY_AGENT_HOME": str(tmp_path), "MEMORY_AGENT_THREADS": "2"}
    s = resolve({"budget": 900}, env)
    assert (s.model, s.threads, s.budget) == ("qwen2.5-0.5b", 2, 900)
    assert s.config_file == tmp_path / "config.toml"
    (tmp_path / "config.toml").write_text("modle = 'x'\n")
    with pytest.raises(InvalidInputError, match=r"unknown setting.*modle"):
        resolve({}, env)
    (tmp_path / "config.toml").write_text("threads = 0\n")
    with pytest.raises(InvalidInputError, match="threads"):
        resolve({}, {"MEMORY_AGENT_HOME": str(tmp_path)})


def test_bad_config_file_is_a_clear_error(tmp_path, capsys, monkeypatch):
    (tmp_path / "config.toml").write_text("budget = [\n")
    monkeypatch.setenv("MEMORY_AGENT_HOME", str(tmp_path))
    assert main(["users"]) == 2
    assert "cannot read the config file" in capsys.readouterr().err


# --- the chat loop, on fakes --------------------------------------------------------------

def chat_on(inputs: list[str], reply: str = "- one\n- two") -> tuple[Chat, MemoryManager]:
    memory = MemoryManager(user_id="carol", store=InMemoryStore(), llm=FakeLLM([reply] * 5),
                           embedder=HashingEmbedder(), background=False)
    feed = iter(inputs)
    return Chat(memory, read=lambda prompt: next(feed)), memory


def test_chat_refuses_bad_input_in_one_line_and_goes_on(capsys):
    loop, memory = chat_on(["x" * 20_001, "a\x00b", "/nonsense hi", "hello", "/quit"])
    loop.run()
    out = capsys.readouterr().out
    assert out.count("message refused") == 2 and "unknown command /nonsense" in out
    assert "query" not in out and "max_message_chars" not in out
    [turn] = memory.store.get_turns("carol")
    assert turn.user_message == "hello"  # only the real message reached the model and the store


def test_chat_streams_and_keeps_newlines(capsys):
    loop, memory = chat_on(["give me a list", "/quit"])
    loop.run()
    out = capsys.readouterr().out
    assert "(thinking…)" in out and "- one\n- two" in out
    assert memory.store.get_turns("carol")[0].assistant_message == "- one\n- two"


def test_chat_help_and_recall_with_budget(capsys):
    loop, _ = chat_on(["I live in Porto", "/help", "/recall where do I live --budget 120", "/quit"])
    loop.run()
    out = capsys.readouterr().out
    assert "/recall TEXT [--budget N]" in out and "of 120 tokens" in out
    assert "= dense " in out and "[in]" in out  # why each item was chosen


def test_profile_change_words():
    from memory_agent import ProfileDocument, parse_profile

    after = parse_profile("## About\n- Lives in: Porto {#f2 src=s#1 learned=2026-01-01}\n")
    assert profile_change(ProfileDocument(), after) == "profile: +1 facts"


def test_chat_sessions_do_not_collide_across_runs():
    first, _ = chat_on([])
    second, _ = chat_on([])
    assert first.session != second.session
