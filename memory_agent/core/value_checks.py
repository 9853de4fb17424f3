"""Checks of one extracted value against the user's own words (pure logic, no model).

Who a clause is about, whether a message asks something of the assistant (and whether the
request is meant to last), whether a value is tied to a one-off moment or says only a time,
which numbers the user never said, and the quote that shows an inferred value. The words
they know are the language's (:mod:`memory_agent.core.rules`).
"""

from __future__ import annotations

import re
from collections.abc import Sequence

from memory_agent.core.rules import RULES
from memory_agent.core.text import content_words, overlap, sentences, words


def addresses_assistant(text: str) -> bool:
    """Whether a message asks something of the assistant ("Always answer in metric units",
    "please keep it short"), not a user describing a rule of their own life ("I always
    follow the safety protocols at work"): a standing instruction needs one."""
    return any(RULES.request.search(s) or RULES.imperative.search(s) for s in sentences(text))


def looks_like_injection(text: str) -> bool:
    """True for text that poses as instructions to the system (kept as data, never promoted)."""
    return bool(RULES.injection.search(text))


def clauses(text: str) -> list[str]:
    """The clauses of a text's sentences ("My wife is vegetarian, but I eat anything" ->
    "My wife is vegetarian", "I eat anything")."""
    return [c for s in sentences(text) for c in RULES.clause_break.split(s) if c.strip()]


def said_of_someone_else(clause: str) -> bool:
    """Whether a clause's subject is another person ("My daughter only eats pasta"), with
    the user not in it ("My wife and I hike" is the user's too)."""
    return bool(RULES.other_person.search(clause) and not RULES.first_person.search(clause))


def about_someone_else(value: str, text: str) -> bool:
    """True when every clause of ``text`` that mentions the value is about another person
    ("My wife models clothing" does not make modelling the user's hobby, nor "My wife is
    vegetarian, but I eat anything" the user's diet; "My wife and I hike" does make hiking
    one)."""
    wanted = content_words(value)
    mentions = [c for c in clauses(text) if wanted & content_words(c)]
    return bool(mentions) and all(said_of_someone_else(c) for c in mentions)


_NUMBER = re.compile(r"\d+")

def unsaid_numbers(value: str, texts: Sequence[str]) -> list[str]:
    """The numbers of a value that the user's messages do not hold, as digits or (up to
    twenty) as a word: names, dates and numbers are the user's, never made up."""
    said = set(_NUMBER.findall(" ".join(texts)))
    spoken = set(words(" ".join(texts)))
    return [n for n in _NUMBER.findall(value) if n not in said
            and not (int(n) < len(RULES.number_words) and RULES.number_words[int(n)] in spoken)]


def standing_requests(message: str) -> list[str]:
    """The requests of a message meant to hold for later answers, in the user's words:
    clauses that ask something of the assistant and say it lasts ("Please always answer in
    short bullet points" -> "answer in short bullet points", "From now on keep every reply
    under three sentences" -> "keep every reply under three sentences"). A clause that
    opens with a subject ("You always make me laugh") or asks a question is no request."""
    out = []
    for sentence in sentences(message):
        if sentence.rstrip().endswith("?") or looks_like_injection(sentence):
            continue
        for clause in RULES.clause_break.split(" ".join(sentence.split())):
            clause = clause.strip(" .!,;-")
            if not (RULES.lasting_request.search(clause) and addresses_assistant(clause)):
                continue
            request = RULES.request_tail.sub("", RULES.request_lead.sub("", clause)).strip()
            if request and not RULES.subject_start.match(request) and len(request.split()) > 1:
                out.append(request[0].lower() + request[1:])
    return out


_TOKEN = re.compile(r"[a-z0-9][a-z0-9:.']*")


def one_off(value: str, texts: Sequence[str]) -> bool:
    """Whether a value is tied to a one-off moment: it names one ("cook for Leo tonight"), or
    every sentence of the user's that states it does ("I'll cook for Leo and me tonight")."""
    if RULES.one_off.search(value):
        return True
    wanted = content_words(value)
    mentions = [s for t in texts for s in sentences(t) if wanted & content_words(s)]
    return bool(mentions) and all(RULES.one_off.search(s) for s in mentions)


def only_time(value: str) -> bool:
    """Whether a value says only when or how often ("three times a week", "at 6:30"), not
    what is done."""
    tokens = _TOKEN.findall(value.lower())
    return bool(tokens) and all(t in RULES.time_words or t[0].isdigit() for t in tokens)


def with_activity(value: str, texts: Sequence[str], cap: int) -> str:
    """A bare time of a routine ("three times a week") completed with what the user does
    then, in their words: the clause of their sentence that holds it ("running three times a
    week"), or the whole sentence when that clause is a bare time too; "" when no sentence
    of at most ``cap`` characters says it."""
    for text in texts:
        for raw in sentences(text):
            sentence = RULES.interjection.sub("", " ".join(raw.split())).strip(" .!,;-")
            if overlap(value, sentence) < 0.5:
                continue
            clauses = [c.strip(" .!,;-") for c in RULES.clause_break.split(sentence)]
            best = max(clauses, key=lambda c: overlap(value, c))
            for candidate in (best, sentence):
                if candidate and not only_time(candidate) and len(candidate) <= cap:
                    return candidate
    return ""


EVIDENCE_CHARS = 90


def evidence_quote(texts: Sequence[str], wanted: set[str] | frozenset[str],
                   limit: int = EVIDENCE_CHARS) -> str:
    """The part of the user's messages that shows an inferred value: the sentences that hold
    one of the ``wanted`` (stemmed) words, and of those, when longer than ``limit``, the
    run of whole words of at most ``limit`` characters holding the most of them ("...
    because I don't eat meat, dairy or eggs", not the message's first 90 characters)."""
    picked = [s.strip() for t in texts for s in sentences(t) if wanted & content_words(s)]
    joined = " / ".join(dict.fromkeys(picked or [t.strip() for t in texts]))
    tokens = " ".join(joined.split()).replace("(", "[").replace(")", "]").split(" ")
    if len(" ".join(tokens)) <= limit:
        return " ".join(tokens)
    hits = [bool(wanted & content_words(w)) for w in tokens]
    best, best_hits = (0, 0), -1
    for start in range(len(tokens)):
        end, length = start, -1
        while end < len(tokens) and length + 1 + len(tokens[end]) <= limit - 2:
            length += 1 + len(tokens[end])
            end += 1
        if end > start and sum(hits[start:end]) > best_hits:
            best, best_hits = (start, end), sum(hits[start:end])
    start, end = best
    if end == start:  # one word longer than the limit
        return joined[: limit - 1] + "…"
    return ("…" if start else "") + " ".join(tokens[start:end]) + ("…" if end < len(tokens) else "")


