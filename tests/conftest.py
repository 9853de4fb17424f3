"""Shared fixtures: fakes for fast unit tests (no model, no database); the test lanes
(``unit``, ``integration``, ``real``, ``crash``, ``packaging``: see tests/lanes.py and
docs/testing.md) are assigned here, for tests/ and integrations/langchain/tests alike."""

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
from .lanes import assign, guard_unit


@pytest.hookimpl(tryfirst=True)  # before -m deselects by the lane markers added here
def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    assign(config, items)


@pytest.fixture(autouse=True)
def _unit_uses_no_real_backends(request: pytest.FixtureRequest,
                                monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    yield from guard_unit(request, monkeypatch)


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
