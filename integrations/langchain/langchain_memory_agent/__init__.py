"""LangChain / LangGraph integration of memory-agent.

- :class:`MemoryMiddleware`: agent middleware (recall before each model call, record after);
- :func:`with_memory`: LCEL chains with memory;
- :class:`MemoryRetriever`: a ``BaseRetriever`` over profile facts, tree nodes and turns;
- :func:`memory_tools`: search / remember / correct / forget tools;
- :class:`MemoryAgentStore`: a LangGraph ``BaseStore`` on ChromaDB;
- :class:`ChatModelLLM` (LangChain model -> memory-agent) and :class:`ChatLocalLlama`
  (memory-agent model -> LangChain).
"""

from __future__ import annotations

from .chains import MemoryRunnable, with_memory
from .chat_models import ChatLocalLlama
from .errors import MissingIdError, MissingSessionIdError, MissingUserIdError
from .llms import ChatModelLLM
from .managers import ManagerPool, MemoryManagerFactory, resolve_ids
from .middleware import MemoryMiddleware
from .retrievers import MemoryRetriever
from .stores import MemoryAgentStore
from .tools import (
    CorrectFactTool,
    ForgetFactTool,
    RememberFactTool,
    SearchMemoryTool,
    memory_tools,
)

__version__ = "0.1.0"

__all__ = [
    "ChatLocalLlama",
    "ChatModelLLM",
    "CorrectFactTool",
    "ForgetFactTool",
    "ManagerPool",
    "MemoryAgentStore",
    "MemoryManagerFactory",
    "MemoryMiddleware",
    "MemoryRetriever",
    "MemoryRunnable",
    "MissingIdError",
    "MissingSessionIdError",
    "MissingUserIdError",
    "RememberFactTool",
    "SearchMemoryTool",
    "__version__",
    "memory_tools",
    "resolve_ids",
    "with_memory",
]
