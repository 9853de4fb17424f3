"""``ChromaStore``: the ``MemoryStore`` interface over the per-kind repositories.

It owns the connection (see ``client.py``), opens the collections (``access.py``), hands
each role to its repository (``turns.py``, ``sessions.py``, ``nodes.py``, ``profiles.py``,
``jobs.py``, ``users.py``) and coordinates what spans every kind: ``forget_user`` and the
scrubbing of an embedded store's files (``scrub.py``).
"""

from __future__ import annotations

from collections.abc import Collection, Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from memory_agent.backends.store.chroma import client as connection
from memory_agent.backends.store.chroma.access import KINDS, Collections
from memory_agent.backends.store.chroma.client import DEFAULT_PREFIX, SQLITE_FILE
from memory_agent.backends.store.chroma.jobs import JobRepository
from memory_agent.backends.store.chroma.nodes import NodeRepository
from memory_agent.backends.store.chroma.profiles import ProfileRepository
from memory_agent.backends.store.chroma.scrub import scrub
from memory_agent.backends.store.chroma.sessions import SessionRepository
from memory_agent.backends.store.chroma.turns import TurnRepository
from memory_agent.backends.store.chroma.users import UserRepository
from memory_agent.core.store import Capability, HistoryEntry, Job, MemoryStore, TurnVectors, Vector
from memory_agent.core.types import Node, SessionInfo, StoredProfile, Turn

if TYPE_CHECKING:
    from chromadb.api import ClientAPI
    from chromadb.api.models.Collection import Collection as ChromaCollection


