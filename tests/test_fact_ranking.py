"""Profile facts in recall are picked by meaning when they do not all fit (fact_vectors.py)."""

from __future__ import annotations

from datetime import date

import numpy as np
import pytest

from memory_agent.backends.embeddings import HashingEmbedder
from memory_agent.backends.tokens import count_tokens
from memory_agent.core.config import MemoryConfig
from memory_agent.core.profile import Fact, ProfileDocument
from memory_agent.core.retrieval import assemble
from memory_agent.engine.fact_vectors import FactVectors, fact_text
from memory_agent.engine.manager import MemoryManager

from .fakes import ConceptEmbedder, TaskLLM, scripted_extraction

FILLER = [f"Enjoys hobby number {i} on weekends with friends" for i in range(30)]
PROFILE = "# Profile\n\n## Preferences\n" + "".join(f"- {t}\n" for t in FILLER) + (
    "- Never eats meat\n")
# "dinner" and "meat" mean the same thing to this embedder; no word is shared
CONCEPTS = {"dinner": "food", "cook": "food", "meat": "food", "eats": "food"}
QUESTION = "What should I cook tonight for dinner?"


def fact(i: int, text: str) -> Fact:
    return Fact(id=f"f{i}", section="Preferences", text=text, sources=("edit",),
                learned=date(2026, 1, 1))


def test_assemble_orders_facts_by_the_given_scores():
    facts = [fact(i, t) for i, t in enumerate(["Likes jazz", "Lives in Lyon", "Has a cat"])]
    doc = ProfileDocument(facts=facts)
    ctx = assemble(query="anything", budget=60, profile=doc, nodes=[], turns=[],
                   count=count_tokens, profile_share=0.4, node_share=0.2,
                   fact_scores={"f0": 0.1, "f1": 0.2, "f2": 0.9})
    assert [i.id for i in ctx.profile_items] == ["f2"]  # room for one: the best scored
    ctx = assemble(query="Where is Lyon?", budget=60, profile=doc, nodes=[], turns=[],
                   count=count_tokens, profile_share=0.4, node_share=0.2)
    assert [i.id for i in ctx.profile_items] == ["f1"]  # no scores: word overlap


def test_the_share_always_has_room_for_the_most_relevant_fact():
    long = fact(0, "Vegetarian: never eats meat, fish or anything cooked in animal fat")
    doc = ProfileDocument(facts=[long, fact(1, "Has a cat")])
    ctx = assemble(query="anything", budget=200, profile=doc, nodes=[], turns=[],
                   count=count_tokens, profile_share=0.05, node_share=0.2,
                   fact_scores={"f0": 0.9, "f1": 0.1})
    # 10 tokens of share would hold only the short, less relevant fact
    assert [i.id for i in ctx.profile_items] == ["f0"]


def test_fact_vectors_embed_each_text_once_and_forget_on_clear():
    embedder = ConceptEmbedder({})
    cache = FactVectors(embedder, max_entries=3)
    facts = [fact(i, f"fact {i}") for i in range(3)]
    q = np.asarray(embedder.embed_query("fact 1"), dtype=np.float32)
    sims = cache.similarities(q, facts)
    assert max(sims, key=lambda k: sims[k]) == "f1"
    cache.similarities(q, facts)
    assert embedder.documents_embedded == ["fact 0", "fact 1", "fact 2"]  # one batch, once
    cache.similarities(q, [fact(3, "fact 3")])
    assert len(cache) == 3  # least recently used dropped
    cache.clear()
    assert len(cache) == 0
    with pytest.raises(ValueError):
        FactVectors(embedder, max_entries=0)


def test_inferred_facts_are_embedded_with_their_evidence():
    f = Fact(id="f1", section="Preferences", text="Diet: vegetarian", sources=("s#1",),
             learned=date(2026, 1, 1), inferred=True, evidence="asked for meat-free recipes")
    assert fact_text(f) == "Diet: vegetarian (asked for meat-free recipes)"


@pytest.fixture
def with_profile(make_manager):
    """A manager (fake LLM, in-memory store) whose profile is PROFILE."""
    def factory(embedder, config: MemoryConfig | None = None) -> MemoryManager:
        memory = make_manager("una", embedder=embedder, config=config)
        memory.edit_profile(PROFILE)
        return memory
    return factory


@pytest.mark.parametrize("by_meaning", [True, False])
def test_recall_picks_the_fact_that_means_what_the_question_asks(by_meaning, with_profile):
    embedder = ConceptEmbedder(CONCEPTS)
    memory = with_profile(embedder, MemoryConfig(rank_facts_by_meaning=by_meaning))
    prompt = memory.recall(QUESTION, token_budget=150).to_prompt()
    assert count_tokens(prompt) <= 150
    assert ("Never eats meat" in prompt) is by_meaning
    if by_meaning:  # the fact texts were embedded once, not at every recall
        n = len(embedder.documents_embedded)
        memory.recall(QUESTION, token_budget=150)
        assert len(embedder.documents_embedded) == n


def test_forget_clears_the_fact_vectors(with_profile):
    memory = with_profile(ConceptEmbedder(CONCEPTS))
    memory.recall(QUESTION, token_budget=150)
    assert len(memory.indexes.fact_vectors) > 0
    memory.forget()
    assert len(memory.indexes.fact_vectors) == 0


def test_hashing_embedder_still_ranks_by_shared_words(with_profile):
    memory = with_profile(HashingEmbedder())
    prompt = memory.recall("Does the user ever eat meat?", token_budget=150).to_prompt()
    assert "Never eats meat" in prompt


def test_the_profile_update_embeds_new_facts_ahead_of_recall(make_manager):
    embedder = ConceptEmbedder(CONCEPTS)
    llm = TaskLLM([scripted_extraction({"diet": "vegetarian", "location": "Lyon"})])
    memory = make_manager("una", llm=llm, embedder=embedder)
    memory.record("I live in Lyon and never eat meat.", "Noted.", session_id="s1")
    memory.end_session("s1")
    texts = {fact_text(f) for f in memory.profile().facts}
    assert texts and texts <= set(embedder.documents_embedded)
    before = len(embedder.documents_embedded)
    memory.recall("dinner ideas?", token_budget=200)
    assert len(embedder.documents_embedded) == before  # nothing left to embed
