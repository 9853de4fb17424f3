"""memory-agent: long-term memory of a user for LLM applications.

The public API is what this module exports; everything else is internal.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

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
    from memory_agent.backends.embeddings import E5Embedder, HashingEmbedder
    from memory_agent.backends.llm.fake import FakeLLM
    from memory_agent.backends.llm.llama import LlamaCppLLM
    from memory_agent.backends.store.chroma.store import ChromaStore
    from memory_agent.backends.store.memory import InMemoryStore
    from memory_agent.core.config import MemoryConfig
    from memory_agent.core.context import MemoryContext, MemoryItem
    from memory_agent.core.embedder import Embedder
    from memory_agent.core.extraction import ExtractionOutcome, Rejected
    from memory_agent.core.facts import Fact
    from memory_agent.core.llm import LLM
    from memory_agent.core.profile import ProfileDocument, ProfileEdit, parse_profile
    from memory_agent.core.session_ids import new_session_id
    from memory_agent.core.store import Capability, HistoryEntry, Job, MemoryStore
    from memory_agent.core.trace import RecallTrace, ScoreParts, TraceItem
    from memory_agent.core.tree import SummaryTree, TreeConfig
    from memory_agent.core.types import Message, Node, SessionInfo, Turn, validate_id
    from memory_agent.core.value_checks import looks_like_injection
    from memory_agent.engine.inspection import SessionOverview, UserSummary
    from memory_agent.engine.manager import MemoryManager
    from memory_agent.engine.profile_update import ProfileUpdate
    from memory_agent.engine.sessions import SessionClock
    from memory_agent.engine.structured import generate_structured
    from memory_agent.engine.worker import JobFailure, JobRecord

__version__ = "0.1.0"

# Every other public name is imported on first use (PEP 562), so importing a submodule such
# as ``memory_agent.core.tree`` loads neither the manager nor numpy, tiktoken, chromadb or
# llama_cpp. The errors above load nothing and are imported eagerly.
_LAZY: dict[str, str] = {  # public name -> the module that defines it
    "Capability": "memory_agent.core.store",
    "ChromaStore": "memory_agent.backends.store.chroma.store",
    "E5Embedder": "memory_agent.backends.embeddings",
    "Embedder": "memory_agent.core.embedder",
    "ExtractionOutcome": "memory_agent.core.extraction",
    "Fact": "memory_agent.core.facts",
    "FakeLLM": "memory_agent.backends.llm.fake",
    "HashingEmbedder": "memory_agent.backends.embeddings",
    "HistoryEntry": "memory_agent.core.store",
    "InMemoryStore": "memory_agent.backends.store.memory",
    "Job": "memory_agent.core.store",
    "JobFailure": "memory_agent.engine.worker",
    "LLM": "memory_agent.core.llm",
    "LlamaCppLLM": "memory_agent.backends.llm.llama",
    "MemoryConfig": "memory_agent.core.config",
    "MemoryContext": "memory_agent.core.context",
    "MemoryItem": "memory_agent.core.context",
    "MemoryManager": "memory_agent.engine.manager",
    "MemoryStore": "memory_agent.core.store",
    "Message": "memory_agent.core.types",
    "Node": "memory_agent.core.types",
    "ProfileDocument": "memory_agent.core.profile",
    "ProfileEdit": "memory_agent.core.profile",
    "ProfileUpdate": "memory_agent.engine.profile_update",
    "Rejected": "memory_agent.core.extraction",
    "SessionClock": "memory_agent.engine.sessions",
    "SessionInfo": "memory_agent.core.types",
    "SummaryTree": "memory_agent.core.tree",
    "TreeConfig": "memory_agent.core.tree",
    "Turn": "memory_agent.core.types",
    "generate_structured": "memory_agent.engine.structured",
    "looks_like_injection": "memory_agent.core.value_checks",
    "new_session_id": "memory_agent.core.session_ids",
    "parse_profile": "memory_agent.core.profile",
    "validate_id": "memory_agent.core.types",
    "RecallTrace": "memory_agent.core.trace",
    "ScoreParts": "memory_agent.core.trace",
    "TraceItem": "memory_agent.core.trace",
    "SessionOverview": "memory_agent.engine.inspection",
    "UserSummary": "memory_agent.engine.inspection",
    "JobRecord": "memory_agent.engine.worker",
}


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        msg = f"module 'memory_agent' has no attribute {name!r}"
        raise AttributeError(msg)
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value  # later lookups skip __getattr__
    return value


def __dir__() -> list[str]:
    return sorted({*globals(), *__all__})


__all__ = [
    "LLM",
    "Capability",
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
