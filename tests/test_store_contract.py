"""One contract for every MemoryStore: InMemoryStore, ChromaStore embedded, ChromaStore server.

The server variant starts ``chroma run`` once per module (marker ``chroma_server``; skip it
with ``-m "not chroma_server"``) and gives each test its own collection prefix.
"""

from __future__ import annotations

import math
import threading
import uuid
from collections.abc import Iterator
from datetime import datetime, timedelta, timezone
from pathlib import Path

import numpy as np
import pytest

from memory_agent.backends.store.chroma import ChromaStore, parse_server_url
from memory_agent.backends.store.chroma import access as chroma_access
from memory_agent.backends.store.memory import InMemoryStore
from memory_agent.core.config import ENV_CHROMA_URL, ENV_HOME
from memory_agent.core.store import (
    CAPABILITY_METHODS,
    Capability,
    HistoryEntry,
    Job,
    MemoryStore,
)
from memory_agent.core.types import Node, SessionInfo, StoredProfile, Turn
from memory_agent.errors import (
    InvalidInputError,
    ProfileConflictError,
    StoreError,
    UnknownSessionError,
)
from memory_agent.testing.chroma_server import LocalChromaServer, chroma_executable, free_port

T0 = datetime(2025, 3, 1, 9, 0, tzinfo=timezone.utc)
DIM = 8


def at(minutes: float) -> datetime:
    return T0 + timedelta(minutes=minutes)


def basis(i: int, j: int | None = None, w: float = 0.0) -> list[float]:
    """Unit vector ``e_i`` (tilted towards ``e_j`` by weight ``w``)."""
    v = [0.0] * DIM
    v[i] = 1.0
    if j is not None:
        v[j] = w
    norm = math.sqrt(sum(x * x for x in v))
    return [x / norm for x in v]


def turn(user: str, session: str, index: int, minutes: float, text: str = "") -> Turn:
    text = text or f"{user} says {index} in {session}"
    return Turn(user, session, index, text, f"reply {index}", at(minutes))


def node(user: str, nid: str, level: int = 1, minutes: float = 0, **kw: object) -> Node:
    fields: dict[str, object] = {
        "id": nid,
        "user_id": user,
        "level": level,
        "summary": f"summary of {nid}",
        "children": (f"{nid}-a#1", f"{nid}-a#2"),
        "start": at(minutes),
        "end": at(minutes + 5),
        "content_hash": f"hash-{nid}",
        "parent": None,
        "session_id": f"{nid}-a" if level == 1 else None,
    }
    fields.update(kw)
    return Node(**fields)  # type: ignore[arg-type]


def history(user: str, fact: str, valid_to: float, reason: str = "superseded") -> HistoryEntry:
    return HistoryEntry(
        user, fact, "Diet", f"fact {fact}", f"[{fact}]", at(0), at(valid_to), reason
    )


def job(user: str, jid: str, minutes: float, **payload: object) -> Job:
    return Job(jid, user, "session_ended", dict(payload), at(minutes))


# --- the stores ----------------------------------------------------------------------------
@pytest.fixture(scope="module")
def chroma_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, int]]:
    """A real ``chroma run`` on a free port; stopped by its own process id at the end."""
    if chroma_executable() is None:
        pytest.skip("the chroma command is not installed")
    with LocalChromaServer(tmp_path_factory.mktemp("chroma-server")) as server:
        yield server.host, server.port


@pytest.fixture(
    params=["memory", "chroma", pytest.param("chroma_server", marks=pytest.mark.chroma_server)]
)
def store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[MemoryStore]:
    if request.param == "memory":
        yield InMemoryStore()
        return
    if request.param == "chroma":
        opened = ChromaStore.persistent(tmp_path / "chroma")
    else:
        host, port = request.getfixturevalue("chroma_server")
        opened = ChromaStore.http(host, port, prefix=f"t{uuid.uuid4().hex[:12]}")
    with opened:
        yield opened


