"""The models of the benchmark scripts: the fake model or the local llama.cpp one, their
command-line options, and a manager that only reads a stored memory."""

from __future__ import annotations

import argparse
from typing import TYPE_CHECKING, Any

from memory_agent.backends.llm.fake import FakeLLM
from memory_agent.core.llm import LLM

if TYPE_CHECKING:
    from memory_agent.core.config import MemoryConfig
    from memory_agent.core.embedder import Embedder
    from memory_agent.core.store import MemoryStore
    from memory_agent.engine.manager import MemoryManager


def make_llm(*, fake: bool = False, model: str | None = None, threads: int | None = None,
             n_ctx: int | None = None) -> LLM:
    """``FakeLLM`` when ``fake``, else ``LlamaCppLLM(model)`` (the default model if None) with
    ``threads`` (all cores if None) and ``n_ctx`` (the backend's default if None). The
    llama.cpp backend is imported only then."""
    if fake:
        return FakeLLM()
    from memory_agent import LlamaCppLLM

    options: dict[str, Any] = {"n_threads": threads}
    if n_ctx is not None:
        options["n_ctx"] = n_ctx
    return LlamaCppLLM(model, **options)


def add_model_args(parser: argparse.ArgumentParser, *, fake_help: str) -> None:
    """``--model``, ``--threads`` and ``--fake-llm`` (described by ``fake_help``): what
    ``make_llm`` takes."""
    parser.add_argument("--model", default=None,
                        help="model key or .gguf (default model if unset)")
    parser.add_argument("--threads", type=int, default=None,
                        help="llama.cpp threads (default: all cores; 1 on a busy machine)")
    parser.add_argument("--fake-llm", action="store_true", help=fake_help)


def reading_manager(user_id: str, store: MemoryStore, embedder: Embedder,
                    config: MemoryConfig | None = None) -> MemoryManager:
    """A manager that only reads what a benchmark stored: a fake model (never called by
    ``recall``), no background work, no session resumed."""
    from memory_agent.engine.manager import MemoryManager

    return MemoryManager(user_id=user_id, store=store, llm=FakeLLM(), embedder=embedder,
                         background=False, resume=False, config=config)
