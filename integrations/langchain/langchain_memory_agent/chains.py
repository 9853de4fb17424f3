"""LCEL: give any ``prompt | model`` chain long-term memory.

``with_memory(chain, managers)`` returns a runnable that, for an input dict, recalls memory
for ``input[input_key]``, calls the chain with an extra ``memory`` variable (the rendered
``MemoryContext``, "" when empty) and records (user input, chain output text) once the chain
returns, or once a stream completes (a stream stopped early records nothing). The user and
conversation come from ``config["configurable"]`` (``user_id``; ``session_id`` or
``thread_id``). A conversation records into memory sessions as the middleware's do (the
core's ``SessionClock``): ``s1``, then ``s1.2``, ... once one has ended, by
``end_session``, by ``idle_timeout`` or by another process.

    prompt = ChatPromptTemplate.from_messages(
        [("system", "You are helpful.\\n{memory}"), ("human", "{input}")])
    chain = with_memory(prompt | model, factory)
    chain.invoke({"input": "dinner?"},
                 config={"configurable": {"user_id": "alice", "session_id": "s1"}})
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator, Callable, Iterator, Mapping
from datetime import datetime, timedelta, timezone
from typing import Any

from langchain_core.messages import BaseMessageChunk
from langchain_core.runnables import Runnable, RunnableConfig
from langchain_core.runnables.config import ensure_config
from memory_agent import MemoryManager, SessionClock

from ._messages import text_of
from .managers import ManagerPool, MemoryManagerFactory, as_pool, resolve_ids

OutputText = Callable[[Any], str]
Clock = Callable[[], datetime]
log = logging.getLogger(__name__)


def _now() -> datetime:
    return datetime.now(timezone.utc)


def default_output_text(output: Any) -> str:
    """Text of an AIMessage, a string, or a dict with an ``output``/``answer``/``text`` key."""
    if isinstance(output, Mapping):
        for key in ("output", "answer", "text", "content"):
            if key in output:
                return text_of(output[key])
        return ""
    return text_of(getattr(output, "content", output))


class MemoryRunnable(Runnable[dict[str, Any], Any]):
    """See :func:`with_memory`."""

    def __init__(
        self,
        chain: Runnable[Any, Any],
        managers: ManagerPool | MemoryManagerFactory | MemoryManager,
        *,
        input_key: str = "input",
        memory_key: str = "memory",
        token_budget: int | None = 1000,
        output_text: OutputText = default_output_text,
        record: bool = True,
        idle_timeout: timedelta | float | None = None,
        clock: Clock = _now,
    ) -> None:
        self.chain = chain
        self.pool = as_pool(managers)
        self.input_key = input_key
        self.memory_key = memory_key
        self.token_budget = token_budget
        self.output_text = output_text
        self.record = record
        self.sessions = SessionClock(idle_timeout, clock=clock)

    @property
    def InputType(self) -> Any:
        return dict[str, Any]

    def end_session(self, user_id: str, session_id: str) -> str | None:
        """End conversation ``session_id`` of ``user_id`` now (queues its summary and profile
        update); its next turns start a new memory session. Returns the ended session id,
        or None if nothing was recorded in it."""
        return self.sessions.end(self.pool.get(user_id), session_id)

    def end_idle_sessions(self) -> list[tuple[str, str]]:
        """End every conversation seen here idle for longer than ``idle_timeout``; returns
        the (user, session) pairs ended."""
        return self.sessions.end_idle(self.pool.get)

    def _ids(self, value: dict[str, Any], config: RunnableConfig) -> tuple[str, str, str]:
        if not isinstance(value, Mapping) or self.input_key not in value:
            from memory_agent import InvalidInputError

            msg = f"a chain with memory takes a dict with the key {self.input_key!r}"
            raise InvalidInputError(msg)
        user_id, session_id = resolve_ids(None, config)
        assert session_id is not None
        return user_id, str(value[self.input_key]), session_id

    def _target(self, value: dict[str, Any], config: RunnableConfig) -> tuple[MemoryManager,
                                                                            str, str]:
        user_id, query, session_id = self._ids(value, config)
        return self.pool.get(user_id), query, session_id

    async def _atarget(self, value: dict[str, Any],
                       config: RunnableConfig) -> tuple[MemoryManager, str, str]:
        user_id, query, session_id = self._ids(value, config)
        return await self.pool.aget(user_id), query, session_id  # factory off the loop

    def _inputs(self, value: dict[str, Any], prompt: str) -> dict[str, Any]:
        return {**value, self.memory_key: prompt}

    def _answer(self, query: str, output: Any) -> str | None:
        """The text to record, or None (nothing to record)."""
        if not self.record or not query.strip():
            return None
        answer = self.output_text(output).strip()
        if not answer:
            log.warning("the chain returned no text: this exchange was not recorded")
            return None
        return answer

    def _save(self, manager: MemoryManager, query: str, session_id: str, output: Any) -> None:
        answer = self._answer(query, output)
        if answer is not None:
            self.sessions.record(manager, session_id, query, answer)

    async def _asave(self, manager: MemoryManager, query: str, session_id: str,
                     output: Any) -> None:
        answer = self._answer(query, output)
        if answer is not None:
            await asyncio.to_thread(self.sessions.record, manager, session_id, query, answer)

    def invoke(self, input: dict[str, Any], config: RunnableConfig | None = None,
               **kwargs: Any) -> Any:
        config = ensure_config(config)
        manager, query, session_id = self._target(input, config)
        context = manager.recall(query, token_budget=self.token_budget)
        output = self.chain.invoke(self._inputs(input, context.to_prompt()), config, **kwargs)
        self._save(manager, query, session_id, output)
        return output

    async def ainvoke(self, input: dict[str, Any], config: RunnableConfig | None = None,
                      **kwargs: Any) -> Any:
        config = ensure_config(config)
        manager, query, session_id = await self._atarget(input, config)
        context = await manager.arecall(query, token_budget=self.token_budget)
        output = await self.chain.ainvoke(self._inputs(input, context.to_prompt()), config,
                                          **kwargs)
        await self._asave(manager, query, session_id, output)
        return output

    def stream(self, input: dict[str, Any], config: RunnableConfig | None = None,
               **kwargs: Any) -> Iterator[Any]:
        config = ensure_config(config)
        manager, query, session_id = self._target(input, config)
        context = manager.recall(query, token_budget=self.token_budget)
        total: Any = None
        for chunk in self.chain.stream(self._inputs(input, context.to_prompt()), config,
                                       **kwargs):
            total = _add(total, chunk)
            yield chunk
        self._save(manager, query, session_id, total)

    async def astream(self, input: dict[str, Any], config: RunnableConfig | None = None,
                      **kwargs: Any) -> AsyncIterator[Any]:
        config = ensure_config(config)
        manager, query, session_id = await self._atarget(input, config)
        context = await manager.arecall(query, token_budget=self.token_budget)
        total: Any = None
        async for chunk in self.chain.astream(self._inputs(input, context.to_prompt()),
                                              config, **kwargs):
            total = _add(total, chunk)
            yield chunk
        await self._asave(manager, query, session_id, total)


def _add(total: Any, chunk: Any) -> Any:
    if total is None:
        return chunk
    if isinstance(total, (str, BaseMessageChunk)):
        return total + chunk
    try:
        return total + chunk
    except TypeError:
        return chunk  # not addable: keep the last chunk


def with_memory(
    chain: Runnable[Any, Any],
    managers: ManagerPool | MemoryManagerFactory | MemoryManager,
    *,
    input_key: str = "input",
    memory_key: str = "memory",
    token_budget: int | None = 1000,
    output_text: OutputText = default_output_text,
    record: bool = True,
    idle_timeout: timedelta | float | None = None,
    clock: Clock = _now,
) -> MemoryRunnable:
    """Wrap ``chain`` (e.g. ``prompt | model``) so it recalls and records memory.

    The prompt must use the ``{memory}`` variable (``memory_key``). ``batch``/``abatch``
    work through the Runnable defaults (each input with its own config). ``idle_timeout``
    ends a conversation's memory session when it comes back after that long without a turn
    (as :class:`~langchain_memory_agent.MemoryMiddleware` does).
    """
    return MemoryRunnable(chain, managers, input_key=input_key, memory_key=memory_key,
                          token_budget=token_budget, output_text=output_text, record=record,
                          idle_timeout=idle_timeout, clock=clock)
