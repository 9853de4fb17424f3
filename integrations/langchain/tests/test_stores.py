"""MemoryAgentStore: LangGraph BaseStore expectations (ported from langgraph's store tests:
put/get/search/delete/list_namespaces/batch/async), on an embedded Chroma per test."""

from __future__ import annotations

from pathlib import Path

import pytest
from langgraph.store.base import GetOp, ListNamespacesOp, MatchCondition, PutOp, SearchOp
from memory_agent import HashingEmbedder

from langchain_memory_agent.stores import MemoryAgentStore


@pytest.fixture
def store(tmp_path: Path) -> MemoryAgentStore:
    return MemoryAgentStore.persistent(tmp_path / "chroma", embedder=HashingEmbedder())


def test_put_get_update_delete(store: MemoryAgentStore) -> None:
    ns = ("users", "alice", "memories")
    assert store.get(ns, "k1") is None
    store.put(ns, "k1", {"text": "likes tofu", "n": 1})
    item = store.get(ns, "k1")
    assert item is not None and item.value == {"text": "likes tofu", "n": 1}
    assert item.namespace == ns and item.key == "k1"
    created = item.created_at
    store.put(ns, "k1", {"text": "likes tempeh", "n": 2})
    updated = store.get(ns, "k1")
    assert updated is not None and updated.value["n"] == 2
    assert updated.created_at == created and updated.updated_at >= created
    store.delete(ns, "k1")
    assert store.get(ns, "k1") is None
    assert store.search(ns) == []


def test_namespaces_are_separate(store: MemoryAgentStore) -> None:
    store.put(("a",), "k", {"v": 1})
    store.put(("a", "b"), "k", {"v": 2})
    store.put(("b",), "k", {"v": 3})
    assert store.get(("a",), "k").value == {"v": 1}  # type: ignore[union-attr]
    assert store.get(("a", "b"), "k").value == {"v": 2}  # type: ignore[union-attr]
    assert {i.value["v"] for i in store.search(("a",))} == {1, 2}
    assert {i.value["v"] for i in store.search(())} == {1, 2, 3}
    assert [i.value["v"] for i in store.search(("a", "b"))] == [2]


def test_search_filters_limit_offset(store: MemoryAgentStore) -> None:
    ns = ("docs",)
    for i in range(6):
        store.put(ns, f"d{i}", {"i": i, "color": "red" if i % 2 else "blue",
                                "meta": {"tag": "x" if i < 3 else "y"}})
    assert sorted(i.value["i"] for i in store.search(ns, filter={"color": "red"})) == [1, 3, 5]
    assert sorted(i.value["i"] for i in store.search(ns, filter={"i": {"$gte": 4}})) == [4, 5]
    assert sorted(i.value["i"] for i in store.search(ns, filter={"i": {"$ne": 0},
                                                                 "meta": {"tag": "x"}})) \
        == [1, 2]
    assert len(store.search(ns, limit=2)) == 2
    page1 = [i.key for i in store.search(ns, limit=3)]
    page2 = [i.key for i in store.search(ns, limit=3, offset=3)]
    assert len(set(page1 + page2)) == 6


def test_semantic_search_ranks_by_similarity(store: MemoryAgentStore) -> None:
    ns = ("users", "alice")
    store.put(ns, "food", {"text": "vegetarian, loves tofu curry"})
    store.put(ns, "work", {"text": "software engineer in Oslo"})
    store.put(ns, "raw", {"text": "tofu tofu"}, index=False)  # not indexed: ranked last
    results = store.search(ns, query="tofu curry")
    assert results[0].key == "food"
    assert results[0].score is not None and results[0].score > (results[1].score or -1)
    assert results[-1].key == "raw" and results[-1].score is None


def test_index_fields(tmp_path: Path) -> None:
    store = MemoryAgentStore.persistent(tmp_path / "c", embedder=HashingEmbedder(),
                                        fields=["title"])
    store.put(("n",), "a", {"title": "garden roses", "body": "engine oil"})
    store.put(("n",), "b", {"title": "engine oil", "body": "garden roses"})
    assert store.search(("n",), query="garden roses")[0].key == "a"


