"""Text helpers for rendering memory into prompts (pure; see ``context.py`` for the block)."""

from __future__ import annotations

import re
from datetime import datetime

OPEN, CLOSE = "<memory>", "</memory>"


def fmt_day(dt: datetime | None) -> str:
    """A date in words, as people (and a small reader) write it: 'Sunday 7 May 2023'.

    Questions and answers name days this way, not as ISO strings (LoCoMo's temporal answers
    read '7 May 2023'); the English names do not depend on the process locale."""
    if dt is None:
        return "date unknown"
    return f"{WEEKDAYS[dt.weekday()]} {dt.day} {MONTHS[dt.month - 1]} {dt.year}"


def fmt_span(start: datetime | None, end: datetime | None) -> str:
    a, b = fmt_day(start), fmt_day(end)
    return a if a == b else f"{a} to {b}"


WEEKDAYS = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")
MONTHS = ("January", "February", "March", "April", "May", "June", "July", "August",
          "September", "October", "November", "December")


_TAG = re.compile(r"<\s*/?\s*memory\s*>", re.IGNORECASE)


def as_data(text: str) -> str:
    """Stored text with anything that could close or reopen the memory block defused
    (``</memory>`` becomes ``&lt;/memory&gt;``), so remembered text cannot end the data
    section early or open a second one."""
    return _TAG.sub(lambda m: m.group(0).replace("<", "&lt;").replace(">", "&gt;"), text)
