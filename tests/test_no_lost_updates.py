"""No lost updates: profile compare-and-set, person vs background races, concurrent writers."""

from __future__ import annotations

import threading
from pathlib import Path

import pytest

from memory_agent import HashingEmbedder, InMemoryStore, MemoryManager
from memory_agent.errors import ProfileConflictError
from memory_agent.extraction import ExtractionOutcome
from memory_agent.profile import ProfileDocument, ProfileEdit
from memory_agent.store.base import MemoryStore
from memory_agent.store.chroma import ChromaStore
from memory_agent.store.journal import TurnJournal

from .fakes import TaskLLM, scripted_extraction


def _manager(store: MemoryStore, journal: TurnJournal | None = None,
             extractions: tuple[str, ...] = ()) -> MemoryManager:
    return MemoryManager(user_id="alice", store=store, llm=TaskLLM(extractions),
                         embedder=HashingEmbedder(), background=False, journal=journal)


@pytest.fixture(params=["memory", "chroma"])
def store(request: pytest.FixtureRequest, tmp_path: Path) -> MemoryStore:
    return InMemoryStore() if request.param == "memory" else ChromaStore.persistent(tmp_path / "c")


def test_cas_between_store_objects_loses_no_edit(tmp_path: Path) -> None:
    """Several ChromaStore objects (no shared lock) append lines with read-modify-CAS."""
    stores = [ChromaStore.persistent(tmp_path / "c") for _ in range(4)]
    conflicts = [0]

    def writer(i: int) -> None:
        for n in range(4):
            while True:
                current = stores[i].get_profile("ann")
                text, version = (current.markdown, current.version) if current else ("", 0)
                try:
                    stores[i].put_profile("ann", f"{text}w{i}-{n};", expected_version=version)
                    break
                except ProfileConflictError:
                    conflicts[0] += 1

    threads = [threading.Thread(target=writer, args=(i,)) for i in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    final = stores[0].get_profile("ann")
    assert final is not None and final.version == 16
    assert sorted(final.markdown.rstrip(";").split(";")) == sorted(
        f"w{i}-{n}" for i in range(4) for n in range(4))


def test_persons_stale_edit_fails_clearly_and_background_replans(store: MemoryStore) -> None:
    memory = _manager(store, extractions=(scripted_extraction({"diet": "vegetarian"}),))
    memory.record("I am vegetarian, no meat.", "Noted.", session_id="s1")
    base = memory.profile_version()
    opened = memory.profile_markdown()
    memory.end_session("s1")  # a background update lands while the person edits
    with pytest.raises(ProfileConflictError, match="re-open"):
        memory.edit_profile(opened + "- Likes: tea\n", base_version=base)
    assert "tea" not in memory.profile_markdown() and "vegetarian" in memory.profile_markdown()

    # the other way round: a person's edit lands while a background update is planning
    def planner(doc: ProfileDocument) -> ExtractionOutcome:
        if "coffee" not in memory.profile_markdown():
            memory.edit_profile(memory.profile_markdown().replace(
                "## Preferences\n", "## Preferences\n- Likes: coffee\n"))
        return ExtractionOutcome([ProfileEdit(op="add", section="Goals", text="Run 10k",
                                              sources=["edit"])], [])

    update = memory.apply_profile_edits(planner)
    text = memory.profile_markdown()
    assert "coffee" in text and "Run 10k" in text and update.version == memory.profile_version()


def test_concurrent_threads_lose_no_turns(tmp_path: Path, store: MemoryStore) -> None:
    memory = _manager(store, TurnJournal(tmp_path / "j.sqlite3"))

    def talk(i: int) -> None:
        for n in range(15):
            memory.record(f"thread {i} message {n}", "ok", session_id=f"s{i % 2}")

    threads = [threading.Thread(target=talk, args=(i,)) for i in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    memory.close()
    turns = store.get_turns("alice")
    assert len(turns) == 60
    assert sorted(t.user_message for t in turns) == sorted(
        f"thread {i} message {n}" for i in range(4) for n in range(15))
    for s in ("s0", "s1"):
        assert sorted(t.index for t in turns if t.session_id == s) == list(range(1, 31))


def test_two_managers_sharing_a_journal_never_reuse_an_index(tmp_path: Path,
                                                             store: MemoryStore) -> None:
    path = tmp_path / "j.sqlite3"
    first = _manager(store, TurnJournal(path))
    second = _manager(store, TurnJournal(path))  # e.g. a second process on the same data dir
    for n in range(10):
        (first if n % 3 else second).record(f"message {n}", "ok", session_id="shared")
    first.close()
    second.close()
    turns = store.get_turns("alice", session_id="shared")
    assert [t.index for t in turns] == list(range(1, 11))
    assert sorted(t.user_message for t in turns) == sorted(f"message {n}" for n in range(10))


def test_managers_with_separate_journals_renumber_instead_of_losing(tmp_path: Path,
                                                                    store: MemoryStore) -> None:
    first = _manager(store, TurnJournal(tmp_path / "a.sqlite3"))
    second = _manager(store, TurnJournal(tmp_path / "b.sqlite3"))  # e.g. two hosts, one server
    a = first.record("from the first client", "ok", session_id="shared")
    b = second.record("from the second client", "ok", session_id="shared")
    assert a.id == b.id  # both picked index 1 without seeing each other
    first.close()
    second.close()
    turns = store.get_turns("alice", session_id="shared")
    assert sorted(t.user_message for t in turns) == ["from the first client",
                                                     "from the second client"]
    assert [t.index for t in turns] == [1, 2]


def test_managers_without_journal_retry_a_taken_index(store: MemoryStore) -> None:
    first, second = _manager(store), _manager(store)
    first.record("one", "ok", session_id="s")
    turn = second.record("two", "ok", session_id="s")  # its counter was stale: 1 was taken
    assert turn.index == 2
    assert [t.user_message for t in store.get_turns("alice")] == ["one", "two"]
