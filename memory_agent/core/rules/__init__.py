"""Language rule packs: the word lists and patterns that profile extraction and the
self-statement filter read (pure, stdlib only).

Everything that knows a language's words lives in one file per language
(``rules/en.py``): pronouns and who a sentence is about, the second person, fillers and
interjections, small-talk openers, how a request to the assistant starts, the "and"/"or"
of a list, and the cue words that let a field's value be inferred from a message's topic.
:mod:`memory_agent.core.extraction`, :mod:`memory_agent.core.value_checks` and
:mod:`memory_agent.core.statements` read only
:data:`RULES`, a :class:`LanguageRules`, so another language is one new file with a
``RULES = LanguageRules(...)`` (see docs/profile.md, "Another language").
"""

from __future__ import annotations

import importlib
import re
from collections.abc import Mapping
from dataclasses import dataclass

Pattern = re.Pattern[str]


@dataclass(frozen=True)
class LanguageRules:
    """One language's rules. Patterns are matched against one sentence (``match`` or
    ``search`` as each field says) or, where noted, against a whole message or value."""

    code: str  # "en"
    # cue words per topic, unstemmed ("diet": "meat fish vegan ..."); a field names the
    # topics whose words let its value be inferred (fields.py)
    cue_words: Mapping[str, str]
    # values that mean "nothing" ("none", "n/a", "unknown"), lower case
    empty_values: frozenset[str]
    # text that poses as instructions to the system (searched, whole text, multiline)
    injection: Pattern
    # the second person anywhere ("you", "your"): a value about the user never addresses
    # someone (searched)
    second_person: Pattern
    # a sentence that asks something of the assistant: a polite or addressed word anywhere
    # (searched) or an imperative opening (searched, anchored in the pattern)
    request: Pattern
    imperative: Pattern
    # a sentence whose subject is someone else ("my wife ...", "she ..."; searched, anchored)
    other_person: Pattern
    # the first person anywhere in a sentence (searched)
    first_person: Pattern
    # a dislike written as a like ("dislike VR games"), with the rest as group "rest" (match)
    negated_like: Pattern
    # the "and" / "or" that joins the last item of a list (split), and one left at the start
    # of an item ("a, and b"; removed)
    last_item: Pattern
    leading_conjunction: Pattern
    # abbreviations whose dot ends no sentence ("Dr."), the word as group 1 (substituted)
    abbreviation: Pattern
    # interjections and fillers at the start of a sentence ("oh", "yeah, "; removed)
    interjection: Pattern
    # a sentence that starts with the user as its subject ("I", "my", "we"; match)
    first_person_start: Pattern
    # chat about the conversation, a feeling of the moment, a plan to be polite (match)
    small_talk: Pattern
    # words that only say when or how often ("three times a week", "at 6:30"), lower case:
    # a routine made of them alone lacks its activity
    time_words: frozenset[str]
    # a one-off moment ("tonight", "tomorrow"): no lasting goal or routine (searched)
    one_off: Pattern
    # where a sentence splits into clauses ("..., running three times a week"; split)
    clause_break: Pattern
    # a request to the assistant meant to last ("always", "from now on"; searched), its
    # polite or lasting opening and closing ("Please always ", ", thanks"; removed), and
    # a clause opening with a subject, which is no request ("You always ..."; match)
    lasting_request: Pattern
    request_lead: Pattern
    request_tail: Pattern
    subject_start: Pattern
    # the words of the numbers 0, 1, 2 ... in order ("three" says 3; lower case)
    number_words: tuple[str, ...]


DEFAULT_LANGUAGE = "en"


def load(code: str) -> LanguageRules:
    """The rule pack of a language: ``RULES`` of the module ``memory_agent.core.rules.<code>``."""
    module = importlib.import_module(f"{__name__}.{code}")
    rules = module.RULES
    if not isinstance(rules, LanguageRules) or rules.code != code:
        msg = f"memory_agent.core.rules.{code}.RULES must be a LanguageRules with code {code!r}"
        raise TypeError(msg)
    return rules


# the pack extraction and statements use
RULES: LanguageRules = load(DEFAULT_LANGUAGE)
