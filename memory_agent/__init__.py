"""memory-agent: long-term memory of a user for LLM applications.

The public API is what this module exports; everything else is internal.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from .config import MemoryConfig
from .embeddings import E5Embedder, Embedder, HashingEmbedder
from .errors import (
    EmptyMessageError,
    InvalidIdError,
    InvalidInputError,
    InvalidTextError,
    MemoryAgentError,
    MessageTooLargeError,
    ModelError,
    ModelOutputError,
    ModelUnavailableError,
    NotFoundError,
    ProfileBudgetError,
    ProfileConflictError,
    ProfileError,
    ProfileParseError,
    SessionStateError,
    StoreError,
    UnknownSessionError,
    UnknownUserError,
)
from .extraction import ExtractionOutcome, Rejected, looks_like_injection
from .llm import LLM, FakeLLM, generate_structured
from .manager import MemoryManager
from .profile import Fact, ProfileDocument, ProfileEdit, parse_profile
from .store.base import HistoryEntry, Job, MemoryStore
from .store.memory import InMemoryStore
from .tree import SummaryTree, TreeConfig
from .types import MemoryContext, MemoryItem, Message, Node, SessionInfo, Turn, validate_id
from .updater import ProfileUpdate
from .worker import JobFailure

if TYPE_CHECKING:
    from .llm.llama import LlamaCppLLM
    from .store.chroma import ChromaStore

__version__ = "0.1.0"

_LAZY = {  # heavy imports (chromadb, llama_cpp) only when used
    "ChromaStore": ("memory_agent.store.chroma", "ChromaStore"),
    "LlamaCppLLM": ("memory_agent.llm.llama", "LlamaCppLLM"),
}


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        import importlib

        module, attr = _LAZY[name]
        return getattr(importlib.import_module(module), attr)
    msg = f"module 'memory_agent' has no attribute {name!r}"
    raise AttributeError(msg)


__all__ = [
    "LLM",
    "ChromaStore",
    "E5Embedder",
    "Embedder",
    "EmptyMessageError",
    "ExtractionOutcome",
    "Fact",
    "FakeLLM",
    "HashingEmbedder",
    "HistoryEntry",
    "InMemoryStore",
    "InvalidIdError",
    "InvalidInputError",
    "InvalidTextError",
    "Job",
    "JobFailure",
    "LlamaCppLLM",
    "MemoryAgentError",
    "MemoryConfig",
    "MemoryContext",
    "MemoryItem",
    "MemoryManager",
    "MemoryStore",
    "Message",
    "MessageTooLargeError",
    "ModelError",
    "ModelOutputError",
    "ModelUnavailableError",
    "Node",
    "NotFoundError",
    "ProfileBudgetError",
    "ProfileConflictError",
    "ProfileDocument",
    "ProfileEdit",
    "ProfileError",
    "ProfileParseError",
    "ProfileUpdate",
    "Rejected",
    "SessionInfo",
    "SessionStateError",
    "StoreError",
    "SummaryTree",
    "TreeConfig",
    "Turn",
    "UnknownSessionError",
    "UnknownUserError",
    "__version__",
    "generate_structured",
    "looks_like_injection",
    "parse_profile",
    "validate_id",
]
