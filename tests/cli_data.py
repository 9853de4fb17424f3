"""A data directory holding alice's memory, for the command-line tests."""

from __future__ import annotations

from datetime import datetime, timezone
from pathlib import Path

import pytest

from memory_agent import ChromaStore, E5Embedder, MemoryManager

from .fakes import TaskLLM, scripted_extraction

T0 = datetime(2026, 3, 2, 19, 0, tzinfo=timezone.utc)


@pytest.fixture
def data_dir(tmp_path: Path) -> Path:
    """A data directory holding alice's memory (built with a scripted fake model)."""
    store = ChromaStore.from_settings(data_dir=tmp_path)
    llm = TaskLLM([scripted_extraction({"diet": "vegetarian", "location": "Lyon"})])
    with MemoryManager(user_id="alice", store=store, llm=llm, embedder=E5Embedder(),
                       background=False) as memory:
        memory.record("I live in Lyon. Any dinner idea without meat?", "Try a lentil curry.",
                      session_id="s1", at=T0)
        memory.end_session("s1")
    store.close()
    return tmp_path
