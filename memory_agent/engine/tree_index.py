"""A user's summary tree held in memory with its node vectors, for fast level-wise search."""

from __future__ import annotations

import threading
from collections.abc import Sequence

import numpy as np

from memory_agent.core.pool import best_first
from memory_agent.core.store import MemoryStore
from memory_agent.core.tree import SummaryTree, session_node_id
from memory_agent.core.types import Node
from memory_agent.engine.lexical import BM25Index


class TreeIndex:
    """The tree of one user plus the vector and the BM25 terms of every node; thread-safe.

    Loaded once from the store, then kept current by :meth:`apply` as updates land.
    """

    def __init__(self, tree: SummaryTree, vectors: dict[str, np.ndarray]) -> None:
        self._tree = tree
        self._summarized = _session_ids(tree)
        self._vectors = vectors
        self._words = BM25Index()
        self._words.add_all((n.id, n.summary) for n in tree.nodes)
        self._matrix: tuple[list[str], np.ndarray] | None = None  # stacked vectors, lazily
        self._lock = threading.RLock()

    @classmethod
    def load(cls, store: MemoryStore, user_id: str) -> TreeIndex:
        nodes = store.get_nodes(user_id)
        raw = store.get_node_vectors(user_id, [n.id for n in nodes]) if nodes else {}
        vectors = {k: np.asarray(v, dtype=np.float32) for k, v in raw.items()}
        return cls(SummaryTree(nodes), vectors)

    @property
    def tree(self) -> SummaryTree:
        return self._tree

    @property
    def summarized(self) -> frozenset[str]:
        """The sessions that have a session node in the tree (kept with the tree)."""
        return self._summarized

    def snapshot(self) -> SummaryTree:
        """A copy of the tree that later updates will not change."""
        with self._lock:
            return SummaryTree(self._tree.nodes)

    def apply(self, nodes: Sequence[Node], vectors: Sequence[Sequence[float]]) -> None:
        """Record nodes that were written to the store (new or changed)."""
        with self._lock:
            fresh = SummaryTree(self._tree.nodes)  # copy: readers keep a consistent tree
            for node in nodes:
                fresh.upsert(node)
            self._tree = fresh
            self._summarized = _session_ids(fresh)
            for node, vector in zip(nodes, vectors, strict=True):
                self._vectors[node.id] = np.asarray(vector, dtype=np.float32)
                self._words.add(node.id, node.summary)
            self._matrix = None

    def vector(self, node_id: str) -> np.ndarray | None:
        return self._vectors.get(node_id)

    def dense(self, query_vector: np.ndarray, k: int) -> list[tuple[str, float]]:
        """The ``k`` nodes most similar to the query (a unit vector), best first; ties by id.
        A partial sort: recall's cost does not grow with the whole tree's ranking."""
        ids, sims = self._similarities(query_vector)
        if k <= 0 or not ids:
            return []
        top = np.argpartition(-sims, k - 1)[:k] if k < len(ids) else np.arange(len(ids))
        return best_first({ids[i]: float(sims[i]) for i in top.tolist()})

    def _similarities(self, query_vector: np.ndarray) -> tuple[list[str], np.ndarray]:
        """Cosine similarity of every node (with a vector) to the query (a unit vector)."""
        with self._lock:
            if self._matrix is None:
                ids = [nid for nid in self._vectors if nid in self._tree]
                rows = [self._vectors[nid] for nid in ids]
                matrix = np.vstack(rows) if rows else np.zeros((0, len(query_vector)))
                norms = np.linalg.norm(matrix, axis=1, keepdims=True)
                self._matrix = (ids, (matrix / np.where(norms > 0, norms, 1.0)).astype(
                    np.float32))
            ids, matrix = self._matrix
        if not ids:
            return [], np.zeros(0, dtype=np.float32)
        # einsum, not ``@``: OpenBLAS splits a product over every core and waits for busy
        # ones (see engine/turn_index.py, ``_scores``)
        return ids, np.einsum("ij,j->i", matrix, np.asarray(query_vector, dtype=np.float32))

    def lexical(self, query: str, k: int) -> list[tuple[str, float]]:
        """The ``k`` nodes whose summaries score best by BM25 for ``query``, best first."""
        with self._lock:
            return self._words.top(query, k)


def _session_ids(tree: SummaryTree) -> frozenset[str]:
    """The sessions ``tree.session_node`` finds (their node ids are ``session_node_id(s)``)."""
    prefix = session_node_id("")
    return frozenset(n.id[len(prefix):] for n in tree.nodes if n.id.startswith(prefix))
