"""Shared fixtures: fakes for fast unit tests (no model, no database)."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import pytest

from memory_agent.backends.embeddings import HashingEmbedder
from memory_agent.backends.llm.fake import FakeLLM
from memory_agent.backends.store.memory import InMemoryStore
from memory_agent.core.config import MemoryConfig
from memory_agent.core.embedder import Embedder
from memory_agent.engine.manager import MemoryManager

from .fakes import TaskLLM


@pytest.fixture
def make_manager() -> Iterator[Callable[..., MemoryManager]]:
    created: list[MemoryManager] = []

    def factory(user_id: str = "alice", *, llm: FakeLLM | None = None, store: Any = None,
                background: bool = False, config: MemoryConfig | None = None,
                embedder: Embedder | None = None) -> MemoryManager:
        manager = MemoryManager(
            user_id=user_id, store=store if store is not None else InMemoryStore(),
            llm=llm or TaskLLM(), embedder=embedder or HashingEmbedder(), config=config,
            background=background,
        )
        created.append(manager)
        return manager

    yield factory
    for manager in created:
        manager.close()


pytest_plugins = ["tests.cli_data"]  # the data_dir fixture of the command-line tests
