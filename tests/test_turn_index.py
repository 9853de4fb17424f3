"""The in-memory turn index: exact top-k (with and without a session filter) against brute
force and against the stores' own search, updates, invalidation, and the staleness rule
between two managers sharing one store (in memory, embedded Chroma, a Chroma server)."""

from __future__ import annotations

import hashlib
import itertools
import random
from collections.abc import Collection, Iterator, Sequence
from datetime import datetime, timedelta, timezone
from pathlib import Path

import chromadb
import numpy as np
import pytest
from chromadb.config import Settings

from memory_agent import ExtractionOutcome, HashingEmbedder, MemoryManager, ProfileEdit
from memory_agent.backends.store.chroma import ChromaStore
from memory_agent.backends.store.memory import InMemoryStore
from memory_agent.core.config import MemoryConfig
from memory_agent.core.store import Capability, MemoryStore, TurnVectors
from memory_agent.core.types import Turn
from memory_agent.engine import turn_index
from memory_agent.engine.journal import TurnJournal
from memory_agent.engine.turn_index import TurnIndex
from memory_agent.testing.chroma_server import LocalChromaServer, chroma_executable

from .fakes import TaskLLM

T0 = datetime(2025, 5, 1, 8, 0, tzinfo=timezone.utc)
DIM = 16


def random_history(
    user: str, sessions: int, per_session: int, seed: int
) -> tuple[list[Turn], list[list[float]]]:
    """Turns with random (not normalised) vectors: distinct scores, no ties."""
    rng = np.random.default_rng(seed)
    turns = [Turn(user, f"s{s}", i, f"message {s}.{i}", "ok", T0 + timedelta(hours=s, minutes=i))
             for s in range(sessions) for i in range(1, per_session + 1)]
    vectors = (rng.normal(size=(len(turns), DIM)) * rng.uniform(0.5, 3.0, (len(turns), 1)))
    return turns, vectors.tolist()


def brute_force(turns: Sequence[Turn], vectors: Sequence[Sequence[float]], query: np.ndarray,
                k: int, sessions: Collection[str] | None = None) -> list[tuple[str, float]]:
    matrix = np.asarray(vectors, dtype=np.float64)
    cosine = matrix @ query / (np.linalg.norm(matrix, axis=1) * np.linalg.norm(query))
    ranked = sorted(((-float(c), t.id) for t, c in zip(turns, cosine, strict=True)
                     if sessions is None or t.session_id in sessions))
    return [(tid, -c) for c, tid in ranked[:k]]


def same_hits(got: Sequence[tuple[str, float]], want: Sequence[tuple[str, float]]) -> None:
    assert [tid for tid, _ in got] == [tid for tid, _ in want]
    assert [s for _, s in got] == pytest.approx([s for _, s in want], abs=1e-5)


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def clock(monkeypatch: pytest.MonkeyPatch) -> Clock:
    fake = Clock()
    monkeypatch.setattr(turn_index, "monotonic", fake)
    return fake


class CountingStore(InMemoryStore):
    """Counts the reads the index makes: full loads, id comparisons, version checks."""

    def __init__(self) -> None:
        super().__init__()
        self.loads = 0
        self.compares = 0
        self.version_reads = 0

    def get_turn_vectors(self, user_id: str, *, known: Collection[str] = ()) -> TurnVectors:
        if known:
            self.compares += 1
        else:
            self.loads += 1
        return super().get_turn_vectors(user_id, known=known)

    def turn_versions(self, user_id: str) -> dict[str, int] | None:
        self.version_reads += 1
        found = super().turn_versions(user_id)
        return None if found is None else dict(found)

    def reads(self) -> tuple[int, int, int]:
        return self.loads, self.compares, self.version_reads


