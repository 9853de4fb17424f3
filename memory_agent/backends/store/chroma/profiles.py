"""The ``profiles`` and ``profile_history`` collections.

``profiles`` holds ``<user_id>/v<version>`` per version ever written: the current one
carries ``live_for`` (its user id), older ones are kept without text so no version is
claimed twice (see ``put_profile``). ``profile_history`` holds one record per kept fact,
``<user_id>/<seq>-<random>``, ordered by ``valid_to`` then ``seq``.
"""

from __future__ import annotations

import logging
import time
import uuid
from collections.abc import Callable, Mapping, Sequence

from memory_agent.backends.store.chroma import codec
from memory_agent.backends.store.chroma.access import Collections, chunks
from memory_agent.backends.store.chroma.users import UserRepository
from memory_agent.core.store import HistoryEntry
from memory_agent.core.store_rules import check_profile_version
from memory_agent.core.types import StoredProfile, validate_id
from memory_agent.errors import ProfileConflictError, StoreError

log = logging.getLogger("memory_agent")

LIVE = "live_for"  # metadata of a current profile version: its user id (see put_profile)
Scrub = Callable[[Mapping[str, Sequence[str]]], None]  # deleted record ids per kind


class ProfileRepository:
    """Profile versions and kept history of one store object's collections.

    ``scrub`` is called with the ids of deleted history records (an embedded store blanks
    their text in Chroma's files; see ``scrub.py``).
    """

    def __init__(self, db: Collections, users: UserRepository, scrub: Scrub) -> None:
        self._db = db
        self._users = users
        self._scrub = scrub
        self._last_seq = 0

    # --- the document ------------------------------------------------------------------------
    def get_profile(self, user_id: str) -> StoredProfile | None:
        latest = self._versions(user_id)
        if not latest:
            return None
        _, doc, meta, _ = latest[-1]
        return StoredProfile(doc or "", codec.int_field(meta, "version"))

    def _versions(self, user_id: str) -> list[codec.Record]:
        """The user's live profile versions, oldest first (one, or two while a write is
        retiring its predecessor); retired versions are not read."""
        with self._db.guard("read the profile"):
            found = self._db.get_all("profiles", {LIVE: user_id}, ["documents", "metadatas"])
            if not found:  # none yet, or written before versions were retired (read as is)
                found = self._db.get_all("profiles", {"user_id": user_id},
                                         ["documents", "metadatas"])
        return sorted(found, key=lambda r: codec.int_field(r[2], "version"))

    def put_profile(self, user_id: str, markdown: str, *, expected_version: int) -> int:
        """Write the profile if its stored version is ``expected_version`` (0 = none yet).

        A real compare-and-set, also between processes and hosts sharing one Chroma: each
        version is a record of its own, ``<user_id>/v<version>``, written with ``add``, which
        Chroma ignores for an id it already holds (the first write wins). After writing,
        the record is read back: if it carries another writer's token, that writer won the
        version and this call raises ProfileConflictError, having written nothing.

        Older versions are retired, never deleted: their text is blanked and their ``live_for``
        mark removed, but the id stays taken. A deleted id could be claimed again by a
        writer that read the profile before the deletion: it would "win" a version below
        the current one (its edit lost although acknowledged), and the winner of a deleted
        version would find no record to read back (a conflict reported for an edit that
        was applied, so the caller applies it twice). Retired versions are removed by
        ``forget_user``.
        """
        validate_id(user_id, "user_id")
        with self._db.lock:
            versions = self._versions(user_id)
            version = codec.int_field(versions[-1][2], "version") if versions else 0
            check_profile_version(user_id, version, expected_version)
            self._users.register({user_id})
            new_version = version + 1
            rid = codec.rid(user_id, f"v{new_version:012d}")
            token = uuid.uuid4().hex
            with self._db.guard("store the profile"):
                self._db["profiles"].add(
                    ids=[rid],
                    embeddings=codec.constant_vectors(1),
                    documents=[markdown],
                    metadatas=codec.metas([{"user_id": user_id, "version": new_version,
                                            "writer": token, LIVE: user_id}]),
                )
                written = self._db.get_ids("profiles", [rid], ["metadatas"])
            if not written or written[0][2].get("writer") != token:
                msg = (f"the profile of {user_id!r} changed (another writer stored version "
                       f"{new_version} first); re-read it and apply the change again")
                raise ProfileConflictError(msg)
            self._retire([r[0] for r in versions])
            return new_version

    def _retire(self, ids: Sequence[str]) -> None:
        """Blank superseded versions and drop their ``live_for`` mark (ids stay taken).

        Best effort: the new version is already stored and wins every read, and a version
        left live is retired by the next write, so a failure here is only logged.
        """
        if not ids:
            return
        try:
            with self._db.guard("retire old profile versions"):
                self._db["profiles"].update(
                    ids=list(ids),
                    embeddings=codec.constant_vectors(len(ids)),
                    documents=[""] * len(ids),
                    metadatas=[{LIVE: None} for _ in ids],
                )
        except StoreError as error:
            log.warning("%s; the next profile write retires them", error)

    # --- history -----------------------------------------------------------------------------
    def add_history(self, entries: Sequence[HistoryEntry]) -> None:
        if not entries:
            return
        for e in entries:
            validate_id(e.user_id, "user_id")
        with self._db.lock:
            self._users.register({e.user_id for e in entries})
            seqs = [self._next_seq() for _ in entries]
        ids = [
            codec.rid(e.user_id, f"{seq:020d}-{uuid.uuid4().hex[:8]}")
            for e, seq in zip(entries, seqs, strict=True)
        ]
        with self._db.guard("store profile history"):
            for part in chunks(range(len(entries))):
                self._db["profile_history"].add(
                    ids=[ids[i] for i in part],
                    embeddings=codec.constant_vectors(len(part)),
                    documents=[entries[i].text for i in part],
                    metadatas=codec.metas(codec.history_meta(entries[i], seqs[i])
                                          for i in part),
                )

    def get_history(self, user_id: str) -> list[HistoryEntry]:
        with self._db.guard("read profile history"):
            found = self._db.get_all(
                "profile_history", {"user_id": user_id}, ["documents", "metadatas"]
            )
        kept = [(codec.decode_history(doc, meta), codec.int_field(meta, "seq"))
                for _, doc, meta, _ in found]
        kept.sort(key=lambda item: (item[0].valid_to, item[1]))
        return [e for e, _ in kept]

    def delete_history(self, user_id: str, fact_ids: Sequence[str]) -> None:
        doomed = set(fact_ids)
        if not doomed:
            return
        with self._db.lock:
            with self._db.guard("read profile history"):
                found = self._db.get_all("profile_history", {"user_id": user_id}, ["metadatas"])
            ids = [rid for rid, _, meta, _ in found
                   if codec.json_object(codec.text_field(meta, "data")).get("fact_id") in doomed]
            if not ids:
                return
            with self._db.guard("delete profile history"):
                self._db["profile_history"].delete(ids=ids)
            self._scrub({"profile_history": ids})

    def _next_seq(self) -> int:
        """An increasing number for ordering history (call with the lock held)."""
        self._last_seq = max(time.time_ns(), self._last_seq + 1)
        return self._last_seq
