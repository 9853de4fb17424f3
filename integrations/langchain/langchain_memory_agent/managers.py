"""One MemoryManager per user, made by a factory you pass in and cached."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Callable, Mapping
from typing import Any

from memory_agent import MemoryManager, validate_id

from .errors import MissingSessionIdError, MissingUserIdError

MemoryManagerFactory = Callable[[str], MemoryManager]
"""``factory(user_id) -> MemoryManager``: how the integration gets a user's memory."""


class ManagerPool:
    """Managers per user, created on first use by ``factory`` and kept (thread-safe).

    The factory runs outside the pool's lock (one user's slow start does not hold up the
    others) and at most once per user; :meth:`aget` runs it in a thread, off the event loop.
    ``close()`` closes every manager it created (finishing their queued work).
    """

    def __init__(self, factory: MemoryManagerFactory) -> None:
        self._factory = factory
        self._managers: dict[str, MemoryManager] = {}
        self._making: dict[str, threading.Lock] = {}  # one lock per user being created
        self._lock = threading.Lock()

    def get(self, user_id: str) -> MemoryManager:
        validate_id(user_id, "user_id")
        with self._lock:
            manager = self._managers.get(user_id)
            if manager is not None:
                return manager
            making = self._making.setdefault(user_id, threading.Lock())
        with making:
            with self._lock:
                manager = self._managers.get(user_id)
            if manager is not None:  # made by another thread meanwhile
                return manager
            manager = self._factory(user_id)
            if not isinstance(manager, MemoryManager):
                msg = (f"the manager factory returned {type(manager).__name__}, "
                       "expected a memory_agent.MemoryManager")
                raise TypeError(msg)
            with self._lock:
                self._managers[user_id] = manager
                self._making.pop(user_id, None)
            return manager

    async def aget(self, user_id: str) -> MemoryManager:
        """:meth:`get` in a worker thread: an event loop never waits for the factory."""
        return await asyncio.to_thread(self.get, user_id)

    __call__ = get

    def users(self) -> list[str]:
        with self._lock:
            return list(self._managers)

    def close(self) -> None:
        with self._lock:
            managers, self._managers = list(self._managers.values()), {}
        for manager in managers:
            manager.close()


def as_pool(managers: ManagerPool | MemoryManagerFactory | MemoryManager) -> ManagerPool:
    """Accept a pool, a factory, or a single manager (then only its user is served)."""
    if isinstance(managers, ManagerPool):
        return managers
    if isinstance(managers, MemoryManager):
        single = managers

        def only(user_id: str) -> MemoryManager:
            if user_id != single.user_id:
                msg = (f"this integration was given the manager of user {single.user_id!r} "
                       f"but the run is for {user_id!r}; pass a factory to serve several users")
                raise MissingUserIdError(msg)
            return single

        return ManagerPool(only)
    if callable(managers):
        return ManagerPool(managers)
    msg = f"expected a ManagerPool, a factory or a MemoryManager, got {type(managers).__name__}"
    raise TypeError(msg)


def _lookup(source: Any, key: str) -> Any:
    if source is None:
        return None
    if isinstance(source, Mapping):
        return source.get(key)
    return getattr(source, key, None)


def resolve_ids(
    context: Any,
    config: Mapping[str, Any] | None,
    *,
    user_key: str = "user_id",
    session_key: str = "session_id",
    need_session: bool = True,
) -> tuple[str, str | None]:
    """``(user_id, session_id)`` from a run's context (first) or ``config["configurable"]``.

    The session falls back to ``configurable["thread_id"]``. Raises MissingUserIdError /
    MissingSessionIdError (InvalidInputError subclasses) naming where to put them.
    """
    configurable = (config or {}).get("configurable") or {}
    user_id = _lookup(context, user_key) or configurable.get(user_key)
    if not user_id:
        msg = (f"no {user_key!r} for this run: pass it in the runtime context "
               f"(context={{'{user_key}': ...}}) or in config={{'configurable': "
               f"{{'{user_key}': ...}}}}")
        raise MissingUserIdError(msg)
    validate_id(user_id, user_key)
    session_id = (_lookup(context, session_key) or configurable.get(session_key)
                  or configurable.get("thread_id"))
    if session_id is not None:
        session_id = str(session_id)
        validate_id(session_id, session_key)
    elif need_session:
        msg = (f"no {session_key!r} for this run: pass it in the runtime context or in "
               f"config['configurable'] ({session_key!r} or 'thread_id')")
        raise MissingSessionIdError(msg)
    return user_id, session_id
