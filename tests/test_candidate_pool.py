"""Recall's one candidate pool (core/pool.py, engine/search.py) on a real MemoryManager with
fakes: words find what meaning misses, summaries of every level compete with turns, the
tree's prior lifts a matching session's turns, and the trace shows each term."""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from datetime import datetime, timedelta, timezone

import numpy as np

from memory_agent import InMemoryStore, MemoryConfig, MemoryManager
from memory_agent.core.embedder import Embedder
from memory_agent.core.prompts import NOTHING_MATCHED

from .fakes import TaskLLM

T0 = datetime(2025, 3, 1, 9, 0, tzinfo=timezone.utc)
TOPICS = ["garden", "piano", "taxes", "dentist", "weather", "train"]


class NoMeaningEmbedder(Embedder):
    """Vectors fixed by each text's hash: similarity says nothing, only words can match."""

    dim = 32
    name = "no-meaning"

    def _vector(self, text: str) -> list[float]:
        seed = int.from_bytes(hashlib.blake2b(text.encode(), digest_size=8).digest(), "little")
        v = np.random.default_rng(seed).normal(size=self.dim)
        return (v / np.linalg.norm(v)).tolist()

    def embed_documents(self, texts: Sequence[str]) -> list[list[float]]:
        return [self._vector(t) for t in texts]

    def embed_query(self, text: str) -> list[float]:
        return self._vector(text)


def memory_with_history(config: MemoryConfig) -> MemoryManager:
    memory = MemoryManager(user_id="ann", store=InMemoryStore(), llm=TaskLLM(),
                           embedder=NoMeaningEmbedder(), background=False, config=config)
    for s, topic in enumerate(TOPICS):
        for i in range(4):
            user = f"Some news about my {topic}, part {i}."
            if (s, i) == (3, 2):
                user = "My neighbour finally fixed the zeppelin model on the roof."
            memory.record(user, "Noted.", session_id=f"s{s}",
                          at=T0 + timedelta(days=s * 10, minutes=i))
        memory.end_session(f"s{s}")
    return memory


def test_words_find_a_turn_that_meaning_misses() -> None:
    memory = memory_with_history(MemoryConfig(fanout=2, period="none"))
    ctx = memory.recall("the zeppelin on the roof", token_budget=300)
    assert "s3#3" in [t.id for t in ctx.turns]
    without = memory_with_history(MemoryConfig(fanout=2, period="none", lexical_candidates=0,
                                               node_weight=0, session_weight=0,
                                               expand_sessions=0))
    ctx = without.recall("the zeppelin on the roof", token_budget=300)
    assert "s3#3" not in [t.id for t in ctx.turns]  # random meaning alone does not find it


def test_summaries_of_every_level_compete_with_turns_in_one_pool() -> None:
    memory = memory_with_history(MemoryConfig(fanout=2, period="none", node_share=0.6,
                                              node_weight=3.0))
    trace = memory.recall_trace("piano garden taxes", token_budget=600)
    nodes = [i for i in trace.items if i.kind == "node"]
    levels = {memory.tree().get(i.id).level for i in nodes}
    assert levels >= {1, 2}  # sessions and the nodes above them are candidates
    chosen = [i for i in nodes if i.chosen]
    assert any(i.parts.lexical > 0 for i in chosen)  # a summary holding the words got in
    turns = {i.id: i for i in trace.items if i.kind == "turn"}
    # a turn of a matching session carries the session's score as its prior
    # (every session has some score by meaning; s1 also matches by words, s4 does not)
    others = [t for t in turns if t.startswith("s4#")]
    assert others and all(turns["s1#1"].parts.prior > turns[t].parts.prior for t in others)


def test_the_tree_prior_brings_a_matching_sessions_turns() -> None:
    config = MemoryConfig(fanout=2, period="none", turn_candidates=0, lexical_candidates=0)
    memory = memory_with_history(config)  # no flat candidates: only the sessions bring turns
    ctx = memory.recall("dentist", token_budget=400)
    best = sorted(ctx.turns, key=lambda t: -t.score)[:2]
    assert [t.id.split("#")[0] for t in best] == ["s3", "s3"]


def test_the_context_says_when_nothing_stored_matches_the_question() -> None:
    memory = memory_with_history(MemoryConfig(fanout=2, period="none"))
    unmatched = memory.recall("What colour is my bicycle?", token_budget=400)
    assert NOTHING_MATCHED in unmatched.to_prompt()
    assert memory.count_tokens(unmatched.to_prompt()) <= 400
    matched = memory.recall("How is my piano going?", token_budget=400)
    assert NOTHING_MATCHED not in matched.to_prompt()
