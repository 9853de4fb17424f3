"""Record encoding: memory-agent's records as Chroma ids, documents, metadata and vectors.

Record ids are ``<user_id>/<id>`` (user ids cannot contain ``/``), so two users' records
never collide. Datetimes are stored as ISO strings, plus epoch floats (``*_ts``) where a
filter may need them. Fields nobody filters on are packed into one JSON string (``data``):
Chroma's ``get`` costs grow with the number of metadata keys (10,000 nodes: 0.4 s with ten
keys, 0.2 s with five). Decoding raises StoreError on a record that lacks a field.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping, Sequence
from datetime import datetime
from typing import Any, cast

import numpy as np
import numpy.typing as npt

from memory_agent.core.store import HistoryEntry, Vector
from memory_agent.core.types import Node, SessionInfo, Turn, utc
from memory_agent.errors import StoreError

Meta = dict[str, str | int | float | bool]
Record = tuple[str, str | None, Mapping[str, Any], Any]  # id, document, metadata, embedding
NO_VECTOR = [1.0]  # the vector of records without a meaningful one
_USER_PREFIX = "User: "
_ASSISTANT_SEP = "\nAssistant: "


# --- ids, rows, vectors ----------------------------------------------------------------------
def rid(user_id: str, local_id: str) -> str:
    """The Chroma id of a user's record."""
    return f"{user_id}/{local_id}"


def local_id(record_id: str) -> str:
    """The record's own id (``rid`` without the user)."""
    return record_id.split("/", 1)[1]


def records(result: Any) -> list[Record]:
    """(id, document, metadata, embedding) rows of a Chroma ``get`` result."""
    ids: list[str] = list(result["ids"])
    docs = result.get("documents") or [None] * len(ids)
    metas = result.get("metadatas") or [{}] * len(ids)
    vectors = result.get("embeddings")
    if vectors is None:
        vectors = [None] * len(ids)
    return [(i, d, m or {}, v) for i, d, m, v in zip(ids, docs, metas, vectors, strict=True)]


def embeddings(rows: Iterable[Vector]) -> npt.NDArray[np.float32]:
    """Vectors as the 2-d float32 array Chroma stores."""
    return np.asarray([list(r) for r in rows], dtype=np.float32)


def constant_vectors(n: int) -> npt.NDArray[np.float32]:
    """``n`` copies of ``NO_VECTOR``."""
    return embeddings([NO_VECTOR] * n)


def vector_rows(result: Any) -> npt.NDArray[np.float32]:
    """The ``embeddings`` of a Chroma ``get`` result as a 2-d float32 array."""
    vectors = result.get("embeddings")
    if vectors is None or len(vectors) == 0:
        return np.zeros((0, 0), dtype=np.float32)
    return np.asarray(vectors, dtype=np.float32)


def stack(parts: Sequence[npt.NDArray[np.float32]]) -> npt.NDArray[np.float32]:
    """The non-empty parts one under the other (0 x 0 if none)."""
    rows = [p for p in parts if p.size]
    if not rows:
        return np.zeros((0, 0), dtype=np.float32)
    return rows[0] if len(rows) == 1 else np.concatenate(rows)


def metas(items: Iterable[Meta]) -> Any:
    """Metadata rows in the shape Chroma's (invariant) type hints accept."""
    return cast(Any, list(items))


def where_user(user_id: str, *, session_id: str | None = None) -> Any:
    """A ``where`` filter on the user (and one session)."""
    if session_id is None:
        return {"user_id": user_id}
    return {"$and": [{"user_id": user_id}, {"session_id": session_id}]}


# --- fields ----------------------------------------------------------------------------------
def text_field(meta: Mapping[str, Any], key: str) -> str:
    value = meta.get(key)
    if not isinstance(value, str):
        msg = f"a stored record lacks the text field {key!r}: the collection is damaged"
        raise StoreError(msg)
    return value


