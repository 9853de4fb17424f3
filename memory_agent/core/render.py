"""Rendering memory for prompts (pure)."""

from __future__ import annotations

import re
from datetime import datetime
from typing import TYPE_CHECKING

from memory_agent.core.prompts import MEMORY_PREAMBLE

if TYPE_CHECKING:
    from memory_agent.core.types import MemoryContext, MemoryItem

OPEN, CLOSE = "<memory>", "</memory>"


def fmt_day(dt: datetime | None) -> str:
    return dt.strftime("%Y-%m-%d") if dt else "?"


def fmt_span(start: datetime | None, end: datetime | None) -> str:
    a, b = fmt_day(start), fmt_day(end)
    return a if a == b else f"{a}..{b}"


_TAG = re.compile(r"<\s*/?\s*memory\s*>", re.IGNORECASE)


def as_data(text: str) -> str:
    """Stored text with anything that could close or reopen the memory block defused
    (``</memory>`` becomes ``&lt;/memory&gt;``), so remembered text cannot end the data
    section early or open a second one."""
    return _TAG.sub(lambda m: m.group(0).replace("<", "&lt;").replace(">", "&gt;"), text)


def render_item(item: MemoryItem) -> str:
    head = f"[{fmt_span(item.start, item.end)} · {item.provenance}]"
    return f"{head} {as_data(item.text)}"


def context_sections(ctx: MemoryContext) -> dict[str, list[str]]:
    """The lines of each part of the rendered context, by name (empty parts left out):
    ``standing instructions``, ``profile``, ``summaries``, ``turns``."""
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
