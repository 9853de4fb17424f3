"""End to end on the real stack: the default local model, real embedded Chroma, E5 embeddings.

Slow (a few model calls on 2 cores): marked ``real``.
"""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest

from memory_agent import ChromaStore, E5Embedder, LlamaCppLLM, MemoryManager
from memory_agent.backends.tokens import count_tokens

pytestmark = pytest.mark.real
T0 = datetime(2026, 4, 6, 18, 0, tzinfo=timezone.utc)


@pytest.fixture(scope="module")
def llm():
    model = LlamaCppLLM()
    yield model
    model.close()


@pytest.fixture(scope="module")
def chroma_path(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("chroma")


@pytest.fixture(scope="module")
def memory(chroma_path: Path, llm):
    path = chroma_path
    manager = MemoryManager(user_id="erin", store=ChromaStore.persistent(path), llm=llm,
                            embedder=E5Embedder(), background=True)
    manager.record("Hi! I just moved to Lyon for a new job.", "Welcome to Lyon!",
                   session_id="week-1", at=T0)
    manager.record("I work as a nurse at the city hospital, mostly night shifts.",
                   "That sounds demanding. How can I help?", session_id="week-1",
                   at=T0 + timedelta(minutes=2))
    manager.record("Can you suggest a dinner without meat? I never eat meat.",
                   "A lentil and spinach curry is quick and filling.", session_id="week-1",
                   at=T0 + timedelta(minutes=4))
    manager.end_session("week-1")
    manager.record("My daughter Maya turns 7 next Saturday. Party ideas?",
                   "A garden treasure hunt is a hit at that age.", session_id="week-2",
                   at=T0 + timedelta(days=7))
    manager.record("Please keep answers short, I read them on my phone.",
                   "Will do.", session_id="week-2", at=T0 + timedelta(days=7, minutes=1))
    manager.end_session("week-2")
    assert manager.flush(timeout=1200) == []
    yield manager
    manager.close()


def fact_mentioning(memory, word):
    return [f for f in memory.profile().facts if word.lower() in f.text.lower()]


def test_profile_holds_the_right_facts_with_valid_provenance(memory):
    turns = {t.id: t for t in memory.store.get_turns("erin")}
    doc = memory.profile()
    assert doc.facts, memory.profile_markdown()
    for fact in doc.facts:  # every cited turn exists and is a user's own message
        for source in fact.sources:
            assert source in turns, (fact, source)
        assert fact.learned in {T0.date(), (T0 + timedelta(days=7)).date()}
    lyon = fact_mentioning(memory, "Lyon")
    assert lyon and all(s == "week-1#1" for s in lyon[0].sources), memory.profile_markdown()
    nurse = fact_mentioning(memory, "nurse")
    assert nurse and "week-1#2" in nurse[0].sources, memory.profile_markdown()
    assert count_tokens(memory.profile_markdown()) <= memory.config.profile_token_budget


def test_tree_is_sound_and_summaries_mention_the_sessions(memory):
    tree = memory.tree()
    assert tree.verify() == [] and not tree.stale_nodes()
    assert len(tree.level(1)) == 2
    week1 = tree.session_node("week-1")
    assert week1 is not None and "lyon" in week1.summary.lower()


def test_recall_returns_the_facts_within_budget(memory):
    context = memory.recall("Which city do I live in and what is my job?", token_budget=500)
    prompt = context.to_prompt()
    assert "Lyon" in prompt and "nurse" in prompt.lower()
    assert count_tokens(prompt) <= 500
    context = memory.recall("How old will my daughter be?", token_budget=400)
    assert "Maya" in context.to_prompt()
    assert any(t.id == "week-2#1" for t in context.turns)


def test_memory_survives_reopening_the_store(memory, llm, chroma_path):
    store = ChromaStore.persistent(chroma_path)  # a new client on the same directory
    reopened = MemoryManager(user_id="erin", store=store, llm=llm, embedder=E5Embedder(),
                             background=False)
    assert reopened.profile() == memory.profile()
    assert reopened.tree().verify() == []
    assert [s.session_id for s in reopened.sessions()] == ["week-1", "week-2"]


def test_recall_picks_profile_facts_by_meaning(llm, chroma_path):
    """A full profile does not fit a small budget: E5 picks the fact the question is about,
    though it shares no word with it. (E5-small's margin is thin: adding "on Saturday" to the
    question lets the day-of-week facts outrank the diet.)"""
    fillers = [
        "Plays the violin in a community orchestra", "Supports Olympique Lyonnais",
        "Has a cat called Miso", "Prefers trains to planes", "Works from home on Fridays",
        "Reads science fiction", "Is learning Japanese", "Goes bouldering on Tuesdays",
        "Drives an old Peugeot", "Likes jazz records", "Collects fountain pens",
        "Grows tomatoes on the balcony",
    ]
    profile = "# Profile\n\n## Preferences\n" + "".join(f"- {t}\n" for t in fillers)
    profile += "- Vegetarian: never eats meat or fish\n"
    memory = MemoryManager(user_id="ranking", store=ChromaStore.persistent(chroma_path),
                           llm=llm, embedder=E5Embedder(), background=False)
    try:
        memory.edit_profile(profile)
        context = memory.recall("Suggest a recipe for dinner tonight",
                                token_budget=120)
        assert "Vegetarian" in context.to_prompt()
        assert len(context.profile_items) < len(fillers)  # the budget forced a choice
        assert count_tokens(context.to_prompt()) <= 120
    finally:
        memory.close()


def test_a_listed_like_becomes_one_fact_per_item(llm, chroma_path):
    memory = MemoryManager(user_id="lists", store=ChromaStore.persistent(chroma_path), llm=llm,
                           embedder=E5Embedder(), background=False)
    try:
        memory.record("In my free time I love tiramisu, jazz records and gardening.",
                      "Nice mix!", session_id="s1", at=T0)
        memory.end_session("s1")
        facts = [f for f in memory.profile().facts if f.slot in {"likes", "hobbies"}]
        found = {w for w in ("tiramisu", "jazz", "garden")
                 if any(w in f.text.lower() for f in facts)}
        assert len(found) >= 2, memory.profile_markdown()
        for fact in facts:  # each fact names one of them at most
            assert sum(w in fact.text.lower() for w in ("tiramisu", "jazz", "garden")) <= 1, (
                memory.profile_markdown())
    finally:
        memory.close()


def test_first_person_statements_join_the_model_facts(llm, chroma_path):
    """A session of plain self-statements on the real model and Chroma: what the model's
    fields miss is kept in the user's words, every such fact quotes a message of the user
    and cites it, and none repeats a field fact of the same session."""
    from memory_agent.core.profile import STATEMENT_SLOT
    from memory_agent.core.statements import self_statements

    messages = ["Haha yes. My Mazda Protege is blueish grey, I bought it used last spring.",
                "I dyed half my hair red for the Rebels and half blue for the Empire.",
                "I ride horses competitively on weekends, it keeps me busy."]
    memory = MemoryManager(user_id="says", store=ChromaStore.persistent(chroma_path), llm=llm,
                           embedder=E5Embedder(), background=False)
    try:
        for i, message in enumerate(messages):
            memory.record(message, "Nice!", session_id="s1", at=T0 + timedelta(minutes=i))
        memory.end_session("s1")
        doc = memory.profile()
        said = [f for f in doc.facts if f.slot == STATEMENT_SLOT]
        assert said, doc.render()
        for fact in said:
            index = int(fact.sources[0].split("#")[1])
            assert fact.sources[0].startswith("s1#") and fact.section == "About"
            assert fact.text in self_statements(messages[index - 1]), doc.render()
        text = doc.render().lower()
        assert "mazda" in text and "horse" in text, doc.render()
    finally:
        memory.close()


def test_the_profile_form_reads_the_transcript_from_the_prompt_cache(memory, llm):
    """One pass over each transcript: the form's prompt starts like the summary's, so
    llama.cpp evaluates only its task (prompts.SESSION_SYSTEM)."""
    assert llm.stats.calls >= 4
    assert llm.stats.cached_tokens >= 2 * 100, llm.stats  # two sessions' transcripts