# --- exact search ----------------------------------------------------------------------------
def test_search_is_the_exact_top_k_with_and_without_a_session_filter() -> None:
    store = InMemoryStore()
    turns, vectors = random_history("ann", sessions=40, per_session=6, seed=1)
    store.add_turns(turns, vectors)
    store.add_turns(*random_history("bob", sessions=5, per_session=6, seed=2))  # not ann's
    index = TurnIndex(store, "ann", refresh_seconds=60)
    rng = np.random.default_rng(3)
    picker = random.Random(4)
    for _ in range(25):
        query = rng.normal(size=DIM)
        sessions = {f"s{picker.randrange(45)}" for _ in range(picker.randint(1, 8))}
        for k in (1, 7, 24, 1000):
            same_hits(index.search(query, k=k), brute_force(turns, vectors, query, k))
            same_hits(index.search(query, k=k, session_ids=sessions),
                      brute_force(turns, vectors, query, k, sessions))
            reference = [(t.id, s) for t, s in
                         store.search_turns("ann", query.tolist(), k=k, session_ids=sessions)]
            same_hits(index.search(query, k=k, session_ids=sessions), reference)
    assert len(index) == len(turns) and index.nbytes == len(turns) * DIM * 4
    assert index.search(query, k=0) == []
    assert index.search(query, k=5, session_ids=[]) == []
    assert index.search(query, k=5, session_ids=["nope"]) == []


def test_search_matches_chroma_queries(tmp_path: Path) -> None:
    with ChromaStore.persistent(tmp_path / "chroma") as store:
        turns, vectors = random_history("ann", sessions=30, per_session=8, seed=5)
        store.add_turns(turns, vectors)
        index = TurnIndex(store, "ann", refresh_seconds=60)
        rng = np.random.default_rng(6)
        for n in range(20):
            query = rng.normal(size=DIM)
            sessions = [f"s{(n * 7 + j) % 30}" for j in range(4)]
            for filt in (None, sessions):
                want = [(t.id, s) for t, s in
                        store.search_turns("ann", query.tolist(), k=24, session_ids=filt)]
                same_hits(index.search(query, k=24, session_ids=filt), want)
        fetched = index.fetch(["s3#2", "s0#1", "s99#1"])
        assert set(fetched) == {"s3#2", "s0#1"} and fetched["s3#2"].user_message == "message 3.2"


# --- updates and the staleness rule, on the index ----------------------------------------------
def test_added_turns_are_searchable_without_reading_the_store(clock: Clock) -> None:
    store = CountingStore()
    turns, vectors = random_history("ann", sessions=3, per_session=4, seed=7)
    store.add_turns(turns[:6], vectors[:6])
    index = TurnIndex(store, "ann", refresh_seconds=60)
    index.added(turns[:6], vectors[:6])  # before the load: ignored, the load reads the store
    index.sync()
    assert store.reads() == (1, 0, 1) and len(index) == 6
    for start in (6, 9):  # two add_turns calls of this process
        store.add_turns(turns[start:start + 3], vectors[start:start + 3])
        index.added(turns[start:start + 3], vectors[start:start + 3])
    assert len(index) == 12
    query = np.asarray(vectors[10])
    same_hits(index.search(query, k=5), brute_force(turns, vectors, query, 5))
    index.sync()
    assert store.reads() == (1, 0, 1)  # within the interval: no store read at all
    clock.now += 61
    index.sync()
    assert store.reads() == (1, 0, 2)  # only own writes: one version read, nothing else
    # turns the load already read, reported again (a store write racing the load): no new
    # row; the counts no longer add up, so the next check compares ids once
    index.added(turns[6:7], vectors[6:7])
    clock.now += 61
    index.sync()
    assert len(index) == 12 and store.reads() == (1, 1, 3)


