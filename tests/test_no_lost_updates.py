"""No lost updates: profile compare-and-set, person vs background races, concurrent writers."""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import chromadb
import pytest
from chromadb.config import Settings

from memory_agent import HashingEmbedder, InMemoryStore, MemoryManager
from memory_agent.backends.store.chroma import DEFAULT_PREFIX, ChromaStore
from memory_agent.core.extraction import ExtractionOutcome
from memory_agent.core.profile import ProfileDocument, ProfileEdit
from memory_agent.core.store import MemoryStore
from memory_agent.core.types import StoredProfile
from memory_agent.engine.journal import TurnJournal
from memory_agent.errors import ProfileConflictError

from .fakes import TaskLLM, scripted_extraction


def _manager(store: MemoryStore, journal: TurnJournal | None = None,
             extractions: tuple[str, ...] = ()) -> MemoryManager:
    return MemoryManager(user_id="alice", store=store, llm=TaskLLM(extractions),
                         embedder=HashingEmbedder(), background=False, journal=journal)


@pytest.fixture(params=["memory", "chroma"])
def store(request: pytest.FixtureRequest, tmp_path: Path) -> MemoryStore:
    return InMemoryStore() if request.param == "memory" else ChromaStore.persistent(tmp_path / "c")


@pytest.fixture
def journal() -> Iterator[Callable[[Path], TurnJournal]]:
    """Opens journals and closes them after the test: a journal left to the garbage
    collector closes its SQLite file (a WAL checkpoint) at a random moment of a later test,
    pausing it for ~100 ms, long enough to reorder the races those tests set up."""
    opened: list[TurnJournal] = []

    def open_journal(path: Path) -> TurnJournal:
        opened.append(TurnJournal(path))
        return opened[-1]

    yield open_journal
    for j in opened:
        j.close()


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
    for s in stores:
        s.close()
    assert final is not None and final.version == 16
    assert sorted(final.markdown.rstrip(";").split(";")) == sorted(
        f"w{i}-{n}" for i in range(4) for n in range(4))


class _Interleaving:
    """A Chroma client whose profile collection runs a callback once, just before or just
    after its next ``add`` (another writer's work, slipped into a compare-and-set)."""

    def __init__(self, client: Any) -> None:
        self._client = client
        self.before_add: Callable[[], object] | None = None
        self.after_add: Callable[[], object] | None = None
        self.fail_update = False

    def __getattr__(self, name: str) -> Any:
        return getattr(self._client, name)

    def get_or_create_collection(self, name: str, **kwargs: Any) -> Any:
        collection = self._client.get_or_create_collection(name=name, **kwargs)
        if name.endswith("_profiles"):
            return _InterleavedCollection(collection, self)
        return collection


class _InterleavedCollection:
    def __init__(self, collection: Any, hooks: _Interleaving) -> None:
        self._collection = collection
        self._hooks = hooks

    def __getattr__(self, name: str) -> Any:
        return getattr(self._collection, name)

    def add(self, **kwargs: Any) -> None:
        before, self._hooks.before_add = self._hooks.before_add, None
        after, self._hooks.after_add = self._hooks.after_add, None
        if before is not None:
            before()
        self._collection.add(**kwargs)
        if after is not None:
            after()

    def update(self, **kwargs: Any) -> None:
        if self._hooks.fail_update:
            msg = "store unreachable"
            raise ConnectionError(msg)
        self._collection.update(**kwargs)


def _client(path: Path) -> Any:
    return chromadb.PersistentClient(path=str(path), settings=Settings(anonymized_telemetry=False))


@pytest.fixture
def slow_and_fast(tmp_path: Path) -> Iterator[tuple[_Interleaving, ChromaStore, ChromaStore]]:
    """Two store objects on one data dir (no shared lock); the first can be interleaved."""
    with _client(tmp_path / "c") as client:
        hooked = _Interleaving(client)
        yield hooked, ChromaStore(hooked), ChromaStore(client)  # type: ignore[arg-type]


def _append(store: MemoryStore, text: str) -> int:
    current = store.get_profile("ann")
    assert current is not None
    return store.put_profile("ann", current.markdown + text, expected_version=current.version)


def test_cas_winner_overtaken_before_it_reads_back_is_acknowledged(
    slow_and_fast: tuple[_Interleaving, ChromaStore, ChromaStore],
) -> None:
    """The flaky double edit, forced: the winner of version 2 is built on (and used to be
    pruned) before it reads its record back; it must not be told it lost (it would apply
    its edit again)."""
    hooks, slow, fast = slow_and_fast
    slow.put_profile("ann", "a;", expected_version=0)
    hooks.after_add = lambda: _append(fast, "c;")  # sees slow's version 2, writes 3
    assert slow.put_profile("ann", "a;b;", expected_version=1) == 2
    assert fast.get_profile("ann") == StoredProfile("a;b;c;", 3)


