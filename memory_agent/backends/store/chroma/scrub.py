"""Forensic scrubbing of an embedded Chroma's files after records are deleted (forget).

Chroma keeps each write in its log (``embeddings_queue`` in ``chroma.sqlite3``) until its
vector index next persists (every ``hnsw:sync_threshold`` = 1,000 writes to a collection),
and its SQLite does not overwrite deleted rows. So the deleted records' log entries are
blanked and the file is vacuumed with ``secure_delete`` on; then the garbage slots of the
HNSW ``length.bin`` files are zeroed. A server's files are out of reach: see
docs/reliability.md.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Mapping, Sequence
from pathlib import Path

import numpy as np

from memory_agent.backends.store.chroma.access import chunks
from memory_agent.errors import StoreError

# An HNSW ``length.bin`` holds one int32 link-list size per slot (a few hundred bytes at most);
# Chroma writes its unused slots from uninitialised memory, which can hold fragments of text
# the process handled (seen: a forgotten user's words). Values this large are never sizes.
_MAX_LINK_LIST_BYTES = 1 << 24


def scrub(
    sqlite_path: Path,
    collection_ids: Mapping[str, str],
    doomed: Mapping[str, Sequence[str]],
    user_id: str | None = None,
) -> None:
    """Blank the log entries of deleted records, vacuum ``chroma.sqlite3``, scrub HNSW files.

    ``collection_ids``: Chroma's id of each kind's collection; ``doomed``: the deleted
    record ids per kind. With ``user_id``, every log entry ever written for the user is
    blanked too, also of records deleted before (pruned profile versions, old nodes).
    """
    try:
        db = sqlite3.connect(sqlite_path, timeout=30, isolation_level=None)
    except sqlite3.Error as exc:
        msg = f"could not open {sqlite_path} to scrub forgotten text: {exc}"
        raise StoreError(msg) from exc
    try:
        db.execute("PRAGMA secure_delete=ON")
        if user_id is not None:
            prefix = f"{user_id}/"
            for col_id in collection_ids.values():
                db.execute(
                    "UPDATE embeddings_queue SET metadata = '{}' WHERE topic LIKE ? AND "
                    "(id = ? OR substr(id, 1, ?) = ?)",
                    [f"%/{col_id}", user_id, len(prefix), prefix],
                )
        for kind, ids in doomed.items():
            topic = f"%/{collection_ids[kind]}"
            for part in chunks(list(ids)):
                marks = ",".join("?" * len(part))
                db.execute(
                    f"UPDATE embeddings_queue SET metadata = '{{}}' "
                    f"WHERE topic LIKE ? AND id IN ({marks})",
                    [topic, *part],
                )
        db.execute("VACUUM")
    except sqlite3.Error as exc:
        msg = (f"records were deleted but their text could not be scrubbed from "
               f"{sqlite_path}: {exc}; call forget again when Chroma is idle")
        raise StoreError(msg) from exc
    finally:
        db.close()
    scrub_hnsw_lengths(sqlite_path.parent)


def scrub_hnsw_lengths(root: Path) -> None:
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
