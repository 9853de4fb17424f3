"""Searching a user's memory for a query: one candidate pool, budget filling (I/O glue).

Scoring and budgeting are pure (``tree.py``, ``retrieval.py``); this module wires them to the
turn index (``turn_index.py``) and the embedder. ``MemoryManager.recall`` calls
:func:`search_memory`.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import datetime

import numpy as np
import numpy.typing as npt

from memory_agent.core.config import MemoryConfig
from memory_agent.core.context import MemoryContext, MemoryItem
from memory_agent.core.embedder import Embedder
from memory_agent.core.pool import Fused, fuse, next_turn_id, top_ids
from memory_agent.core.profile import STANDING, ProfileDocument
from memory_agent.core.retrieval import assemble, fact_item, node_item, turn_item
from memory_agent.core.text import overlap
from memory_agent.core.timeref import TimeQuestion, mentions_time, time_question
from memory_agent.core.tokens import TokenCounter, Truncator
from memory_agent.core.trace import RecallTrace, ScoreParts, build_trace
from memory_agent.core.types import parse_turn_id
from memory_agent.engine.fact_vectors import FactVectors
from memory_agent.engine.tree_index import TreeIndex
from memory_agent.engine.turn_index import TurnSearch

Scored = list[tuple[MemoryItem, ScoreParts]]
FloatArray = npt.NDArray[np.float32]


@dataclass(frozen=True)
class SearchInputs:
    """What a search needs besides the query: backends, settings and the user's state."""

    turns: TurnSearch  # the user's turns: similarity search and texts
    embedder: Embedder
    config: MemoryConfig
    count_tokens: TokenCounter
    truncate_tokens: Truncator  # cuts a turn's text to ``config.max_item_tokens``
    index: TreeIndex
    profile: ProfileDocument
    facts: FactVectors | None = None  # ranks profile facts by meaning; None: by word overlap


