"""Searching a user's memory for a query: tree descent, turn search, budget filling (I/O glue).

Scoring and budgeting are pure (``tree.py``, ``retrieval.py``); this module wires them to the
store and the embedder. ``MemoryManager.recall`` calls :func:`search_memory`.
"""

from __future__ import annotations

from collections.abc import Callable, Collection
from dataclasses import dataclass

import numpy as np

from .config import MemoryConfig
from .embeddings import Embedder
from .index import TreeIndex
from .profile import ProfileDocument
from .retrieval import assemble, node_item, turn_item
from .store.base import MemoryStore
from .text import overlap
from .types import MemoryContext, MemoryItem, Turn


@dataclass(frozen=True)
class SearchInputs:
    """What a search needs besides the query: backends, settings and the user's state."""

    store: MemoryStore
    embedder: Embedder
    config: MemoryConfig
    count_tokens: Callable[[str], int]
    user_id: str
    index: TreeIndex
    session_ids: Collection[str]  # every session of the user with recorded turns
    profile: ProfileDocument


def search_memory(inputs: SearchInputs, query: str, budget: int) -> MemoryContext:
    """The profile plus the most relevant tree nodes and turns for ``query``, within ``budget``.

    The tree is searched level by level from the root (best ``beam_width`` branches per
    level, ``session_beam`` sessions); then the turns of the chosen sessions, and of sessions
    not summarised yet, are searched and scored (cosine + lexical overlap).
    """
    cfg = inputs.config
    qvec_list = inputs.embedder.embed_query(query)
    qvec = np.asarray(qvec_list, dtype=np.float32)
    tree = inputs.index.tree
    weight = cfg.lexical_weight
    descent = inputs.index.descend(
        qvec, lambda n: weight * overlap(query, n.summary),
        beam=cfg.beam_width, session_beam=cfg.session_beam,
    )
    chosen = [s.node.session_id for s in descent.sessions if s.node.session_id]
    unsummarized = [sid for sid in inputs.session_ids if tree.session_node(sid) is None]
    session_filter: list[str] | None = [*chosen, *unsummarized] if len(tree) else None
    hits: list[tuple[Turn, float]] = []
    if cfg.turn_candidates and (session_filter is None or session_filter):
        hits = inputs.store.search_turns(
            inputs.user_id, qvec_list, k=cfg.turn_candidates, session_ids=session_filter
        )
    if cfg.global_candidates and session_filter is not None:
        seen = {t.id for t, _ in hits}
        extra = inputs.store.search_turns(inputs.user_id, qvec_list, k=cfg.global_candidates)
        hits += [(t, sim) for t, sim in extra if t.id not in seen]
    session_score = {s.node.session_id: s.score for s in descent.visited if s.node.level == 1}
    turns = [
        turn_item(t, sim + weight * overlap(query, t.user_message + " " + t.assistant_message)
                  + cfg.session_weight * session_score.get(t.session_id, 0.0),
                  max_tokens=cfg.max_item_tokens, count=inputs.count_tokens)
        for t, sim in hits
    ]
    nodes: list[MemoryItem] = [node_item(s.node, s.score) for s in descent.sessions]
    return assemble(
        query=query, budget=budget, profile=inputs.profile, nodes=nodes, turns=turns,
        count=inputs.count_tokens, profile_share=cfg.profile_share, node_share=cfg.node_share,
    )