def int_field(meta: Mapping[str, Any], key: str) -> int:
    value = meta.get(key)
    if not isinstance(value, int) or isinstance(value, bool):
        msg = f"a stored record lacks the integer field {key!r}: the collection is damaged"
        raise StoreError(msg)
    return value


def time_field(meta: Mapping[str, Any], key: str) -> datetime:
    return utc(datetime.fromisoformat(text_field(meta, key)))


def json_object(text: str) -> dict[str, Any]:
    try:
        value = json.loads(text)
    except ValueError as exc:
        msg = f"a stored record holds invalid JSON: {exc}"
        raise StoreError(msg) from exc
    if not isinstance(value, dict):
        msg = "a stored record holds JSON that is not an object"
        raise StoreError(msg)
    return value


# --- turns -----------------------------------------------------------------------------------
def turn_document(turn: Turn) -> str:
    return f"{_USER_PREFIX}{turn.user_message}{_ASSISTANT_SEP}{turn.assistant_message}"


def turn_meta(turn: Turn) -> Meta:
    at = utc(turn.at)
    return {
        "user_id": turn.user_id,
        "session_id": turn.session_id,
        "index": turn.index,
        "at": at.isoformat(),
        "at_ts": at.timestamp(),
        "user_chars": len(turn.user_message),
    }


def decode_turn(doc: str | None, meta: Mapping[str, Any]) -> Turn:
    """Rebuild a turn; the document is "User: <u>\\nAssistant: <a>" and ``user_chars`` = len(u)."""
    doc = doc or ""
    start = len(_USER_PREFIX)
    end = start + int_field(meta, "user_chars")
    if not doc.startswith(_USER_PREFIX) or doc[end : end + len(_ASSISTANT_SEP)] != _ASSISTANT_SEP:
        msg = "a stored turn does not have the expected layout: the collection is damaged"
        raise StoreError(msg)
    return Turn(
        user_id=text_field(meta, "user_id"),
        session_id=text_field(meta, "session_id"),
        index=int_field(meta, "index"),
        user_message=doc[start:end],
        assistant_message=doc[end + len(_ASSISTANT_SEP) :],
        at=time_field(meta, "at"),
    )


# --- sessions --------------------------------------------------------------------------------
def session_meta(user_id: str, info: SessionInfo) -> Meta:
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


def decode_session(meta: Mapping[str, Any]) -> SessionInfo:
    return SessionInfo(
        session_id=text_field(meta, "session_id"),
        n_turns=int_field(meta, "n_turns"),
        start=time_field(meta, "start"),
        end=time_field(meta, "end"),
        ended=bool(meta.get("ended", False)),
    )


# --- tree nodes ------------------------------------------------------------------------------
def node_meta(node: Node) -> Meta:
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


def decode_node(record_id: str, doc: str | None, meta: Mapping[str, Any]) -> Node:
    data = json_object(text_field(meta, "data"))
    return Node(
        id=local_id(record_id),
        user_id=text_field(meta, "user_id"),
        level=int_field(meta, "level"),
        summary=doc or "",
        children=tuple(data["children"]),
        start=time_field(data, "start"),
        end=time_field(data, "end"),
        content_hash=text_field(data, "content_hash"),
        parent=data.get("parent"),
        session_id=data.get("session_id"),
        stale=bool(data.get("stale", False)),
    )


# --- profile history -------------------------------------------------------------------------
def history_meta(entry: HistoryEntry, seq: int) -> Meta:
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


def decode_history(doc: str | None, meta: Mapping[str, Any]) -> HistoryEntry:
    data = json_object(text_field(meta, "data"))
    return HistoryEntry(
        user_id=text_field(meta, "user_id"),
        fact_id=text_field(data, "fact_id"),
        section=text_field(data, "section"),
        text=doc or "",
        marker=text_field(data, "marker"),
        valid_from=time_field(data, "valid_from"),
        valid_to=time_field(data, "valid_to"),
        reason=text_field(data, "reason"),
    )
