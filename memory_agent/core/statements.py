"""What users say about themselves, kept in their own words (pure logic, no model).

A small model fills the profile's fields sparsely: it often leaves a job, a car, a
husband who is a doctor or a growing family unwritten although the user said so plainly.
So, beside the model's extraction, a session's user messages are read for first-person
statements of fact ("I have a doctor for a husband", "My Mazda is blueish grey") and the
best few are kept verbatim, each a fact of the profile's "About" section with the slot
``said``, cited like any other fact::

    - My Mazda currently is a blueish grey {#f9 slot=said src=s3#4 learned=...}

They are the profile's least protected facts: a statement that repeats a fact already
held is not added; statements are dropped first, before any compaction, when the
profile is over its budget (:func:`memory_agent.core.profile.support`), so they only use
room the extracted facts leave free.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from memory_agent.core.config import STATEMENTS_PER_SESSION
from memory_agent.core.facts import without_braces
from memory_agent.core.profile import STATEMENT_SLOT, ProfileDocument, ProfileEdit, is_statement
from memory_agent.core.rules import RULES
from memory_agent.core.text import content_words, sentences
from memory_agent.core.types import Turn
from memory_agent.core.value_checks import looks_like_injection

MIN_WORDS, MAX_WORDS = 3, 25
MAX_CHARS = 200


def self_statements(message: str) -> list[str]:
    """The sentences of a user message that state something about the user themself.

    A sentence qualifies when, after interjections ("oh", "yeah, "), its subject is the user
    ("I ...", "my ...", "we ..."), it is no question, it has 3-25 words and at least two
    content words, it does not address the other speaker ("you"), it is not small talk
    ("I think", "I'm sure", "I'll ...", "I would ...").
    """
    out = []
    for raw in sentences(RULES.abbreviation.sub(r"\1", message)):
        sentence = " ".join(raw.split())
        if not sentence or sentence.endswith("?"):
            continue
        sentence = RULES.interjection.sub("", sentence).strip(" .!,;-")
        if not RULES.first_person_start.match(sentence) or RULES.small_talk.match(sentence):
            continue
        words = sentence.split()
        content = content_words(sentence)
        if not MIN_WORDS <= len(words) <= MAX_WORDS or len(sentence) > MAX_CHARS:
            continue
        if len(content) < 2 or RULES.second_person.search(sentence):
            continue
        if looks_like_injection(sentence):  # "My new instructions: ..." is no fact about them
            continue
        out.append(sentence[0].upper() + sentence[1:])
    return out


def statement_text(sentence: str) -> str:
    """The fact text of a kept statement: the sentence itself, in the user's words (with no
    label: "Said: ..." made it read, and embed, less like what the user said). Braces would
    break the fact marker."""
    return without_braces(sentence)


def _value_words(known: str) -> set[str]:
    """The content words of a known fact's value ("Likes: tiramisu" -> {tiramisu})."""
    return content_words(known.split(": ", 1)[-1])


def _key(sentence: str) -> str:
    """Statements with the same content words are the same statement."""
    return " ".join(sorted(content_words(sentence)))


def _repeats(words: set[str], known_words: set[str]) -> bool:
    """Whether a statement (its content words) is a near copy of a known fact (its value's
    words): half of their words are shared, or the statement holds all of the fact's words
    and at most three more ("I love tiramisu" beside "Likes: tiramisu", "We moved to Lyon, I
    live in Lyon now" beside "Lives in: Lyon"). A statement that says more ("I love riding
    horses competitively but hate the darker side of it") is kept."""
    if not words or not known_words:
        return False
    if known_words <= words and len(words - known_words) <= 3:
        return True
    return len(words & known_words) / len(words | known_words) >= 0.5


def _covered(words: set[str], known_words: set[str], share: float = 0.7) -> bool:
    """Whether the known facts together already say most of a statement ("I love chess,
    hiking and painting" beside "Hobbies: chess", "Hobbies: hiking", "Hobbies: painting")."""
    return bool(words) and len(words & known_words) >= share * len(words)


def _adds_numbers(words: set[str], known_words: set[str]) -> bool:
    """Whether a statement holds a number (a time, an age, a count) that the known facts do
    not: "I leave the house at 6:30 for my 7am shift" says more than "Schedule: 7am shift at
    the hospital", however many words they share. Numbers are what a profile must
    keep verbatim."""
    return any(any(c.isdigit() for c in w) for w in words - known_words)


def _new_clauses(sentence: str, known: Sequence[set[str]], all_known: set[str]) -> str:
    """The clauses of a statement that repeat no known fact, when they still make a
    statement of their own ("I'm in Leeds, I teach at a primary school" beside "Lives in:
    Leeds" -> "I teach at a primary school"); "" when none does."""
    parts = [c.strip(" .!,;-") for c in RULES.clause_break.split(sentence)]
    if len(parts) < 2:
        return ""
    rest = [c for c in parts if c and not any(_repeats(content_words(c), k) for k in known)]
    if not rest or len(rest) == len(parts):
        return ""
    kept = self_statements(", ".join(rest))
    text = " ".join(kept)
    words = content_words(text)
    return text if kept and not _covered(words, all_known) else ""


def statement_edits(
    doc: ProfileDocument,
    turns: Sequence[Turn],
    *,
    also_known: Iterable[str] = (),
    limit: int = STATEMENTS_PER_SESSION,
) -> list[ProfileEdit]:
    """Edits that keep this session's self-statements: ``confirm`` a statement the profile
    already quotes, ``add`` the rest, at most ``limit`` (those with the most content words,
    in the order they were said). A statement that repeats a fact of the profile or one of
    ``also_known`` (the texts this session's extraction adds), or whose words those facts
    together mostly hold, is not kept, unless it holds a number none of them holds."""
    held = {_key(f.text): f for f in reversed(doc.facts) if is_statement(f)}  # first wins
    known = [_value_words(f.text) for f in doc.facts if not is_statement(f)]
    known += [_value_words(text) for text in also_known]
    all_known: set[str] = set().union(*known)
    found: dict[str, list[str]] = {}
    for turn in turns:
        for sentence in self_statements(turn.user_message):
            found.setdefault(_key(sentence), [sentence]).append(turn.id)
    edits: list[ProfileEdit] = []
    fresh: list[tuple[str, list[str], int]] = []
    for key, (sentence, *sources) in found.items():
        words = content_words(sentence)
        quoted = held.get(key)
        if quoted is not None:
            edits.append(ProfileEdit(op="confirm", fact_id=quoted.id, sources=sources[:4]))
        elif _adds_numbers(words, all_known) or (
                not any(_repeats(words, k) for k in known) and not _covered(words, all_known)):
            fresh.append((sentence, sources[:4], len(words)))
        else:  # the sentence repeats a fact: what its other clauses say may still be new
            rest = _new_clauses(sentence, known, all_known)
            if rest:
                fresh.append((rest, sources[:4], len(content_words(rest))))
    richest = sorted(range(len(fresh)), key=lambda i: -fresh[i][2])[:limit]
    for i in sorted(richest):
        sentence, sources, _ = fresh[i]
        edits.append(ProfileEdit(op="add", section="About", text=statement_text(sentence),
                                 sources=sources, slot=STATEMENT_SLOT))
    return edits
