"""memory-agent: long-term memory of a user for LLM applications.

The public API is what this module exports; everything else is internal.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from memory_agent.backends.embeddings import E5Embedder, HashingEmbedder
from memory_agent.backends.llm.fake import FakeLLM
from memory_agent.backends.store.memory import InMemoryStore
from memory_agent.core.config import MemoryConfig
from memory_agent.core.embedder import Embedder
from memory_agent.core.extraction import ExtractionOutcome, Rejected, looks_like_injection
from memory_agent.core.llm import LLM
from memory_agent.core.profile import Fact, ProfileDocument, ProfileEdit, parse_profile
from memory_agent.core.session_ids import new_session_id
from memory_agent.core.store import HistoryEntry, Job, MemoryStore
from memory_agent.core.trace import RecallTrace, ScoreParts, TraceItem
from memory_agent.core.tree import SummaryTree, TreeConfig
from memory_agent.core.types import (
    MemoryContext,
    MemoryItem,
    Message,
    Node,
    SessionInfo,
    Turn,
    validate_id,
)
from memory_agent.engine.inspection import SessionOverview, UserSummary
from memory_agent.engine.manager import MemoryManager
from memory_agent.engine.profile_update import ProfileUpdate
from memory_agent.engine.sessions import SessionClock
from memory_agent.engine.structured import generate_structured
from memory_agent.engine.worker import JobFailure, JobRecord
from memory_agent.errors import (
    ConfirmationRequiredError,
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

if TYPE_CHECKING:
    from memory_agent.backends.llm.llama import LlamaCppLLM
    from memory_agent.backends.store.chroma import ChromaStore

__version__ = "0.1.0"

_LAZY = {  # heavy imports (chromadb, llama_cpp) only when used
    "ChromaStore": ("memory_agent.backends.store.chroma", "ChromaStore"),
    "LlamaCppLLM": ("memory_agent.backends.llm.llama", "LlamaCppLLM"),
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
    "ConfirmationRequiredError",
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
    "JobRecord",
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
    "RecallTrace",
    "Rejected",
    "ScoreParts",
    "SessionClock",
    "SessionInfo",
    "SessionOverview",
    "SessionStateError",
    "StoreError",
    "SummaryTree",
    "TraceItem",
    "TreeConfig",
    "Turn",
    "UnknownSessionError",
    "UnknownUserError",
    "UserSummary",
    "__version__",
    "generate_structured",
    "looks_like_injection",
    "new_session_id",
    "parse_profile",
    "validate_id",
]
