"""Turn ingestion: a recorded turn goes to the local journal (durable at once), then a
background thread embeds it and writes it to the store. Without a journal the turn is
written to the store directly, retrying at the next index if another writer took it."""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import datetime

from memory_agent.core.text import clean_message
from memory_agent.core.types import Turn, utc, validate_id
from memory_agent.engine.journal import TurnJournal
from memory_agent.engine.recall import Recall
from memory_agent.engine.sessions import SessionBook, SessionState
from memory_agent.engine.upkeep import Backends
from memory_agent.errors import InvalidInputError, SessionStateError, StoreError

log = logging.getLogger("memory_agent")
STORE_ATTEMPTS = 5  # tries at the next free index when another writer took ours


def _same_turn(a: Turn, b: Turn) -> bool:
    return (a.user_message, a.assistant_message, utc(a.at)) == (
        b.user_message, b.assistant_message, utc(b.at))


class Ingestion:
    """Moves one user's recorded turns into the store.

    With a journal, :meth:`start` stores what a crashed process left behind and starts the
    ingest thread; :meth:`drain` stores whatever is pending now (recall, end_session and
    sessions call it, so a recorded turn is never invisible).
    """

    def __init__(self, backends: Backends, user_id: str, journal: TurnJournal | None,
                 recall: Recall) -> None:
        self.backends = backends
        self.user_id = user_id
        self.journal = journal
        self.recall = recall
        self._drain_lock = threading.Lock()
        self._wanted = threading.Event()
        self._stopping = False
        self._closed = False
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        if self.journal is None:
            return
        self.drain()  # turns a crashed process journaled but did not store
        self._thread = threading.Thread(target=self._loop, daemon=True,
                                        name=f"memory-agent-ingest:{self.user_id}")
        self._thread.start()

    def record(self, book: SessionBook, user_message: str, assistant_message: str, *,
               session_id: str, at: datetime | None = None) -> Turn:
        """Validate one exchange and record it as the next turn of ``session_id`` (see
        :meth:`MemoryManager.record`)."""
        validate_id(session_id, "session_id")
        limit = self.backends.config.max_message_chars
        user_text = clean_message(user_message, "user_message", max_chars=limit)
        assistant_text = clean_message(assistant_message, "assistant_message", max_chars=limit)
        if at is not None and not isinstance(at, datetime):
            msg = f"at must be a datetime or None, got {type(at).__name__}"
            raise InvalidInputError(msg)
        with book.lock:
            state = book.get(session_id) or SessionState(0, False)
            if state.ended:
                msg = f"session {session_id!r} has ended; record new turns under a new session_id"
                raise SessionStateError(msg)
            when = utc(at)

            def make(index: int) -> Turn:
                return Turn(self.user_id, session_id, index, user_text, assistant_text, when)

            turn = self.add(session_id, state.n_turns, make)
            book.counted(session_id, turn.index)
        return turn

    def add(self, session_id: str, known: int, make: Callable[[int], Turn]) -> Turn:
        """Record the turn ``make(index)`` after the ``known`` turns of ``session_id``."""
        if self.journal is None:
            return self._store_new_turn(session_id, known, make)
        # the journal hands out the index atomically (several managers or processes
        # sharing the data dir never pick the same one)
        turn = self.journal.append_next(self.user_id, session_id, floor=known, make=make)
        self._wanted.set()
        return turn

    def _store_new_turn(self, session_id: str, known: int, make: Callable[[int], Turn]) -> Turn:
        """Without a journal: write at the next index; if another writer took it, re-read the
        session from the store and take the next free one (a few tries)."""
        store = self.backends.store
        vector: list[float] | None = None
        for _ in range(STORE_ATTEMPTS):
            turn = make(known + 1)
            if vector is None:
                vector = list(self.backends.embedder.embed_documents([turn.text()])[0])
            try:
                store.add_turns([turn], [vector])
                self.recall.turns_stored([turn], [vector])
                return turn
            except StoreError:
                if not store.get_turns(self.user_id, ids=[turn.id]):
                    raise  # not a taken index: a real store failure
                stored = {s.session_id: s for s in store.list_sessions(self.user_id)}
                info = stored.get(session_id)
                known = max(known + 1, info.n_turns if info else 0)
        msg = f"session {session_id!r} kept changing under another writer; record again"
        raise StoreError(msg)

    def drain(self) -> int:
        """Embed journaled turns and write them to the store; return how many."""
        if self.journal is None:
            return 0
        store = self.backends.store
        with self._drain_lock:
            pending = self.journal.pending(self.user_id)
            if not pending:
                return 0
            stored = {t.id: t for t in store.get_turns(self.user_id,
                                                        ids=[t.id for t in pending])}
            fresh: list[Turn] = []
            done: list[Turn] = []
            for turn in pending:
                twin = stored.get(turn.id)
                if twin is None:
                    fresh.append(turn)
                elif _same_turn(twin, turn):
                    done.append(turn)  # a crash after storing, before leaving the journal
                else:  # another writer (another journal) took this index: move ours
                    fresh.append(self._renumber(turn))
            if fresh:
                vectors = self.backends.embedder.embed_documents([t.text() for t in fresh])
                store.add_turns(fresh, vectors)
                self.recall.turns_stored(fresh, vectors)
            if done:
                self.recall.turns_recounted()  # stored by a process that died before counting
            self.journal.remove(done + fresh)
            return len(pending)

    def _renumber(self, turn: Turn) -> Turn:
        assert self.journal is not None
        infos = {s.session_id: s for s in self.backends.store.list_sessions(self.user_id)}
        info = infos.get(turn.session_id)
        moved = self.journal.renumber(turn, floor=info.n_turns if info else turn.index)
        log.warning("turn %s of %s was taken by another writer; stored as %s",
                    turn.id, self.user_id, moved.id)
        return moved  # the journal's counter now keeps later record() calls above it

    @contextmanager
    def paused(self) -> Iterator[None]:
        """No drain runs inside this block (forget erases the journal in it)."""
        with self._drain_lock:
            yield

    def forget(self) -> None:
        """Erase this user's journaled turns (call inside :meth:`paused`)."""
        if self.journal is not None:
            self.journal.forget_user(self.user_id)

    def _loop(self) -> None:
        while not self._stopping:
            self._wanted.wait(timeout=1.0)
            self._wanted.clear()
            try:
                self.drain()
            except Exception as error:  # the store may be down: turns stay in the journal
                log.warning("could not store journaled turns yet: %s", error)

    def stop(self) -> None:
        """Stop the ingest thread. Turns recorded afterwards stay in the journal until the
        next :meth:`drain` (recall, sessions, end_session, close)."""
        if self._thread is not None and not self._stopping:
            self._stopping = True
            self._wanted.set()
            self._thread.join()

    def close(self) -> None:
        """Stop the ingest thread and store what is still journaled."""
        if self.journal is None or self._closed:
            return
        self._closed = True
        self.stop()
        try:
            self.drain()
        except Exception as error:  # kept in the journal for the next start
            log.warning("journaled turns not stored at close: %s", error)
