"""Agent middleware for ``langchain.agents.create_agent``: recall before each model call,
record after the agent answers, end sessions explicitly or after an idle time.

Usage::

    memory = MemoryMiddleware(lambda user_id: MemoryManager.open(user_id), token_budget=800)
    agent = create_agent(model, middleware=[memory], context_schema=UserContext)
    agent.invoke({"messages": [("user", "hi")]},
                 context=UserContext(user_id="alice", session_id="s1"))

``user_id`` and ``session_id`` come from the run: the runtime context (``context_schema``:
a dataclass, TypedDict or pydantic model with those fields) or ``config["configurable"]``
(``session_id``, else ``thread_id``). A run without a user raises MissingUserIdError.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from typing import Any

from langchain.agents.middleware import AgentMiddleware, AgentState, ModelRequest, ModelResponse
from langchain_core.messages import AIMessage, BaseMessage, SystemMessage
from langgraph.runtime import Runtime
from memory_agent import MemoryContext, MemoryManager, SessionStateError

from ._messages import last_human
from .managers import ManagerPool, MemoryManagerFactory, as_pool, resolve_ids

Clock = Callable[[], datetime]
log = logging.getLogger(__name__)


def _now() -> datetime:
    return datetime.now(timezone.utc)


def _config() -> dict[str, Any]:
    try:
        from langgraph.config import get_config

        return dict(get_config())
    except RuntimeError:  # not inside a runnable
        return {}


@dataclass
class _Active:
    """The memory session a conversation currently records into."""

    session_id: str
    last_seen: datetime


def final_exchange(messages: Sequence[BaseMessage]) -> tuple[str, str] | None:
    """(latest human text, final AI text) of a finished run, or None if there is none."""
    found = last_human(messages)
    if found is None:
        return None
    index, human = found
    answers = [m for m in messages[index + 1 :] if isinstance(m, AIMessage)]
    if not answers or answers[-1].tool_calls:
        return None
    user_text, ai_text = human.text.strip(), answers[-1].text.strip()
    if not user_text or not ai_text:
        return None
    return user_text, ai_text


def with_memory_block(system: SystemMessage | None, block: str) -> SystemMessage:
    """The system message with the memory block appended (content blocks are kept)."""
    if system is None:
        return SystemMessage(content=block)
    content = system.content
    if isinstance(content, str):
        return SystemMessage(content=f"{content}\n\n{block}" if content else block)
    return SystemMessage(content=[*content, {"type": "text", "text": block}])


class MemoryMiddleware(AgentMiddleware):
    """Long-term memory for an agent made with ``langchain.agents.create_agent``.

    - before each model call: ``recall(latest user message, token_budget=...)`` and append
      ``MemoryContext.to_prompt()`` to the system prompt (nothing if memory is empty);
    - after the agent answers: ``record(latest user message, final AI text)``;
    - sessions end on :meth:`end_session` or, with ``idle_timeout``, when a conversation
      comes back after that long without a turn (its next turns go to ``<session>.2``, ...).

    ``managers``: a :class:`ManagerPool`, a factory ``user_id -> MemoryManager`` (cached),
    or one manager (single-user apps).
    """

    def __init__(
        self,
        managers: ManagerPool | MemoryManagerFactory | MemoryManager,
        *,
        token_budget: int | None = 1000,
        idle_timeout: timedelta | float | None = None,
        record: bool = True,
        user_key: str = "user_id",
        session_key: str = "session_id",
        clock: Clock = _now,
    ) -> None:
        super().__init__()
        self.pool = as_pool(managers)
        self.token_budget = token_budget
        if isinstance(idle_timeout, (int, float)):
            idle_timeout = timedelta(seconds=idle_timeout)
        self.idle_timeout = idle_timeout
        self.record = record
        self.user_key = user_key
        self.session_key = session_key
        self.clock = clock
        self._active: dict[tuple[str, str], _Active] = {}
        self._recorded: dict[str, None] = {}  # ids of AI messages already recorded
        self._lock = threading.Lock()
        self.last_context: MemoryContext | None = None

    # --- ids and sessions -----------------------------------------------------------------
    def ids(self, runtime: Runtime[Any] | None) -> tuple[str, str]:
        context = getattr(runtime, "context", None) if runtime is not None else None
        user_id, session_id = resolve_ids(context, _config(), user_key=self.user_key,
                                          session_key=self.session_key)
        assert session_id is not None
        return user_id, session_id

    def _session(self, manager: MemoryManager, base: str) -> _Active:
        """The memory session for conversation ``base``: the first of base, base.2, ...
        not ended; ended (and moved on) if idle for longer than ``idle_timeout``."""
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
        if (self.idle_timeout is not None and now - active.last_seen > self.idle_timeout):
            active = self._roll_over(manager, base, active, now)
        with self._lock:
            self._active[key] = active
        return active

    def _roll_over(self, manager: MemoryManager, base: str, active: _Active,
                   now: datetime) -> _Active:
        known = {s.session_id for s in manager.sessions()}
        if active.session_id in known:
            manager.end_session(active.session_id)
        _, _, suffix = active.session_id.rpartition(".")
        n = int(suffix) + 1 if active.session_id != base and suffix.isdigit() else 2
        return _Active(f"{base}.{n}", now)

    def end_session(self, user_id: str, session_id: str) -> str | None:
        """End conversation ``session_id`` of ``user_id`` now (queues its summary and profile
        update); its next turns start a new memory session. Returns the ended session id,
        or None if nothing was recorded in it."""
        manager = self.pool.get(user_id)
        active = self._session(manager, session_id)
        if active.session_id not in {s.session_id for s in manager.sessions()}:
            return None
        ended = active.session_id
        with self._lock:
            self._active[(user_id, session_id)] = self._roll_over(manager, session_id, active,
                                                                  self.clock())
        return ended

    def end_idle_sessions(self) -> list[tuple[str, str]]:
        """End every conversation this middleware saw that has been idle for longer than
        ``idle_timeout`` (call it from a timer if you like); returns (user, session) ended."""
        if self.idle_timeout is None:
            return []
        now = self.clock()
        with self._lock:
            idle = [(k, a) for k, a in self._active.items()
                    if now - a.last_seen > self.idle_timeout]
        ended = []
        for (user_id, base), active in idle:
            manager = self.pool.get(user_id)
            if active.session_id in {s.session_id for s in manager.sessions()}:
                with self._lock:
                    self._active[(user_id, base)] = self._roll_over(manager, base, active, now)
                ended.append((user_id, active.session_id))
        return ended

    # --- hooks ----------------------------------------------------------------------------
    def _request_with_memory(self, request: ModelRequest[Any],
                             context: MemoryContext) -> ModelRequest[Any]:
        self.last_context = context
        block = context.to_prompt()
        if not block:
            return request
        return request.override(system_message=with_memory_block(request.system_message, block))

    def _query(self, request: ModelRequest[Any]) -> tuple[MemoryManager, str] | None:
        found = last_human(request.messages)
        if found is None or not found[1].text.strip():
            return None
        user_id, _ = self.ids(request.runtime)
        return self.pool.get(user_id), found[1].text.strip()

    def wrap_model_call(
        self,
        request: ModelRequest[Any],
        handler: Callable[[ModelRequest[Any]], ModelResponse[Any]],
    ) -> ModelResponse[Any]:
        target = self._query(request)
        if target is not None:
            manager, query = target
            request = self._request_with_memory(
                request, manager.recall(query, token_budget=self.token_budget))
        return handler(request)

    async def awrap_model_call(
        self,
        request: ModelRequest[Any],
        handler: Callable[[ModelRequest[Any]], Awaitable[ModelResponse[Any]]],
    ) -> ModelResponse[Any]:
        target = self._query(request)
        if target is not None:
            manager, query = target
            context = await manager.arecall(query, token_budget=self.token_budget)
            request = self._request_with_memory(request, context)
        return await handler(request)

    def _record(self, state: AgentState[Any], runtime: Runtime[Any]) -> None:
        if not self.record:
            return
        messages = state.get("messages", [])
        exchange = final_exchange(messages)
        if exchange is None:
            if messages and isinstance(messages[-1], AIMessage) and not messages[-1].tool_calls \
                    and not messages[-1].text.strip():
                log.warning("the model returned no text: this exchange was not recorded")
            return
        answer_id = messages[-1].id
        if answer_id is not None and answer_id in self._recorded:
            return  # already recorded (e.g. a resumed run)
        user_id, base = self.ids(runtime)
        manager = self.pool.get(user_id)
        active = self._session(manager, base)
        try:
            manager.record(*exchange, session_id=active.session_id)
        except SessionStateError:  # ended by another process: move on to the next session
            active = self._roll_over(manager, base, active, self.clock())
            manager.record(*exchange, session_id=active.session_id)
        active.last_seen = self.clock()
        with self._lock:
            self._active[(user_id, base)] = active
            if answer_id is not None:
                self._recorded[answer_id] = None
                while len(self._recorded) > 10_000:
                    self._recorded.pop(next(iter(self._recorded)))

    def after_agent(self, state: AgentState[Any], runtime: Runtime[Any]) -> dict[str, Any] | None:
        self._record(state, runtime)
        return None

    async def aafter_agent(self, state: AgentState[Any],
                           runtime: Runtime[Any]) -> dict[str, Any] | None:
        import asyncio

        await asyncio.to_thread(self._record, state, runtime)
        return None
