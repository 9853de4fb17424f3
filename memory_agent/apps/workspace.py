"""Every stored user of one store, each opened once: the inspector and `memory-agent users`."""

from __future__ import annotations

import threading
from collections.abc import Callable
from pathlib import Path

from memory_agent.core.store import MemoryStore
from memory_agent.engine.inspection import stored_users
from memory_agent.engine.manager import MemoryManager
from memory_agent.errors import UnknownUserError


class Workspace:
    """The users of one store, each opened once (``open_manager(user_id)``) and kept."""

    def __init__(self, store: MemoryStore, open_manager: Callable[[str], MemoryManager]) -> None:
        self.store = store
        self._open = open_manager
        self._managers: dict[str, MemoryManager] = {}
        self._lock = threading.Lock()

    def users(self) -> list[str]:
        return stored_users(self.store)

    def manager(self, user_id: str, *, must_exist: bool = True) -> MemoryManager:
        """The manager of a stored user; UnknownUserError if nothing is stored for them."""
        with self._lock:
            found = self._managers.get(user_id)
            if found is not None:
                return found
        if must_exist and user_id not in self.users():
            msg = f"no memory stored for user {user_id!r}"
            raise UnknownUserError(msg)
        with self._lock:
            return self._managers.setdefault(user_id, self._open(user_id))

    def drop(self, user_id: str) -> None:
        """Close and forget the manager of a user (after ``forget``)."""
        with self._lock:
            manager = self._managers.pop(user_id, None)
        if manager is not None:
            manager.close()

    def close(self) -> None:
        with self._lock:
            managers, self._managers = list(self._managers.values()), {}
        for manager in managers:
            manager.close()


def open_workspace(
    *, data_dir: str | Path | None, server_url: str | None, model: str | Path | None,
    n_threads: int | None = None, n_ctx: int = 4096,
) -> Workspace:
    """The default backends (``memory_agent.defaults``, as ``MemoryManager.open`` builds
    them), shared by every user: Chroma, the journal, the bundled E5 embedder, and the local
    model, loaded only if a job needs it (the summaries ``forget a fact`` queues for
    rewriting). Managers resume no old work."""
    from memory_agent.defaults import default_backends

    made = default_backends(data_dir=data_dir, server_url=server_url, model=model,
                            n_threads=n_threads, n_ctx=n_ctx)

    def open_manager(user_id: str) -> MemoryManager:
        return MemoryManager(user_id=user_id, store=made.store, llm=made.llm,
                             embedder=made.embedder, count_tokens=made.count_tokens,
                             background=True, resume=False, journal=made.journal)

    return Workspace(made.store, open_manager)
