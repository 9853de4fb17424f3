"""Session lifecycle: what a manager knows of its user's sessions, and which session a
conversation records into now (idle rollover).

Every adapter (the LangChain middleware, the LCEL wrapper, an app of your own) uses
:class:`SessionClock`, so a conversation moves on to a new memory session the same way
everywhere: ``base``, then ``base.2``, ``base.3``, ... once the current one has ended.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Protocol

from memory_agent.core.store import MemoryStore
from memory_agent.core.types import SessionInfo, Turn, utc
from memory_agent.engine.journal import TurnJournal
from memory_agent.errors import SessionStateError

Clock = Callable[[], datetime]


@dataclass(frozen=True)
class SessionState:
    n_turns: int
    ended: bool


class SessionBook:
    """The turn count and ended flag of each session of one user, loaded once from the
    store (plus turns still in the journal) and kept up to date by the manager's writes.

    Callers hold ``lock`` around a read-then-write (``record`` checks, then counts).
    """

    def __init__(self, store: MemoryStore, user_id: str, journal: TurnJournal | None,
                 lock: threading.RLock) -> None:
        self.store = store
        self.user_id = user_id
        self.journal = journal
        self.lock = lock
        self._states: dict[str, SessionState] | None = None

    def states(self) -> dict[str, SessionState]:
        with self.lock:
            if self._states is None:
                states = {
                    s.session_id: SessionState(s.n_turns, s.ended)
                    for s in self.store.list_sessions(self.user_id)
                }
                for turn in self.journal.pending(self.user_id) if self.journal else []:
                    known = states.get(turn.session_id, SessionState(0, False))
                    states[turn.session_id] = SessionState(max(known.n_turns, turn.index),
                                                           known.ended)
                self._states = states
            return self._states

    def get(self, session_id: str) -> SessionState | None:
        return self.states().get(session_id)

    def ids(self) -> list[str]:
        return list(self.states())

    def counted(self, session_id: str, n_turns: int) -> None:
        """A turn was recorded: ``session_id`` now has ``n_turns`` turns and is open."""
        with self.lock:
            self.states()[session_id] = SessionState(n_turns, False)

    def mark_ended(self, session_id: str) -> None:
        with self.lock:
            states = self.states()
            known = states.get(session_id)
            if known is not None:
                states[session_id] = SessionState(known.n_turns, True)

    def ensure_ended(self, session_id: str) -> None:
        """Mark the session ended in the store too (a crash may have come between the job
        being journaled and the session being marked)."""
        infos = {s.session_id: s for s in self.store.list_sessions(self.user_id)}
        info = infos.get(session_id)
        if info is not None and not info.ended:
            self.store.mark_session_ended(self.user_id, session_id)
        self.mark_ended(session_id)

    def reset(self) -> None:
        """Forget what is known (the store changed under us: forget, import)."""
        with self.lock:
            self._states = None


class SessionHost(Protocol):
    """What :class:`SessionClock` needs of a manager."""

    @property
    def user_id(self) -> str: ...

    def sessions(self) -> list[SessionInfo]: ...

    def end_session(self, session_id: str) -> None: ...

    def record(self, user_message: str, assistant_message: str, *, session_id: str,
               at: datetime | None = None) -> Turn: ...


@dataclass
class _Active:
    """The memory session a conversation currently records into."""

    session_id: str
    last_seen: datetime


class SessionClock:
    """Which memory session each conversation records into, with idle rollover.

    A conversation ``base`` records into the first of ``base``, ``base.2``, ... not ended.
    With ``idle_timeout``, a conversation that comes back after that long without a turn
    ends its session (queuing its summary and profile update) and continues in the next.
    Thread-safe; one clock can serve the managers of many users.
    """

    def __init__(self, idle_timeout: timedelta | float | None = None, *,
                 clock: Clock = utc) -> None:
        if isinstance(idle_timeout, (int, float)):
            idle_timeout = timedelta(seconds=idle_timeout)
        self.idle_timeout = idle_timeout
        self.clock = clock
        self._active: dict[tuple[str, str], _Active] = {}
        self._lock = threading.Lock()

    def session_for(self, manager: SessionHost, conversation: str) -> str:
        """The memory session the next turn of ``conversation`` goes to (ends an idle one)."""
        return self._current(manager, conversation).session_id

    def record(self, manager: SessionHost, conversation: str, user_message: str,
               assistant_message: str) -> Turn:
        """Record one exchange of ``conversation`` into its current memory session."""
        active = self._current(manager, conversation)
        try:
            turn = manager.record(user_message, assistant_message, session_id=active.session_id)
        except SessionStateError:  # ended by another process: move on to the next session
            active = self._roll_over(manager, conversation, active, self.clock())
            turn = manager.record(user_message, assistant_message, session_id=active.session_id)
        active.last_seen = self.clock()
        with self._lock:
            self._active[(manager.user_id, conversation)] = active
        return turn

    def end(self, manager: SessionHost, conversation: str) -> str | None:
        """End the current memory session of ``conversation`` now; its next turns start a new
        one. Returns the ended session id, or None if nothing was recorded in it."""
        active = self._current(manager, conversation)
        if active.session_id not in {s.session_id for s in manager.sessions()}:
            return None
        with self._lock:
            self._active[(manager.user_id, conversation)] = self._roll_over(
                manager, conversation, active, self.clock())
        return active.session_id

    def end_idle(self, manager_of: Callable[[str], SessionHost]) -> list[tuple[str, str]]:
        """End every conversation seen here that has been idle for longer than
        ``idle_timeout``; returns the (user, session) pairs ended. ``manager_of(user_id)``
        gives a user's manager."""
        if self.idle_timeout is None:
            return []
        now = self.clock()
        with self._lock:
            idle = [(k, a) for k, a in self._active.items()
                    if now - a.last_seen > self.idle_timeout]
        ended = []
        for (user_id, base), active in idle:
            manager = manager_of(user_id)
            if active.session_id in {s.session_id for s in manager.sessions()}:
                with self._lock:
                    self._active[(user_id, base)] = self._roll_over(manager, base, active, now)
                ended.append((user_id, active.session_id))
        return ended

    def _current(self, manager: SessionHost, base: str) -> _Active:
        key = (manager.user_id, base)
        now = self.clock()
        with self._lock:
            active = self._active.get(key)
        if active is None:
            infos = {s.session_id: s for s in manager.sessions()}
            n, candidate = 1, base
            while candidate in infos and infos[candidate].ended:
                n += 1
                candidate = f"{base}.{n}"
            info = infos.get(candidate)
            active = _Active(candidate, info.end if info is not None else now)
        if self.idle_timeout is not None and now - active.last_seen > self.idle_timeout:
            active = self._roll_over(manager, base, active, now)
        with self._lock:
            self._active[key] = active
        return active

    @staticmethod
    def _roll_over(manager: SessionHost, base: str, active: _Active,
                   now: datetime) -> _Active:
        known = {s.session_id for s in manager.sessions()}
        if active.session_id in known:
            manager.end_session(active.session_id)
        _, _, suffix = active.session_id.rpartition(".")
        n = int(suffix) + 1 if active.session_id != base and suffix.isdigit() else 2
        return _Active(f"{base}.{n}", now)
