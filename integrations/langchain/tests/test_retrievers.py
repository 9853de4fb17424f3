"""MemoryRetriever: langchain-tests' standard retriever suite plus metadata checks."""

from __future__ import annotations

from datetime import datetime, timezone

from langchain_core.documents import Document
from langchain_tests.integration_tests import RetrieversIntegrationTests
from memory_agent import FakeLLM, HashingEmbedder, InMemoryStore, MemoryManager

from langchain_memory_agent.retrievers import MemoryRetriever


def filled_manager() -> MemoryManager:
    import conftest

    manager = MemoryManager(user_id="alice", store=InMemoryStore(),
                            llm=FakeLLM(responder=conftest.fact_responder),
                            embedder=HashingEmbedder(), background=False)
    at = datetime(2026, 3, 1, 12, tzinfo=timezone.utc)
    manager.record("I'm vegetarian and I cook dinner every night", "Great!", session_id="d1", at=at)
    manager.record("My sister lives in Lyon", "Nice.", session_id="d1", at=at)
    manager.end_session("d1")
    manager.record("Any dinner recipe without meat?", "Try a lentil curry.", session_id="d2",
                   at=at)
    manager.record("And a dessert for dinner?", "Poached pears.", session_id="d2", at=at)
    return manager


class TestMemoryRetrieverStandard(RetrieversIntegrationTests):
    @property
    def retriever_constructor(self) -> type[MemoryRetriever]:
        return MemoryRetriever

    @property
    def retriever_constructor_params(self) -> dict[str, object]:
        return {"manager": filled_manager()}

    @property
    def retriever_query_example(self) -> str:
        return "what should I cook for dinner?"


def test_documents_carry_ids_times_and_provenance() -> None:
    docs = MemoryRetriever(manager=filled_manager(), k=10).invoke("dinner vegetarian")
    assert all(isinstance(d, Document) for d in docs)
    kinds = [d.metadata["kind"] for d in docs]
    assert kinds[0] == "profile" and "node" in kinds and "turn" in kinds
    fact = next(d for d in docs if d.page_content == "Diet: vegetarian")
    assert fact.id.startswith("profile:f") and fact.metadata["kind"] == "profile"
    assert fact.metadata["sources"] == ["d1#1"] and fact.metadata["learned"]
    node = next(d for d in docs if d.metadata["kind"] == "node"
                and d.metadata["provenance"].startswith("session "))  # periods rank beside it
    assert node.metadata["start"].startswith("2026-03-01") and "d1" in node.metadata["provenance"]
    turn = next(d for d in docs if d.metadata["kind"] == "turn")
    assert turn.id == f"turn:{turn.metadata['id']}"
    assert turn.metadata["session_id"] in {"d1", "d2"} and turn.metadata["turn"] >= 1
    assert turn.metadata["user_id"] == "alice"


def test_kinds_filter() -> None:
    docs = MemoryRetriever(manager=filled_manager(), k=10, kinds=("turn",)).invoke("dinner")
    assert docs and {d.metadata["kind"] for d in docs} == {"turn"}


def test_profile_documents_follow_the_recalled_profile_items() -> None:
    manager = filled_manager()
    context = manager.recall("dinner vegetarian", token_budget=4000)
    docs = MemoryRetriever(manager=manager, k=50, kinds=("profile",)).invoke("dinner vegetarian")
    assert context.profile_items, "the fake model should have produced a profile fact"
    assert [d.id for d in docs] == [f"profile:{i.id}" for i in context.profile_items]
    assert [d.page_content for d in docs] == [i.text for i in context.profile_items]
    assert all(d.metadata["provenance"] == i.provenance
               for d, i in zip(docs, context.profile_items, strict=True))
