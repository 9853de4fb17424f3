"""The ``sessions`` collection: one summary record per session, ``<user_id>/<session_id>``.

The store keeps them as turns arrive (``TurnRepository.add_turns``): ``n_turns`` is the
highest turn index seen, so rewriting a summary for the same turns changes nothing.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping, Sequence

from memory_agent.backends.store.chroma import codec
from memory_agent.backends.store.chroma.access import Collections
from memory_agent.core.types import SessionInfo, Turn, utc
from memory_agent.errors import UnknownSessionError


class SessionRepository:
    """Session summaries of one store object's collections."""

    def __init__(self, db: Collections) -> None:
        self._db = db

    def list_sessions(self, user_id: str) -> list[SessionInfo]:
        with self._db.guard("read sessions"):
            found = self._db.get_all("sessions", {"user_id": user_id}, ["metadatas"])
        infos = [codec.decode_session(meta) for _, _, meta, _ in found]
        return sorted(infos, key=lambda s: (s.start, s.session_id))

    def mark_session_ended(self, user_id: str, session_id: str) -> None:
        with self._db.lock:
            with self._db.guard("read a session"):
                found = self._db.get_ids("sessions", [codec.rid(user_id, session_id)],
                                         ["metadatas"])
            if not found:
                raise UnknownSessionError.no_turns(user_id, session_id)
            info = codec.decode_session(found[0][2])
            self.put({(user_id, session_id): dataclasses.replace(info, ended=True)})

    def updated(self, turns: Sequence[Turn]) -> dict[tuple[str, str], SessionInfo]:
        """The session summaries after adding ``turns`` (call with the lock held)."""
        keys = sorted({(t.user_id, t.session_id) for t in turns})
        with self._db.guard("read sessions"):
            found = self._db.get_ids("sessions", [codec.rid(u, s) for u, s in keys],
                                     ["metadatas"])
        infos = {
            (codec.text_field(meta, "user_id"), codec.text_field(meta, "session_id")):
                codec.decode_session(meta)
            for _, _, meta, _ in found
        }
        for t in turns:
            at = utc(t.at)
            old = infos.get((t.user_id, t.session_id))
            if old is None:
                infos[(t.user_id, t.session_id)] = SessionInfo(t.session_id, t.index, at, at,
                                                                False)
            else:
                infos[(t.user_id, t.session_id)] = SessionInfo(
                    t.session_id, max(old.n_turns, t.index), min(old.start, at),
                    max(old.end, at), old.ended,
                )
        return infos

    def put(self, infos: Mapping[tuple[str, str], SessionInfo]) -> None:
        """Write session summaries (insert or replace)."""
        keys = list(infos)
        with self._db.guard("store sessions"):
            self._db["sessions"].upsert(
                ids=[codec.rid(u, s) for u, s in keys],
                embeddings=codec.constant_vectors(len(keys)),
                metadatas=codec.metas(codec.session_meta(u, infos[(u, s)]) for u, s in keys),
            )
