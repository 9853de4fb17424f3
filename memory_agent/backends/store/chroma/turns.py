"""The ``turns`` collection: ``<user_id>/<session_id>#<index>``, the caller's vector (cosine).

The document is "User: <u>\\nAssistant: <a>" (see ``codec.decode_turn``). Storing turns also
updates their sessions' summaries and this store object's turn-write counter: several
writes, done under the store's lock (see the package docstring on transactions).
"""

from __future__ import annotations

from collections.abc import Collection, Sequence
from typing import Any

import numpy as np

from memory_agent.backends.store.chroma import codec
from memory_agent.backends.store.chroma.access import Collections, chunks
from memory_agent.backends.store.chroma.sessions import SessionRepository
from memory_agent.backends.store.chroma.users import UserRepository
from memory_agent.core.store import TurnVectors, Vector
from memory_agent.core.store_rules import check_lengths, check_turns, ordered_turns
from memory_agent.core.types import Turn
from memory_agent.errors import StoreError


class TurnRepository:
    """Turns of one store object's collections."""

    def __init__(self, db: Collections, sessions: SessionRepository, users: UserRepository) -> None:
        self._db = db
        self._sessions = sessions
        self._users = users

    def add_turns(self, turns: Sequence[Turn], vectors: Sequence[Vector]) -> None:
        check_lengths(turns, vectors, "turns")
        if not turns:
            return
        check_turns(turns)
        ids = [codec.rid(t.user_id, t.id) for t in turns]
        col = self._db["turns"]
        with self._db.lock:
            with self._db.guard("check turn ids"):
                taken = col.get(ids=ids, include=[])["ids"]
            if taken:
                msg = f"turn ids already stored: {', '.join(sorted(taken))} (turn ids must be new)"
                raise StoreError(msg)
            sessions = self._sessions.updated(turns)
            self._users.register({t.user_id for t in turns})
            # The session record first: its counts are idempotent (n_turns is the highest
            # index), so a crash between the two writes leaves a session that already counts
            # the turns the journal will store again, never stored turns it does not count
            # (which would let the next record() reuse an index).
            self._sessions.put(sessions)
            with self._db.guard("store turns"):
                for part in chunks(range(len(turns))):
                    col.add(
                        ids=[ids[i] for i in part],
                        embeddings=codec.embeddings(vectors[i] for i in part),
                        documents=[codec.turn_document(turns[i]) for i in part],
                        metadatas=codec.metas(codec.turn_meta(turns[i]) for i in part),
                    )
            self._users.count_turn_writes({t.user_id for t in turns})

    def get_turns(
        self, user_id: str, *, session_id: str | None = None, ids: Sequence[str] | None = None
    ) -> list[Turn]:
        where = codec.where_user(user_id, session_id=session_id)
        include: Any = ["documents", "metadatas"]
        with self._db.guard("read turns"):
            if ids is None:
                found = self._db.get_all("turns", where, include)
            elif not ids:
                return []
            else:
                rids = [codec.rid(user_id, i) for i in ids]
                found = [
                    r
                    for r in self._db.get_ids("turns", rids, include)
                    if session_id is None or r[2].get("session_id") == session_id
                ]
        return ordered_turns(codec.decode_turn(doc, meta) for _, doc, meta, _ in found)

    def search_turns(
        self,
        user_id: str,
        vector: Vector,
        *,
        k: int,
        session_ids: Sequence[str] | None = None,
    ) -> list[tuple[Turn, float]]:
        if k <= 0 or (session_ids is not None and not session_ids):
            return []
        where: Any = {"user_id": user_id}
        if session_ids is not None:
            where = {"$and": [where, {"session_id": {"$in": list(session_ids)}}]}
        with self._db.guard("search turns"):
            result = self._db["turns"].query(
                query_embeddings=codec.embeddings([vector]),
                n_results=k,
                where=where,
                include=["documents", "metadatas", "distances"],
            )
        docs = (result["documents"] or [[]])[0]
        metas = (result["metadatas"] or [[]])[0]
        distances = (result["distances"] or [[]])[0]
        return [
            (codec.decode_turn(doc, meta), 1.0 - float(dist))
            for doc, meta, dist in zip(docs, metas, distances, strict=True)
        ]

    def get_turn_vectors(self, user_id: str, *, known: Collection[str] = ()) -> TurnVectors:
        where = {"user_id": user_id}
        with self._db.guard("read turn vectors"):
            if not known:  # everything: one paged read with the vectors
                return self._all_vectors(where)
            ids = list(dict.fromkeys(codec.local_id(rid)
                                     for page in self._db.pages("turns", where, [])
                                     for rid in page["ids"]))
            new = [tid for tid in ids if tid not in known]
            found = self._db.get_ids("turns", [codec.rid(user_id, tid) for tid in new],
                                     ["embeddings"])
        rows = {codec.local_id(rid): vec for rid, _, _, vec in found}
        new = [tid for tid in new if tid in rows]  # deleted meanwhile
        vectors = codec.stack([np.asarray([rows[tid] for tid in new], dtype=np.float32)])
        return TurnVectors(ids, new, vectors)

    def _all_vectors(self, where: Any) -> TurnVectors:
        ids: list[str] = []
        parts = []
        for page in self._db.pages("turns", where, ["embeddings"]):
            ids += [codec.local_id(rid) for rid in page["ids"]]
            parts.append(codec.vector_rows(page))
        vectors = codec.stack(parts)
        if len(set(ids)) < len(ids):  # a page boundary moved under a concurrent write
            first: dict[str, int] = {}
            for i, tid in enumerate(ids):
                first.setdefault(tid, i)
            keep = list(first.values())
            ids, vectors = [ids[i] for i in keep], vectors[keep]
        return TurnVectors(ids, ids, vectors)
