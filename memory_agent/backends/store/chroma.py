"""``ChromaStore``: the default ``MemoryStore``, on Chroma (embedded on disk or a server).

Layout: one collection per record kind, named ``<prefix>_<kind>``: ``turns`` and ``nodes``
hold the caller's vectors (cosine space); ``sessions``, ``profiles``, ``profile_history``,
``jobs`` and ``users`` have no meaningful vector and carry the constant ``[1.0]``.
``profiles`` holds ``<user_id>/v<version>`` per version ever written: the current one carries
``live_for``, older ones are kept without text so no version is claimed twice. ``users``
also holds, per user, one record for each store object that wrote turns: ``<user_id>/<key>``
with its number of ``add_turns`` calls (``turn_versions``). Every
record has a ``user_id`` metadata field; record ids are ``<user_id>/<id>`` (user ids cannot
contain ``/``), so two users' records never collide (profiles and users are keyed by the
user id, jobs by their globally unique job id). Every read is scoped to one user:
by a ``where`` on ``user_id``, or by user-prefixed ids (never both at once: Chroma 1.5.9
scans the whole collection per id when ``get`` has ids and a ``where``).
Datetimes are stored as ISO strings, plus epoch floats (``*_ts``) where a filter may need
them. Fields nobody filters on are packed into one JSON string (``data``): Chroma's ``get``
costs grow with the number of metadata keys (10,000 nodes: 0.4 s with ten keys, 0.2 s
with five).

Chroma's default embedding function downloads a model at run time: every collection is
opened with ``embedding_function=None`` and every write passes vectors. Telemetry is off.

Not transactional: a write touching two collections (turns + their session summary, then
the turn-write counter) is several writes, guarded by a process-local lock. Another process
writing the same user's session concurrently can lose a session-summary update (never a
turn). Run one writer per user (the manager does), or use the Chroma server with one
writing process.
"""

from __future__ import annotations

import dataclasses
import json
import logging
import os
import re
import threading
import time
import uuid
from collections import abc
from collections.abc import Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any, cast
from urllib.parse import urlsplit

import chromadb
import numpy as np
import numpy.typing as npt
from chromadb.config import Settings

from memory_agent.backends.store.memory import (
    check_lengths,
    check_profile_version,
    check_turns,
    encode_payload,
    node_order,
    ordered_turns,
)
from memory_agent.core.store import HistoryEntry, Job, MemoryStore, TurnVectors, Vector
from memory_agent.core.types import Node, SessionInfo, StoredProfile, Turn, utc, validate_id
from memory_agent.errors import (
    InvalidInputError,
    MemoryAgentError,
    ProfileConflictError,
    StoreError,
    UnknownSessionError,
)

if TYPE_CHECKING:
    from chromadb.api import ClientAPI
    from chromadb.api.models.Collection import Collection

log = logging.getLogger("memory_agent")

HOME_ENV = "MEMORY_AGENT_HOME"
SERVER_ENV = "MEMORY_AGENT_CHROMA_URL"
DEFAULT_HOME = "~/.local/share/memory-agent"
DEFAULT_PREFIX = "memory_agent"

Meta = dict[str, str | int | float | bool]
_KINDS = ("turns", "nodes", "sessions", "profiles", "profile_history", "jobs", "users")
_VECTOR_KINDS = frozenset({"turns", "nodes"})
_NO_VECTOR = [1.0]
_LIVE = "live_for"  # metadata of a current profile version: its user id (see put_profile)
_CHUNK = 5000  # below Chroma's max batch size (5461 embedded)
_PAGE = 25_000  # one call for typical users; bounds the size of one response
_IDLE_WRITER_SECONDS = 7 * 24 * 3600  # turn-write counters idle this long are pruned
_PREFIX_RE = re.compile(r"^[A-Za-z0-9](?:[A-Za-z0-9_-]|\.(?!\.)){0,400}$")
_USER_PREFIX = "User: "
_ASSISTANT_SEP = "\nAssistant: "


