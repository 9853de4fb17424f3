"""A durable local queue of recorded turns not yet embedded and written to the store.

``record()`` appends here (one fsync'd SQLite commit, a few milliseconds) and returns; an
ingest thread embeds the turns and writes them to the store, then removes them. A crash in
between loses nothing: the next manager drains what is left. With a Chroma server, the journal
lives on the client, so turns recorded while the server is down wait here.
"""

from __future__ import annotations

import sqlite3
import threading
from collections.abc import Callable, Sequence
from datetime import datetime
from pathlib import Path

from memory_agent.core.types import Turn
from memory_agent.errors import StoreError

_SCHEMA = """
CREATE TABLE IF NOT EXISTS pending_turns (
    user_id TEXT NOT NULL,
    session_id TEXT NOT NULL,
    idx INTEGER NOT NULL,
    user_message TEXT NOT NULL,
    assistant_message TEXT NOT NULL,
    at TEXT NOT NULL,
    PRIMARY KEY (user_id, session_id, idx)
);
CREATE TABLE IF NOT EXISTS turn_counters (
    user_id TEXT NOT NULL,
    session_id TEXT NOT NULL,
    last_idx INTEGER NOT NULL,
    PRIMARY KEY (user_id, session_id)
)
"""


class TurnJournal:
    """Turns recorded but not yet in the store, in a SQLite file (WAL, synchronous=FULL)."""

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            self._db = sqlite3.connect(self.path, timeout=30, check_same_thread=False,
                                       isolation_level=None)
            self._db.execute("PRAGMA journal_mode=WAL")
            self._db.execute("PRAGMA synchronous=FULL")
            self._db.execute("PRAGMA secure_delete=ON")  # deleted text is overwritten
            self._db.executescript(_SCHEMA)
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

    def append_next(
        self, user_id: str, session_id: str, *, floor: int, make: Callable[[int], Turn]
    ) -> Turn:
        """Give the session its next turn index and durably keep the turn, atomically.

        The index is one more than the highest of ``floor`` (what the caller knows from the
        store) and every index this journal file handed out for the session, in one
        ``BEGIN IMMEDIATE`` transaction: managers in several threads or processes sharing
        the journal file never hand out the same index twice.
        """
        with self._lock:
            try:
                self._db.execute("BEGIN IMMEDIATE")
                try:
                    row = self._db.execute(
                        "SELECT last_idx FROM turn_counters WHERE user_id = ? AND session_id = ?",
                        (user_id, session_id),
                    ).fetchone()
                    top = self._db.execute(
                        "SELECT MAX(idx) FROM pending_turns WHERE user_id = ? AND session_id = ?",
                        (user_id, session_id),
                    ).fetchone()
                    index = max(floor, row[0] if row else 0, top[0] or 0) + 1
                    turn = make(index)
                    self._db.execute(
                        "INSERT INTO pending_turns VALUES (?, ?, ?, ?, ?, ?)",
                        (turn.user_id, turn.session_id, turn.index, turn.user_message,
                         turn.assistant_message, turn.at.isoformat()),
                    )
                    self._db.execute(
                        "INSERT INTO turn_counters VALUES (?, ?, ?) ON CONFLICT (user_id, "
                        "session_id) DO UPDATE SET last_idx = excluded.last_idx",
                        (user_id, session_id, index),
                    )
                except BaseException:
                    self._db.execute("ROLLBACK")
                    raise
                self._db.execute("COMMIT")
            except sqlite3.Error as error:
                msg = f"cannot write to the turn journal at {self.path}: {error}"
                raise StoreError(msg) from error
        return turn

    def renumber(self, turn: Turn, *, floor: int) -> Turn:
        """Move a journaled turn to a fresh index above ``floor`` (its index was taken in the
        store by another writer); returns the turn under its new index."""
        def moved(index: int) -> Turn:
            return Turn(turn.user_id, turn.session_id, index, turn.user_message,
                        turn.assistant_message, turn.at)

        fresh = self.append_next(turn.user_id, turn.session_id, floor=floor, make=moved)
        self.remove([turn])
        return fresh

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
            self._db.execute("DELETE FROM turn_counters WHERE user_id = ?", (user_id,))
            self._db.execute("PRAGMA wal_checkpoint(TRUNCATE)")

    def close(self) -> None:
        with self._lock:
            self._db.close()
