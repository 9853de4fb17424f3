"""Chroma access shared by the repositories: the collections, paging, chunking, error mapping.

``Collections`` opens one collection per record kind (``<prefix>_<kind>``) and holds the
store object's lock. Every Chroma call runs inside ``guard``, which turns Chroma's (and its
HTTP client's) exceptions into StoreError naming the data dir or server. Reads of many
records go in pages of ``PAGE``; writes and id lookups in chunks of ``CHUNK``.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any

from memory_agent.backends.store.chroma.codec import Record, records
from memory_agent.errors import MemoryAgentError, StoreError

if TYPE_CHECKING:
    from chromadb.api import ClientAPI
    from chromadb.api.models.Collection import Collection

KINDS = ("turns", "nodes", "sessions", "profiles", "profile_history", "jobs", "users")
VECTOR_KINDS = frozenset({"turns", "nodes"})  # the others carry a constant vector
CHUNK = 5000  # below Chroma's max batch size (5461 embedded)
PAGE = 25_000  # one call for typical users; bounds the size of one response


def chunks(items: Sequence[Any]) -> Iterator[Sequence[Any]]:
    """``items`` in slices of at most ``CHUNK``."""
    size = CHUNK
    for start in range(0, len(items), size):
        yield items[start : start + size]


class Collections:
    """The store's collections on one client, with its lock and its location for errors."""

    def __init__(self, client: ClientAPI, prefix: str, location: str) -> None:
        self.location = location
        self.lock = threading.RLock()  # held across the writes of one multi-record change
        with self.guard("open its collections"):
            self._cols: dict[str, Collection] = {
                kind: client.get_or_create_collection(
                    name=f"{prefix}_{kind}",
                    embedding_function=None,
                    configuration={"hnsw": {"space": "cosine"}} if kind in VECTOR_KINDS else None,
                )
                for kind in KINDS
            }

    def __getitem__(self, kind: str) -> Collection:
        return self._cols[kind]

    @property
    def ids(self) -> Mapping[str, str]:
        """Chroma's id of each kind's collection (its log entries' ``topic`` ends with it)."""
        return {kind: str(col.id) for kind, col in self._cols.items()}

    @contextmanager
    def guard(self, action: str) -> Iterator[None]:
        """Turn Chroma's (and its HTTP client's) exceptions into StoreError."""
        try:
            yield
        except MemoryAgentError:
            raise
        except Exception as exc:
            msg = f"could not {action} in the {self.location}: {type(exc).__name__}: {exc}"
            raise StoreError(msg) from exc

    def get_all(self, kind: str, where: Any, include: Any) -> list[Record]:
        """Every record matching ``where``, fetched in pages."""
        found: dict[str, Record] = {}
        for page in self.pages(kind, where, include):
            found.update((r[0], r) for r in records(page))
        return list(found.values())

    def pages(self, kind: str, where: Any, include: Any) -> Iterator[Any]:
        """Chroma ``get`` results of every record matching ``where``, ``PAGE`` at a time."""
        size = PAGE
        offset = 0
        while True:
            page = self._cols[kind].get(where=where, include=include, limit=size, offset=offset)
            yield page
            if len(page["ids"]) < size:
                return
            offset += size

    def get_ids(self, kind: str, ids: Sequence[str], include: Any) -> list[Record]:
        """The records with these ids (ids are user-scoped, so no ``where`` is needed).

        Never add a ``where`` here: in chromadb 1.5.9 ``get(ids=..., where=...)`` scans the
        collection once per id (1 id: 40 ms, 1,000 ids: 7 s on 10,000 records).
        """
        out: list[Record] = []
        for part in chunks(list(dict.fromkeys(ids))):
            out.extend(records(self._cols[kind].get(ids=list(part), include=include)))
        return out
