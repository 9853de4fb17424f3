"""English words for times relative to when something was said (read by core/timeref.py).

A language's time words live beside its rule pack (``en.py``): another language is one more
``<code>_time.py`` with the same names.
"""

from __future__ import annotations

import re

# number words a relative time may use ("two weeks ago"); digits are read as numbers
NUMBERS = {"a": 1, "an": 1, "one": 1, "two": 2, "three": 3, "four": 4, "five": 5, "six": 6,
           "seven": 7, "eight": 8, "nine": 9, "ten": 10, "couple of": 2, "a couple of": 2}
WEEKDAYS = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")
UNITS = ("day", "week", "month", "year")
_NUMBER = "|".join(sorted((re.escape(n) for n in NUMBERS), key=len, reverse=True))
_DAY = "|".join(WEEKDAYS)

# each pattern's groups: see core/timeref.py (kind -> how the date is computed)
PATTERNS: tuple[tuple[str, re.Pattern[str]], ...] = (
    ("day-1", re.compile(r"\b(?:yesterday|last night)\b", re.IGNORECASE)),
    ("day+1", re.compile(r"\btomorrow\b", re.IGNORECASE)),
    ("day+0", re.compile(r"\b(?:today|tonight|this (?:morning|afternoon|evening))\b",
                         re.IGNORECASE)),
    ("ago", re.compile(rf"\b(?P<n>\d+|{_NUMBER})\s+(?P<unit>day|week|month|year)s?\s+ago\b",
                       re.IGNORECASE)),
    ("last-unit", re.compile(r"\b(?P<dir>last|next|this past|past)\s+(?P<unit>week|weekend|"
                             r"month|year)\b", re.IGNORECASE)),
    ("last-day", re.compile(rf"\b(?P<dir>last|next|this past)\s+(?P<day>{_DAY})\b",
                            re.IGNORECASE)),
)

MONTH_NAMES = ("january", "february", "march", "april", "may", "june", "july", "august",
               "september", "october", "november", "december")
# a period a question names: "in May 2023", "May 2023", "in 2022" (month / year groups)
NAMED_PERIOD = re.compile(
    rf"\b(?:(?P<month>{'|'.join(MONTH_NAMES)})\s+)?(?P<year>(?:19|20)\d\d)\b", re.IGNORECASE)

# a question about time: when something happened, how long or how often, before or after
# something, the first or the last time (core/timeref.py: time_question)
TIME_QUESTION = re.compile(
    r"\b(?:when|since when|how long|how often|how many times|how frequently|what (?:date|day|"
    r"year|month|time)|which (?:date|day|year|month)|before|after|first|earliest|last|latest|"
    r"most recent(?:ly)?|recently)\b", re.IGNORECASE)
# the first / the last of several times ("When did she first...", "her latest trip");
# "last week" names a period instead (PATTERNS above)
FIRST = re.compile(r"\b(?:first|earliest|initially|originally)\b", re.IGNORECASE)
LAST = re.compile(
    rf"\b(?:latest|most recent(?:ly)?|last(?!\s+(?:night|week|weekend|month|year|{_DAY})\b))\b",
    re.IGNORECASE)
# a text that says when, how long or how often (besides PATTERNS): weekdays, months and
# years (so every NAMED_PERIOD), dates, durations and frequencies
TIME_MENTION = re.compile(
    rf"\b(?:{_DAY}|{'|'.join(MONTH_NAMES)}|weekend|(?:19|20)\d\d|since|ago|every|daily|weekly|"
    rf"monthly|yearly|annually|times? a|(?:\d+|{_NUMBER})\s+(?:days?|weeks?|months?|years?)|"
    r"\d{1,2}(?:st|nd|rd|th)\b)", re.IGNORECASE)
