"""``MemoryRetriever``: memory-agent's recall as a LangChain ``BaseRetriever``.

Returns ``Document``s for profile facts, summary-tree nodes and raw turns, in that order
(facts most relevant first, then nodes and turns by score), with ids, times and provenance
in ``metadata``::

    retriever = MemoryRetriever(manager=manager, k=4)
    docs = retriever.invoke("what does the user eat?")
    docs[0].metadata  # {"kind": "profile", "id": "f3", "section": ..., "sources": [...], ...}
"""

from __future__ import annotations

from typing import Any, Literal

from langchain_core.callbacks import CallbackManagerForRetrieverRun
from langchain_core.documents import Document
from langchain_core.retrievers import BaseRetriever
from memory_agent import Fact, MemoryContext, MemoryItem, MemoryManager
from pydantic import ConfigDict, Field

Kind = Literal["profile", "node", "turn"]


def _iso(value: Any) -> str | None:
    return value.isoformat() if value is not None else None


def fact_document(item: MemoryItem, user_id: str, fact: Fact | None = None) -> Document:
    """A recalled profile fact (``MemoryContext.profile_items``) as a Document; ``fact``,
    the same fact in the current profile, adds its section, sources and confidence."""
    metadata: dict[str, Any] = {
        "kind": "profile", "id": item.id, "user_id": user_id,
        "learned": item.start.date().isoformat() if item.start is not None else None,
        "start": _iso(item.start), "end": _iso(item.end), "provenance": item.provenance,
        "score": item.score,
    }
    if fact is not None and fact.id == item.id:
        metadata.update(
            section=fact.section, sources=list(fact.sources), inferred=fact.inferred,
            evidence=fact.evidence, confidence=fact.confidence,
            supersedes=list(fact.supersedes), slot=fact.slot,
        )
    return Document(id=f"profile:{item.id}", page_content=item.text, metadata=metadata)


def item_document(item: MemoryItem, user_id: str) -> Document:
    metadata: dict[str, Any] = {
        "kind": item.kind, "id": item.id, "user_id": user_id, "start": _iso(item.start),
        "end": _iso(item.end), "provenance": item.provenance, "score": item.score,
    }
    if item.kind == "turn":
        session_id, _, index = item.id.rpartition("#")
        metadata.update(session_id=session_id, turn=int(index) if index.isdigit() else None)
    return Document(id=f"{item.kind}:{item.id}", page_content=item.text, metadata=metadata)


def context_documents(context: MemoryContext, manager: MemoryManager,
                      kinds: tuple[Kind, ...] = ("profile", "node", "turn")) -> list[Document]:
    """The documents of a recalled context: its profile facts (in recall order, with
    details from the current profile), then nodes and turns by score."""
    docs: list[Document] = []
    if "profile" in kinds and context.profile_items:
        facts = manager.profile().by_id()
        docs += [fact_document(item, manager.user_id, facts.get(item.id))
                 for item in context.profile_items]
    items = [i for i in context.items if i.kind in kinds]
    items.sort(key=lambda i: i.score, reverse=True)
    docs += [item_document(i, manager.user_id) for i in items]
    return docs


class MemoryRetriever(BaseRetriever):
    """Retrieve from one user's memory. ``k`` caps the documents (also per call:
    ``invoke(query, k=2)``); ``token_budget`` is the recall budget the documents come
    from; ``kinds`` picks profile facts, tree nodes and/or turns."""

    model_config = ConfigDict(arbitrary_types_allowed=True)

    manager: MemoryManager
    k: int = Field(default=4, ge=1)
    token_budget: int = Field(default=4000, ge=0)
    kinds: tuple[Kind, ...] = ("profile", "node", "turn")

    def _get_relevant_documents(
        self, query: str, *, run_manager: CallbackManagerForRetrieverRun, **kwargs: Any
    ) -> list[Document]:
        k = int(kwargs.get("k", self.k))
        context = self.manager.recall(query, token_budget=self.token_budget)
        return context_documents(context, self.manager, self.kinds)[:k]