class ChromaStore(MemoryStore):
    """A ``MemoryStore`` on a Chroma client you pass in (or see the constructors below).

    ``prefix`` namespaces the collections, so several stores can share one Chroma.
    ``location`` names the data dir or server in error messages.
    """

    capabilities = frozenset(Capability)

    def __init__(
        self, client: ClientAPI, *, prefix: str = DEFAULT_PREFIX, location: str | None = None
    ) -> None:
        connection.check_prefix(prefix)
        self._client = client
        self._location = location or "the given Chroma client"
        self._owns_client = False
        self._sqlite_path: Path | None = None  # set for embedded stores (see forget_user)
        self._db = Collections(client, prefix, self._location)
        self._users = UserRepository(self._db)
        self._sessions = SessionRepository(self._db)
        self._turns = TurnRepository(self._db, self._sessions, self._users)
        self._nodes = NodeRepository(self._db, self._users)
        self._profiles = ProfileRepository(self._db, self._users, self._scrub)
        self._jobs = JobRepository(self._db, self._users)

    # --- construction --------------------------------------------------------------------
    @classmethod
    def persistent(cls, path: str | Path, *, prefix: str = DEFAULT_PREFIX) -> ChromaStore:
        """Chroma embedded in this process, stored in directory ``path`` (created if needed)."""
        connection.check_prefix(prefix)
        client, where, location = connection.open_persistent(path)
        store = cls._adopt(client, prefix, location)
        store._sqlite_path = where / SQLITE_FILE
        return store

    @classmethod
    def http(
        cls, host: str, port: int = 8000, *, prefix: str = DEFAULT_PREFIX, **client_kwargs: Any
    ) -> ChromaStore:
        """A Chroma server (``chroma run``). ``client_kwargs`` go to ``chromadb.HttpClient``
        (``ssl``, ``headers``, ``tenant``, ``database``, ``settings``).
        """
        connection.check_prefix(prefix)
        client, location = connection.open_http(host, port, **client_kwargs)
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
        ``$MEMORY_AGENT_HOME``, then ``~/.local/share/memory-agent`` (``core/config.py``).
        Chroma's files go in the ``chroma`` folder of the data dir.
        """
        target = connection.resolve(data_dir, server_url)
        if target.url is not None:
            host, port, ssl = connection.parse_server_url(target.url)
            return cls.http(host, port, prefix=prefix, ssl=ssl)
        assert target.path is not None
        return cls.persistent(target.path, prefix=prefix)

    @classmethod
    def _adopt(cls, client: ClientAPI, prefix: str, location: str) -> ChromaStore:
        """A store owning ``client`` (closed again if the store cannot be set up)."""
        try:
            store = cls(client, prefix=prefix, location=location)
        except BaseException:
            connection.close_client(client)
            raise
        store._owns_client = True
        return store

    def close(self) -> None:
        """Release the client if this store created it (a client you passed in stays open)."""
        if self._owns_client:
            self._owns_client = False
            connection.close_client(self._client)

    def __enter__(self) -> ChromaStore:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"ChromaStore({self._location})"

    def collection(self, kind: str) -> ChromaCollection:
        """The Chroma collection of one record kind (``turns``, ``nodes``, ``sessions``,
        ``profiles``, ``profile_history``, ``jobs``, ``users``): for inspection, and for tests
        that inject faults into its calls. Writing to it directly bypasses the store's rules.
        """
        if kind not in KINDS:
            msg = f"no collection kind {kind!r}; the kinds are {', '.join(KINDS)}"
            raise KeyError(msg)
        return self._db[kind]

    # --- turns -----------------------------------------------------------------------------
    def add_turns(self, turns: Sequence[Turn], vectors: Sequence[Vector]) -> None:
        self._turns.add_turns(turns, vectors)

    def get_turns(
        self, user_id: str, *, session_id: str | None = None, ids: Sequence[str] | None = None
    ) -> list[Turn]:
        return self._turns.get_turns(user_id, session_id=session_id, ids=ids)

    def search_turns(
        self,
        user_id: str,
        vector: Vector,
        *,
        k: int,
        session_ids: Sequence[str] | None = None,
    ) -> list[tuple[Turn, float]]:
        return self._turns.search_turns(user_id, vector, k=k, session_ids=session_ids)

    def get_turn_vectors(self, user_id: str, *, known: Collection[str] = ()) -> TurnVectors:
        return self._turns.get_turn_vectors(user_id, known=known)

    def turn_versions(self, user_id: str) -> Mapping[str, int] | None:
        return self._users.turn_versions(user_id)

    # --- sessions --------------------------------------------------------------------------
    def list_sessions(self, user_id: str) -> list[SessionInfo]:
        return self._sessions.list_sessions(user_id)

    def mark_session_ended(self, user_id: str, session_id: str) -> None:
        self._sessions.mark_session_ended(user_id, session_id)

    # --- tree nodes ------------------------------------------------------------------------
    def put_nodes(self, nodes: Sequence[Node], vectors: Sequence[Vector]) -> None:
        self._nodes.put_nodes(nodes, vectors)

    def get_nodes(self, user_id: str) -> list[Node]:
        return self._nodes.get_nodes(user_id)

    def get_node_vectors(self, user_id: str, ids: Sequence[str]) -> dict[str, list[float]]:
        return self._nodes.get_node_vectors(user_id, ids)

    def delete_nodes(self, user_id: str, ids: Sequence[str]) -> None:
        self._nodes.delete_nodes(user_id, ids)

    # --- profile ---------------------------------------------------------------------------
    def get_profile(self, user_id: str) -> StoredProfile | None:
        return self._profiles.get_profile(user_id)

    def put_profile(self, user_id: str, markdown: str, *, expected_version: int) -> int:
        """A compare-and-set that holds between processes (see ``ProfileRepository``)."""
        return self._profiles.put_profile(user_id, markdown, expected_version=expected_version)

    def add_history(self, entries: Sequence[HistoryEntry]) -> None:
        self._profiles.add_history(entries)

    def get_history(self, user_id: str) -> list[HistoryEntry]:
        return self._profiles.get_history(user_id)

    def delete_history(self, user_id: str, fact_ids: Sequence[str]) -> None:
        self._profiles.delete_history(user_id, fact_ids)

    # --- journal ---------------------------------------------------------------------------
    def add_job(self, job: Job) -> None:
        self._jobs.add_job(job)

    def pending_jobs(self, user_id: str | None = None) -> list[Job]:
        return self._jobs.pending_jobs(user_id)

    def complete_job(self, job_id: str) -> None:
        self._jobs.complete_job(job_id)

    # --- users -----------------------------------------------------------------------------
    def list_users(self) -> list[str]:
        """Users in the ``users`` registry: anyone who wrote since their last ``forget_user``.

        Writes register a user once per store object (cached in this process), so a user
        forgotten through another store object or process and then written to again through
        this one is missing here until this store is reopened.
        """
        return self._users.list_users()

    def forget_user(self, user_id: str) -> None:
        """Delete every record of the user; embedded, also scrub Chroma's files of their text.

        Chroma keeps each write in its log until its vector index next persists, and its
        SQLite does not overwrite deleted rows; for an embedded store the deleted records'
        log entries are therefore blanked and the file is vacuumed (``scrub.py``). A
        server's files are out of reach: see docs/reliability.md.
        """
        db = self._db
        with db.lock:
            with db.guard("forget a user"):
                doomed = {kind: db[kind].get(where={"user_id": user_id}, include=[])["ids"]
                          for kind in KINDS}
                for kind in KINDS:  # "users" last: a failed forget can be retried
                    db[kind].delete(where={"user_id": user_id})
            self._users.forgotten(user_id)
            self._scrub(doomed, user_id)

    def _scrub(self, doomed: Mapping[str, Sequence[str]], user_id: str | None = None) -> None:
        """Scrub deleted records' text from an embedded store's files (a server: nothing)."""
        if self._sqlite_path is not None:
            scrub(self._sqlite_path, self._db.ids, doomed, user_id)
