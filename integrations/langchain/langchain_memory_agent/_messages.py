"""Conversions between LangChain messages and memory-agent's ``Message`` dicts."""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

from langchain_core.messages import (
    AIMessage,
    BaseMessage,
    HumanMessage,
    SystemMessage,
    ToolMessage,
)
from memory_agent import Message


def text_of(value: Any) -> str:
    """The plain text of a message, message content, chain output or string."""
    if value is None:
        return ""
    if isinstance(value, BaseMessage):
        return value.text
    if isinstance(value, str):
        return value
    if isinstance(value, list):  # content blocks
        parts = []
        for block in value:
            if isinstance(block, str):
                parts.append(block)
            elif isinstance(block, dict) and block.get("type") == "text":
                parts.append(str(block.get("text", "")))
        return "".join(parts)
    return str(value)


def to_memory_messages(messages: Sequence[BaseMessage]) -> list[Message]:
    """LangChain messages as memory-agent messages (system / user / assistant).

    Tool calls and tool results are rendered as text: memory-agent's ``LLM`` interface has
    no tool calling. Consecutive messages of one role are kept as they are.
    """
    out: list[Message] = []
    for message in messages:
        text = message.text
        if isinstance(message, SystemMessage):
            out.append({"role": "system", "content": text})
        elif isinstance(message, AIMessage):
            calls = [f"[called tool {c['name']} with {json.dumps(c['args'])}]"
                     for c in message.tool_calls]
            out.append({"role": "assistant", "content": "\n".join([text, *calls]).strip()})
        elif isinstance(message, ToolMessage):
            out.append({"role": "user", "content": f"[tool result] {text}"})
        elif isinstance(message, HumanMessage):
            out.append({"role": "user", "content": text})
        else:  # ChatMessage and friends
            role = getattr(message, "role", "user")
            if role in ("assistant", "ai"):
                out.append({"role": "assistant", "content": text})
            elif role == "system":
                out.append({"role": "system", "content": text})
            else:
                out.append({"role": "user", "content": text})
    return out


def from_memory_messages(messages: Sequence[Message]) -> list[BaseMessage]:
    """memory-agent messages as LangChain messages."""
    kinds = {"system": SystemMessage, "user": HumanMessage, "assistant": AIMessage}
    return [kinds[m["role"]](content=m["content"]) for m in messages]


def last_human(messages: Sequence[BaseMessage]) -> tuple[int, HumanMessage] | None:
    for i in range(len(messages) - 1, -1, -1):
        if isinstance(messages[i], HumanMessage):
            return i, messages[i]  # type: ignore[return-value]
    return None
