"""Small text helpers shared by retrieval and profile checks (pure, stdlib only)."""

from __future__ import annotations

import re
import unicodedata

from memory_agent.errors import (
    EmptyMessageError,
    InvalidInputError,
    InvalidTextError,
    MessageTooLargeError,
)

_WORD_RE = re.compile(r"[a-z0-9]+(?:'[a-z]+)?")
STOPWORDS = frozenset(
    [
        "a", "about", "above", "after", "again", "against", "all", "am", "an", "and", "any", "are",
        "as", "at", "be", "because", "been", "before", "being", "below", "between", "both", "but",
        "by", "can", "could", "did", "do", "does", "doing", "down", "during", "each", "few", "for",
        "from", "further", "had", "has", "have", "having", "he", "her", "here", "hers", "herself",
        "him", "himself", "his", "how", "i", "if", "in", "into", "is", "it", "its", "itself",
        "just", "me", "more", "most", "my", "myself", "no", "nor", "not", "now", "of", "off", "on",
        "once", "only", "or", "other", "our", "ours", "ourselves", "out", "over", "own", "same",
        "she", "should", "so", "some", "such", "than", "that", "the", "their", "theirs", "them",
        "themselves", "then", "there", "these", "they", "this", "those", "through", "to", "too",
        "under", "until", "up", "very", "was", "we", "were", "what", "when", "where", "which",
        "while", "who", "whom", "why", "will", "with", "would", "you", "your", "yours", "yourself",
        "yourselves", "i'm", "i've", "i'd", "i'll", "it's", "that's", "don't", "user", "assistant",
        "really", "also", "like", "get", "got", "yeah", "yes", "oh", "hey", "hi", "okay", "ok",
        "well", "much", "many", "one", "thing", "things",
    ]
)
_CONTROL_RE = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")
_SENTENCE_RE = re.compile(r"[^.!?\n]+[.!?]*")


def words(text: str) -> list[str]:
    return _WORD_RE.findall(text.lower())


def sentences(text: str) -> list[str]:
    """The sentences of a text, each with its end punctuation (``.``, ``!``, ``?``; a line
    break also ends one). Unchanged otherwise: callers strip and rejoin as they need."""
    return _SENTENCE_RE.findall(text)


def stem(word: str) -> str:
    """A very light stemmer: enough to match 'hiking'/'hikes', 'plays'/'played'. It does not
    match 'recipe'/'recipes' or 'running'/'runs' (the profile rules' cue words are stemmed
    by it too: a better stemmer must be measured on the profile benchmarks as well)."""
    for suffix in ("ing", "ies", "es", "ed", "s"):
        if len(word) > len(suffix) + 2 and word.endswith(suffix):
            return word[: -len(suffix)] + ("y" if suffix == "ies" else "")
    return word


def terms(text: str) -> list[str]:
    """The content words of a text in order, repeats kept (stop words and one-letter words
    dropped, lightly stemmed): what BM25 counts."""
    return [stem(w) for w in words(text) if w not in STOPWORDS and len(w) > 1]


def content_words(text: str) -> set[str]:
    return set(terms(text))


def overlap(query: str, document: str) -> float:
    """Share of the query's content words found in the document (0..1)."""
    q = content_words(query)
    if not q:
        return 0.0
    return len(q & content_words(document)) / len(q)


def clean_message(value: object, what: str, *, max_chars: int) -> str:
    """Validate a message: a non-empty str of valid UTF-8 without control characters."""
    if isinstance(value, bytes | bytearray):
        msg = f"{what} must be str, not bytes: decode it first (e.g. data.decode('utf-8'))"
        raise InvalidTextError(msg)
    if not isinstance(value, str):
        msg = f"{what} must be str, got {type(value).__name__}"
        raise InvalidInputError(msg)
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        msg = f"{what} is not valid UTF-8 text (it holds unpaired surrogates)"
        raise InvalidTextError(msg) from None
    if _CONTROL_RE.search(value):
        msg = f"{what} contains control characters (e.g. NUL); remove them"
        raise InvalidTextError(msg)
    normalized = unicodedata.normalize("NFC", value).strip()
    if not normalized:
        msg = f"{what} is empty or whitespace only"
        raise EmptyMessageError(msg)
    if len(normalized) > max_chars:
        msg = (
            f"{what} has {len(normalized):,} characters, over the limit of {max_chars:,}; "
            "split it into several turns or raise MemoryConfig.max_message_chars"
        )
        raise MessageTooLargeError(msg)
    return normalized
