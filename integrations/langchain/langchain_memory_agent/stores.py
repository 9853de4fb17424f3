"""``MemoryAgentStore``: a LangGraph ``BaseStore`` on ChromaDB with memory-agent's embedder.

memory-agent's ``MemoryStore`` has no generic key-value API, so this store keeps LangGraph
items in dedicated Chroma collections (names start with ``lg_store``) of a client you pass
in, usually the one holding memory-agent's own data::

    store = MemoryAgentStore.persistent("~/.local/share/memory-agent", embedder=E5Embedder())
    agent = create_agent(model, store=store)

- items: ``<prefix>_<name>_items`` (value as JSON, namespace labels as metadata);
- vectors for ``search(query=...)``: ``<prefix>_<name>_vectors``, one per indexed field
  (``fields``, default the whole value ``"$"``; ``put(..., index=[...])`` overrides, and
  ``index=False`` skips), computed with memory-agent's ``Embedder``.

Filters (``search(filter=...)``) match values exactly or with ``$eq $ne $gt $gte $lt $lte``,
as LangGraph's InMemoryStore does. TTL is not supported (``supports_ttl = False``).
Filtered and prefix searches read the matching items: fine for per-user memories, not a
substitute for a database index over millions of items.
"""

from __future__ import annotations

import asyncio
import json
import threading
from collections.abc import Iterable, Sequence
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from langgraph.store.base import (
    BaseStore,
    GetOp,
    Item,
    ListNamespacesOp,
    MatchCondition,
    Op,
    PutOp,
    Result,
    SearchItem,
    SearchOp,
)
from langgraph.store.base.embed import get_text_at_path, tokenize_path
from memory_agent import Embedder

_SEP = "\x1f"


def _item_id(namespace: tuple[str, ...], key: str) -> str:
    return json.dumps([*namespace, key], ensure_ascii=False)


def _prefix_where(prefix: Sequence[str]) -> dict[str, Any]:
    conds: list[dict[str, Any]] = [{"depth": {"$gte": len(prefix)}}]
    conds += [{f"ns_{i}": label} for i, label in enumerate(prefix)]
    return conds[0] if len(conds) == 1 else {"$and": conds}


def _apply_operator(value: Any, operator: str, expected: Any) -> bool:
    if operator == "$eq":
        return bool(value == expected)
    if operator == "$ne":
        return bool(value != expected)
    if value is None:
        return False
    try:
        left, right = float(value), float(expected)
    except (TypeError, ValueError):
        return False
    ops = {"$gt": left > right, "$gte": left >= right, "$lt": left < right,
           "$lte": left <= right}
    if operator not in ops:
        msg = f"unsupported filter operator {operator!r} (use $eq $ne $gt $gte $lt $lte)"
        raise ValueError(msg)
    return ops[operator]


def matches(value: Any, expected: Any) -> bool:
    """Whether a stored value matches a filter value (nested dicts, operators, lists)."""
    if isinstance(expected, dict):
        if any(k.startswith("$") for k in expected):
            return all(_apply_operator(value, k, v) for k, v in expected.items())
        return isinstance(value, dict) and all(matches(value.get(k), v)
                                               for k, v in expected.items())
    if isinstance(expected, (list, tuple)):
        return (isinstance(value, (list, tuple)) and len(value) == len(expected)
                and all(matches(a, b) for a, b in zip(value, expected, strict=False)))
    return bool(value == expected)


def _namespace_matches(condition: MatchCondition, namespace: tuple[str, ...]) -> bool:
    path = condition.path
    if len(namespace) < len(path):
        return False
    pairs = (zip(namespace, path, strict=False) if condition.match_type == "prefix"
             else zip(reversed(namespace), reversed(path), strict=False))
    return all(p == "*" or k == p for k, p in pairs)


