"""Backends for the examples: the real local stack, or fakes (``--fake``) for tests."""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from memory_agent import FakeLLM, HashingEmbedder, MemoryManager, Message


def _fake_memory_model(messages: Sequence[Message], schema: dict[str, Any] | None) -> str:
    """Stands in for the local model's summaries and fact extraction."""
    said = " ".join(m["content"] for m in messages).lower()
    if schema is None:
        return "The user talked about dinner."
    facts = {}
    if "diet" in schema.get("properties", {}) and "vegetarian" in said:
        facts["diet"] = "vegetarian"
    return json.dumps(facts)


def _fake_chat_model(messages: Sequence[Message], schema: dict[str, Any] | None) -> str:
    """Stands in for the assistant: answers from the memory in its system prompt."""
    system = messages[0]["content"] if messages and messages[0]["role"] == "system" else ""
    if "vegetarian" in system:
        return "You told me you are vegetarian: how about a chickpea curry?"
    return "Happy to help! What do you like to eat?"


def open_manager(user_id: str, data_dir: Path, *, fake: bool) -> MemoryManager:
    """A user's memory in ``data_dir`` (embedded Chroma). ``background=False``: the
    session's update work runs inside ``end_session``, so a short script needs no flush."""
    if not fake:
        return MemoryManager.open(user_id, data_dir=data_dir, background=False)
    from memory_agent import ChromaStore

    return MemoryManager(user_id=user_id, store=ChromaStore.persistent(data_dir),
                         llm=FakeLLM(responder=_fake_memory_model),
                         embedder=HashingEmbedder(), background=False)


def chat_model(manager: MemoryManager, *, fake: bool, max_tokens: int = 256) -> Any:
    """An offline LangChain chat model: the manager's own local model, or a fake."""
    from langchain_memory_agent import ChatLocalLlama

    if fake:
        return ChatLocalLlama(llm=FakeLLM(responder=_fake_chat_model))
    return ChatLocalLlama(llm=manager.llm, max_tokens=max_tokens)
