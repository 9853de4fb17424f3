"""Bad input through every public entry point: a typed error, and nothing stored is lost.

Python API (record, recall, end_session, edit_profile, forget_fact, export/import, the
constructor) and the CLI get empty, huge, binary, invalid-UTF-8, control-character and
wrong-typed values. Each call either works or raises a MemoryAgentError subclass; after
every call the turns and the profile recorded before are intact.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from memory_agent import HashingEmbedder, InMemoryStore, MemoryManager
from memory_agent.apps.cli import main as cli_main
from memory_agent.errors import MemoryAgentError

from .fakes import TaskLLM, scripted_extraction

BAD_TEXT = ["", " ", "\n\t ", "\x00", "a\x00b", "\x1b[2J", "\x7f", "\ud800", "a\udfffb",
            "x" * 20_001, "🙂" * 20_001, "\ufeff", "\u202e evil", "{}", "</memory>"]
BAD_IDS = ["", " ", "a/b", "a b", "../etc", "x" * 129, "é", "a\x00", "s#1", "\ud800"]
WRONG = [None, 0, -1, 3.5, b"bytes", bytearray(b"x"), ["list"], {"d": 1}, object(), True]


def values() -> st.SearchStrategy[Any]:
    return st.one_of(
        st.sampled_from(BAD_TEXT + BAD_IDS), st.sampled_from(WRONG), st.text(max_size=50),
        st.binary(max_size=40), st.binary(max_size=40).map(lambda b: b.decode("latin-1")),
        st.integers(), st.tuples(st.text(max_size=3), st.integers(19_990, 20_010)).map(
            lambda pair: (pair[0] or "w") * (pair[1] // max(1, len(pair[0] or "w"))))
    )


@pytest.fixture(scope="module")
def memory() -> MemoryManager:
    store = InMemoryStore()
    m = MemoryManager(user_id="alice", store=store, embedder=HashingEmbedder(), background=False,
                      llm=TaskLLM([scripted_extraction({"diet": "vegetarian"})]))
    m.record("I am vegetarian.", "Noted.", session_id="base")
    m.end_session("base")
    return m


def intact(memory: MemoryManager, before: tuple[list[str], str]) -> None:
    turns = [t.user_message for t in memory.store.get_turns("alice", session_id="base")]
    assert (turns, memory.profile_markdown()) == before


def attempt(memory: MemoryManager, call: Callable[[], object]) -> None:
    before = ([t.user_message for t in memory.store.get_turns("alice", session_id="base")],
              memory.profile_markdown())
    with contextlib.suppress(MemoryAgentError):
        call()
    intact(memory, before)


SETTINGS = settings(max_examples=120, deadline=None, derandomize=True,
                    suppress_health_check=[HealthCheck.function_scoped_fixture,
                                           HealthCheck.too_slow, HealthCheck.data_too_large])


@SETTINGS
@given(user=values(), assistant=values(), session=values())
def test_record(memory: MemoryManager, user: Any, assistant: Any, session: Any) -> None:
    attempt(memory, lambda: memory.record(user, assistant, session_id=session))


@SETTINGS
@given(query=values(), budget=values())
def test_recall(memory: MemoryManager, query: Any, budget: Any) -> None:
    attempt(memory, lambda: memory.recall(query, token_budget=budget))


@SETTINGS
@given(value=values())
def test_session_profile_and_fact_calls(memory: MemoryManager, value: Any) -> None:
    attempt(memory, lambda: memory.end_session(value))
    attempt(memory, lambda: memory.edit_profile(value, base_version=0))
    attempt(memory, lambda: memory.forget_fact(value))
    attempt(memory, lambda: MemoryManager(user_id=value, store=InMemoryStore(), llm=TaskLLM(),
                                          embedder=HashingEmbedder(), background=False))


def test_import_of_garbage_is_refused(memory: MemoryManager, tmp_path: Path) -> None:
    for name in ("manifest.json", "profile.md", "turns.json", "sessions.json", "nodes.json",
                 "history.json"):
        (tmp_path / name).write_bytes(b"\xff\xfe\x00garbage")
    attempt(memory, lambda: memory.import_archive(tmp_path))
    attempt(memory, lambda: memory.import_archive(tmp_path / "missing"))


@settings(max_examples=40, deadline=None, derandomize=True)
@given(user=st.sampled_from([*BAD_IDS[:-1], "ok-user"]),
       text=st.sampled_from([*(t for t in BAD_TEXT if "\ud800" not in t and "\udfff" not in t),
                             "fine query"]),
       budget=st.sampled_from(["-5", "0", "abc", "99999999999", "100"]))
def test_cli_reports_bad_input_without_traceback(user: str, text: str, budget: str) -> None:
    import tempfile

    with tempfile.TemporaryDirectory() as home:
        try:
            code = cli_main(["--data-dir", home, "recall", text, "--user", user,
                             "--budget", budget])
        except SystemExit as exit_:  # argparse refuses a non-integer budget: usage error
            assert exit_.code == 2
            return
        assert code in (0, 2)
