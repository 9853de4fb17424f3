"""What the upkeep steps run after a session ends share: their backends, the session's
turns, and how summary nodes are stored.

The steps themselves are one module each: :mod:`~memory_agent.engine.summaries` (session
summaries and tree insertion), :mod:`~memory_agent.engine.rollup` (re-summarising stale
nodes), :mod:`~memory_agent.engine.profile_update` (profile facts from a session, with
:mod:`~memory_agent.engine.compaction` when the profile is over its budget). Each reads from
the store, calls the model, validates, and only then writes: a failure (invalid model
output, store error) leaves stored memory as it was.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

from memory_agent.core.config import MemoryConfig
from memory_agent.core.embedder import Embedder
from memory_agent.core.llm import LLM
from memory_agent.core.store import MemoryStore
from memory_agent.core.types import Node, Turn
from memory_agent.engine.tree_index import TreeIndex
from memory_agent.errors import UnknownSessionError

TokenCounter = Callable[[str], int]


@dataclass
class Backends:
    """Everything the update steps need, passed in (never constructed here)."""

    store: MemoryStore
    llm: LLM
    embedder: Embedder
    config: MemoryConfig
    count_tokens: TokenCounter
    notify: Callable[[str], None] = lambda message: None  # progress of long steps


def session_turns(backends: Backends, user_id: str, session_id: str) -> list[Turn]:
    """The recorded turns of a session, in order; :class:`UnknownSessionError` if none."""
    turns = backends.store.get_turns(user_id, session_id=session_id)
    if not turns:
        raise UnknownSessionError.no_turns(user_id, session_id)
    return turns


def store_nodes(backends: Backends, index: TreeIndex, nodes: Sequence[Node]) -> None:
    """Embed and store summary nodes, then show them to the in-memory tree index."""
    vectors = backends.embedder.embed_documents([n.summary for n in nodes])
    backends.store.put_nodes(nodes, vectors)
    index.apply(nodes, vectors)
