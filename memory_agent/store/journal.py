"""A durable local queue of recorded turns not yet embedded and written to the store.

``record()`` appends here (one fsync'd SQLite commit, a few milliseconds) and returns; an
ingest thread embeds the turns and writes them to the store, then removes them. A crash in
between loses nothing: the next manager drains what is left. With a Chroma server, the journal
lives on the client, so turns recorded while the server is down wait here.
"""

from __future__ import annotations

import sqlite3
import threading
from collections.abc import Sequence
from datetime import datetime
from pathlib import Path

from ..errors import StoreError
from ..types import Turn

_SCHEMA = """
CREATE TABLE IF NOT EXISTS pending_turns (
    user_id TEXT NOT NULL,
    session_id TEXT NOT NULL,
    idx INTEGER NOT NULL,
    user_message TEXT NOT NULL,
    assistant_message TEXT NOT NULL,
    at TEXT NOT NULL,
    PRIMARY KEY (user_id, session_id, idx)
)
"""


class TurnJournal:
    """Turns recorded but not yet in the store, in a SQLite file (WAL, synchronous=FULL)."""

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            self._db = sqlite3.connect(self.path, check_same_thread=False, isolation_level=None)
            self._db.execute("PRAGMA journal_mode=WAL")
            self._db.execute("PRAGMA synchronous=FULL")
            self._db.execute("PRAGMA secure_delete=ON")  # deleted text is overwritten
            self._db.execute(_SCHEMA)
        except (OSError, sqlite3.Error) as error:
            msg = f"cannot open the turn journal at {self.path}: {error}"
            raise StoreError(msg) from error
        self._lock = threading.Lock()

    def append(self, turn: Turn) -> None:
        """Durably keep one turn (committed and synced before returning)."""
        with self._lock:
            try:
                self._db.execute(
                    "INSERT INTO pending_turns VALUES (?, ?, ?, ?, ?, ?)",
                    (turn.user_id, turn.session_id, turn.index, turn.user_message,
                     turn.assistant_message, turn.at.isoformat()),
                )
            except sqlite3.IntegrityError as error:
                msg = f"turn {turn.id} of {turn.user_id!r} is already recorded"
                raise StoreError(msg) from error
            except sqlite3.Error as error:
                msg = f"cannot write to the turn journal at {self.path}: {error}"
                raise StoreError(msg) from error

    def pending(self, user_id: str) -> list[Turn]:
        """The user's turns waiting for the store, oldest first."""
        with self._lock:
            rows = self._db.execute(
                "SELECT user_id, session_id, idx, user_message, assistant_message, at "
                "FROM pending_turns WHERE user_id = ? ORDER BY at, session_id, idx",
                (user_id,),
            ).fetchall()
        return [Turn(r[0], r[1], r[2], r[3], r[4], datetime.fromisoformat(r[5])) for r in rows]

    def remove(self, turns: Sequence[Turn]) -> None:
        """Drop turns that are now in the store."""
        with self._lock:
            self._db.executemany(
                "DELETE FROM pending_turns WHERE user_id = ? AND session_id = ? AND idx = ?",
                [(t.user_id, t.session_id, t.index) for t in turns],
            )

    def forget_user(self, user_id: str) -> None:
        """Delete the user's pending turns, leaving no copy in the WAL file."""
        with self._lock:
            self._db.execute("DELETE FROM pending_turns WHERE user_id = ?", (user_id,))
            self._db.execute("PRAGMA wal_checkpoint(TRUNCATE)")

    def close(self) -> None:
        with self._lock:
            self._db.close()
