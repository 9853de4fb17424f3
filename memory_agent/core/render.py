"""Text helpers for rendering memory into prompts (pure; see ``context.py`` for the block)."""

from __future__ import annotations

import re
from datetime import datetime

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
