"""The async twins of :class:`MemoryManager`'s public methods, written once: each runs
its sync method in a worker thread (``asyncio.to_thread``), so the event loop never waits
on the store, the embedder or the model."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any, ParamSpec, TypeVar, cast

from memory_agent.core.extraction import ExtractionOutcome
from memory_agent.core.profile import ProfileDocument
from memory_agent.core.store import HistoryEntry
from memory_agent.core.tree import SummaryTree
from memory_agent.core.types import MemoryContext, SessionInfo, Turn
from memory_agent.engine.profile_update import ProfileUpdate
from memory_agent.engine.worker import JobFailure

if TYPE_CHECKING:
    from memory_agent.engine.manager import MemoryManager

P = ParamSpec("P")
R = TypeVar("R")

TWINNED = (
    "record", "recall", "end_session", "flush", "edit_profile", "apply_profile_edits",
    "forget", "forget_fact", "restore_fact", "export", "import_archive", "sessions", "session_for",
    "profile", "profile_markdown", "profile_history", "profile_version", "tree", "stats",
    "close",
)
"""The public methods that have an ``a``-prefixed async twin (a test checks each)."""


async def in_thread(fn: Callable[P, R], *args: P.args, **kwargs: P.kwargs) -> R:
    """Run ``fn`` in a worker thread: the one helper every twin uses."""
    return await asyncio.to_thread(fn, *args, **kwargs)


class AsyncTwins:
    """Mixed into MemoryManager: ``await memory.arecall(...)`` is ``memory.recall(...)``
    in a thread."""

    @property
    def _manager(self) -> MemoryManager:
        return cast("MemoryManager", self)

    async def arecord(self, user_message: str, assistant_message: str, *,
                      session_id: str, at: datetime | None = None) -> Turn:
        return await in_thread(self._manager.record, user_message, assistant_message,
                               session_id=session_id, at=at)

    async def arecall(self, query: str, *,
                      token_budget: int | None = None) -> MemoryContext:
        return await in_thread(self._manager.recall, query, token_budget=token_budget)

    async def aend_session(self, session_id: str) -> None:
        await in_thread(self._manager.end_session, session_id)

    async def aflush(self, timeout: float | None = None) -> list[JobFailure]:
        return await in_thread(self._manager.flush, timeout)

    async def aedit_profile(self, markdown: str, *,
                            base_version: int | None = None) -> ProfileDocument:
        return await in_thread(self._manager.edit_profile, markdown, base_version=base_version)

    async def aapply_profile_edits(
        self, planner: Callable[[ProfileDocument], ExtractionOutcome]
    ) -> ProfileUpdate:
        return await in_thread(self._manager.apply_profile_edits, planner)

    async def aforget(self) -> None:
        await in_thread(self._manager.forget)

    async def aforget_fact(self, fact_id: str) -> list[str]:
        return await in_thread(self._manager.forget_fact, fact_id)

    async def arestore_fact(self, fact_id: str) -> ProfileUpdate:
        return await in_thread(self._manager.restore_fact, fact_id)

    async def aexport(self, path: str | Path) -> Path:
        return await in_thread(self._manager.export, path)

    async def aimport_archive(self, path: str | Path) -> None:
        await in_thread(self._manager.import_archive, path)

    async def asessions(self) -> list[SessionInfo]:
        return await in_thread(self._manager.sessions)

    async def asession_for(self, conversation: str) -> str:
        return await in_thread(self._manager.session_for, conversation)

    async def aprofile(self) -> ProfileDocument:
        return await in_thread(self._manager.profile)

    async def aprofile_markdown(self) -> str:
        return await in_thread(self._manager.profile_markdown)

    async def aprofile_history(self) -> list[HistoryEntry]:
        return await in_thread(self._manager.profile_history)

    async def aprofile_version(self) -> int:
        return await in_thread(self._manager.profile_version)

    async def atree(self) -> SummaryTree:
        return await in_thread(self._manager.tree)

    async def astats(self) -> dict[str, Any]:
        return await in_thread(self._manager.stats)

    async def aclose(self, *, wait: bool = True) -> None:
        await in_thread(self._manager.close, wait=wait)