def test_foreign_writes_and_deletions_follow_the_rule(clock: Clock) -> None:
    store = CountingStore()
    turns, vectors = random_history("ann", sessions=4, per_session=3, seed=8)
    store.add_turns(turns[:9], vectors[:9])
    index = TurnIndex(store, "ann", refresh_seconds=30)
    index.sync()
    store.add_turns(turns[9:], vectors[9:])  # another manager's write
    query = np.asarray(vectors[10])
    index.sync()
    assert "s3#2" not in dict(index.search(query, k=12))  # stale until the interval passes
    clock.now += 31
    index.sync()
    assert store.reads() == (1, 1, 2)  # caught up by comparing ids, not by reloading
    same_hits(index.search(query, k=12), brute_force(turns, vectors, query, 12))

    # forget elsewhere, then the same turn id stored again with other content
    store.forget_user("ann")
    assert index.fetch(["s3#2", "s0#1"]) == {}  # deleted turns are never handed out
    index.sync()  # a missing candidate forces a check before the interval ends
    assert len(index) == 0 and store.reads() == (2, 1, 3)  # a count vanished: loaded again
    again = Turn("ann", "s3", 2, "new content", "ok", T0)
    store.add_turns([again], [vectors[0]])
    index.sync()
    assert len(index) == 0  # within the interval
    clock.now += 31
    index.sync()
    assert store.reads() == (3, 1, 4)  # (comparing with an empty index reads everything)
    (hit,) = index.search(np.asarray(vectors[0]), k=5)
    assert hit[0] == "s3#2" and hit[1] == pytest.approx(1.0, abs=1e-5)  # the new vector


def test_words_follow_the_same_rule_as_the_vectors(clock: Clock) -> None:
    store = CountingStore()
    words = ["chess", "marathon", "lyon", "nurse", "garden", "pasta"]
    turns = [Turn("ann", f"s{s}", i, f"about {words[s * 2 + i - 1]}", "noted",
                  T0 + timedelta(hours=s, minutes=i)) for s in range(3) for i in (1, 2)]
    vectors = np.random.default_rng(1).normal(size=(len(turns), DIM)).tolist()
    store.add_turns(turns[:4], vectors[:4])
    index = TurnIndex(store, "ann", refresh_seconds=30)

    def found(query: str, sessions: list[str] | None = None) -> list[str]:
        return [tid for tid, _ in index.lexical(query, k=9, session_ids=sessions)]

    assert found("marathon") == ["s0#2"]  # loaded on first use
    store.add_turns(turns[4:5], vectors[4:5])
    index.added(turns[4:5], vectors[4:5])  # this process's write: found at once
    assert found("garden") == ["s2#1"]
    store.add_turns(turns[5:], vectors[5:])  # another writer's turn
    assert found("pasta") == []  # not before the interval passes
    clock.now += 31
    index.sync()
    assert found("pasta") == ["s2#2"]  # caught up by ids, its words read with it
    assert sorted(found("garden pasta marathon", ["s2"])) == ["s2#1", "s2#2"]
    assert found("garden pasta", ["s0"]) == []
    store.forget_user("ann")  # deleted elsewhere
    clock.now += 31
    index.sync()
    assert found("chess marathon lyon nurse garden pasta") == []


def test_reset_reloads_on_next_use() -> None:
    store = CountingStore()
    turns, vectors = random_history("ann", sessions=2, per_session=2, seed=9)
    store.add_turns(turns, vectors)
    index = TurnIndex(store, "ann", refresh_seconds=3600)
    index.sync()
    store.forget_user("ann")
    index.reset()
    assert not index.loaded
    assert index.search(np.asarray(vectors[0]), k=3) == []  # loads: nothing stored now
    assert store.loads == 2


# --- two managers on one store -----------------------------------------------------------------
@pytest.fixture(params=["memory", "chroma",
                        pytest.param("chroma_server", marks=pytest.mark.chroma_server)])
