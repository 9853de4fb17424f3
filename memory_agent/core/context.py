"""What ``recall`` returns: the retrieved memory items and the context that renders them.

Imports go one way: this module uses ``render.py``'s text helpers; nothing it imports
imports it back.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Literal

from memory_agent.core.prompts import MEMORY_PREAMBLE, NOTHING_MATCHED
from memory_agent.core.render import CLOSE, OPEN, as_data, fmt_span

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
    # False when no candidate shared a content word with the query: the context says so
    matched: bool = True

    @property
    def items(self) -> list[MemoryItem]:
        return [*self.nodes, *self.turns]

    def is_empty(self) -> bool:
        return not (self.profile.strip() or self.nodes or self.turns)

    def to_prompt(self) -> str:
        """Render as a delimited block of data to put in a system prompt."""
        return render_context(self)


def render_item(item: MemoryItem) -> str:
    head = f"[{fmt_span(item.start, item.end)} · {item.provenance}]"
    return f"{head} {as_data(item.text)}"


def context_sections(ctx: MemoryContext) -> dict[str, list[str]]:
    """The lines of each part of the rendered context, by name (empty parts left out):
    ``standing instructions``, ``profile``, ``summaries``, ``turns`` (the recall trace
    counts each part's tokens from these)."""
    sections: dict[str, list[str]] = {}
    if ctx.standing_instructions:
        sections["standing instructions"] = [
            "", "## Standing instructions (from the user)",
            *(f"- {as_data(s)}" for s in ctx.standing_instructions)]
    if ctx.profile.strip():
        sections["profile"] = ["", "## Profile", as_data(ctx.profile.strip())]
    if ctx.nodes:
        sections["summaries"] = ["", "## Summaries of past conversations",
                                 *(render_item(n) for n in ctx.nodes)]
    if ctx.turns:
        sections["turns"] = ["", "## Past messages", *(render_item(t) for t in ctx.turns)]
    if not ctx.matched and sections:
        sections["note"] = ["", NOTHING_MATCHED]
    return sections


def render_context(ctx: MemoryContext) -> str:
    """The context as one block, delimited as data: ``<memory> ... </memory>``.

    An empty context renders as the empty string.
    """
    if not (ctx.standing_instructions or ctx.profile.strip() or ctx.nodes or ctx.turns):
        return ""
    parts = [OPEN, MEMORY_PREAMBLE]
    for lines in context_sections(ctx).values():
        parts += lines
    parts.append(CLOSE)
    return "\n".join(parts)
