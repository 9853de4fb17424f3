"""The crash windows the SIGKILL test hits by chance, hit on purpose (deterministic)."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import pytest

from memory_agent import HashingEmbedder, MemoryManager
from memory_agent.backends.store.chroma import ChromaStore
from memory_agent.core.config import MemoryConfig
from memory_agent.core.store import Job
from memory_agent.core.types import Message, utc
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
    turns_col = store.collection("turns")
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


class RollupCrash(TaskLLM):
    """Summarises like TaskLLM, but its ``fail_at``-th roll-up call onwards dies (Crash)."""

    def __init__(self, fail_at: int) -> None:
        super().__init__()
        self.fail_at = fail_at
        self.rollups = 0

    def _respond(self, messages: Sequence[Message], schema: dict[str, Any] | None) -> str:
        if schema is None and "Summaries of conversations" in messages[-1]["content"]:
            self.rollups += 1
            if self.rollups >= self.fail_at:
                raise Crash
        return super()._respond(messages, schema)


def test_interrupted_rollup_keeps_its_stale_flags_in_chroma(tmp_path: Path) -> None:
    """A roll-up that dies between two nodes leaves the undone node stale in Chroma (and its
    job journaled), so the next process finishes it."""
    config = MemoryConfig(fanout=2, period="none")
    store = ChromaStore.persistent(tmp_path / "c")
    memory = manager(tmp_path, store, config=config)
    for s in range(3):
        memory.record(f"session {s} talk", "ok", session_id=f"s{s}")
        memory.end_session(f"s{s}")
    memory.record("session 3 talk", "ok", session_id="s3")
    before = {n.id: n for n in memory.tree().nodes}
    assert not any(n.stale for n in before.values())
    memory.close()

    # ending s3 re-summarises L2.2 (s2 + s3), then L3.1 above it: the process dies at L3.1
    llm = RollupCrash(fail_at=2)
    dying = MemoryManager(user_id="alice", store=store, llm=llm, embedder=HashingEmbedder(),
                          background=False, journal=TurnJournal(tmp_path / "j.sqlite3"),
                          config=config)
    with pytest.raises(Crash):
        dying.end_session("s3")
    assert llm.rollups == 2
    dying.close()
    store.close()

    reopened = ChromaStore.persistent(tmp_path / "c")  # what the next process finds on disk
    stored = {n.id: n for n in reopened.get_nodes("alice")}
    done, undone = stored["L2.2"], stored["L3.1"]
    assert not done.stale and done.summary != before["L2.2"].summary  # rolled up, stored
    assert undone.stale and undone.summary == before["L3.1"].summary  # interrupted: still stale
    assert [j.kind for j in reopened.pending_jobs("alice")] == ["session"]

    after = manager(tmp_path, reopened)  # resume=True finishes the journaled job
    assert reopened.pending_jobs("alice") == []
    nodes = {n.id: n for n in reopened.get_nodes("alice")}
    assert not any(n.stale for n in nodes.values())
    assert nodes["L3.1"].summary != before["L3.1"].summary
    assert after.tree().verify() == []
    after.close()