def shared_stores(request: pytest.FixtureRequest,
                  tmp_path: Path) -> Iterator[tuple[MemoryStore, MemoryStore]]:
    """Two store objects on the same data (two writers), or one in-memory store twice."""
    if request.param == "memory":
        store = InMemoryStore()
        yield store, store
        return
    if request.param == "chroma":
        client = chromadb.PersistentClient(path=str(tmp_path / "chroma"),
                                           settings=Settings(anonymized_telemetry=False))
        yield ChromaStore(client), ChromaStore(client)
        return
    if chroma_executable() is None:
        pytest.skip("the chroma command is not installed")
    with LocalChromaServer(tmp_path / "server") as server, \
            ChromaStore.http(server.host, server.port) as one, \
            ChromaStore.http(server.host, server.port) as two:
        yield one, two


def manager(store: MemoryStore, journal: Path, refresh: float) -> MemoryManager:
    return MemoryManager(user_id="ann", store=store, llm=TaskLLM(), embedder=HashingEmbedder(),
                         background=False, journal=TurnJournal(journal),
                         config=MemoryConfig(turn_index_refresh_seconds=refresh))


def recalled(memory: MemoryManager, query: str) -> str:
    return memory.recall(query, token_budget=1000).to_prompt()


def test_second_manager_sees_the_first_ones_turns_when_the_rule_allows_and_never_forgotten_ones(
    shared_stores: tuple[MemoryStore, MemoryStore], tmp_path: Path, clock: Clock
) -> None:
    one, two = shared_stores
    writer = manager(one, tmp_path / "a.sqlite3", refresh=60)
    reader = manager(two, tmp_path / "b.sqlite3", refresh=60)
    try:
        writer.record("The Zanzibar ferry leaves at nine.", "Noted.", session_id="trip")
        writer.sessions()  # stores what the journal holds
        assert "Zanzibar" in recalled(reader, "Zanzibar ferry")  # first recall loads
        writer.record("The Kilimanjaro climb starts in May.", "Exciting!", session_id="climb")
        writer.sessions()
        assert "Kilimanjaro" in recalled(writer, "Kilimanjaro climb")  # own write: at once
        assert "Kilimanjaro" not in recalled(reader, "Kilimanjaro climb")  # within 60 s
        clock.now += 61
        assert "Kilimanjaro" in recalled(reader, "Kilimanjaro climb")

        writer.forget()
        for query in ("Zanzibar ferry", "Kilimanjaro climb"):  # at once, whatever the clock
            assert "Zanzibar" not in recalled(reader, query)
            assert "Kilimanjaro" not in recalled(reader, query)
        writer.record("The Lisbon tram is yellow.", "Lovely.", session_id="trip")  # trip#1 again
        writer.sessions()
        clock.now += 61
        for query in ("Zanzibar ferry", "Lisbon tram", "Kilimanjaro climb"):
            prompt = recalled(reader, query)
            assert "Zanzibar" not in prompt and "Kilimanjaro" not in prompt
        assert "Lisbon" in recalled(reader, "Lisbon tram")
    finally:
        writer.close()
        reader.close()


# --- recall through the index is recall through the store's search --------------------------------
class StoreWithoutTurnVectors(ChromaStore):
    capabilities = ChromaStore.capabilities - {Capability.TURN_VECTORS}

    def get_turn_vectors(self, user_id: str, *, known: Collection[str] = ()) -> TurnVectors:
        raise AssertionError("a store without Capability.TURN_VECTORS is never asked for them")


WORDS = ("hiking", "garden", "guitar", "wedding", "marathon", "Japan", "recipe", "dentist",
         "painting", "moving", "budget", "puppy")


def fill(memory: MemoryManager, sessions: int, seed: int) -> None:
    rng = random.Random(seed)
    for s in range(sessions):
        for i in range(4):
            a, b = rng.sample(WORDS, 2)
            memory.record(f"Session {s} turn {i}: my {a} plans and the {b} ({rng.random():.6f})",
                          f"Noted the {a} and {b}.", session_id=f"s{s}",
                          at=T0 + timedelta(days=s, minutes=i))
        if s < sessions - 3:  # the last three stay unsummarised
            memory.end_session(f"s{s}")


