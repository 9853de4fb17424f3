"""Plain data types shared by every layer (no I/O, no third-party imports beyond the stdlib)."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Literal, TypedDict

from memory_agent.errors import InvalidIdError

ID_PATTERN = re.compile(r"^[A-Za-z0-9_.@-]{1,128}$")


def validate_id(value: object, what: str) -> str:
    """Return ``value`` if it is a valid user or session id, else raise InvalidIdError."""
    if not isinstance(value, str):
        msg = f"{what} must be a str, got {type(value).__name__}"
        raise InvalidIdError(msg)
    if not ID_PATTERN.match(value):
        msg = (
            f"invalid {what} {value!r}: use 1 to 128 characters from letters, digits and _ . @ -"
        )
        raise InvalidIdError(msg)
    return value


def utc(dt: datetime | None = None) -> datetime:
    """``dt`` as an aware UTC datetime (now if None; naive datetimes are taken as UTC)."""
    if dt is None:
        return datetime.now(timezone.utc)
    if dt.tzinfo is None:
        return dt.replace(tzinfo=timezone.utc)
    return dt.astimezone(timezone.utc)


class Message(TypedDict):
    """A chat message as model backends take it."""

    role: Literal["system", "user", "assistant"]
    content: str


@dataclass(frozen=True)
class Turn:
    """One exchange: what the user said and what the assistant answered (a tree leaf)."""

    user_id: str
    session_id: str
    index: int  # 1-based position within the session
    user_message: str
    assistant_message: str
    at: datetime

    @property
    def id(self) -> str:
        return turn_id(self.session_id, self.index)

    def text(self) -> str:
        return f"User: {self.user_message}\nAssistant: {self.assistant_message}"


def turn_id(session_id: str, index: int) -> str:
    """The id of turn ``index`` of ``session_id``, e.g. ``day-1#3``."""
    return f"{session_id}#{index}"


def parse_turn_id(value: str) -> tuple[str, int]:
    """Split ``"day-1#3"`` into ``("day-1", 3)``; raises ValueError if malformed."""
    session_id, sep, index = value.rpartition("#")
    if not sep or not session_id or not index.isdigit() or int(index) < 1:
        msg = f"not a turn id: {value!r} (expected SESSION#N)"
        raise ValueError(msg)
    return session_id, int(index)


@dataclass(frozen=True)
class Node:
    """A summary-tree node above the turns.

    Level 1 nodes summarise one session (their children are turn ids); level 2 and up
    summarise their child nodes. ``content_hash`` is derived from the summary and the
    children (see ``memory_agent.core.tree.node_hash``) so the tree can be verified.
    """

    id: str
    user_id: str
    level: int
    summary: str
    children: tuple[str, ...]
    start: datetime
    end: datetime
    content_hash: str
    parent: str | None = None
    session_id: str | None = None  # level 1 only
    stale: bool = False  # children changed since the summary was written


@dataclass(frozen=True)
class SessionInfo:
    """What the store knows about one session."""

    session_id: str
    n_turns: int
    start: datetime
    end: datetime
    ended: bool


@dataclass(frozen=True)
class StoredProfile:
    """A profile document as stored, with its version for compare-and-set writes."""

    markdown: str
    version: int


ItemKind = Literal["profile", "node", "turn"]


@dataclass(frozen=True)
class MemoryItem:
    """One piece of retrieved memory, with where it came from."""

    kind: ItemKind
    id: str
    text: str
    start: datetime | None
    end: datetime | None
    provenance: str  # e.g. "session day-1, turn 3" or "sessions day-1..day-4"
    score: float = 0.0
    tokens: int = 0


@dataclass
class MemoryContext:
    """What ``recall`` returns: the profile plus the relevant nodes and turns, within a budget."""

    query: str
    token_budget: int
    profile: str
    standing_instructions: list[str] = field(default_factory=list)
    profile_items: list[MemoryItem] = field(default_factory=list)  # the facts in ``profile``
    nodes: list[MemoryItem] = field(default_factory=list)
    turns: list[MemoryItem] = field(default_factory=list)
    tokens_used: int = 0

    @property
    def items(self) -> list[MemoryItem]:
        return [*self.nodes, *self.turns]

    def is_empty(self) -> bool:
        return not (self.profile.strip() or self.nodes or self.turns)

    def to_prompt(self) -> str:
        """Render as a delimited block of data to put in a system prompt."""
        from memory_agent.core.render import (
            render_context,  # local import keeps types dependency-free
        )

        return render_context(self)
