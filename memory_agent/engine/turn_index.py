"""A user's stored turns in memory: a matrix of unit vectors for exact top-k search, and a
BM25 index of their words (:class:`~memory_agent.engine.lexical.BM25Index`).

``recall`` needs the turns most similar to the query twice: among the sessions the tree
descent chose, and over all sessions. :class:`TurnIndex` answers both with numpy (exact
top-k, the same turns the store's cosine search returns, up to ties) instead of two store
queries, and reads the text of the final candidates only (``fetch``). It holds turn ids and
float32 vectors, no text: 1.5 KiB per turn with 384-dimensional vectors (200,000 turns:
about 300 MiB), plus the BM25 postings of the turns' words (the texts are read once, when a
turn first comes into the index, and not kept).

Both indexes hold the same turns and follow the same freshness rule.

Freshness (the rule, also in docs/architecture.md):

- loaded from the store on first use (``sync``), once per manager;
- turns the owning manager stores are added at once (``added``); ``forget`` and
  ``import_archive`` reset it (``reset``: loaded again on next use);
- writes by other managers or processes: at most every ``refresh_seconds``, ``sync`` reads
  the store's per-writer turn-write counts (``MemoryStore.turn_versions``, one small read).
  If they moved by more than this index's own writes, it reads the ids of the user's stored
  turns and fetches the vectors of the unknown ones (ids it holds that are gone are
  dropped); if a count vanished or fell (turns were deleted: ``forget``), it loads
  everything again. A store that cannot count (``None``) gets the id comparison every time;
- a candidate whose record is gone when its text is fetched is left out of the result and
  the next ``sync`` compares ids at once: turns deleted elsewhere are never returned, even
  before the refresh interval has passed.
"""

from __future__ import annotations

import logging
import math
import threading
from collections.abc import Collection, Mapping, Sequence
from time import monotonic
from typing import Protocol

import numpy as np
import numpy.typing as npt

from memory_agent.core.store import Capability, MemoryStore, Vector
from memory_agent.core.types import Turn
from memory_agent.engine.lexical import BM25Index
from memory_agent.errors import StoreError

log = logging.getLogger("memory_agent")
FloatArray = npt.NDArray[np.float32]
Hit = tuple[str, float]  # (turn id, cosine similarity)


class TurnSearch(Protocol):
    """Where recall's turn candidates come from: similarity search, then the texts."""

    def search(
        self, vector: FloatArray, *, k: int, session_ids: Collection[str] | None = None
    ) -> list[Hit]:
        """The ``k`` turns most similar to ``vector`` (of these sessions), best first."""

    def lexical(
        self, query: str, *, k: int, session_ids: Collection[str] | None = None
    ) -> list[Hit]:
        """The ``k`` turns (of these sessions) best for ``query`` by BM25, best first
        (score > 0); empty where the search keeps no word index."""

    def fetch(self, ids: Sequence[str]) -> dict[str, Turn]:
        """The stored turns with these ids (ids no longer stored are missing)."""


class StoreTurnSearch:
    """``TurnSearch`` through the store's own vector search (stores without turn vectors)."""

    def __init__(self, store: MemoryStore, user_id: str) -> None:
        self._store = store
        self._user_id = user_id
        self._seen: dict[str, Turn] = {}

    def search(
        self, vector: FloatArray, *, k: int, session_ids: Collection[str] | None = None
    ) -> list[Hit]:
        found = self._store.search_turns(
            self._user_id, vector.tolist(), k=k,
            session_ids=None if session_ids is None else list(session_ids),
        )
        self._seen.update((t.id, t) for t, _ in found)
        return [(t.id, sim) for t, sim in found]

    def lexical(
        self, query: str, *, k: int, session_ids: Collection[str] | None = None
    ) -> list[Hit]:
        return []  # the store offers no word search: recall ranks these turns by meaning

    def fetch(self, ids: Sequence[str]) -> dict[str, Turn]:
        return {tid: self._seen[tid] for tid in ids if tid in self._seen}


