"""One candidate pool for recall: raw turns and summary nodes of every level, each ranked by
meaning (embedding similarity) and by words (BM25), fused by rank (pure).

Reciprocal rank fusion (Cormack et al., 2009) gives an item ``1 / (k + rank)`` per ranking it
appears in. Turns are ranked among turns and nodes among nodes, so a turn's own score is
exactly its score in flat hybrid search over the same turns; the tree adds to it:

- every node is a candidate too, its fused score times ``node_weight`` (a session, a period or
  the root: RAPTOR's "collapsed tree", MemTree and SegTreeMem score summaries beside the raw
  text in one pool);
- a turn gets ``session_weight`` times its session node's fused score (the tree as a prior,
  not a filter: a turn of a session that matches as a whole rises, no turn is dropped);
- the best sessions bring their best-matching turns into the pool (their own scores may be
  0: they ranked below the flat lists' cut), and the best turns bring the next turn of their
  session (an answer often spans two messages) at ``neighbour_weight`` of their score.
"""

from __future__ import annotations

import heapq
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from memory_agent.core.types import parse_turn_id, turn_id

Hit = tuple[str, float]  # (id, score), best first in a ranking


@dataclass(frozen=True)
class Fused:
    """A candidate's two rank terms: ``1/(k + rank)`` by meaning and by words (0: unranked)."""

    dense: float = 0.0
    lexical: float = 0.0

    @property
    def total(self) -> float:
        return self.dense + self.lexical


def rank_terms(ranking: Sequence[Hit], k: int) -> dict[str, float]:
    """``1 / (k + rank)`` for each id of a best-first ranking (rank 1 is the best)."""
    return {item_id: 1.0 / (k + rank) for rank, (item_id, _) in enumerate(ranking, start=1)}


def fuse(dense: Sequence[Hit], lexical: Sequence[Hit], k: int) -> dict[str, Fused]:
    """Both rankings fused by reciprocal rank: every id in either, with its two terms."""
    by_meaning, by_words = rank_terms(dense, k), rank_terms(lexical, k)
    return {item_id: Fused(by_meaning.get(item_id, 0.0), by_words.get(item_id, 0.0))
            for item_id in [*by_meaning, *(i for i in by_words if i not in by_meaning)]}


def best_first(scores: Mapping[str, float], n: int | None = None) -> list[Hit]:
    """A score map as a ranking: best first, ties by id (stable across runs); only the ``n``
    best when ``n`` is given (a partial sort: recall ranks thousands of nodes and keeps a
    few)."""
    def key(kv: Hit) -> tuple[float, str]:
        return -kv[1], kv[0]
    if n is None:
        return sorted(scores.items(), key=key)
    return heapq.nsmallest(n, scores.items(), key=key)


def top_ids(scores: Mapping[str, float], n: int) -> list[str]:
    """The ``n`` best ids, best first."""
    return [i for i, _ in best_first(scores, n)]


def next_turn_id(of: str) -> str | None:
    """The id of the turn after turn ``of`` in its session (``s#3`` -> ``s#4``)."""
    try:
        session, index = parse_turn_id(of)
    except ValueError:
        return None
    return turn_id(session, index + 1)
