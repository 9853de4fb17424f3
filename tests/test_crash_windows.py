"""The crash windows the SIGKILL test hits by chance, hit on purpose (deterministic)."""

from __future__ import annotations

import uuid
from pathlib import Path
from typing import Any

import pytest

from memory_agent import HashingEmbedder, MemoryManager
from memory_agent.backends.store.chroma import ChromaStore
from memory_agent.core.store import Job
from memory_agent.core.types import utc
from memory_agent.engine.journal import TurnJournal
from memory_agent.errors import StoreError

from .fakes import TaskLLM


class Crash(Exception):
    pass


def manager(tmp_path: Path, store: ChromaStore, **kw: Any) -> MemoryManager:
    return MemoryManager(user_id="alice", store=store, llm=TaskLLM(), embedder=HashingEmbedder(),
                         background=False, journal=TurnJournal(tmp_path / "j.sqlite3"), **kw)


@pytest.mark.parametrize("turns_written", [False, True])
def test_crash_between_session_record_and_turns_reuses_no_index(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, turns_written: bool
) -> None:
    store = ChromaStore.persistent(tmp_path / "c")
    first = manager(tmp_path, store)
    first.record("one", "ok", session_id="s1")
    first.sessions()  # stored
    first.ingestion.stop()  # stop the ingest thread: the test drives the drain
    first.record("two", "ok", session_id="s1")
    turns_col = store._cols["turns"]
    real_add = turns_col.add

    def die(*args: Any, **kwargs: Any) -> None:  # the process dies around the turn write
        if turns_written:
            real_add(*args, **kwargs)
        raise Crash

    monkeypatch.setattr(turns_col, "add", die)
    with pytest.raises(StoreError):  # the session record is written, the turn is not
        first.ingestion.drain()
    monkeypatch.undo()
    second = manager(tmp_path, store)  # a restart: drains the journal
    turn = second.record("three", "ok", session_id="s1")
    assert turn.index == 3
    second.sessions()
    assert [t.user_message for t in store.get_turns("alice")] == ["one", "two", "three"]
    assert store.list_sessions("alice")[0].n_turns == 3
    second.close()


def test_job_journaled_before_the_session_was_marked_ended_is_resumed(tmp_path: Path) -> None:
    store = ChromaStore.persistent(tmp_path / "c")
    first = manager(tmp_path, store)
    first.record("I keep bees.", "Nice.", session_id="s1")
    first.sessions()
    # a process died right after journaling the job, before marking the session ended
    store.add_job(Job(uuid.uuid4().hex, "alice", "session", {"session_id": "s1"}, utc()))
    first.close()
    second = manager(tmp_path, store)  # resume=True runs the job
    assert store.pending_jobs("alice") == []
    assert store.list_sessions("alice")[0].ended
    assert second.tree().session_node("s1") is not None and second.tree().verify() == []
    second.close()


def test_interrupted_rollup_keeps_its_stale_flags_in_chroma(tmp_path: Path) -> None:
    store = ChromaStore.persistent(tmp_path / "c")
    memory = manager(tmp_path, store)
    for s in range(3):
        memory.record(f"session {s} talk", "ok", session_id=f"s{s}")
    nodes = memory.tree().nodes
    from dataclasses import replace

    stale = replace(nodes[0], stale=True) if nodes else None
    if stale is None:  # no tree yet: build one
        for s in range(3):
            memory.end_session(f"s{s}")
        stale = replace(memory.tree().nodes[-1], stale=True)
    store.put_nodes([stale], HashingEmbedder().embed_documents([stale.summary]))
    assert next(n for n in store.get_nodes("alice") if n.id == stale.id).stale
    memory.close()