def test_list_namespaces(store: MemoryAgentStore) -> None:
    for ns in [("a", "b", "c"), ("a", "b", "d"), ("a", "x"), ("users", "1", "mem"),
               ("users", "2", "mem")]:
        store.put(ns, "k", {"v": 1})
    assert store.list_namespaces() == [("a", "b", "c"), ("a", "b", "d"), ("a", "x"),
                                       ("users", "1", "mem"), ("users", "2", "mem")]
    assert store.list_namespaces(prefix=("a",)) == [("a", "b", "c"), ("a", "b", "d"),
                                                    ("a", "x")]
    assert store.list_namespaces(suffix=("mem",)) == [("users", "1", "mem"),
                                                      ("users", "2", "mem")]
    assert store.list_namespaces(prefix=("users", "*", "mem")) == [("users", "1", "mem"),
                                                                   ("users", "2", "mem")]
    assert store.list_namespaces(max_depth=2) == [("a", "b"), ("a", "x"), ("users", "1"),
                                                  ("users", "2")]
    assert store.list_namespaces(limit=2, offset=1) == [("a", "b", "d"), ("a", "x")]
    ops = [ListNamespacesOp(match_conditions=(MatchCondition("prefix", ("a", "b")),))]
    assert store.batch(ops) == [[("a", "b", "c"), ("a", "b", "d")]]


def test_batch_mixed_ops_in_order(store: MemoryAgentStore) -> None:
    results = store.batch([
        PutOp(("t",), "k1", {"v": 1}),
        GetOp(("t",), "k1"),
        PutOp(("t",), "k2", {"v": 2}),
        SearchOp(("t",), filter={"v": 2}),
        PutOp(("t",), "k1", None),
        GetOp(("t",), "k1"),
    ])
    assert results[0] is None and results[1].value == {"v": 1}  # type: ignore[union-attr]
    assert [i.key for i in results[3]] == ["k2"]  # type: ignore[union-attr]
    assert results[5] is None


async def test_async_api(store: MemoryAgentStore) -> None:
    await store.aput(("u",), "k", {"text": "hello world"})
    item = await store.aget(("u",), "k")
    assert item is not None and item.value == {"text": "hello world"}
    assert [i.key for i in await store.asearch(("u",), query="hello")] == ["k"]
    assert await store.alist_namespaces() == [("u",)]
    await store.adelete(("u",), "k")
    assert await store.aget(("u",), "k") is None


def test_persists_across_instances(tmp_path: Path) -> None:
    MemoryAgentStore.persistent(tmp_path / "p", embedder=HashingEmbedder()).put(
        ("u",), "k", {"v": 1})
    again = MemoryAgentStore.persistent(tmp_path / "p", embedder=HashingEmbedder())
    assert again.get(("u",), "k").value == {"v": 1}  # type: ignore[union-attr]


def test_ttl_and_bad_prefix_rejected(store: MemoryAgentStore, tmp_path: Path) -> None:
    with pytest.raises(NotImplementedError):
        store.put(("u",), "k", {"v": 1}, ttl=5)
    with pytest.raises(ValueError, match="lg_store"):
        MemoryAgentStore(object(), collection_prefix="memory")


def test_works_as_an_agent_store(store: MemoryAgentStore) -> None:
    from langchain.agents import create_agent
    from langchain_core.language_models.fake_chat_models import GenericFakeChatModel
    from langgraph.config import get_store

    seen = []

    from langchain.agents.middleware import before_model

    @before_model
    def peek(state, runtime):  # type: ignore[no-untyped-def]
        seen.append(get_store().get(("prefs",), "alice"))

    store.put(("prefs",), "alice", {"lang": "fr"})
    agent = create_agent(GenericFakeChatModel(messages=iter(["ok"])), middleware=[peek],
                         store=store)
    agent.invoke({"messages": [("user", "hi")]})
    assert seen[0].value == {"lang": "fr"}
