"""The ``nodes`` collection: summary-tree nodes, ``<user_id>/<node_id>``, the caller's vector.

The summary is the document; level and span are metadata (filterable), the rest is packed
in ``data`` (see ``codec.node_meta``).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from memory_agent.backends.store.chroma import codec
from memory_agent.backends.store.chroma.access import Collections, chunks
from memory_agent.backends.store.chroma.users import UserRepository
from memory_agent.core.store import Vector
from memory_agent.core.store_rules import check_lengths, node_order
from memory_agent.core.types import Node, validate_id


class NodeRepository:
    """Tree nodes of one store object's collections."""

    def __init__(self, db: Collections, users: UserRepository) -> None:
        self._db = db
        self._users = users

    def put_nodes(self, nodes: Sequence[Node], vectors: Sequence[Vector]) -> None:
        check_lengths(nodes, vectors, "nodes")
        if not nodes:
            return
        for n in nodes:
            validate_id(n.user_id, "user_id")
        with self._db.lock:
            self._users.register({n.user_id for n in nodes})
        with self._db.guard("store nodes"):
            for part in chunks(range(len(nodes))):
                self._db["nodes"].upsert(
                    ids=[codec.rid(nodes[i].user_id, nodes[i].id) for i in part],
                    embeddings=codec.embeddings(vectors[i] for i in part),
                    documents=[nodes[i].summary for i in part],
                    metadatas=codec.metas(codec.node_meta(nodes[i]) for i in part),
                )

    def get_nodes(self, user_id: str) -> list[Node]:
        with self._db.guard("read nodes"):
            found = self._db.get_all("nodes", {"user_id": user_id}, ["documents", "metadatas"])
        return sorted((codec.decode_node(rid, doc, meta) for rid, doc, meta, _ in found),
                      key=node_order)

    def get_node_vectors(self, user_id: str, ids: Sequence[str]) -> dict[str, list[float]]:
        if not ids:
            return {}
        rids = [codec.rid(user_id, i) for i in ids]
        with self._db.guard("read node vectors"):
            found = self._db.get_ids("nodes", rids, ["embeddings"])
        return {
            codec.local_id(rid): np.asarray(vec, dtype=np.float64).tolist()
            for rid, _, _, vec in found
        }

    def delete_nodes(self, user_id: str, ids: Sequence[str]) -> None:
        if not ids:
            return
        with self._db.guard("delete nodes"):
            for part in chunks([codec.rid(user_id, i) for i in ids]):
                self._db["nodes"].delete(ids=list(part))
