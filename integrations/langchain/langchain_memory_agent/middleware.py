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

import asyncio
import logging
import threading
from collections.abc import Awaitable, Callable, Sequence
from datetime import datetime, timedelta, timezone
from typing import Any

from langchain.agents.middleware import AgentMiddleware, AgentState, ModelRequest, ModelResponse
from langchain_core.messages import AIMessage, BaseMessage, SystemMessage
from langgraph.runtime import Runtime
from memory_agent import MemoryContext, MemoryManager, SessionClock

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
      comes back after that long without a turn (its next turns go to ``<session>.2``, ...):
      the core's :class:`memory_agent.SessionClock`, as in ``with_memory``.

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
        self.record = record
        self.user_key = user_key
        self.session_key = session_key
        self.sessions = SessionClock(idle_timeout, clock=clock)
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

    @property
    def idle_timeout(self) -> timedelta | None:
        return self.sessions.idle_timeout

    def end_session(self, user_id: str, session_id: str) -> str | None:
        """End conversation ``session_id`` of ``user_id`` now (queues its summary and profile
        update); its next turns start a new memory session. Returns the ended session id,
        or None if nothing was recorded in it."""
        return self.sessions.end(self.pool.get(user_id), session_id)

    def end_idle_sessions(self) -> list[tuple[str, str]]:
        """End every conversation this middleware saw that has been idle for longer than
        ``idle_timeout`` (call it from a timer if you like); returns (user, session) ended."""
        return self.sessions.end_idle(self.pool.get)

    # --- hooks ----------------------------------------------------------------------------
    def _request_with_memory(self, request: ModelRequest[Any],
                             context: MemoryContext) -> ModelRequest[Any]:
        self.last_context = context
        block = context.to_prompt()
        if not block:
            return request
        return request.override(system_message=with_memory_block(request.system_message, block))

    def _query(self, request: ModelRequest[Any]) -> tuple[str, str] | None:
        """(user id, query) of a model call, or None if there is no user message."""
        found = last_human(request.messages)
        if found is None or not found[1].text.strip():
            return None
        user_id, _ = self.ids(request.runtime)
        return user_id, found[1].text.strip()

    def wrap_model_call(
        self,
        request: ModelRequest[Any],
        handler: Callable[[ModelRequest[Any]], ModelResponse[Any]],
    ) -> ModelResponse[Any]:
        target = self._query(request)
        if target is not None:
            user_id, query = target
            manager = self.pool.get(user_id)
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
            user_id, query = target
            manager = await self.pool.aget(user_id)  # the factory runs off the event loop
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
        self.sessions.record(self.pool.get(user_id), base, *exchange)
        with self._lock:
            if answer_id is not None:
                self._recorded[answer_id] = None
                while len(self._recorded) > 10_000:
                    self._recorded.pop(next(iter(self._recorded)))

    def after_agent(self, state: AgentState[Any], runtime: Runtime[Any]) -> dict[str, Any] | None:
        self._record(state, runtime)
        return None

    async def aafter_agent(self, state: AgentState[Any],
                           runtime: Runtime[Any]) -> dict[str, Any] | None:
        await asyncio.to_thread(self._record, state, runtime)
        return None