class ChromaStore(MemoryStore):
    """A ``MemoryStore`` on a Chroma client you pass in (or see the constructors below).

    ``prefix`` namespaces the collections, so several stores can share one Chroma.
    ``location`` names the data dir or server in error messages.
    """

    def __init__(
        self, client: ClientAPI, *, prefix: str = DEFAULT_PREFIX, location: str | None = None
    ) -> None:
        _check_prefix(prefix)
        self._client = client
        self._location = location or "the given Chroma client"
        self._owns_client = False
        self._sqlite_path: Path | None = None  # set for embedded stores (see forget_user)
        self._lock = threading.RLock()
        self._known_users: set[str] = set()
        self._last_seq = 0
        # per user: this object's turn-write counter key and its count of add_turns calls
        self._turn_writes: dict[str, tuple[str, int]] = {}
        with self._guard("open its collections"):
            self._cols: dict[str, Collection] = {
                kind: client.get_or_create_collection(
                    name=f"{prefix}_{kind}",
                    embedding_function=None,
                    configuration={"hnsw": {"space": "cosine"}} if kind in _VECTOR_KINDS else None,
                )
                for kind in _KINDS
            }

    # --- construction --------------------------------------------------------------------
    @classmethod
    def persistent(cls, path: str | Path, *, prefix: str = DEFAULT_PREFIX) -> ChromaStore:
        """Chroma embedded in this process, stored in directory ``path`` (created if needed)."""
        _check_prefix(prefix)
        where = Path(path).expanduser()
        location = f"Chroma data dir {where}"
        try:
            where.mkdir(parents=True, exist_ok=True)
            client = chromadb.PersistentClient(
                path=str(where), settings=Settings(anonymized_telemetry=False)
            )
        except Exception as exc:
            msg = f"cannot open the {location}: {exc} (check that it is a writable directory)"
            raise StoreError(msg) from exc
        store = cls._adopt(client, prefix, location)
        store._sqlite_path = where / "chroma.sqlite3"
        return store

    @classmethod
    def http(
        cls, host: str, port: int = 8000, *, prefix: str = DEFAULT_PREFIX, **client_kwargs: Any
    ) -> ChromaStore:
        """A Chroma server (``chroma run``). ``client_kwargs`` go to ``chromadb.HttpClient``
        (``ssl``, ``headers``, ``tenant``, ``database``, ``settings``).
        """
        _check_prefix(prefix)
        scheme = "https" if client_kwargs.get("ssl") else "http"
        location = f"Chroma server at {scheme}://{host}:{port}"
        client_kwargs.setdefault("settings", Settings(anonymized_telemetry=False))
        try:
            client = chromadb.HttpClient(host=host, port=port, **client_kwargs)
        except Exception as exc:
            msg = (
                f"cannot reach the {location}: {exc} (start it with `chroma run --path DIR "
                f"--host {host} --port {port}`, or unset {SERVER_ENV} to store locally)"
            )
            raise StoreError(msg) from exc
        return cls._adopt(client, prefix, location)

    @classmethod
    def from_settings(
        cls,
        data_dir: str | Path | None = None,
        server_url: str | None = None,
        *,
        prefix: str = DEFAULT_PREFIX,
    ) -> ChromaStore:
        """The configured store: a server if a URL is set, else Chroma embedded on disk.

        Explicit arguments win over the environment: ``server_url``, then ``data_dir``,
        then ``$MEMORY_AGENT_CHROMA_URL`` (e.g. ``http://127.0.0.1:8000``), then
        ``$MEMORY_AGENT_HOME``, then ``~/.local/share/memory-agent``. Chroma's files go in
        the ``chroma`` folder of the data dir.
        """
        if data_dir is not None and server_url is not None:
            msg = "pass data_dir (embedded Chroma) or server_url (Chroma server), not both"
            raise InvalidInputError(msg)
        url = server_url if data_dir is None else None
        if url is None and data_dir is None:
            url = os.environ.get(SERVER_ENV) or None
        if url is not None:
            host, port, ssl = parse_server_url(url)
            return cls.http(host, port, prefix=prefix, ssl=ssl)
        home = data_dir if data_dir is not None else os.environ.get(HOME_ENV) or DEFAULT_HOME
        return cls.persistent(Path(home).expanduser() / "chroma", prefix=prefix)

    @classmethod
    def _adopt(cls, client: ClientAPI, prefix: str, location: str) -> ChromaStore:
        """A store owning ``client`` (closed again if the store cannot be set up)."""
        try:
            store = cls(client, prefix=prefix, location=location)
        except BaseException:
            _close_client(client)
            raise
        store._owns_client = True
        return store

    def close(self) -> None:
        """Release the client if this store created it (a client you passed in stays open)."""
        if self._owns_client:
            self._owns_client = False
            _close_client(self._client)

    def __enter__(self) -> ChromaStore:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"ChromaStore({self._location})"

    # --- turns ---------------------------------------------------------------------------
    def add_turns(self, turns: Sequence[Turn], vectors: Sequence[Vector]) -> None:
        check_lengths(turns, vectors, "turns")
        if not turns:
            return
        check_turns(turns)
        ids = [_rid(t.user_id, t.id) for t in turns]
        col = self._cols["turns"]
        with self._lock:
            with self._guard("check turn ids"):
                taken = col.get(ids=ids, include=[])["ids"]
            if taken:
                msg = f"turn ids already stored: {', '.join(sorted(taken))} (turn ids must be new)"
                raise StoreError(msg)
            sessions = self._updated_sessions(turns)
            self._register({t.user_id for t in turns})
            # The session record first: its counts are idempotent (n_turns is the highest
            # index), so a crash between the two writes leaves a session that already counts
            # the turns the journal will store again, never stored turns it does not count
            # (which would let the next record() reuse an index).
            self._put_sessions(sessions)
            with self._guard("store turns"):
                for part in _chunks(range(len(turns))):
                    col.add(
                        ids=[ids[i] for i in part],
                        embeddings=_embeddings(vectors[i] for i in part),
                        documents=[_turn_document(turns[i]) for i in part],
                        metadatas=_metas(_turn_meta(turns[i]) for i in part),
                    )
            self._count_turn_writes({t.user_id for t in turns})

    def get_turns(
        self, user_id: str, *, session_id: str | None = None, ids: Sequence[str] | None = None
    ) -> list[Turn]:
        where = _where(user_id, session_id=session_id)
        include: Any = ["documents", "metadatas"]
        with self._guard("read turns"):
            if ids is None:
                found = self._get_all("turns", where, include)
            elif not ids:
                return []
            else:
                rids = [_rid(user_id, i) for i in ids]
                found = [
                    r
                    for r in self._get_ids("turns", rids, include)
                    if session_id is None or r[2].get("session_id") == session_id
                ]
        return ordered_turns(_turn(doc, meta) for _, doc, meta, _ in found)

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
        with self._guard("search turns"):
            result = self._cols["turns"].query(
                query_embeddings=_embeddings([vector]),
                n_results=k,
                where=where,
                include=["documents", "metadatas", "distances"],
            )
        docs = (result["documents"] or [[]])[0]
        metas = (result["metadatas"] or [[]])[0]
        distances = (result["distances"] or [[]])[0]
        return [
            (_turn(doc, meta), 1.0 - float(dist))
            for doc, meta, dist in zip(docs, metas, distances, strict=True)
        ]

    def get_turn_vectors(self, user_id: str, *, known: abc.Collection[str] = ()) -> TurnVectors:
        where = {"user_id": user_id}
        with self._guard("read turn vectors"):
            if not known:  # everything: one paged read with the vectors
                ids: list[str] = []
                parts = []
                for page in self._pages("turns", where, ["embeddings"]):
                    ids += [_local_id(rid) for rid in page["ids"]]
                    parts.append(_vector_rows(page))
                vectors = _stack(parts)
                if len(set(ids)) < len(ids):  # a page boundary moved under a concurrent write
                    first: dict[str, int] = {}
                    for i, tid in enumerate(ids):
                        first.setdefault(tid, i)
                    keep = list(first.values())
                    ids, vectors = [ids[i] for i in keep], vectors[keep]
                return TurnVectors(ids, ids, vectors)
            ids = list(dict.fromkeys(_local_id(rid) for page in self._pages("turns", where, [])
                                     for rid in page["ids"]))
            new = [tid for tid in ids if tid not in known]
            found = self._get_ids("turns", [_rid(user_id, tid) for tid in new], ["embeddings"])
        rows = {_local_id(rid): vec for rid, _, _, vec in found}
        new = [tid for tid in new if tid in rows]  # deleted meanwhile
        vectors = _stack([np.asarray([rows[tid] for tid in new], dtype=np.float32)])
        return TurnVectors(ids, new, vectors)

    def turn_versions(self, user_id: str) -> Mapping[str, int] | None:
        with self._guard("read turn versions"):
            found = self._get_all("users", {"user_id": user_id}, ["metadatas"])
        return {_local_id(rid): _int(meta, "count") for rid, _, meta, _ in found if "/" in rid}

    def _count_turn_writes(self, user_ids: Iterable[str]) -> None:
        """Raise this store object's ``add_turns`` count of each user (lock held).

        The count is a record of the ``users`` collection, ``<user>/<key>`` (a user's own
        record is keyed by the bare user id, which cannot contain ``/``). If that record is gone
        (first write, or ``forget_user`` from anywhere), counting restarts under a new key,
        so readers see the old key vanish instead of a count that carries on. Then records
        not updated for a week are deleted too (readers re-read the user's turns once).
        """
        now = time.time()
        col = self._cols["users"]
        for user_id in sorted(user_ids):
            key, count = self._turn_writes.get(user_id, ("", 0))
            with self._guard("count turn writes"):
                if not key or not col.get(ids=[_rid(user_id, key)], include=[])["ids"]:
                    key, count = uuid.uuid4().hex[:16], 0
                    idle: Any = {"$and": [{"user_id": user_id},
                                          {"updated_ts": {"$lt": now - _IDLE_WRITER_SECONDS}}]}
                    col.delete(where=idle)
                self._turn_writes[user_id] = (key, count + 1)
                col.upsert(
                    ids=[_rid(user_id, key)],
                    embeddings=_embeddings([_NO_VECTOR]),
                    metadatas=_metas([{"user_id": user_id, "count": count + 1,
                                       "updated_ts": now}]),
                )

    # --- sessions ------------------------------------------------------------------------
    def list_sessions(self, user_id: str) -> list[SessionInfo]:
        with self._guard("read sessions"):
            found = self._get_all("sessions", {"user_id": user_id}, ["metadatas"])
        infos = [_session(meta) for _, _, meta, _ in found]
        return sorted(infos, key=lambda s: (s.start, s.session_id))

    def mark_session_ended(self, user_id: str, session_id: str) -> None:
        rid = _rid(user_id, session_id)
        with self._lock:
            with self._guard("read a session"):
                found = self._get_ids("sessions", [rid], ["metadatas"])
            if not found:
                msg = f"no turns recorded for session {session_id!r} of user {user_id!r}"
                raise UnknownSessionError(msg)
            info = _session(found[0][2])
            self._put_sessions({(user_id, session_id): dataclasses.replace(info, ended=True)})

    def _updated_sessions(self, turns: Sequence[Turn]) -> dict[tuple[str, str], SessionInfo]:
        """The session summaries after adding ``turns`` (call with the lock held)."""
        keys = sorted({(t.user_id, t.session_id) for t in turns})
        with self._guard("read sessions"):
            found = self._get_ids("sessions", [_rid(u, s) for u, s in keys], ["metadatas"])
        infos = {
            (_str(meta, "user_id"), _str(meta, "session_id")): _session(meta)
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

    def _put_sessions(self, infos: Mapping[tuple[str, str], SessionInfo]) -> None:
        keys = list(infos)
        with self._guard("store sessions"):
            self._cols["sessions"].upsert(
                ids=[_rid(u, s) for u, s in keys],
                embeddings=_embeddings([_NO_VECTOR] * len(keys)),
                metadatas=_metas(_session_meta(u, infos[(u, s)]) for u, s in keys),
            )

    # --- tree nodes ----------------------------------------------------------------------
    def put_nodes(self, nodes: Sequence[Node], vectors: Sequence[Vector]) -> None:
        check_lengths(nodes, vectors, "nodes")
        if not nodes:
            return
        for n in nodes:
            validate_id(n.user_id, "user_id")
        with self._lock:
            self._register({n.user_id for n in nodes})
        with self._guard("store nodes"):
            for part in _chunks(range(len(nodes))):
                self._cols["nodes"].upsert(
                    ids=[_rid(nodes[i].user_id, nodes[i].id) for i in part],
                    embeddings=_embeddings(vectors[i] for i in part),
                    documents=[nodes[i].summary for i in part],
                    metadatas=_metas(_node_meta(nodes[i]) for i in part),
                )

    def get_nodes(self, user_id: str) -> list[Node]:
        with self._guard("read nodes"):
            found = self._get_all("nodes", {"user_id": user_id}, ["documents", "metadatas"])
        return sorted((_node(rid, doc, meta) for rid, doc, meta, _ in found), key=node_order)

    def get_node_vectors(self, user_id: str, ids: Sequence[str]) -> dict[str, list[float]]:
        if not ids:
            return {}
        rids = [_rid(user_id, i) for i in ids]
        with self._guard("read node vectors"):
            found = self._get_ids("nodes", rids, ["embeddings"])
        return {
            _local_id(rid): np.asarray(vec, dtype=np.float64).tolist() for rid, _, _, vec in found
        }

    def delete_nodes(self, user_id: str, ids: Sequence[str]) -> None:
        if not ids:
            return
        with self._guard("delete nodes"):
            for part in _chunks([_rid(user_id, i) for i in ids]):
                self._cols["nodes"].delete(ids=list(part))

    # --- profile -------------------------------------------------------------------------
    def get_profile(self, user_id: str) -> StoredProfile | None:
        latest = self._profile_versions(user_id)
        if not latest:
            return None
        _, doc, meta, _ = latest[-1]
        return StoredProfile(doc or "", _int(meta, "version"))

    def _profile_versions(self, user_id: str) -> list[_Record]:
        """The user's live profile versions, oldest first (one, or two while a write is
        retiring its predecessor); retired versions are not read."""
        with self._guard("read the profile"):
            found = self._get_all("profiles", {_LIVE: user_id}, ["documents", "metadatas"])
            if not found:  # none yet, or written before versions were retired (read as is)
                found = self._get_all("profiles", {"user_id": user_id},
                                      ["documents", "metadatas"])
        return sorted(found, key=lambda r: _int(r[2], "version"))

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
        with self._lock:
            versions = self._profile_versions(user_id)
            version = _int(versions[-1][2], "version") if versions else 0
            check_profile_version(user_id, version, expected_version)
            self._register({user_id})
            new_version = version + 1
            rid = _rid(user_id, f"v{new_version:012d}")
            token = uuid.uuid4().hex
            with self._guard("store the profile"):
                self._cols["profiles"].add(
                    ids=[rid],
                    embeddings=_embeddings([_NO_VECTOR]),
                    documents=[markdown],
                    metadatas=_metas([{"user_id": user_id, "version": new_version,
                                       "writer": token, _LIVE: user_id}]),
                )
                written = self._get_ids("profiles", [rid], ["metadatas"])
            if not written or written[0][2].get("writer") != token:
                msg = (f"the profile of {user_id!r} changed (another writer stored version "
                       f"{new_version} first); re-read it and apply the change again")
                raise ProfileConflictError(msg)
            self._retire_profile_versions([r[0] for r in versions])
            return new_version

    def _retire_profile_versions(self, ids: Sequence[str]) -> None:
        """Blank superseded versions and drop their ``live_for`` mark (ids stay taken).

        Best effort: the new version is already stored and wins every read, and a version
        left live is retired by the next write, so a failure here is only logged.
        """
        if not ids:
            return
        try:
            with self._guard("retire old profile versions"):
                self._cols["profiles"].update(
                    ids=list(ids),
                    embeddings=_embeddings([_NO_VECTOR] * len(ids)),
                    documents=[""] * len(ids),
                    metadatas=[{_LIVE: None} for _ in ids],
                )
        except StoreError as error:
            log.warning("%s; the next profile write retires them", error)

    def add_history(self, entries: Sequence[HistoryEntry]) -> None:
        if not entries:
            return
        for e in entries:
            validate_id(e.user_id, "user_id")
        with self._lock:
            self._register({e.user_id for e in entries})
            seqs = [self._next_seq() for _ in entries]
        ids = [
            _rid(e.user_id, f"{seq:020d}-{uuid.uuid4().hex[:8]}")
            for e, seq in zip(entries, seqs, strict=True)
        ]
        with self._guard("store profile history"):
            for part in _chunks(range(len(entries))):
                self._cols["profile_history"].add(
                    ids=[ids[i] for i in part],
                    embeddings=_embeddings([_NO_VECTOR] * len(part)),
                    documents=[entries[i].text for i in part],
                    metadatas=_metas(_history_meta(entries[i], seqs[i]) for i in part),
                )

    def get_history(self, user_id: str) -> list[HistoryEntry]:
        with self._guard("read profile history"):
            found = self._get_all(
                "profile_history", {"user_id": user_id}, ["documents", "metadatas"]
            )
        kept = [(_history(doc, meta), _int(meta, "seq")) for _, doc, meta, _ in found]
        kept.sort(key=lambda item: (item[0].valid_to, item[1]))
        return [e for e, _ in kept]

    def delete_history(self, user_id: str, fact_ids: Sequence[str]) -> None:
        doomed = set(fact_ids)
        if not doomed:
            return
        with self._lock:
            with self._guard("read profile history"):
                found = self._get_all("profile_history", {"user_id": user_id}, ["metadatas"])
            ids = [rid for rid, _, meta, _ in found
                   if _json_object(_str(meta, "data")).get("fact_id") in doomed]
            if not ids:
                return
            with self._guard("delete profile history"):
                self._cols["profile_history"].delete(ids=ids)
            if self._sqlite_path is not None:
                self._scrub({"profile_history": ids})

    def _next_seq(self) -> int:
        """An increasing number for ordering history (call with the lock held)."""
        self._last_seq = max(time.time_ns(), self._last_seq + 1)
        return self._last_seq

    # --- journal -------------------------------------------------------------------------
    def add_job(self, job: Job) -> None:
        validate_id(job.user_id, "user_id")
        payload = encode_payload(job.payload)
        created = utc(job.created)
        with self._lock:
            self._register({job.user_id})
        meta: Meta = {
            "user_id": job.user_id,
            "kind": job.kind,
            "created": created.isoformat(),
            "created_ts": created.timestamp(),
        }
        with self._guard("journal a job"):
            self._cols["jobs"].upsert(
                ids=[job.id],
                embeddings=_embeddings([_NO_VECTOR]),
                documents=[payload],
                metadatas=_metas([meta]),
            )

    def pending_jobs(self, user_id: str | None = None) -> list[Job]:
        where = None if user_id is None else {"user_id": user_id}
        with self._guard("read the job journal"):
            found = self._get_all("jobs", where, ["documents", "metadatas"])
        jobs = [
            Job(
                id=rid,
                user_id=_str(meta, "user_id"),
                kind=_str(meta, "kind"),
                payload=_json_object(doc or "{}"),
                created=_time(meta, "created"),
            )
            for rid, doc, meta, _ in found
        ]
        return sorted(jobs, key=lambda j: (j.created, j.id))

    def complete_job(self, job_id: str) -> None:
        with self._guard("complete a job"):
            self._cols["jobs"].delete(ids=[job_id])

    # --- users ---------------------------------------------------------------------------
    def list_users(self) -> list[str]:
        """Users in the ``users`` registry: anyone who wrote since their last ``forget_user``.

        Writes register a user once per store object (cached in this process), so a user
        forgotten through another store object or process and then written to again through
        this one is missing here until this store is reopened.
        """
        with self._guard("list users"):
            found = self._get_all("users", None, [])
        return sorted(rid for rid, _, _, _ in found if "/" not in rid)  # not turn counters

    def forget_user(self, user_id: str) -> None:
        """Delete every record of the user; embedded, also scrub Chroma's files of their text.

        Chroma keeps each write in its log (``embeddings_queue`` in ``chroma.sqlite3``) until
        its vector index next persists (every ``hnsw:sync_threshold`` = 1,000 writes to a
        collection), and its SQLite does not overwrite deleted rows. For an embedded store
        the deleted records' log entries are therefore blanked and the file is vacuumed
        (``scrub``). A server's files are out of reach: see docs/reliability.md.
        """
        with self._lock:
            with self._guard("forget a user"):
                doomed = {kind: self._cols[kind].get(where={"user_id": user_id}, include=[])["ids"]
                          for kind in _KINDS}
                for kind in _KINDS:  # "users" last: a failed forget can be retried
                    self._cols[kind].delete(where={"user_id": user_id})
            self._known_users.discard(user_id)
            self._turn_writes.pop(user_id, None)
            if self._sqlite_path is not None:
                self._scrub(doomed, user_id)

    def _scrub(self, doomed: Mapping[str, Sequence[str]], user_id: str | None = None) -> None:
        """Blank the log entries of deleted records and vacuum ``chroma.sqlite3``."""
        import sqlite3

        assert self._sqlite_path is not None
        try:
            db = sqlite3.connect(self._sqlite_path, timeout=30, isolation_level=None)
        except sqlite3.Error as exc:
            msg = f"could not open {self._sqlite_path} to scrub forgotten text: {exc}"
            raise StoreError(msg) from exc
        try:
            db.execute("PRAGMA secure_delete=ON")
            if user_id is not None:  # every record ever written for the user, also those
                prefix = f"{user_id}/"  # deleted before (pruned profile versions, old nodes)
                for col in self._cols.values():
                    db.execute(
                        "UPDATE embeddings_queue SET metadata = '{}' WHERE topic LIKE ? AND "
                        "(id = ? OR substr(id, 1, ?) = ?)",
                        [f"%/{col.id}", user_id, len(prefix), prefix],
                    )
            for kind, ids in doomed.items():
                topic = f"%/{self._cols[kind].id}"
                for part in _chunks(list(ids)):
                    marks = ",".join("?" * len(part))
                    db.execute(
                        f"UPDATE embeddings_queue SET metadata = '{{}}' "
                        f"WHERE topic LIKE ? AND id IN ({marks})",
                        [topic, *part],
                    )
            db.execute("VACUUM")
        except sqlite3.Error as exc:
            msg = (f"records were deleted but their text could not be scrubbed from "
                   f"{self._sqlite_path}: {exc}; call forget again when Chroma is idle")
            raise StoreError(msg) from exc
        finally:
            db.close()
        _scrub_hnsw_lengths(self._sqlite_path.parent)

    def _register(self, user_ids: Iterable[str]) -> None:
        """Record users in the ``users`` collection once per process (lock held)."""
        new = sorted(set(user_ids) - self._known_users)
        if not new:
            return
        with self._guard("register users"):
            self._cols["users"].upsert(
                ids=new,
                embeddings=_embeddings([_NO_VECTOR] * len(new)),
                metadatas=_metas({"user_id": u} for u in new),
            )
        self._known_users.update(new)

    # --- Chroma access -------------------------------------------------------------------
    @contextmanager
    def _guard(self, action: str) -> Iterator[None]:
        """Turn Chroma's (and its HTTP client's) exceptions into StoreError."""
        try:
            yield
        except MemoryAgentError:
            raise
        except Exception as exc:
            msg = f"could not {action} in the {self._location}: {type(exc).__name__}: {exc}"
            raise StoreError(msg) from exc

    def _get_all(self, kind: str, where: Any, include: Any) -> list[_Record]:
        """Every record matching ``where``, fetched in pages."""
        records: dict[str, _Record] = {}
        for page in self._pages(kind, where, include):
            records.update((r[0], r) for r in _records(page))
        return list(records.values())

    def _pages(self, kind: str, where: Any, include: Any) -> Iterator[Any]:
        """Chroma ``get`` results of every record matching ``where``, ``_PAGE`` at a time."""
        offset = 0
        while True:
            page = self._cols[kind].get(where=where, include=include, limit=_PAGE, offset=offset)
            yield page
            if len(page["ids"]) < _PAGE:
                return
            offset += _PAGE

    def _get_ids(self, kind: str, ids: Sequence[str], include: Any) -> list[_Record]:
        """The records with these ids (ids are user-scoped, so no ``where`` is needed).

        Never add a ``where`` here: in chromadb 1.5.9 ``get(ids=..., where=...)`` scans the
        collection once per id (1 id: 40 ms, 1,000 ids: 7 s on 10,000 records).
        """
        out: list[_Record] = []
        for part in _chunks(list(dict.fromkeys(ids))):
            out.extend(_records(self._cols[kind].get(ids=list(part), include=include)))
        return out


def _check_prefix(prefix: str) -> None:
    if not _PREFIX_RE.match(prefix):
        msg = (
            f"invalid collection prefix {prefix!r}: start with a letter or digit, then use "
            "letters, digits, '_', '-' and single '.'"
        )
        raise InvalidInputError(msg)


def _close_client(client: ClientAPI) -> None:
    # chromadb 1.5.9 never closes the connection pools of an HttpClient (one for the client,
    # one for its internal admin client); close them ourselves.
    for part in (client, getattr(client, "_admin_client", None)):
        session = getattr(getattr(part, "_server", None), "_session", None)
        if session is not None and callable(getattr(session, "close", None)):
            session.close()
    close = getattr(client, "close", None)
    if callable(close):
        close()


# --- records -------------------------------------------------------------------------------
_Record = tuple[str, str | None, Mapping[str, Any], Any]


def _records(result: Any) -> list[_Record]:
    """(id, document, metadata, embedding) rows of a Chroma ``get`` result."""
    ids: list[str] = list(result["ids"])
    docs = result.get("documents") or [None] * len(ids)
    metas = result.get("metadatas") or [{}] * len(ids)
    vectors = result.get("embeddings")
    if vectors is None:
        vectors = [None] * len(ids)
    return [(i, d, m or {}, v) for i, d, m, v in zip(ids, docs, metas, vectors, strict=True)]


def _rid(user_id: str, local_id: str) -> str:
    return f"{user_id}/{local_id}"


def _local_id(rid: str) -> str:
    return rid.split("/", 1)[1]


# An HNSW ``length.bin`` holds one int32 link-list size per slot (a few hundred bytes at most);
# Chroma writes its unused slots from uninitialised memory, which can hold fragments of text
# the process handled (seen: a forgotten user's words). Values this large are never sizes.
_MAX_LINK_LIST_BYTES = 1 << 24


def _scrub_hnsw_lengths(root: Path) -> None:
    """Zero the garbage slots of every HNSW ``length.bin`` under ``root`` (valid sizes are
    small, so only impossible values are touched; the index reads the same afterwards)."""

    for path in root.glob("*/length.bin"):
        try:
            raw = bytearray(path.read_bytes())
        except OSError:
            continue
        usable = len(raw) - len(raw) % 4
        values = np.frombuffer(memoryview(raw)[:usable], dtype="<u4").copy()
        garbage = values >= _MAX_LINK_LIST_BYTES
        if not garbage.any():
            continue
        values[garbage] = 0
        raw[:usable] = values.tobytes()
        try:
            path.write_bytes(bytes(raw))
        except OSError as exc:
            msg = f"could not scrub {path} after forgetting: {exc}"
            raise StoreError(msg) from exc


def _chunks(items: Sequence[Any]) -> Iterator[Sequence[Any]]:
    for start in range(0, len(items), _CHUNK):
        yield items[start : start + _CHUNK]


def _embeddings(rows: Iterable[Vector]) -> npt.NDArray[np.float32]:
    """Vectors as the 2-d float32 array Chroma stores."""
    return np.asarray([list(r) for r in rows], dtype=np.float32)


def _vector_rows(result: Any) -> npt.NDArray[np.float32]:
    """The ``embeddings`` of a Chroma ``get`` result as a 2-d float32 array."""
    vectors = result.get("embeddings")
    if vectors is None or len(vectors) == 0:
        return np.zeros((0, 0), dtype=np.float32)
    return np.asarray(vectors, dtype=np.float32)


def _stack(parts: Sequence[npt.NDArray[np.float32]]) -> npt.NDArray[np.float32]:
    rows = [p for p in parts if p.size]
    if not rows:
        return np.zeros((0, 0), dtype=np.float32)
    return rows[0] if len(rows) == 1 else np.concatenate(rows)


def _metas(items: Iterable[Meta]) -> Any:
    """Metadata rows in the shape Chroma's (invariant) type hints accept."""
    return cast(Any, list(items))


def _where(user_id: str, *, session_id: str | None = None) -> Any:
    if session_id is None:
        return {"user_id": user_id}
    return {"$and": [{"user_id": user_id}, {"session_id": session_id}]}


def _str(meta: Mapping[str, Any], key: str) -> str:
    value = meta.get(key)
    if not isinstance(value, str):
        msg = f"a stored record lacks the text field {key!r}: the collection is damaged"
        raise StoreError(msg)
    return value


def _int(meta: Mapping[str, Any], key: str) -> int:
    value = meta.get(key)
    if not isinstance(value, int) or isinstance(value, bool):
        msg = f"a stored record lacks the integer field {key!r}: the collection is damaged"
        raise StoreError(msg)
    return value


def _time(meta: Mapping[str, Any], key: str) -> datetime:
    return utc(datetime.fromisoformat(_str(meta, key)))


def _json_object(text: str) -> dict[str, Any]:
    try:
        value = json.loads(text)
    except ValueError as exc:
        msg = f"a stored record holds invalid JSON: {exc}"
        raise StoreError(msg) from exc
    if not isinstance(value, dict):
        msg = "a stored record holds JSON that is not an object"
        raise StoreError(msg)
    return value


def _turn_document(turn: Turn) -> str:
    return f"{_USER_PREFIX}{turn.user_message}{_ASSISTANT_SEP}{turn.assistant_message}"


def _turn_meta(turn: Turn) -> Meta:
    at = utc(turn.at)
    return {
        "user_id": turn.user_id,
        "session_id": turn.session_id,
        "index": turn.index,
        "at": at.isoformat(),
        "at_ts": at.timestamp(),
        "user_chars": len(turn.user_message),
    }


def _turn(doc: str | None, meta: Mapping[str, Any]) -> Turn:
    """Rebuild a turn; the document is "User: <u>\\nAssistant: <a>" and ``user_chars`` = len(u)."""
    doc = doc or ""
    start = len(_USER_PREFIX)
    end = start + _int(meta, "user_chars")
    if not doc.startswith(_USER_PREFIX) or doc[end : end + len(_ASSISTANT_SEP)] != _ASSISTANT_SEP:
        msg = "a stored turn does not have the expected layout: the collection is damaged"
        raise StoreError(msg)
    return Turn(
        user_id=_str(meta, "user_id"),
        session_id=_str(meta, "session_id"),
        index=_int(meta, "index"),
        user_message=doc[start:end],
        assistant_message=doc[end + len(_ASSISTANT_SEP) :],
        at=_time(meta, "at"),
    )


def _session_meta(user_id: str, info: SessionInfo) -> Meta:
    return {
        "user_id": user_id,
        "session_id": info.session_id,
        "n_turns": info.n_turns,
        "start": info.start.isoformat(),
        "start_ts": info.start.timestamp(),
        "end": info.end.isoformat(),
        "end_ts": info.end.timestamp(),
        "ended": info.ended,
    }


def _session(meta: Mapping[str, Any]) -> SessionInfo:
    return SessionInfo(
        session_id=_str(meta, "session_id"),
        n_turns=_int(meta, "n_turns"),
        start=_time(meta, "start"),
        end=_time(meta, "end"),
        ended=bool(meta.get("ended", False)),
    )


def _node_meta(node: Node) -> Meta:
    start, end = utc(node.start), utc(node.end)
    data = {
        "children": list(node.children),
        "start": start.isoformat(),
        "end": end.isoformat(),
        "content_hash": node.content_hash,
        "parent": node.parent,
        "session_id": node.session_id,
        "stale": node.stale,
    }
    return {
        "user_id": node.user_id,
        "level": node.level,
        "start_ts": start.timestamp(),
        "end_ts": end.timestamp(),
        "data": json.dumps(data),
    }


def _node(rid: str, doc: str | None, meta: Mapping[str, Any]) -> Node:
    data = _json_object(_str(meta, "data"))
    return Node(
        id=_local_id(rid),
        user_id=_str(meta, "user_id"),
        level=_int(meta, "level"),
        summary=doc or "",
        children=tuple(data["children"]),
        start=_time(data, "start"),
        end=_time(data, "end"),
        content_hash=_str(data, "content_hash"),
        parent=data.get("parent"),
        session_id=data.get("session_id"),
        stale=bool(data.get("stale", False)),
    )


def _history_meta(entry: HistoryEntry, seq: int) -> Meta:
    valid_from, valid_to = utc(entry.valid_from), utc(entry.valid_to)
    data = {
        "fact_id": entry.fact_id,
        "section": entry.section,
        "marker": entry.marker,
        "valid_from": valid_from.isoformat(),
        "valid_to": valid_to.isoformat(),
        "reason": entry.reason,
    }
    return {
        "user_id": entry.user_id,
        "seq": seq,
        "valid_to_ts": valid_to.timestamp(),
        "data": json.dumps(data),
    }


def _history(doc: str | None, meta: Mapping[str, Any]) -> HistoryEntry:
    data = _json_object(_str(meta, "data"))
    return HistoryEntry(
        user_id=_str(meta, "user_id"),
        fact_id=_str(data, "fact_id"),
        section=_str(data, "section"),
        text=doc or "",
        marker=_str(data, "marker"),
        valid_from=_time(data, "valid_from"),
        valid_to=_time(data, "valid_to"),
        reason=_str(data, "reason"),
    )


def parse_server_url(url: str) -> tuple[str, int, bool]:
    """``http://host:port`` -> (host, port, ssl); the port defaults to 8000 (443 for https)."""
    parts = urlsplit(url if "://" in url else f"http://{url}")
    if parts.scheme not in ("http", "https") or not parts.hostname:
        msg = f"invalid Chroma server URL {url!r}: use the form http://127.0.0.1:8000"
        raise InvalidInputError(msg)
    try:
        port = parts.port
    except ValueError as exc:
        msg = f"invalid port in Chroma server URL {url!r}"
        raise InvalidInputError(msg) from exc
    ssl = parts.scheme == "https"
    return parts.hostname, port or (443 if ssl else 8000), ssl
