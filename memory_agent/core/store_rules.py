"""The rules every ``MemoryStore`` applies the same way: input checks, ordering, payloads.

Both stores (``InMemoryStore``, ``ChromaStore``) import these, so the contract suite's
expectations have one source (``tests/test_store_contract.py``).
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from typing import Any

from memory_agent.core.store import Vector
from memory_agent.core.types import Node, Turn, validate_id
from memory_agent.errors import InvalidInputError, ProfileConflictError, StoreError


def ordered_turns(turns: Iterable[Turn]) -> list[Turn]:
    """Turns grouped by session (sessions by earliest turn, then id), each by index."""
    turns = list(turns)
    first: dict[str, tuple[float, str]] = {}
    for t in turns:
        key = (t.at.timestamp(), t.session_id)
        if t.session_id not in first or key < first[t.session_id]:
            first[t.session_id] = key
    return sorted(turns, key=lambda t: (first[t.session_id], t.index))


def node_order(node: Node) -> tuple[int, float, str]:
    """Sort key of nodes: level, then start, then id."""
    return (node.level, node.start.timestamp(), node.id)


def check_lengths(records: Sequence[object], vectors: Sequence[Vector], what: str) -> None:
    """Raise InvalidInputError unless there is one vector per record."""
    if len(records) != len(vectors):
        msg = f"got {len(records)} {what} but {len(vectors)} vectors: pass one vector per item"
        raise InvalidInputError(msg)


def check_turns(turns: Sequence[Turn]) -> None:
    """Validate the ids of turns about to be stored; StoreError if one id repeats."""
    for t in turns:
        validate_id(t.user_id, "user_id")
        validate_id(t.session_id, "session_id")
    ids = [(t.user_id, t.id) for t in turns]
    if len(set(ids)) != len(ids):
        msg = "the same turn id appears twice in one add_turns call"
        raise StoreError(msg)


def check_profile_version(user_id: str, stored: int, expected: int) -> None:
    """Raise ProfileConflictError unless the stored profile version is ``expected``."""
    if stored != expected:
        msg = (
            f"the profile of user {user_id!r} is at version {stored}, not {expected}: "
            "it changed since it was read; read it again and reapply the change"
        )
        raise ProfileConflictError(msg)


def encode_payload(payload: dict[str, Any]) -> str:
    """A job payload as JSON (StoreError if it is not JSON-serialisable)."""
    try:
        return json.dumps(payload, sort_keys=True)
    except (TypeError, ValueError) as exc:
        msg = f"job payloads must be JSON-serialisable: {exc}"
        raise StoreError(msg) from exc
