"""Times relative to when something was said, resolved to dates; what a question asks about
time (pure, stdlib only; the English words are in ``rules/en_time.py``).

"I went there yesterday", said on Monday 8 May 2023, is about Sunday 7 May 2023: a reader
asked "When did she go?" needs the date, not the word. :func:`resolve` finds such phrases
and the day (or span) they name; recall shows them after the message ("yesterday = Sunday
7 May 2023"), leaving the message itself verbatim.
"""

from __future__ import annotations

from calendar import monthrange
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from typing import Literal

from memory_agent.core.render import MONTHS, fmt_day
from memory_agent.core.rules import en_time as words


@dataclass(frozen=True)
class TimeRef:
    """A relative time phrase and what it names, e.g. ``yesterday`` = ``Sunday 7 May 2023``."""

    phrase: str
    names: str


def _months_back(at: datetime, n: int) -> datetime:
    month = at.month - n
    year = at.year + (month - 1) // 12
    month = (month - 1) % 12 + 1
    return at.replace(year=year, month=month, day=min(at.day, monthrange(year, month)[1]))


def _week_of(day: datetime) -> str:
    return f"the week of {fmt_day(day - timedelta(days=day.weekday()))}"


def _number(text: str) -> int | None:
    text = text.lower()
    return int(text) if text.isdigit() else words.NUMBERS.get(text)


def _names(kind: str, groups: dict[str, str], at: datetime) -> str | None:
    if kind.startswith("day"):
        return fmt_day(at + timedelta(days=int(kind[3:])))
    if kind == "ago":
        n, unit = _number(groups["n"]), groups["unit"].lower()
        if n is None or n > 400:
            return None
        if unit == "day":
            return fmt_day(at - timedelta(days=n))
        if unit == "week":
            return _week_of(at - timedelta(weeks=n))
        if unit == "month":
            then = _months_back(at, n)
            return f"{MONTHS[then.month - 1]} {then.year}"
        return str(at.year - n)
    step = 1 if groups["dir"].lower() == "next" else -1
    if kind == "last-day":
        target = words.WEEKDAYS.index(groups["day"].lower())
        ahead, back = (target - at.weekday()) % 7 or 7, (at.weekday() - target) % 7 or 7
        return fmt_day(at + timedelta(days=ahead) if step > 0 else at - timedelta(days=back))
    unit = groups["unit"].lower()
    if unit == "week":
        return _week_of(at + timedelta(weeks=step))
    if unit == "weekend":
        saturday = at + timedelta(days=(5 - at.weekday()) % 7 or 7)
        if step < 0:
            saturday -= timedelta(weeks=1)
        return f"the weekend of {fmt_day(saturday)}"
    if unit == "month":
        then = _months_back(at, -step)
        return f"{MONTHS[then.month - 1]} {then.year}"
    return str(at.year + step)


def resolve(text: str, at: datetime) -> list[TimeRef]:
    """The relative time phrases of ``text`` said at ``at``, each with what it names, in the
    order they appear (each phrase once)."""
    found: list[tuple[int, TimeRef]] = []
    seen: set[str] = set()
    for kind, pattern in words.PATTERNS:
        for match in pattern.finditer(text):
            phrase = match.group(0)
            if phrase.lower() in seen:
                continue
            named = _names(kind, {k: v for k, v in match.groupdict().items() if v}, at)
            if named:
                seen.add(phrase.lower())
                found.append((match.start(), TimeRef(phrase, named)))
    return [ref for _, ref in sorted(found, key=lambda f: f[0])]


def annotation(text: str, at: datetime) -> str:
    """What :func:`resolve` finds, as a note to put after the text ('' if nothing):
    ``(yesterday = Sunday 7 May 2023)``."""
    refs = resolve(text, at)
    return "(" + "; ".join(f"{r.phrase} = {r.names}" for r in refs) + ")" if refs else ""


def named_period(question: str) -> tuple[datetime, datetime] | None:
    """The month or year a question names ("in May 2023", "in 2022"): its first and last
    moment (UTC), or None."""
    match = words.NAMED_PERIOD.search(question)
    if not match:
        return None
    year = int(match.group("year"))
    if match.group("month"):
        month = words.MONTH_NAMES.index(match.group("month").lower()) + 1
        last = monthrange(year, month)[1]
        return (datetime(year, month, 1, tzinfo=timezone.utc),
                datetime(year, month, last, 23, 59, 59, tzinfo=timezone.utc))
    return (datetime(year, 1, 1, tzinfo=timezone.utc),
            datetime(year, 12, 31, 23, 59, 59, tzinfo=timezone.utc))


@dataclass(frozen=True)
class TimeQuestion:
    """What a question asks about time: whether it asks one at all (when, how long, how
    often, before, after, the first or the last time), the first or the last of several
    times, and the month or year it names."""

    asks_time: bool = False
    order: Literal["first", "last"] | None = None
    period: tuple[datetime, datetime] | None = None


def time_question(question: str) -> TimeQuestion:
    """How ``question`` is about time ("When did she first..." -> asks a time, the first);
    ``TimeQuestion()`` for a question that is not."""
    order: Literal["first", "last"] | None = None
    if words.FIRST.search(question):
        order = "first"
    elif words.LAST.search(question):
        order = "last"
    return TimeQuestion(asks_time=bool(words.TIME_QUESTION.search(question)), order=order,
                        period=named_period(question))


def mentions_time(text: str) -> bool:
    """Whether ``text`` says when, how long or how often: a relative time ("yesterday", "two
    weeks ago"), a weekday, a month, a year, a date, a duration or a frequency."""
    return bool(words.TIME_MENTION.search(text)
                or any(p.search(text) for _, p in words.PATTERNS))
