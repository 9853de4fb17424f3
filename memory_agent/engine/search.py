"""Searching a user's memory for a query: tree descent, turn search, budget filling (I/O glue).

Scoring and budgeting are pure (``tree.py``, ``retrieval.py``); this module wires them to the
turn index (``turn_index.py``) and the embedder. ``MemoryManager.recall`` calls
:func:`search_memory`.
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass

import numpy as np

from memory_agent.core.config import MemoryConfig
from memory_agent.core.context import MemoryContext, MemoryItem
from memory_agent.core.embedder import Embedder
from memory_agent.core.profile import STANDING, ProfileDocument
from memory_agent.core.retrieval import assemble, fact_item, node_item, turn_item
from memory_agent.core.text import overlap
from memory_agent.core.tokens import TokenCounter, Truncator
from memory_agent.core.trace import RecallTrace, ScoreParts, build_trace
from memory_agent.engine.fact_vectors import FactVectors
from memory_agent.engine.tree_index import TreeIndex
from memory_agent.engine.turn_index import Hit, TurnSearch

Scored = list[tuple[MemoryItem, ScoreParts]]


@dataclass(frozen=True)
class SearchInputs:
    """What a search needs besides the query: backends, settings and the user's state."""

    turns: TurnSearch  # the user's turns: similarity search and texts
    embedder: Embedder
    config: MemoryConfig
    count_tokens: TokenCounter
    truncate_tokens: Truncator  # cuts a turn's text to ``config.max_item_tokens``
    index: TreeIndex
    session_ids: Collection[str]  # every session of the user with recorded turns
    profile: ProfileDocument
    facts: FactVectors | None = None  # ranks profile facts by meaning; None: by word overlap


def search_memory(inputs: SearchInputs, query: str, budget: int) -> MemoryContext:
    """The profile plus the most relevant tree nodes and turns for ``query``, within ``budget``.

    The tree is searched level by level from the root (best ``beam_width`` branches per
    level, ``session_beam`` sessions); then the turns of the chosen sessions, and of sessions
    not summarised yet, are searched and scored (cosine + lexical overlap). Profile facts
    are scored the same way when ``inputs.facts`` is given.
    """
    nodes, turns, facts = _candidates(inputs, query)
    return _assemble(inputs, query, budget, nodes, turns, facts, None)


def trace_memory(inputs: SearchInputs, query: str, budget: int) -> RecallTrace:
    """:func:`search_memory` with the reasons: every candidate's score parts and, for those
    left out, why the budget cut them. The context is the one ``search_memory`` returns."""
    nodes, turns, facts = _candidates(inputs, query)
    cuts: dict[str, str] = {}
    ctx = _assemble(inputs, query, budget, nodes, turns, facts, cuts)
    standing = [(f.id, f.text) for f in inputs.profile.facts if f.section == STANDING]
    ids = {fid for fid, _ in standing}  # always in first, never ranked with the facts
    ranked = [(item, parts) for item, parts in facts if item.id not in ids]
    return build_trace(ctx, candidates=[*ranked, *nodes, *turns], standing=standing,
                       cuts=cuts, count=inputs.count_tokens)


def _assemble(inputs: SearchInputs, query: str, budget: int, nodes: Scored, turns: Scored,
              facts: Scored, cuts: dict[str, str] | None) -> MemoryContext:
    cfg = inputs.config
    fact_scores = None
    if inputs.facts is not None:  # else assemble ranks facts by word overlap itself
        fact_scores = {item.id: parts.total for item, parts in facts}
    return assemble(
        query=query, budget=budget, profile=inputs.profile, nodes=[n for n, _ in nodes],
        turns=[t for t, _ in turns], count=inputs.count_tokens,
        profile_share=cfg.profile_share, node_share=cfg.node_share,
        fact_scores=fact_scores, cuts=cuts,
    )


def _candidates(inputs: SearchInputs, query: str) -> tuple[Scored, Scored, Scored]:
    """Scored candidates: session nodes of the descent, turns, and profile facts."""
    cfg = inputs.config
    qvec = np.asarray(inputs.embedder.embed_query(query), dtype=np.float32)
    tree = inputs.index.tree
    weight = cfg.lexical_weight
    descent = inputs.index.descend(
        qvec, lambda n: weight * overlap(query, n.summary),
        beam=cfg.beam_width, session_beam=cfg.session_beam,
    )
    chosen = [s.node.session_id for s in descent.sessions if s.node.session_id]
    summarized = inputs.index.summarized
    unsummarized = [sid for sid in inputs.session_ids if sid not in summarized]
    session_filter: list[str] | None = [*chosen, *unsummarized] if len(tree) else None
    found: list[Hit] = []
    if cfg.turn_candidates and (session_filter is None or session_filter):
        found = inputs.turns.search(qvec, k=cfg.turn_candidates, session_ids=session_filter)
    if cfg.global_candidates and session_filter is not None:
        seen = {tid for tid, _ in found}
        extra = inputs.turns.search(qvec, k=cfg.global_candidates)
        found += [(tid, sim) for tid, sim in extra if tid not in seen]
    texts = inputs.turns.fetch([tid for tid, _ in found])  # only the candidates' texts
    hits = [(texts[tid], sim) for tid, sim in found if tid in texts]
    session_score = {s.node.session_id: s.score for s in descent.visited if s.node.level == 1}
    turns: Scored = []
    for t, sim in hits:
        parts = ScoreParts(
            dense=sim, lexical=weight * overlap(query, t.user_message + " " + t.assistant_message),
            prior=cfg.session_weight * session_score.get(t.session_id, 0.0))
        score = parts.dense + parts.lexical + parts.prior  # in recall's order of addition
        turns.append((turn_item(t, score, max_tokens=cfg.max_item_tokens,
                                count=inputs.count_tokens, truncate=inputs.truncate_tokens),
                      parts))
    nodes: Scored = []
    for s in descent.sessions:
        lexical = weight * overlap(query, s.node.summary)
        nodes.append((node_item(s.node, s.score), ScoreParts(dense=s.score - lexical,
                                                             lexical=lexical)))
    facts: Scored = []
    if inputs.facts is not None:
        sims = inputs.facts.similarities(qvec, inputs.profile.facts)
        for f in inputs.profile.facts:
            parts = ScoreParts(dense=sims[f.id], lexical=weight * overlap(query, f.text))
            facts.append((fact_item(f), parts))
    else:  # ranked by word overlap alone (see assemble)
        facts = [(fact_item(f), ScoreParts(lexical=overlap(query, f.text)))
                 for f in inputs.profile.facts if f.section != STANDING]
    return nodes, turns, facts