class TurnIndex:
    """The ids and unit vectors of one user's stored turns; thread-safe. See the module doc."""

    def __init__(self, store: MemoryStore, user_id: str, *, refresh_seconds: float) -> None:
        self._store = store
        self._user_id = user_id
        self._refresh = refresh_seconds
        self._lock = threading.RLock()
        self._clear()

    @classmethod
    def for_store(
        cls, store: MemoryStore, user_id: str, *, refresh_seconds: float
    ) -> TurnIndex | None:
        """An index of the user's turns, or None if the store cannot list turn vectors
        (no ``Capability.TURN_VECTORS``: recall then searches with ``StoreTurnSearch``)."""
        if Capability.TURN_VECTORS not in store.capabilities:
            log.info("%s cannot list turn vectors; recall searches turns in the store",
                     type(store).__name__)
            return None
        return cls(store, user_id, refresh_seconds=refresh_seconds)

    def _clear(self) -> None:
        self._loaded = False
        self._ids: list[str] = []
        self._rows: dict[str, int] = {}
        self._by_session: dict[str, list[int]] = {}
        self._words = BM25Index()
        self._matrix: FloatArray = np.zeros((0, 0), dtype=np.float32)  # rows >= _n: spare
        self._n = 0
        self._versions: dict[str, int] | None = None  # the store's counts at the last sync
        self._own_writes = 0  # add_turns calls applied through ``added`` since then
        self._checked = -math.inf
        self._dirty = False

    # --- state ---------------------------------------------------------------------------
    @property
    def loaded(self) -> bool:
        return self._loaded

    def __len__(self) -> int:
        return self._n

    @property
    def nbytes(self) -> int:
        """Memory held by the vectors (including spare rows for growth)."""
        return int(self._matrix.nbytes)

    def reset(self) -> None:
        """Forget everything held; the next use loads from the store again."""
        with self._lock:
            self._clear()

    def mark_dirty(self) -> None:
        """Compare with the store at the next ``sync``, whatever the refresh interval."""
        self._dirty = True

    # --- keeping current -----------------------------------------------------------------
    def sync(self) -> None:
        """Load on first use; otherwise catch up with the store if the rule says so."""
        with self._lock:
            if not self._loaded:
                self._reload()
                return
            now = monotonic()
            if not self._dirty and now - self._checked < self._refresh:
                return
            self._checked = now
            versions = _as_dict(self._store.turn_versions(self._user_id))
            old = self._versions
            if versions is None or old is None:
                self._catch_up(versions)
            elif not _only_grew(old, versions) or (not old and self._n and versions):
                # turns were deleted, or counts appeared beside turns stored without them
                self._reload(versions)
            elif self._dirty or sum(versions.values()) != sum(old.values()) + self._own_writes:
                self._catch_up(versions)

    def added(self, turns: Sequence[Turn], vectors: Sequence[Vector]) -> None:
        """Record turns the owning manager stored with one ``add_turns`` call."""
        if not turns:
            return
        with self._lock:
            if not self._loaded:
                return  # the load will read them from the store
            fresh = [(t, v) for t, v in zip(turns, vectors, strict=True)
                     if t.id not in self._rows]
            if fresh:
                self._append([t.id for t, _ in fresh],
                             np.asarray([v for _, v in fresh], dtype=np.float32),
                             {t.id: turn_words(t) for t, _ in fresh})
            self._own_writes += 1

    def _reload(self, versions: dict[str, int] | None = None) -> None:
        if versions is None:  # read before the turns: a write in between is seen next time
            versions = _as_dict(self._store.turn_versions(self._user_id))
        got = self._store.get_turn_vectors(self._user_id)
        self._clear()
        self._append(got.new_ids, got.vectors, self._texts(got.new_ids, everything=True))
        self._versions = versions
        self._loaded = True
        self._checked = monotonic()

    def _catch_up(self, versions: dict[str, int] | None) -> None:
        got = self._store.get_turn_vectors(self._user_id, known=self._rows.keys())
        stored = set(got.ids)
        if any(tid not in stored for tid in self._ids):  # deleted in the store
            keep = [row for row, tid in enumerate(self._ids) if tid in stored]
            for tid in self._ids:
                if tid not in stored:
                    self._words.remove(tid)
            ids, matrix = [self._ids[r] for r in keep], self._matrix[keep]
            self._ids, self._rows, self._by_session = [], {}, {}
            self._matrix, self._n = np.zeros((0, 0), dtype=np.float32), 0
            self._append(ids, matrix, None)  # their words stay indexed
        self._append(got.new_ids, got.vectors, self._texts(got.new_ids))
        self._versions = versions
        self._own_writes = 0
        self._dirty = False

    def _texts(self, ids: Sequence[str], *, everything: bool = False) -> dict[str, str]:
        """The words to index of these stored turns (``everything``: ids are all turns)."""
        if not ids:
            return {}
        turns = self._store.get_turns(self._user_id, ids=None if everything else list(ids))
        return {t.id: turn_words(t) for t in turns}

    def _append(self, ids: Sequence[str], vectors: FloatArray,
                texts: Mapping[str, str] | None) -> None:
        """Add rows (lock held); ``vectors`` need not be normalised. ``texts``: the words of
        the new turns for the BM25 index (None: already indexed)."""
        if not ids:
            return
        if texts is not None:
            for tid in ids:
                self._words.add(tid, texts.get(tid, ""))
        rows = np.asarray(vectors, dtype=np.float32).reshape(len(ids), -1)
        norms = np.linalg.norm(rows, axis=1, keepdims=True)
        rows = (rows / np.where(norms > 0, norms, 1.0)).astype(np.float32, copy=False)
        n, dim = self._n, rows.shape[1]
        if self._n and dim != self._matrix.shape[1]:
            msg = (f"turn vectors of {self._user_id!r} have dimension {self._matrix.shape[1]}, "
                   f"got {dim}: the store was built with another embedder")
            raise StoreError(msg)
        if n + len(ids) > self._matrix.shape[0] or dim != self._matrix.shape[1]:
            spare = 0 if n == 0 else max(n // 4, 64)  # a load takes exactly what it needs
            grown = np.empty((n + len(ids) + spare, dim), dtype=np.float32)
            if n:
                grown[:n] = self._matrix[:n]
            self._matrix = grown  # readers keep the old array: its first n rows stay valid
        self._matrix[n:n + len(ids)] = rows
        for offset, tid in enumerate(ids):
            self._rows[tid] = n + offset
            self._by_session.setdefault(tid.split("#", 1)[0], []).append(n + offset)
        self._ids.extend(ids)  # in place: readers index only rows below their ``n``
        self._n = n + len(ids)

    # --- searching -----------------------------------------------------------------------
    def search(
        self, vector: FloatArray, *, k: int, session_ids: Collection[str] | None = None
    ) -> list[Hit]:
        """The ``k`` stored turns most similar to ``vector`` (cosine), best first, exact.

        ``session_ids``: only turns of these sessions (None: all). Ties keep load order.
        """
        if k <= 0:
            return []
        with self._lock:
            if not self._loaded:
                self.sync()
            matrix, n, ids = self._matrix, self._n, self._ids
            rows = None
            if session_ids is not None:
                picked = [self._by_session.get(sid, ()) for sid in set(session_ids)]
                rows = np.sort(np.fromiter((r for part in picked for r in part), dtype=np.intp))
        if n == 0 or (rows is not None and rows.size == 0):
            return []
        query = np.asarray(vector, dtype=np.float32).ravel()
        if query.size != matrix.shape[1]:
            msg = (f"the query vector has dimension {query.size}, the stored turns "
                   f"{matrix.shape[1]}: the store was built with another embedder")
            raise StoreError(msg)
        norm = float(np.linalg.norm(query))
        query = query / norm if norm > 0 else query
        scores = _scores(matrix[rows] if rows is not None else matrix[:n], query)
        top = np.argpartition(-scores, k - 1)[:k] if scores.size > k else np.arange(scores.size)
        top = top[np.lexsort((top, -scores[top]))]  # best first; ties by row
        order = rows[top] if rows is not None else top
        return [(ids[int(r)], float(scores[i])) for r, i in zip(order, top, strict=True)]

    def lexical(
        self, query: str, *, k: int, session_ids: Collection[str] | None = None
    ) -> list[Hit]:
        """The ``k`` stored turns best for ``query`` by BM25 (score > 0), best first."""
        with self._lock:
            if not self._loaded:
                self.sync()
            among = None
            if session_ids is not None:
                among = {self._ids[r] for sid in set(session_ids)
                         for r in self._by_session.get(sid, ())}
            return self._words.top(query, k, among=among)

    def fetch(self, ids: Sequence[str]) -> dict[str, Turn]:
        if not ids:
            return {}
        found = {t.id: t for t in self._store.get_turns(self._user_id, ids=list(ids))}
        if any(tid not in found for tid in ids):
            self.mark_dirty()  # deleted in the store: catch up at the next sync
        return found


def turn_words(turn: Turn) -> str:
    """What BM25 indexes of a turn: both messages."""
    return f"{turn.user_message} {turn.assistant_message}"


def _scores(matrix: FloatArray, query: FloatArray) -> FloatArray:
    """``matrix @ query`` on one core. ``@`` calls OpenBLAS, which splits a large product over
    every core and, when they are busy, waits a scheduler slice for its helper threads
    (measured, 50,000 x 384 on 2 cores busy with other jobs: 8-90 ms with ``@``, 2.5-3.5 ms
    with ``einsum``, numpy's own loop)."""
    scores: FloatArray = np.einsum("ij,j->i", matrix, query)
    return scores


def _as_dict(versions: Mapping[str, int] | None) -> dict[str, int] | None:
    return None if versions is None else dict(versions)


def _only_grew(old: Mapping[str, int], new: Mapping[str, int]) -> bool:
    """True if no writer's count vanished or fell (so no turn was deleted)."""
    return all(new.get(writer, -1) >= count for writer, count in old.items())