class MemoryAgentStore(BaseStore):
    """A LangGraph store over a chromadb client (see the module docstring)."""

    supports_ttl = False

    def __init__(
        self,
        client: Any,
        *,
        embedder: Embedder | None = None,
        fields: Sequence[str] = ("$",),
        collection_prefix: str = "lg_store",
        name: str = "default",
    ) -> None:
        if not collection_prefix.startswith("lg_store"):
            msg = f"collection_prefix must start with 'lg_store', got {collection_prefix!r}"
            raise ValueError(msg)
        self.client = client
        self.embedder = embedder
        self.fields = list(fields)
        self._lock = threading.RLock()
        base = f"{collection_prefix}_{name}"
        self._items = client.get_or_create_collection(name=f"{base}_items",
                                                      embedding_function=None)
        self._vectors = client.get_or_create_collection(
            name=f"{base}_vectors", embedding_function=None,
            configuration={"hnsw": {"space": "cosine"}},
        )

    @classmethod
    def persistent(cls, path: str | Path, **kwargs: Any) -> MemoryAgentStore:
        """A store on an embedded Chroma in directory ``path`` (telemetry off)."""
        import chromadb
        from chromadb.config import Settings

        where = Path(path).expanduser()
        where.mkdir(parents=True, exist_ok=True)
        client = chromadb.PersistentClient(path=str(where),
                                           settings=Settings(anonymized_telemetry=False))
        return cls(client, **kwargs)

    # --- batch ----------------------------------------------------------------------------
    def batch(self, ops: Iterable[Op]) -> list[Result]:
        results: list[Result] = []
        with self._lock:
            for op in ops:
                if isinstance(op, GetOp):
                    results.append(self._get(op))
                elif isinstance(op, PutOp):
                    self._put(op)
                    results.append(None)
                elif isinstance(op, SearchOp):
                    results.append(self._search(op))
                elif isinstance(op, ListNamespacesOp):
                    results.append(self._list_namespaces(op))
                else:
                    msg = f"unknown store operation {type(op).__name__}"
                    raise TypeError(msg)
        return results

    async def abatch(self, ops: Iterable[Op]) -> list[Result]:
        return await asyncio.to_thread(self.batch, list(ops))

    # --- operations -----------------------------------------------------------------------
    @staticmethod
    def _to_item(meta: dict[str, Any], document: str, score: float | None = None,
                 search: bool = False) -> Item:
        namespace = tuple(json.loads(meta["ns"]))
        args = {"value": json.loads(document), "key": str(meta["key"]),
                "namespace": namespace,
                "created_at": datetime.fromisoformat(str(meta["created_at"])),
                "updated_at": datetime.fromisoformat(str(meta["updated_at"]))}
        return SearchItem(**args, score=score) if search else Item(**args)

    def _get(self, op: GetOp) -> Item | None:
        got = self._items.get(ids=[_item_id(op.namespace, op.key)],
                              include=["metadatas", "documents"])
        if not got["ids"]:
            return None
        return self._to_item(got["metadatas"][0], got["documents"][0])

    def _put(self, op: PutOp) -> None:
        item_id = _item_id(op.namespace, op.key)
        self._vectors.delete(where={"item": item_id})
        if op.value is None:
            self._items.delete(ids=[item_id])
            return
        now = datetime.now(timezone.utc).isoformat()
        old = self._items.get(ids=[item_id], include=["metadatas"])
        created = old["metadatas"][0]["created_at"] if old["ids"] else now
        meta: dict[str, Any] = {"ns": json.dumps(list(op.namespace), ensure_ascii=False),
                                "key": op.key, "depth": len(op.namespace),
                                "created_at": created, "updated_at": now}
        meta.update({f"ns_{i}": label for i, label in enumerate(op.namespace)})
        self._items.upsert(ids=[item_id], embeddings=[[1.0]], metadatas=[meta],
                           documents=[json.dumps(dict(op.value), ensure_ascii=False)])
        fields = self.fields if op.index is None else (op.index or [])
        if self.embedder is None or not fields:
            return
        texts: list[tuple[str, str]] = []
        for path in fields:
            tokens = ["$"] if path == "$" else tokenize_path(path)
            value = dict(op.value)
            found = [json.dumps(value, ensure_ascii=False)] if path == "$" else \
                get_text_at_path(value, tokens)
            texts += [(path, t) for t in found if t]
        if not texts:
            return
        vectors = self.embedder.embed_documents([t for _, t in texts])
        vmeta = {k: v for k, v in meta.items() if k.startswith("ns_") or k == "depth"}
        self._vectors.add(
            ids=[f"{item_id}|{path}|{i}" for i, (path, _) in enumerate(texts)],
            embeddings=[list(v) for v in vectors],
            metadatas=[{**vmeta, "item": item_id, "path": path} for path, _ in texts],
            documents=[t for _, t in texts],
        )

    def _search(self, op: SearchOp) -> list[SearchItem]:
        got = self._items.get(where=_prefix_where(op.namespace_prefix),
                              include=["metadatas", "documents"])
        items = {i: self._to_item(m, d, search=True)
                 for i, m, d in zip(got["ids"], got["metadatas"], got["documents"], strict=True)}
        if op.filter:
            items = {i: it for i, it in items.items()
                     if all(matches(it.value.get(k), v) for k, v in op.filter.items())}
        if op.query and self.embedder is not None and items:
            scores: dict[str, float] = {}
            n = self._vectors.count()
            if n:
                hits = self._vectors.query(
                    query_embeddings=[list(self.embedder.embed_query(op.query))],
                    n_results=n, where=_prefix_where(op.namespace_prefix),
                    include=["metadatas", "distances"],
                )
                for meta, distance in zip(hits["metadatas"][0], hits["distances"][0], strict=True):
                    item_id = str(meta["item"])
                    score = 1.0 - float(distance)
                    if item_id in items and score > scores.get(item_id, float("-inf")):
                        scores[item_id] = score
            ranked = sorted(scores, key=lambda i: scores[i], reverse=True)
            rest = sorted((i for i in items if i not in scores),
                          key=lambda i: items[i].updated_at, reverse=True)
            ordered = []
            for i in ranked:
                item = items[i]
                ordered.append(SearchItem(item.namespace, item.key, item.value, item.created_at,
                                          item.updated_at, score=scores[i]))
            ordered += [items[i] for i in rest]  # type: ignore[misc]
        else:
            ordered = sorted(items.values(), key=lambda it: (it.updated_at, it.key),  # type: ignore[arg-type]
                             reverse=True)
        return ordered[op.offset : op.offset + op.limit]

    def _list_namespaces(self, op: ListNamespacesOp) -> list[tuple[str, ...]]:
        got = self._items.get(include=["metadatas"])
        namespaces = {tuple(json.loads(m["ns"])) for m in got["metadatas"]}
        if op.match_conditions:
            namespaces = {ns for ns in namespaces
                          if all(_namespace_matches(c, ns) for c in op.match_conditions)}
        if op.max_depth is not None:
            namespaces = {ns[: op.max_depth] for ns in namespaces}
        return sorted(namespaces)[op.offset : op.offset + op.limit]