def test_cas_late_writer_cannot_claim_a_superseded_version(
    slow_and_fast: tuple[_Interleaving, ChromaStore, ChromaStore],
) -> None:
    """The flaky lost edit, forced: while a writer that checked version 1 waits to add
    version 2, others write versions 2 and 3 (version 2 used to be deleted by then); its
    add must lose, not revive version 2 under version 3 and report success."""
    hooks, slow, fast = slow_and_fast
    slow.put_profile("ann", "a;", expected_version=0)

    def overtake() -> None:
        _append(fast, "c;")
        _append(fast, "d;")

    hooks.before_add = overtake
    with pytest.raises(ProfileConflictError, match="version 2"):
        slow.put_profile("ann", "a;b;", expected_version=1)
    assert slow.get_profile("ann") == StoredProfile("a;c;d;", 3)
    assert _append(slow, "b;") == 4  # applied again after the conflict: exactly once
    assert fast.get_profile("ann") == StoredProfile("a;c;d;b;", 4)


def test_cas_write_is_acknowledged_when_retiring_older_versions_fails(
    slow_and_fast: tuple[_Interleaving, ChromaStore, ChromaStore], caplog: pytest.LogCaptureFixture,
) -> None:
    hooks, slow, fast = slow_and_fast
    slow.put_profile("ann", "a;", expected_version=0)
    hooks.fail_update = True  # the write lands, retiring version 1 fails: still acknowledged
    assert slow.put_profile("ann", "a;b;", expected_version=1) == 2
    assert "retire old profile versions" in caplog.text
    hooks.fail_update = False
    assert _append(fast, "c;") == 3
    assert slow.get_profile("ann") == StoredProfile("a;b;c;", 3)


def test_profiles_written_before_versions_were_retired_are_read_and_replaced(
    tmp_path: Path,
) -> None:
    """Records of earlier releases (one per user, or versions without a ``live_for`` mark)."""
    with _client(tmp_path / "c") as client:
        profiles = client.get_or_create_collection(f"{DEFAULT_PREFIX}_profiles",
                                                   embedding_function=None)
        profiles.add(ids=["bob", "ann/v000000000003"], embeddings=[[1.0], [1.0]],
                     documents=["single record", "versioned"],
                     metadatas=[{"user_id": "bob", "version": 2},
                                {"user_id": "ann", "version": 3, "writer": "old"}])
        store = ChromaStore(client)
        assert store.get_profile("bob") == StoredProfile("single record", 2)
        assert store.get_profile("ann") == StoredProfile("versioned", 3)
        assert store.put_profile("bob", "bob 3", expected_version=2) == 3
        assert store.put_profile("ann", "ann 4", expected_version=3) == 4
        assert store.get_profile("bob") == StoredProfile("bob 3", 3)
        assert store.get_profile("ann") == StoredProfile("ann 4", 4)
        with pytest.raises(ProfileConflictError):
            store.put_profile("ann", "stale", expected_version=3)


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


def test_concurrent_threads_lose_no_turns(tmp_path: Path, store: MemoryStore,
                                          journal: Callable[[Path], TurnJournal]) -> None:
    memory = _manager(store, journal(tmp_path / "j.sqlite3"))

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


def test_two_managers_sharing_a_journal_never_reuse_an_index(
    tmp_path: Path, store: MemoryStore, journal: Callable[[Path], TurnJournal],
) -> None:
    path = tmp_path / "j.sqlite3"
    first = _manager(store, journal(path))
    second = _manager(store, journal(path))  # e.g. a second process on the same data dir
    for n in range(10):
        (first if n % 3 else second).record(f"message {n}", "ok", session_id="shared")
    first.close()
    second.close()
    turns = store.get_turns("alice", session_id="shared")
    assert [t.index for t in turns] == list(range(1, 11))
    assert sorted(t.user_message for t in turns) == sorted(f"message {n}" for n in range(10))


class _HeldWrites:
    """A store whose turn writes wait for ``gate``: makes "the other client has not stored its
    turn yet" certain instead of a matter of thread timing."""

    def __init__(self, inner: MemoryStore, gate: threading.Event) -> None:
        self._inner, self._gate = inner, gate

    def add_turns(self, *args: Any, **kwargs: Any) -> Any:
        assert self._gate.wait(30), "gate never opened"
        return self._inner.add_turns(*args, **kwargs)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._inner, name)


def test_managers_with_separate_journals_renumber_instead_of_losing(
    tmp_path: Path, store: MemoryStore, journal: Callable[[Path], TurnJournal],
) -> None:
    gate = threading.Event()  # the first client's turn reaches the store only when set
    first = _manager(_HeldWrites(store, gate), journal(tmp_path / "a.sqlite3"))  # type: ignore[arg-type]
    second = _manager(store, journal(tmp_path / "b.sqlite3"))  # e.g. two hosts, one server
    a = first.record("from the first client", "ok", session_id="shared")
    b = second.record("from the second client", "ok", session_id="shared")
    assert a.id == b.id  # both picked index 1 without seeing each other
    gate.set()
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
