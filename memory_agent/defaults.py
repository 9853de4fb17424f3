"""The composition root: the default backends of :meth:`MemoryManager.open` (Chroma,
the bundled E5 embedder, the local llama.cpp model, tiktoken's token counter).

The only module besides the apps and ``memory_agent/__init__.py`` that imports both the
engine's needs and concrete backends; the engine imports it lazily, inside ``open()``.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from memory_agent.core.config import default_data_dir
from memory_agent.core.embedder import Embedder
from memory_agent.core.llm import LLM
from memory_agent.core.store import MemoryStore
from memory_agent.engine.journal import TurnJournal

TokenCounter = Callable[[str], int]
JOURNAL_FILE = "turn-journal.sqlite3"


@dataclass(frozen=True)
class DefaultBackends:
    store: MemoryStore
    llm: LLM
    embedder: Embedder
    journal: TurnJournal
    count_tokens: TokenCounter


def default_token_counter() -> TokenCounter:
    """tiktoken's counter (the default of every manager not given one)."""
    from memory_agent.backends.tokens import count_tokens

    return count_tokens


def default_backends(
    *,
    data_dir: str | Path | None = None,
    server_url: str | None = None,
    model: str | Path | None = None,
    llm: LLM | None = None,
    progress: Callable[[str], None] | None = None,
    n_threads: int | None = None,
    n_ctx: int = 4096,
) -> DefaultBackends:
    """Chroma (embedded in ``data_dir``, or the server at ``server_url``), the turn journal
    in the local data dir, the E5 embedder and, unless ``llm`` is given, the llama.cpp model
    ``model`` (a registry key or a .gguf path; the default model if None; loads lazily)."""
    from memory_agent.backends.embeddings import E5Embedder
    from memory_agent.backends.store.chroma import ChromaStore

    store = ChromaStore.from_settings(data_dir=data_dir, server_url=server_url)
    local = Path(data_dir) if data_dir is not None else default_data_dir()
    journal = TurnJournal(local / JOURNAL_FILE)
    if llm is None:
        from memory_agent.backends.llm.llama import LlamaCppLLM

        def model_bytes(done: int, total: int) -> None:
            if progress is not None and (done == total or done % (128 << 20) < (8 << 20)):
                progress(f"assembling the model file: {done * 100 // max(total, 1)}%")

        llm = LlamaCppLLM(model, n_threads=n_threads, n_ctx=n_ctx, progress=model_bytes)
    return DefaultBackends(store=store, llm=llm, embedder=E5Embedder(), journal=journal,
                           count_tokens=default_token_counter())
