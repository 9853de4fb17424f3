"""Errors of the LangChain integration (all derive from memory-agent's MemoryAgentError).

Hierarchy::

    memory_agent.MemoryAgentError
    └── memory_agent.InvalidInputError (also a ValueError)
        └── MissingIdError            no user_id / session_id in the run's context or config
            ├── MissingUserIdError
            └── MissingSessionIdError
"""

from __future__ import annotations

from memory_agent import InvalidInputError


class MissingIdError(InvalidInputError):
    """A run did not say whose memory (or which session) to use."""


class MissingUserIdError(MissingIdError):
    """No ``user_id`` in the runtime context or in ``config["configurable"]``."""


class MissingSessionIdError(MissingIdError):
    """No ``session_id`` (nor ``thread_id``) in the runtime context or the config."""
