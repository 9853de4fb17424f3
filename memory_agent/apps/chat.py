"""Answering a user with (or without) memory: the loop the CLI and the demo share."""

from __future__ import annotations

from collections.abc import Iterator

from memory_agent.core.llm import LLM
from memory_agent.core.prompts import ANSWER_SYSTEM, ANSWER_WITH_MEMORY_SYSTEM
from memory_agent.core.types import MemoryContext, Message


def answer_messages(question: str, context: MemoryContext | None) -> list[Message]:
    """The messages for one answer: memory goes in the system prompt, delimited as data."""
    memory = context.to_prompt() if context is not None else ""
    system = ANSWER_WITH_MEMORY_SYSTEM.format(memory=memory) if memory else ANSWER_SYSTEM
    return [{"role": "system", "content": system}, {"role": "user", "content": question}]


def answer(llm: LLM, question: str, context: MemoryContext | None, *, max_tokens: int = 160) -> str:
    """The model's answer to ``question`` given the recalled ``context`` (None: no memory);
    its line breaks are kept (lists stay lists)."""
    reply = llm.complete(answer_messages(question, context), max_tokens=max_tokens)
    return reply.strip() if isinstance(reply, str) else ""


def stream_answer(llm: LLM, question: str, context: MemoryContext | None, *,
                  max_tokens: int = 400) -> Iterator[str]:
    """The same answer, in pieces as the model writes them."""
    yield from llm.stream(answer_messages(question, context), max_tokens=max_tokens)