def search_memory(inputs: SearchInputs, query: str, budget: int) -> MemoryContext:
    """The profile plus the most relevant tree nodes and turns for ``query``, within ``budget``.

    One pool (core/pool.py): turns and summary nodes of every level, each ranked by meaning
    and by BM25, fused by reciprocal rank, the tree adding a prior to the turns of sessions
    that match as a whole. Profile facts are ranked by meaning and word overlap when
    ``inputs.facts`` is given.
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
        matched=any(parts.lexical > 0 for _, parts in [*nodes, *turns, *facts]),
    )


def _candidates(inputs: SearchInputs, query: str) -> tuple[Scored, Scored, Scored]:
    """Scored candidates of the one pool (core/pool.py): nodes of every level, turns (by
    meaning, by words, from the best sessions and next to the best turns), profile facts."""
    qvec = np.asarray(inputs.embedder.embed_query(query), dtype=np.float32)
    norm = float(np.linalg.norm(qvec))
    qvec = qvec / norm if norm > 0 else qvec
    asked = time_question(query)
    period = asked.period

    def in_period(start: datetime | None, end: datetime | None) -> float:
        if period is None or start is None or end is None:
            return 0.0
        return inputs.config.time_weight if start <= period[1] and end >= period[0] else 0.0

    node_rank = _rank_nodes(inputs, qvec, query)
    nodes: Scored = []
    cfg, tree = inputs.config, inputs.index.tree
    if cfg.node_weight:
        for nid in top_ids({n: f.total for n, f in node_rank.items()}, cfg.node_candidates):
            fused, node = node_rank[nid], tree.get(nid)
            parts = ScoreParts(dense=cfg.node_weight * fused.dense,
                               lexical=cfg.node_weight * fused.lexical,
                               time=in_period(node.start, node.end))
            nodes.append((node_item(node, parts.total), parts))
    session_score = {tree.get(nid).session_id or "": f.total for nid, f in node_rank.items()
                     if tree.get(nid).level == 1}
    scored = _score_turns(inputs, qvec, query, session_score)
    # only the best candidates' texts are read (all of them when a period is named: the
    # time term needs each turn's date)
    best = top_ids({tid: p.total for tid, p in scored.items()},
                   len(scored) if period else cfg.fetch_candidates)
    turns: Scored = []
    fetched = inputs.turns.fetch(best)
    order = _order_terms(asked, cfg.time_order_weight, {tid: t.at for tid, t in fetched.items()})
    mentions = bool(cfg.time_mention_weight and asked.asks_time)
    for tid, t in fetched.items():
        mention = cfg.time_mention_weight if mentions and mentions_time(
            f"{t.user_message} {t.assistant_message}") else 0.0
        parts = replace(scored[tid], time=in_period(t.at, t.at) + mention + order.get(tid, 0.0))
        turns.append((turn_item(t, parts.total, max_tokens=cfg.max_item_tokens,
                                count=inputs.count_tokens, truncate=inputs.truncate_tokens,
                                query=query), parts))
    return nodes, turns, _score_facts(inputs, qvec, query)


def _order_terms(asked: TimeQuestion, weight: float,
                 dates: dict[str, datetime]) -> dict[str, float]:
    """For a question about the first (or the last) time: each candidate turn's share of
    ``weight`` by its place in time among the candidates, the earliest (latest) getting all
    of it; {} for other questions."""
    if asked.order is None or not weight or len(dates) < 2:
        return {}
    chronological = sorted(dates, key=lambda tid: (dates[tid], tid))
    if asked.order == "last":
        chronological.reverse()
    n = len(chronological) - 1
    return {tid: weight * (n - i) / n for i, tid in enumerate(chronological)}


def _rank_nodes(inputs: SearchInputs, qvec: FloatArray, query: str) -> dict[str, Fused]:
    """The ``node_rank_depth`` best nodes by meaning and by words, their ranks fused."""
    index = inputs.index
    depth = inputs.config.node_rank_depth
    fused = fuse(index.dense(qvec, depth), index.lexical(query, depth), inputs.config.rrf_k)
    return {nid: f for nid, f in fused.items() if nid in index.tree}


def _score_turns(inputs: SearchInputs, qvec: FloatArray, query: str,
                 session_score: dict[str, float]) -> dict[str, ScoreParts]:
    """Candidate turn ids with their score terms (no text read yet): the flat lists by
    meaning and by words, the best sessions' best turns, the best turns' next turns."""
    cfg, turns, k = inputs.config, inputs.turns, inputs.config.rrf_k
    turn_rank = fuse(turns.search(qvec, k=cfg.turn_candidates),
                     turns.lexical(query, k=cfg.lexical_candidates), k)
    candidates = dict.fromkeys(turn_rank)
    for sid in top_ids(session_score, cfg.expand_sessions):
        inside = fuse(turns.search(qvec, k=cfg.turns_per_session, session_ids=[sid]),
                      turns.lexical(query, k=cfg.turns_per_session, session_ids=[sid]), k)
        candidates.update(dict.fromkeys(
            top_ids({tid: f.total for tid, f in inside.items()}, cfg.turns_per_session)))
    own = {tid: f.total for tid, f in turn_rank.items()}
    neighbour_of: dict[str, str] = {}
    if cfg.neighbour_weight:
        for tid in top_ids(own, cfg.neighbours):
            nxt = next_turn_id(tid)
            if nxt and nxt not in own:
                neighbour_of[nxt] = tid
                candidates[nxt] = None
    scored: dict[str, ScoreParts] = {}
    for tid in candidates:
        fused = turn_rank.get(tid, Fused())
        prior = cfg.session_weight * session_score.get(parse_turn_id(tid)[0], 0.0)
        if tid in neighbour_of:
            prior += cfg.neighbour_weight * own[neighbour_of[tid]]
        scored[tid] = ScoreParts(dense=fused.dense, lexical=fused.lexical, prior=prior)
    return scored


def _score_facts(inputs: SearchInputs, qvec: FloatArray, query: str) -> Scored:
    """Profile facts by meaning and word overlap (by word overlap alone without vectors)."""
    if inputs.facts is None:  # ranked by word overlap alone (see assemble)
        return [(fact_item(f), ScoreParts(lexical=overlap(query, f.text)))
                for f in inputs.profile.facts if f.section != STANDING]
    weight = inputs.config.lexical_weight
    sims = inputs.facts.similarities(qvec, inputs.profile.facts)
    return [(fact_item(f), ScoreParts(dense=sims[f.id], lexical=weight * overlap(query, f.text)))
            for f in inputs.profile.facts]
