"""The turn journal: record() is a local durable write; nothing recorded is lost or invisible."""

from __future__ import annotations

import sqlite3

import pytest

from memory_agent import HashingEmbedder, InMemoryStore, MemoryManager
from memory_agent.engine.journal import TurnJournal
from memory_agent.errors import StoreError

from .fakes import TaskLLM


def manager(store, journal, **kw):
    return MemoryManager(user_id="alice", store=store, llm=TaskLLM(), embedder=HashingEmbedder(),
                         background=False, journal=journal, **kw)


def test_recorded_turn_is_recallable_at_once(tmp_path):
    store = InMemoryStore()
    memory = manager(store, TurnJournal(tmp_path / "j.sqlite3"))
    memory.record("I keep bees in my garden.", "Lovely!", session_id="s1")
    context = memory.recall("bees garden", token_budget=500)
    assert any(t.id == "s1#1" for t in context.turns)
    assert memory.journal is not None and memory.journal.pending("alice") == []
    memory.close()


def test_crash_before_ingest_loses_nothing(tmp_path):
    path = tmp_path / "j.sqlite3"
    store = InMemoryStore()
    journal = TurnJournal(path)
    from memory_agent.core.types import Turn, utc
    # a process journaled two turns and died before storing them
    journal.append(Turn("alice", "s1", 1, "first", "ok", utc()))
    journal.append(Turn("alice", "s1", 2, "second", "ok", utc()))
    journal.close()
    memory = manager(store, TurnJournal(path))
    assert [t.user_message for t in store.get_turns("alice")] == ["first", "second"]
    turn = memory.record("third", "ok", session_id="s1")
    assert turn.index == 3
    memory.close()


def test_turn_both_journaled_and_stored_is_not_duplicated(tmp_path):
    path = tmp_path / "j.sqlite3"
    store = InMemoryStore()
    first = manager(store, TurnJournal(path))
    first.record("hello", "hi", session_id="s1")
    first.close()
    from memory_agent.core.types import Turn
    stored = store.get_turns("alice")[0]
    journal = TurnJournal(path)
    journal.append(Turn(stored.user_id, stored.session_id, stored.index, stored.user_message,
                        stored.assistant_message, stored.at))  # crash after store, before remove
    second = manager(store, journal)
    assert len(store.get_turns("alice")) == 1 and journal.pending("alice") == []
    second.close()


def test_end_session_sees_journaled_turns(tmp_path):
    memory = manager(InMemoryStore(), TurnJournal(tmp_path / "j.sqlite3"))
    memory.record("I play chess every evening.", "Fun!", session_id="s1")
    memory.end_session("s1")
    assert memory.tree().session_node("s1") is not None
    memory.close()


def test_forget_leaves_no_text_in_the_journal_file(tmp_path):
    path = tmp_path / "j.sqlite3"
    memory = manager(InMemoryStore(), TurnJournal(path))
    memory.ingestion.stop()  # stop ingesting so the turn stays in the journal
    memory.record("my secret word is xylophone", "ok", session_id="s1")
    memory.forget()
    memory.close()
    for file in tmp_path.iterdir():
        assert b"xylophone" not in file.read_bytes(), file


def test_duplicate_append_is_a_store_error(tmp_path):
    from memory_agent.core.types import Turn, utc
    journal = TurnJournal(tmp_path / "j.sqlite3")
    turn = Turn("alice", "s1", 1, "a", "b", utc())
    journal.append(turn)
    with pytest.raises(StoreError):
        journal.append(turn)


def test_unwritable_journal_is_a_store_error(tmp_path):
    blocker = tmp_path / "file"
    blocker.write_text("x")
    with pytest.raises(StoreError):
        TurnJournal(blocker / "j.sqlite3")
    assert sqlite3  # the module is the real one, not patched
