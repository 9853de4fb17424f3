"""Fixtures: memory-agent fakes (FakeLLM, InMemoryStore, HashingEmbedder), no real model."""

from __future__ import annotations

import inspect
import json
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import Any

import pytest
from memory_agent import FakeLLM, HashingEmbedder, InMemoryStore, MemoryManager, Message

from langchain_memory_agent import ManagerPool

HERE = Path(__file__).parent


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "real: needs the real local model; slow")


@pytest.hookimpl(tryfirst=True)
def pytest_pycollect_makeitem(collector: pytest.Collector, name: str, obj: object) -> None:
    """Mark our async tests for pytest-asyncio under any ini file: ours sets
    asyncio_mode=auto, the root one (used when both suites run together) does not."""
    if inspect.iscoroutinefunction(obj) and HERE in Path(str(collector.path)).parents:
        pytest.mark.asyncio(obj)


def fact_responder(messages: Sequence[Message], schema: dict[str, Any] | None) -> str:
    """A FakeLLM that fills the diet field when the user says they are vegetarian."""
    text = " ".join(m["content"] for m in messages)
    if schema is None:
        return "The user talked about food."
    props = schema.get("properties", {})
    if "diet" in props:
        return json.dumps({"diet": "vegetarian" if "vegetarian" in text.lower() else ""})
    return FakeLLM().complete(list(messages), json_schema=schema)  # a minimal valid answer


@pytest.fixture
def make_manager() -> Iterator[Callable[..., MemoryManager]]:
    created: list[MemoryManager] = []

    def factory(user_id: str = "alice", *, store: Any = None, llm: Any = None) -> MemoryManager:
        manager = MemoryManager(
            user_id=user_id, store=store if store is not None else InMemoryStore(),
            llm=llm or FakeLLM(responder=fact_responder), embedder=HashingEmbedder(),
            background=False,
        )
        created.append(manager)
        return manager

    yield factory
    for manager in created:
        manager.close()


@pytest.fixture
def pool(make_manager: Callable[..., MemoryManager]) -> ManagerPool:
    store = InMemoryStore()  # one store shared by every user, as in an app
    return ManagerPool(lambda user_id: make_manager(user_id, store=store))