# --- the contract --------------------------------------------------------------------------
class TestStoreContract:
    def test_turns_round_trip_in_order(self, store: MemoryStore) -> None:
        s1 = [turn("ann", "day-1", i, i) for i in (1, 2, 3)]
        s2 = [turn("ann", "day-2", i, 60 + i) for i in (1, 2)]
        store.add_turns([s2[1], s1[2], s1[0]], [basis(0)] * 3)  # out of order on purpose
        store.add_turns([s2[0], s1[1]], [basis(1)] * 2)
        assert store.get_turns("ann") == [*s1, *s2]
        assert store.get_turns("ann", session_id="day-2") == s2
        assert store.get_turns("ann", ids=["day-2#1", "day-1#3", "nope#1"]) == [s1[2], s2[0]]
        assert store.get_turns("ann", session_id="day-1", ids=["day-2#1"]) == []
        assert store.get_turns("ann", ids=[]) == []
        assert store.get_turns("bob") == []

    def test_turn_text_survives_exactly(self, store: MemoryStore) -> None:
        tricky = [
            ("", "empty user message"),
            ("line one\nAssistant: not really", "\nAssistant: \n"),
            ("naïve café 日本語 🙂", "€ \t tabs"),
            ("User: nested", ""),
        ]
        turns = [Turn("ann", "s", i, u, a, at(i)) for i, (u, a) in enumerate(tricky, start=1)]
        store.add_turns(turns, [basis(i) for i in range(len(turns))])
        assert store.get_turns("ann") == turns

    def test_naive_datetimes_come_back_as_utc(self, store: MemoryStore) -> None:
        naive = datetime(2025, 1, 2, 3, 4, 5, 678901)
        store.add_turns([Turn("ann", "s", 1, "hi", "hello", naive)], [basis(0)])
        (got,) = store.get_turns("ann")
        assert got.at == naive.replace(tzinfo=timezone.utc)
        assert got.at.utcoffset() == timedelta(0)

    def test_add_turns_rejects_stored_ids_and_keeps_the_original(self, store: MemoryStore) -> None:
        first = turn("ann", "s", 1, 0, "original")
        store.add_turns([first], [basis(0)])
        with pytest.raises(StoreError, match="s#1"):
            store.add_turns([turn("ann", "s", 1, 5, "impostor")], [basis(1)])
        with pytest.raises(StoreError):
            store.add_turns([turn("ann", "s", 2, 1), turn("ann", "s", 2, 1)], [basis(0)] * 2)
        assert store.get_turns("ann") == [first]
        assert store.list_sessions("ann")[0].n_turns == 1

    def test_add_turns_needs_one_vector_per_turn(self, store: MemoryStore) -> None:
        with pytest.raises(InvalidInputError):
            store.add_turns([turn("ann", "s", 1, 0)], [])

    def test_vectors_of_another_dimension_are_refused(self, store: MemoryStore) -> None:
        store.add_turns([turn("ann", "s", 1, 0)], [basis(0)])
        with pytest.raises(StoreError):
            store.add_turns([turn("ann", "s", 2, 1)], [[1.0, 0.0, 0.0]])
        assert [t.index for t in store.get_turns("ann")] == [1]

    def test_search_returns_the_closest_first(self, store: MemoryStore) -> None:
        turns = [turn("ann", "s", i, i) for i in (1, 2, 3, 4)]
        away = [-0.5, 0.0, 1.0, 0.0, 0.0, 0.0, 0.0, 0.0]  # cosine -0.447 with e_0
        vectors = [basis(0), basis(1), basis(0, 1, 0.5), away]
        store.add_turns(turns, vectors)
        hits = store.search_turns("ann", basis(0), k=3)
        assert [t.index for t, _ in hits] == [1, 3, 2]
        scores = [score for _, score in hits]
        assert scores == pytest.approx([1.0, 1 / math.sqrt(1.25), 0.0], abs=1e-5)
        every = store.search_turns("ann", basis(0), k=50)
        assert [t.index for t, _ in every] == [1, 3, 2, 4]
        assert every[-1][1] == pytest.approx(-0.5 / math.sqrt(1.25), abs=1e-5)
        assert store.search_turns("ann", basis(0), k=0) == []

    def test_search_respects_session_ids(self, store: MemoryStore) -> None:
        store.add_turns(
            [turn("ann", "a", 1, 0), turn("ann", "b", 1, 1), turn("ann", "c", 1, 2)],
            [basis(0), basis(0, 1, 0.2), basis(0, 1, 0.1)],
        )
        hits = store.search_turns("ann", basis(0), k=5, session_ids=["b", "c"])
        assert [t.session_id for t, _ in hits] == ["c", "b"]
        assert store.search_turns("ann", basis(0), k=5, session_ids=[]) == []
        assert store.search_turns("ann", basis(0), k=5, session_ids=["zzz"]) == []

    def test_turn_vectors_and_turn_write_counts(self, store: MemoryStore) -> None:
        assert store.turn_versions("ann") == {}
        assert store.get_turn_vectors("ann").ids == []
        stretched = [2.0] + [0.0] * (DIM - 1)  # e_0, not normalised
        store.add_turns([turn("ann", "a", 1, 0), turn("ann", "a", 2, 1)], [basis(0), stretched])
        store.add_turns([turn("ann", "b", 1, 2)], [basis(1, 2, 0.5)])
        store.add_turns([turn("bob", "a", 1, 0)], [basis(3)])
        ((key, count),) = store.turn_versions("ann").items()
        assert count == 2  # one per add_turns call
        got = store.get_turn_vectors("ann")
        assert sorted(got.ids) == ["a#1", "a#2", "b#1"] and got.new_ids == got.ids
        assert got.vectors.shape == (3, DIM)
        unit = {tid: row / np.linalg.norm(row) for tid, row in zip(got.ids, got.vectors,
                                                                      strict=True)}
        assert unit["a#2"] == pytest.approx(basis(0), abs=1e-6)
        assert unit["b#1"] == pytest.approx(basis(1, 2, 0.5), abs=1e-6)
        part = store.get_turn_vectors("ann", known=["a#1", "a#2", "gone#1"])
        assert sorted(part.ids) == ["a#1", "a#2", "b#1"] and part.new_ids == ["b#1"]
        assert part.vectors.shape == (1, DIM)
        assert store.get_turn_vectors("ann", known=got.ids).new_ids == []
        assert store.get_turn_vectors("bob").ids == ["a#1"]
        store.forget_user("ann")
        assert store.turn_versions("ann") == {} and store.get_turn_vectors("ann").ids == []
        assert list(store.turn_versions("bob").values()) == [1]
        store.add_turns([turn("ann", "a", 1, 5)], [basis(0)])
        ((again, count),) = store.turn_versions("ann").items()
        assert again != key and count == 1  # a count never carries on across a forget
        assert store.list_users() == ["ann", "bob"]

    def test_two_users_never_see_each_other(self, store: MemoryStore) -> None:
        # Same session ids, turn ids, node ids and vectors for both users.
        for user in ("ann", "bob"):
            store.add_turns([turn(user, "day-1", 1, 0), turn(user, "day-1", 2, 1)], [basis(0)] * 2)
            store.put_nodes([node(user, "n1")], [basis(3)])
            store.put_profile(user, f"# {user}", expected_version=0)
            store.add_history([history(user, "f1", 3)])
            store.add_job(job(user, f"job-{user}", 0))
        store.mark_session_ended("ann", "day-1")

        for user, other in (("ann", "bob"), ("bob", "ann")):
            assert {t.user_id for t in store.get_turns(user)} == {user}
            hits = store.search_turns(user, basis(0), k=10)
            assert len(hits) == 2 and {t.user_id for t, _ in hits} == {user}
            assert [n.user_id for n in store.get_nodes(user)] == [user]
            assert store.get_profile(user) == StoredProfile(f"# {user}", 1)
            assert [h.user_id for h in store.get_history(user)] == [user]
            assert [j.id for j in store.pending_jobs(user)] == [f"job-{user}"]
            assert other not in {t.user_id for t in store.get_turns(user, ids=["day-1#1"])}
        assert store.list_sessions("ann")[0].ended is True
        assert store.list_sessions("bob")[0].ended is False

        store.delete_nodes("bob", ["n1"])  # bob's delete cannot touch ann's node
        assert [n.id for n in store.get_nodes("ann")] == ["n1"]
        assert store.get_nodes("bob") == []

    def test_sessions_listing_and_ended_flag(self, store: MemoryStore) -> None:
        assert store.list_sessions("ann") == []
        store.add_turns([turn("ann", "late", 1, 100)], [basis(0)])
        store.add_turns([turn("ann", "early", 1, 10), turn("ann", "early", 2, 20)], [basis(0)] * 2)
        store.add_turns([turn("ann", "early", 3, 30)], [basis(0)])
        assert store.list_sessions("ann") == [
            SessionInfo("early", 3, at(10), at(30), False),
            SessionInfo("late", 1, at(100), at(100), False),
        ]
        store.mark_session_ended("ann", "early")
        store.mark_session_ended("ann", "early")  # idempotent
        store.add_turns([turn("ann", "early", 4, 40)], [basis(0)])
        assert store.list_sessions("ann")[0] == SessionInfo("early", 4, at(10), at(40), True)
        with pytest.raises(UnknownSessionError):
            store.mark_session_ended("ann", "never")
        with pytest.raises(UnknownSessionError):
            store.mark_session_ended("bob", "early")

    def test_concurrent_adds_keep_session_counts(self, store: MemoryStore) -> None:
        def add(worker: int) -> None:
            for i in range(5):
                index = worker * 5 + i + 1
                store.add_turns([turn("ann", "s", index, index)], [basis(worker)])

        threads = [threading.Thread(target=add, args=(w,)) for w in range(4)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        (info,) = store.list_sessions("ann")
        assert (info.n_turns, info.start, info.end) == (20, at(1), at(20))
        assert [t.index for t in store.get_turns("ann")] == list(range(1, 21))

    def test_nodes_upsert_get_vectors_delete(self, store: MemoryStore) -> None:
        leaf = node("ann", "n1", 1, 0, parent="n3")
        other = node("ann", "n2", 1, 10, parent="n3", children=())
        root = node("ann", "n3", 2, 0, children=("n1", "n2"))
        store.put_nodes([root, other, leaf], [basis(0), basis(1), basis(2)])
        assert store.get_nodes("ann") == [leaf, other, root]

        replaced = node("ann", "n1", 1, 0, summary="better summary", parent="n3")
        store.put_nodes([replaced], [basis(4)])
        assert store.get_nodes("ann") == [replaced, other, root]

        vectors = store.get_node_vectors("ann", ["n1", "n3", "missing"])
        assert set(vectors) == {"n1", "n3"}
        assert vectors["n1"] == pytest.approx(basis(4), abs=1e-6)
        assert vectors["n3"] == pytest.approx(basis(0), abs=1e-6)
        assert store.get_node_vectors("ann", []) == {}
        assert store.get_node_vectors("bob", ["n1"]) == {}

        store.delete_nodes("ann", ["n1", "missing"])
        store.delete_nodes("ann", [])
        assert store.get_nodes("ann") == [other, root]

    def test_profile_compare_and_set(self, store: MemoryStore) -> None:
        assert store.get_profile("ann") is None
        assert store.put_profile("ann", "v1", expected_version=0) == 1
        with pytest.raises(ProfileConflictError, match="version 1"):
            store.put_profile("ann", "stale", expected_version=0)
        with pytest.raises(ProfileConflictError):
            store.put_profile("ann", "future", expected_version=7)
        assert store.get_profile("ann") == StoredProfile("v1", 1)
        assert store.put_profile("ann", "v2 ✓", expected_version=1) == 2
        assert store.get_profile("ann") == StoredProfile("v2 ✓", 2)
        assert store.get_profile("bob") is None

    def test_profile_cas_lets_one_of_many_concurrent_writers_win(self, store: MemoryStore) -> None:
        store.put_profile("ann", "base", expected_version=0)
        outcomes: list[str] = []
        barrier = threading.Barrier(6)

        def write(i: int) -> None:
            barrier.wait()
            try:
                store.put_profile("ann", f"writer {i}", expected_version=1)
                outcomes.append(f"writer {i}")
            except ProfileConflictError:
                outcomes.append("conflict")

        threads = [threading.Thread(target=write, args=(i,)) for i in range(6)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        winners = [o for o in outcomes if o != "conflict"]
        assert len(winners) == 1 and len(outcomes) == 6
        assert store.get_profile("ann") == StoredProfile(winners[0], 2)

    def test_history_is_kept_oldest_first(self, store: MemoryStore) -> None:
        store.add_history([history("ann", "f1", 10), history("ann", "f2", 5, "removed")])
        store.add_history([history("ann", "f3", 10), history("ann", "f4", 1)])
        store.add_history([])
        got = store.get_history("ann")
        assert [h.fact_id for h in got] == ["f4", "f2", "f1", "f3"]
        assert got[1] == history("ann", "f2", 5, "removed")
        assert store.get_history("bob") == []

    def test_jobs_add_pending_complete(self, store: MemoryStore) -> None:
        store.add_job(job("ann", "j2", 5, session_id="b", nested={"n": [1, 2.5, None]}))
        store.add_job(job("ann", "j1", 1, session_id="a"))
        store.add_job(job("bob", "j3", 3))
        assert [j.id for j in store.pending_jobs()] == ["j1", "j3", "j2"]
        assert store.pending_jobs("ann") == [
            job("ann", "j1", 1, session_id="a"),
            job("ann", "j2", 5, session_id="b", nested={"n": [1, 2.5, None]}),
        ]
        store.add_job(job("ann", "j1", 1, session_id="again"))  # same id: replaced
        assert store.pending_jobs("ann")[0].payload == {"session_id": "again"}
        store.complete_job("j1")
        store.complete_job("j1")  # completing twice is harmless
        store.complete_job("unknown")
        assert [j.id for j in store.pending_jobs()] == ["j3", "j2"]
        with pytest.raises(StoreError, match="JSON"):
            store.add_job(job("ann", "bad", 0, when=T0))
        assert [j.id for j in store.pending_jobs("ann")] == ["j2"]

    def test_list_users_and_forget_user(self, store: MemoryStore) -> None:
        assert store.list_users() == []
        for user in ("bob", "ann"):
            store.add_turns([turn(user, "s", 1, 0)], [basis(0)])
            store.put_nodes([node(user, "n1")], [basis(1)])
            store.put_profile(user, "doc", expected_version=0)
            store.add_history([history(user, "f1", 1)])
            store.add_job(job(user, f"job-{user}", 0))
        store.put_profile("carol", "only a profile", expected_version=0)
        assert store.list_users() == ["ann", "bob", "carol"]

        def everything_of_bob() -> tuple[object, ...]:
            return (
                store.get_turns("bob"),
                store.list_sessions("bob"),
                store.get_nodes("bob"),
                store.get_node_vectors("bob", ["n1"]),
                store.get_profile("bob"),
                store.get_history("bob"),
                store.pending_jobs("bob"),
            )

        bob_before = everything_of_bob()
        store.forget_user("ann")
        assert store.list_users() == ["bob", "carol"]
        assert store.get_turns("ann") == []
        assert store.search_turns("ann", basis(0), k=5) == []
        assert store.list_sessions("ann") == []
        assert store.get_nodes("ann") == []
        assert store.get_node_vectors("ann", ["n1"]) == {}
        assert store.get_profile("ann") is None
        assert store.get_history("ann") == []
        assert store.pending_jobs("ann") == []
        assert [j.user_id for j in store.pending_jobs()] == ["bob"]
        bob_after = everything_of_bob()
        assert bob_after == bob_before
        assert len(bob_after[0]) == 1

        # A forgotten user can start again from nothing.
        store.add_turns([turn("ann", "s", 1, 0)], [basis(0)])
        assert store.list_users() == ["ann", "bob", "carol"]
        assert store.put_profile("ann", "fresh", expected_version=0) == 1

    def test_declared_capabilities_are_the_implemented_ones(self, store: MemoryStore) -> None:
        """Every declared capability's method is overridden and works; every capability the
        store overrides is declared (callers rely on ``capabilities``, never on catching)."""
        store.add_turns([turn("ann", "s", 1, 0)], [basis(0)])
        store.add_history([history("ann", "f1", 5), history("ann", "f2", 6)])

        def history_deleted() -> bool:
            store.delete_history("ann", ["f1"])
            return [h.fact_id for h in store.get_history("ann")] == ["f2"]

        works = {
            Capability.TURN_VECTORS: lambda: store.get_turn_vectors("ann").ids == ["s#1"],
            Capability.TURN_VERSIONS: lambda: sum((store.turn_versions("ann") or {}).values()) == 1,
            Capability.HISTORY_DELETE: history_deleted,
        }
        assert set(works) == set(Capability) == set(CAPABILITY_METHODS)
        for capability, method in CAPABILITY_METHODS.items():
            overridden = getattr(type(store), method) is not getattr(MemoryStore, method)
            assert (capability in store.capabilities) == overridden, capability
            if capability in store.capabilities:
                assert works[capability](), capability


# --- ChromaStore only ----------------------------------------------------------------------
def test_chroma_data_survives_reopening(tmp_path: Path) -> None:
    with ChromaStore.persistent(tmp_path) as first:
        first.add_turns([turn("ann", "s", 1, 0)], [basis(0)])
        first.put_profile("ann", "doc", expected_version=0)
    with ChromaStore.persistent(tmp_path) as second:
        assert second.get_turns("ann") == [turn("ann", "s", 1, 0)]
        assert second.put_profile("ann", "doc 2", expected_version=1) == 2
        assert second.list_users() == ["ann"]


def test_chroma_pages_and_chunks_large_reads_and_writes(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(chroma_access, "PAGE", 7)
    monkeypatch.setattr(chroma_access, "CHUNK", 4)
    nodes = [node("ann", f"n{i:02d}", 1, i) for i in range(23)]
    with ChromaStore.persistent(tmp_path) as store:
        store.put_nodes(nodes, [basis(i % DIM) for i in range(23)])
        store.put_nodes([node("bob", "x")], [basis(0)])
        assert store.get_nodes("ann") == nodes
        assert len(store.get_node_vectors("ann", [n.id for n in nodes])) == 23
        store.delete_nodes("ann", [n.id for n in nodes[:9]])
        assert store.get_nodes("ann") == nodes[9:]


def test_from_settings_picks_data_dir_or_server(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv(ENV_CHROMA_URL, raising=False)
    monkeypatch.setenv(ENV_HOME, str(tmp_path / "home"))
    with ChromaStore.from_settings() as store:
        assert "home/chroma" in repr(store)
    assert (tmp_path / "home" / "chroma").is_dir()
    with ChromaStore.from_settings(data_dir=tmp_path / "explicit") as store:
        store.put_profile("ann", "x", expected_version=0)
    assert (tmp_path / "explicit" / "chroma").is_dir()
    with pytest.raises(InvalidInputError):
        ChromaStore.from_settings(data_dir=tmp_path, server_url="http://127.0.0.1:8000")

    port = free_port()  # nothing listens there
    monkeypatch.setenv(ENV_CHROMA_URL, f"http://127.0.0.1:{port}")
    with pytest.raises(StoreError, match=f"127.0.0.1:{port}"):
        ChromaStore.from_settings()


def test_parse_server_url() -> None:
    assert parse_server_url("http://127.0.0.1:8000") == ("127.0.0.1", 8000, False)
    assert parse_server_url("https://chroma.example") == ("chroma.example", 443, True)
    assert parse_server_url("localhost:9000") == ("localhost", 9000, False)
    for bad in ("ftp://host:1", "http://", "http://host:notaport"):
        with pytest.raises(InvalidInputError):
            parse_server_url(bad)


def test_chroma_rejects_bad_prefixes_and_unusable_dirs(tmp_path: Path) -> None:
    for bad in ("", "_x", "a..b", "a b"):
        with pytest.raises(InvalidInputError):
            ChromaStore.persistent(tmp_path, prefix=bad)
    blocker = tmp_path / "file"
    blocker.write_text("not a directory")
    with pytest.raises(StoreError, match="data dir"):
        ChromaStore.persistent(blocker / "chroma")


def test_a_capability_is_declared_only_with_its_method() -> None:
    with pytest.raises(TypeError, match="turn_vectors"):

        class Boasting(MemoryStore):  # claims turn vectors, inherits the refusal
            capabilities = frozenset({Capability.TURN_VECTORS})

    class Modest(InMemoryStore):  # implements more than it declares: allowed, not used
        capabilities = frozenset({Capability.TURN_VERSIONS})

    assert Capability.TURN_VECTORS not in Modest().capabilities
    assert MemoryStore.capabilities == frozenset()
    with pytest.raises(NotImplementedError, match="TURN_VECTORS"):
        MemoryStore.get_turn_vectors(Modest(), "ann")
    assert MemoryStore.turn_versions(Modest(), "ann") is None
