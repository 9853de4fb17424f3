"""The ``users`` collection: who has memory, and per-writer counts of turn writes.

A user's own record is keyed by the bare user id. Beside it, one record per store object
that wrote turns of the user, ``<user_id>/<key>``, holds that object's number of
``add_turns`` calls (``turn_versions``; user ids cannot contain ``/``, so the two never mix).
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Iterable, Mapping
from typing import Any

from memory_agent.backends.store.chroma import codec
from memory_agent.backends.store.chroma.access import Collections

_IDLE_WRITER_SECONDS = 7 * 24 * 3600  # turn-write counters idle this long are pruned


class UserRepository:
    """The user registry and the turn-write counters of one store object."""

    def __init__(self, db: Collections) -> None:
        self._db = db
        self._known: set[str] = set()  # registered by this object (cached per process)
        # per user: this object's turn-write counter key and its count of add_turns calls
        self._turn_writes: dict[str, tuple[str, int]] = {}

    def register(self, user_ids: Iterable[str]) -> None:
        """Record users in the ``users`` collection once per store object (lock held)."""
        new = sorted(set(user_ids) - self._known)
        if not new:
            return
        with self._db.guard("register users"):
            self._db["users"].upsert(
                ids=new,
                embeddings=codec.constant_vectors(len(new)),
                metadatas=codec.metas({"user_id": u} for u in new),
            )
        self._known.update(new)

    def list_users(self) -> list[str]:
        with self._db.guard("list users"):
            found = self._db.get_all("users", None, [])
        return sorted(rid for rid, _, _, _ in found if "/" not in rid)  # not turn counters

    def forgotten(self, user_id: str) -> None:
        """Drop what this object cached about a user whose records were deleted."""
        self._known.discard(user_id)
        self._turn_writes.pop(user_id, None)

    # --- turn-write counters -----------------------------------------------------------------
    def turn_versions(self, user_id: str) -> Mapping[str, int]:
        with self._db.guard("read turn versions"):
            found = self._db.get_all("users", {"user_id": user_id}, ["metadatas"])
        return {codec.local_id(rid): codec.int_field(meta, "count")
                for rid, _, meta, _ in found if "/" in rid}

    def count_turn_writes(self, user_ids: Iterable[str]) -> None:
        """Raise this store object's ``add_turns`` count of each user (lock held).

        If the counter record is gone (first write, or ``forget_user`` from anywhere),
        counting restarts under a new key, so readers see the old key vanish instead of a
        count that carries on. Then records not updated for a week are deleted too (readers
        re-read the user's turns once).
        """
        now = time.time()
        col = self._db["users"]
        for user_id in sorted(user_ids):
            key, count = self._turn_writes.get(user_id, ("", 0))
            with self._db.guard("count turn writes"):
                if not key or not col.get(ids=[codec.rid(user_id, key)], include=[])["ids"]:
                    key, count = uuid.uuid4().hex[:16], 0
                    idle: Any = {"$and": [{"user_id": user_id},
                                          {"updated_ts": {"$lt": now - _IDLE_WRITER_SECONDS}}]}
                    col.delete(where=idle)
                self._turn_writes[user_id] = (key, count + 1)
                col.upsert(
                    ids=[codec.rid(user_id, key)],
                    embeddings=codec.constant_vectors(1),
                    metadatas=codec.metas([{"user_id": user_id, "count": count + 1,
                                            "updated_ts": now}]),
                )
