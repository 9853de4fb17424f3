"""Recall wiring: the in-memory indexes of one user (summary tree, turn vectors, profile
fact vectors) and the search over them (:func:`memory_agent.engine.search.search_memory`)."""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Sequence

from memory_agent.core.context import MemoryContext
from memory_agent.core.profile import ProfileDocument
from memory_agent.core.trace import RecallTrace
from memory_agent.core.types import Turn
from memory_agent.engine.fact_vectors import FactVectors, fact_text
from memory_agent.engine.search import SearchInputs, search_memory, trace_memory
from memory_agent.engine.tree_index import TreeIndex
from memory_agent.engine.turn_index import StoreTurnSearch, TurnIndex, TurnSearch
from memory_agent.engine.upkeep import Backends
from memory_agent.errors import InvalidInputError

log = logging.getLogger("memory_agent")


class Recall:
    """Keeps the indexes a recall searches, loaded on first use and updated by this
    manager's writes (see turn_index.py for how other writers' turns are picked up)."""

    def __init__(self, backends: Backends, user_id: str, lock: threading.RLock) -> None:
        self.backends = backends
        self.user_id = user_id
        self.lock = lock
        self._index: TreeIndex | None = None
        # None once the store turned out not to list turn vectors (recall then asks the store)
        self._turns: TurnIndex | None = TurnIndex.for_store(
            backends.store, user_id, refresh_seconds=backends.config.turn_index_refresh_seconds)
        self.fact_vectors = FactVectors(backends.embedder)

    def tree_index(self) -> TreeIndex:
        """The loaded summary tree with its node vectors (loaded on first use)."""
        with self.lock:
            if self._index is None:
                self._index = TreeIndex.load(self.backends.store, self.user_id)
            return self._index

    def turns_stored(self, turns: Sequence[Turn], vectors: Sequence[Sequence[float]]) -> None:
        """Tell the turn index about turns this manager just stored (one add_turns call)."""
        if self._turns is not None:
            self._turns.added(turns, vectors)

    def turns_recounted(self) -> None:
        """Turns were found stored by a process that died before counting them."""
        if self._turns is not None:
            self._turns.mark_dirty()

    def turn_search(self) -> TurnSearch:
        """The in-memory turn index, brought up to date (see turn_index.py for the rule)."""
        if self._turns is not None:
            self._turns.sync()
            return self._turns
        return StoreTurnSearch(self.backends.store, self.user_id)

    def search(self, query: str, token_budget: int | None, *,
               profile: ProfileDocument) -> MemoryContext:
        inputs, budget = self._inputs(token_budget, profile)
        return search_memory(inputs, query, budget)

    def trace(self, query: str, token_budget: int | None, *,
              profile: ProfileDocument) -> RecallTrace:
        """:meth:`search` with the reasons (score parts, budget cuts, part tokens)."""
        inputs, budget = self._inputs(token_budget, profile)
        return trace_memory(inputs, query, budget)

    def _inputs(self, token_budget: int | None,
                profile: ProfileDocument) -> tuple[SearchInputs, int]:
        config = self.backends.config
        budget = config.default_recall_budget if token_budget is None else token_budget
        if not isinstance(budget, int) or budget < 0:
            msg = f"token_budget must be a non-negative int, got {budget!r}"
            raise InvalidInputError(msg)
        inputs = SearchInputs(
            turns=self.turn_search(), embedder=self.backends.embedder, config=config,
            count_tokens=self.backends.count_tokens,
            truncate_tokens=self.backends.truncate_tokens, index=self.tree_index(),
            profile=profile,
            facts=self.fact_vectors if config.rank_facts_by_meaning else None,
        )
        return inputs, budget

    def warm_facts(self, profile: Callable[[], ProfileDocument]) -> None:
        """Embed new profile facts now, in the update, so the next recall does not."""
        if not self.backends.config.rank_facts_by_meaning:
            return
        try:
            self.fact_vectors.vectors([fact_text(f) for f in profile().facts])
        except Exception as error:  # recall embeds them itself if this fails
            log.warning("profile facts not embedded ahead of recall: %s", error)

    def reset(self) -> None:
        """Drop every index (the store changed under us: forget, import)."""
        with self.lock:
            self._index = None
            if self._turns is not None:
                self._turns.reset()
            self.fact_vectors.clear()
