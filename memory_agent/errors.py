"""Every exception memory-agent raises on purpose.

Hierarchy::

    MemoryAgentError
    ├── InvalidInputError          bad arguments from the caller (also a ValueError)
    │   ├── InvalidIdError         user_id / session_id not of the allowed form
    │   ├── EmptyMessageError      empty or whitespace-only message
    │   ├── MessageTooLargeError   message over the configured size limit
    │   └── InvalidTextError       undecodable bytes or forbidden control characters
    ├── NotFoundError              unknown user, session, fact or node (also a KeyError)
    │   ├── UnknownUserError
    │   └── UnknownSessionError
    ├── ProfileError
    │   ├── ProfileParseError      a person's edit that cannot be parsed (names the line)
    │   ├── ProfileBudgetError     a document that cannot fit its token budget
    │   └── ProfileConflictError   a write based on an outdated profile version
    ├── ModelError                 a model backend failed
    │   ├── ModelOutputError       output still invalid after the repair attempt
    │   └── ModelUnavailableError  the model (or its files) cannot be loaded
    ├── StoreError                 the storage backend failed (e.g. server unreachable)
    ├── SessionStateError          e.g. recording into a session that was already ended
    └── ConfirmationRequiredError  a destructive action was not confirmed (nothing changed)

Messages say what went wrong and how to fix it.
"""

from __future__ import annotations


class MemoryAgentError(Exception):
    """Base class of every error memory-agent raises on purpose."""


class InvalidInputError(MemoryAgentError, ValueError):
    """The caller passed a value memory-agent cannot accept."""


class InvalidIdError(InvalidInputError):
    """A user_id or session_id is empty, too long or has characters outside [A-Za-z0-9_.@-]."""


class EmptyMessageError(InvalidInputError):
    """A message is empty or whitespace only."""


class MessageTooLargeError(InvalidInputError):
    """A message exceeds the configured maximum size."""


class InvalidTextError(InvalidInputError):
    """Text is not valid UTF-8 or contains forbidden control characters."""


class NotFoundError(MemoryAgentError, KeyError):
    """Something that was asked for does not exist."""

    def __str__(self) -> str:  # KeyError quotes its message; we want it plain.
        return str(self.args[0]) if self.args else ""


class UnknownUserError(NotFoundError):
    """No memory is stored for this user."""


class UnknownSessionError(NotFoundError):
    """No turn was recorded for this session."""

    @classmethod
    def no_turns(cls, user_id: str, session_id: str) -> UnknownSessionError:
        """The error for a session of ``user_id`` that has no recorded turn."""
        return cls(f"no turns recorded for session {session_id!r} of user {user_id!r}")


class ProfileError(MemoryAgentError):
    """Base class of profile document errors."""


class ProfileParseError(ProfileError):
    """A profile document (usually a person's edit) cannot be parsed."""

    def __init__(self, message: str, *, line_number: int, line: str) -> None:
        super().__init__(f"line {line_number}: {message}: {line.strip()!r}")
        self.line_number = line_number
        self.line = line


class ProfileBudgetError(ProfileError):
    """A profile document cannot be brought within its token budget."""


class ProfileConflictError(ProfileError):
    """A profile write was based on a version that is no longer current."""


class ModelError(MemoryAgentError):
    """A model backend failed."""


class ModelOutputError(ModelError):
    """The model's output was still invalid after the repair attempt."""

    def __init__(self, message: str, *, raw_output: str = "") -> None:
        super().__init__(message)
        self.raw_output = raw_output


class ModelUnavailableError(ModelError):
    """The model, or the files it needs, cannot be loaded."""


class StoreError(MemoryAgentError):
    """The storage backend failed."""


class SessionStateError(MemoryAgentError):
    """An operation does not fit the session's state (e.g. recording into an ended session)."""


class ConfirmationRequiredError(MemoryAgentError):
    """A destructive action (erasing a user, removing facts) was not confirmed; nothing changed."""