class TieFreeEmbedder(HashingEmbedder):
    """Hashed words plus a little noise fixed by the text: no two similarities are equal
    (texts sharing the same query words would otherwise tie, and float rounding, which
    differs between Chroma and numpy, would pick the order)."""

    def _vector(self, text: str) -> list[float]:
        seed = int.from_bytes(hashlib.blake2b(text.encode(), digest_size=8).digest(), "little")
        noise = np.random.default_rng(seed).normal(scale=0.05, size=self.dim)
        vector = np.asarray(super()._vector(text)) + noise
        return (vector / np.linalg.norm(vector)).tolist()


def test_recall_through_the_index_equals_recall_through_chroma_queries(tmp_path: Path) -> None:
    client = chromadb.PersistentClient(path=str(tmp_path / "chroma"),
                                       settings=Settings(anonymized_telemetry=False))
    # the store's own search ranks by meaning only: compare the index's meaning ranking
    config = MemoryConfig(fanout=3, period="none", lexical_candidates=0)

    def open_with(store: ChromaStore) -> MemoryManager:
        return MemoryManager(user_id="ann", store=store, llm=TaskLLM(),
                             embedder=TieFreeEmbedder(), background=False, config=config)

    indexed = open_with(ChromaStore(client))
    fill(indexed, sessions=12, seed=10)
    queried = open_with(StoreWithoutTurnVectors(client))  # recall falls back to the store
    rng = random.Random(11)
    for _ in range(30):
        query = " ".join(rng.sample(WORDS, 2)) + f" session {rng.randrange(12)}"
        with_index = recalled(indexed, query)
        assert with_index == recalled(queried, query)
        assert with_index.count("The user said:") >= 3
    indexed.close()
    queried.close()


def test_index_follows_the_journal_forget_fact_export_and_import(tmp_path: Path) -> None:
    """After each operation, recall through the incrementally kept index equals recall
    through an index freshly loaded from the store (another manager opened now)."""
    store = InMemoryStore()

    def fresh(name: str) -> MemoryManager:
        return MemoryManager(user_id="ann", store=store, llm=TaskLLM(),
                             embedder=HashingEmbedder(), background=False,
                             journal=TurnJournal(tmp_path / f"{name}.sqlite3"),
                             config=MemoryConfig(fanout=3, period="none"))

    queries = [f"{a} {b}" for a, b in itertools.pairwise(WORDS)]

    def same_as_a_fresh_load(memory: MemoryManager, name: str) -> None:
        mine = [recalled(memory, q) for q in queries]
        other = fresh(name)
        assert [recalled(other, q) for q in queries] == mine
        other.close()

    memory = fresh("main")
    fill(memory, sessions=6, seed=12)
    assert "Otto" not in recalled(memory, "garden gnome Otto")  # loads the index
    memory.record("Fresh: my garden gnome is called Otto.", "Hi Otto!", session_id="late")
    assert "Otto" in recalled(memory, "garden gnome Otto")  # journal -> store -> index
    same_as_a_fresh_load(memory, "first")
    update = memory.apply_profile_edits(lambda doc: ExtractionOutcome(
        [ProfileEdit(op="add", section="Goals", text="Grow tomatoes", sources=["s1#1"])], []))
    assert memory.forget_fact(update.added[0]) == ["s1"]  # s1 summarised again; turns stay
    assert "Otto" in recalled(memory, "garden gnome Otto")
    same_as_a_fresh_load(memory, "second")
    archive = memory.export(tmp_path / "archive")
    memory.forget()
    assert "Otto" not in recalled(memory, "garden gnome Otto")
    memory.import_archive(archive)
    assert "Otto" in recalled(memory, "garden gnome Otto")
    same_as_a_fresh_load(memory, "third")
    memory.close()
