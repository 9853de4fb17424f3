"""From a model's fixed-field extraction to validated profile edits (pure logic).

Small models extract far better into named fields than into free lists, so the model
fills :class:`SessionFacts` (one short bounded field per kind of fact, plus "other").
This module then decides, without a model:

- which of the *user's* turns support each value (a value no user turn supports is
  rejected; a kept value cites the turns that support it);
- whether it was stated or inferred (an inferred value carries its evidence);
- which edit it makes: ``add`` a new fact, ``confirm`` a known one, or ``supersede`` a fact
  of a single-valued field (a new diet replaces the old diet; the old one goes to history).
"""

from __future__ import annotations

import functools
import re
from collections.abc import Sequence
from dataclasses import dataclass

from pydantic import BaseModel, Field

from memory_agent.core.profile import Fact, ProfileDocument, ProfileEdit, SectionName
from memory_agent.core.prompts import PROFILE_FIELD_DESCRIPTIONS
from memory_agent.core.text import content_words, overlap, stem
from memory_agent.core.types import Turn

VALUE_CHARS = 80
LIST_VALUE_CHARS = 160  # room for a list of a few items (likes, hobbies...)
VALUE = Field(default="", max_length=VALUE_CHARS)
LIST_VALUE = Field(default="", max_length=LIST_VALUE_CHARS)


class SessionFacts(BaseModel):
    """What the model fills for one session: one short value per field, "" if unknown.

    The model does not cite turns: small models cite poorly. Citations are computed by
    :func:`edits_from_extraction`, which keeps a value only if the user's own messages
    support it and cites the turns that do.
    """

    name: str = VALUE
    age: str = VALUE
    location: str = VALUE
    occupation: str = VALUE
    family: str = VALUE
    pets: str = VALUE
    diet: str = VALUE
    health: str = LIST_VALUE
    hobbies: str = LIST_VALUE
    likes: str = LIST_VALUE
    dislikes: str = LIST_VALUE
    schedule: str = VALUE
    goals: str = LIST_VALUE
    answer_style: str = VALUE
    standing_instruction: str = VALUE
    other: str = VALUE


@dataclass(frozen=True)
class SlotSpec:
    section: SectionName
    label: str
    single: bool  # a new value supersedes the old one
    cues: frozenset[str] = frozenset()  # topic words that let a value be inferred, not stated
    about_user: bool = True  # False where the value describes others (family, pets)


def _cues(words: str) -> frozenset[str]:
    return frozenset(stem(w) for w in words.split())


DIET_CUES = _cues(
    "meat meatless fish chicken beef pork steak bacon ham seafood shrimp vegetarian vegan "
    "veggie plant dairy milk cheese egg eggs gluten lactose allergic allergy halal kosher "
    "tofu recipe recipes dinner lunch breakfast meal meals eat eating food cook cooking snack"
)
# only words about answers themselves: "long", "read" or "simple" alone say nothing about
# how the user wants to be answered ("a long day", "I read a lot")
STYLE_CUES = _cues(
    "answer answers reply replies response responses concise explain explanation "
    "bullet bullets format formatting tone formal"
)
LIKE_CUES = _cues(
    "love loves like likes enjoy enjoys favourite favorite fan prefer prefers into hate hates "
    "dislike dislikes avoid avoids stand bored boring fun"
)
HOBBY_CUES = _cues(
    "play playing weekend weekends hike hiking run running training train paint painting "
    "read reading game games sport sports practice club guitar piano garden gardening "
    "knit knitting swim swimming climb climbing bike cycling photo photography dance"
)


SLOTS: dict[str, SlotSpec] = {
    "name": SlotSpec("About", "Name", True),
    "age": SlotSpec("About", "Age", True),
    "location": SlotSpec("About", "Lives in", True),
    "occupation": SlotSpec("About", "Work", True),
    "family": SlotSpec("About", "Family", False, about_user=False),
    "pets": SlotSpec("About", "Pets", False, about_user=False),
    "health": SlotSpec("About", "Health", False),
    "other": SlotSpec("About", "Other", False),
    "diet": SlotSpec("Preferences", "Diet", True, DIET_CUES),
    "likes": SlotSpec("Preferences", "Likes", False, LIKE_CUES | HOBBY_CUES),
    "dislikes": SlotSpec("Preferences", "Dislikes", False, LIKE_CUES | DIET_CUES),
    "hobbies": SlotSpec("Preferences", "Hobbies", False, HOBBY_CUES),
    "schedule": SlotSpec("Routines and schedule", "Schedule", False),
    "goals": SlotSpec("Goals", "Goal", False),
    "answer_style": SlotSpec("Communication style", "Prefers answers", True, STYLE_CUES),
    "standing_instruction": SlotSpec("Standing instructions", "Always", False),
}

EMPTY_VALUES = frozenset(
    {"", "none", "n/a", "na", "unknown", "not mentioned", "not specified", "null", "no",
     "nothing", "not stated", "not provided", "-", "the user", "user", "lol", "haha", "ok",
     "yes", "yeah"}
)

_INJECTION_RE = re.compile(
    r"ignore (all |any |the )?(previous|prior|above|earlier) (instructions|messages|rules)"
    r"|disregard (all |the )?(previous|prior|above) |system prompt|you are now|"
    r"act as (an? )?(admin|administrator|root|developer)|\badministrator\b|"
    r"\badmin (rights|access|privileges)\b|"
    r"jailbreak|developer mode|reveal (your|the) (instructions|prompt)|"
    # text that tries to open or close a block, or to speak as the system
    r"<\s*/?\s*(memory|system|instructions?)\s*>|\[/?(INST|SYS)\]|<<\s*/?SYS\s*>>|"
    r"(new|updated|override|overriding) (system )?(instructions|rules|prompt)|"
    r"system (instructions|message|override)|^\s*(system|assistant)\s*:|"
    r"(forget|ignore|override|bypass) (your|all|the) (guidelines|rules|instructions|safety)",
    re.IGNORECASE | re.MULTILINE,
)


MAX_VALUE_WORDS = 10

# a value about the user never addresses someone: "your city" is the field's description
# copied back, not a fact (standing instructions and answer style may speak to the assistant)
SECOND_PERSON = re.compile(r"\byou(r|rs|rself)?\b", re.IGNORECASE)
_ADDRESSED_SLOTS = frozenset({"standing_instruction", "answer_style"})
_DESCRIPTION_WORDS = {  # without the examples in parentheses: "vegan" is a real diet
    slot: content_words(re.sub(r"\([^)]*\)", " ", text))
    for slot, text in PROFILE_FIELD_DESCRIPTIONS.items()
}


def copies_field_description(slot: str, value: str) -> bool:
    """True when the value only repeats its field's description ("city or country")."""
    words = content_words(value)
    return bool(words) and words <= _DESCRIPTION_WORDS.get(slot, set())


_REQUEST = re.compile(r"\b(?:you|your|please|from now on|going forward)\b", re.IGNORECASE)
_IMPERATIVE = re.compile(
    r"^\s*(?:(?:and|also|so|oh|ok|okay)\W+)*(?:always|never|don'?t|do not|stop|keep|use|"
    r"answer|reply|respond|write|give|make|remember|call me|talk|speak|avoid)\b",
    re.IGNORECASE)


def addresses_assistant(text: str) -> bool:
    """Whether a message asks something of the assistant ("Always answer in metric units",
    "please keep it short"), not a user describing a rule of their own life ("I always
    follow the safety protocols at work"): a standing instruction needs one."""
    return any(_REQUEST.search(s) or _IMPERATIVE.search(s) for s in _SENTENCE.findall(text))


def looks_like_injection(text: str) -> bool:
    """True for text that poses as instructions to the system (kept as data, never promoted)."""
    return bool(_INJECTION_RE.search(text))


@dataclass(frozen=True)
class Rejected:
    slot: str
    value: str
    reason: str


@dataclass
class ExtractionOutcome:
    edits: list[ProfileEdit]
    rejected: list[Rejected]


def _similar(a: str, b: str) -> bool:
    wa, wb = content_words(a), content_words(b)
    if not wa or not wb:
        return a.strip().lower() == b.strip().lower()
    return len(wa & wb) / len(wa | wb) >= 0.5 or wa <= wb or wb <= wa


def _value_of(fact: Fact) -> str:
    label = SLOTS[fact.slot].label if fact.slot in SLOTS else ""
    prefix = f"{label}: "
    return fact.text[len(prefix):] if label and fact.text.startswith(prefix) else fact.text


def _clean(value: str) -> str:
    value = " ".join(value.replace("{", "(").replace("}", ")").split()).strip(" .;,")
    return value


def _snippet(texts: Sequence[str], limit: int = 90) -> str:
    joined = " / ".join(t.strip() for t in texts)
    joined = " ".join(joined.split()).replace("(", "[").replace(")", "]")
    return joined if len(joined) <= limit else joined[: limit - 1].rstrip() + "…"


_SENTENCE = re.compile(r"[^.!?\n]+")
# a sentence whose subject is someone else: it starts with "my wife", "our son", "she"...
_OTHER_PERSON = re.compile(
    r"^\s*(?:(?:and|but|so|also|well|oh|yes|yeah|haha)\W+)*"
    r"(?:(?:my|our)\s+(?:\w+\s+)?(?:wife|husband|partner|boyfriend|girlfriend|fianc[eé]e?|"
    r"son|daughter|kids?|child|children|baby|mom|mum|mother|dad|father|parents?|brother|"
    r"sister|siblings?|grand\w+|aunt|uncle|cousin|niece|nephew|friends?|boss|coworkers?|"
    r"colleagues?|neighbou?rs?|roommates?|team|dog|cat)\b|(?:he|she|they)\b)",
    re.IGNORECASE,
)
_FIRST_PERSON = re.compile(r"\b(?:i|i'm|i've|i'd|i'll|me|myself|we)\b", re.IGNORECASE)


def about_someone_else(value: str, text: str) -> bool:
    """True when every sentence of ``text`` that mentions the value is about another person
    ("My wife models clothing" does not make modelling the user's hobby; "My wife and I
    hike" does make hiking one)."""
    wanted = content_words(value)
    mentions = [s for s in _SENTENCE.findall(text) if wanted & content_words(s)]
    return bool(mentions) and all(
        _OTHER_PERSON.search(s) and not _FIRST_PERSON.search(s) for s in mentions
    )


_LINK = re.compile(r"https?://|www\.", re.IGNORECASE)
_NEGATED_LIKE = re.compile(
    r"^(?:i\s+)?(?:dislikes?|hates?|avoids?|(?:do|does)(?:\s+not|n't)\s+(?:like|enjoy|want)|"
    r"not|no)\s+(?P<rest>.+)$", re.IGNORECASE)


def with_polarity(slot: str, value: str) -> tuple[str, str]:
    """Small models often write a dislike into "likes" ("dislike VR games"): file it under
    "dislikes" without the verb."""
    match = _NEGATED_LIKE.match(value) if slot == "likes" else None
    return ("dislikes", match.group("rest")) if match else (slot, value)


# fields whose value is often a list ("tiramisu, gardening and meditation"): each item is
# checked, cited and stored as a fact of its own, so one unsupported item does not sink the
# others and each fact says one thing
LIST_SLOTS = frozenset({"likes", "dislikes", "hobbies", "goals", "health"})
MAX_ITEMS = 6
_ITEM_SEPARATORS = re.compile(r"\s*[,;/]\s*")
_LAST_ITEM = re.compile(r"\s+(?:and|&|or)\s+", re.IGNORECASE)
_LEADING_CONJUNCTION = re.compile(r"^(?:and|or|&)\s+", re.IGNORECASE)  # "a, and b"


def split_items(slot: str, value: str) -> list[str]:
    """The items of a list-valued field's value, in order, at most ``MAX_ITEMS``.

    Commas, semicolons and slashes separate items; "and" / "or" only inside such a list
    ("tea, jazz and hiking"), so a single value like "mac and cheese" stays whole.
    """
    if slot not in LIST_SLOTS:
        return [value]
    parts = [p for p in _ITEM_SEPARATORS.split(value) if p.strip()]
    if len(parts) > 1:  # "a, b and c": the last comma part holds two items
        parts = [*parts[:-1], *_LAST_ITEM.split(parts[-1])]
    items = [_clean(_LEADING_CONJUNCTION.sub("", p)) for p in parts]
    return list(dict.fromkeys(i for i in items if i))[:MAX_ITEMS] or [value]


def drop_cut_tail(slot: str, value: str, cap: int) -> str:
    """A value as long as its field's cap was cut there by the grammar, mid-item or mid-word
    ("learning languages, fixing cars, practicing the Left Hand P"): keep only its whole
    items (a list field's items before the last separator), else its whole words."""
    if len(value) < cap:
        return value
    if slot in LIST_SLOTS:
        separators = [*_ITEM_SEPARATORS.finditer(value), *_LAST_ITEM.finditer(value)]
        if separators:
            return value[: max(m.start() for m in separators)]
    return value.rsplit(None, 1)[0] if len(value.split()) > 1 else ""


@functools.cache
def _value_caps() -> dict[str, int]:
    properties = SessionFacts.model_json_schema()["properties"]
    return {name: int(spec["maxLength"]) for name, spec in properties.items()}


def value_cap(slot: str) -> int:
    """The most characters the model may write in a field: its ``maxLength`` in the schema
    the grammar is built from."""
    return _value_caps()[slot]


def supports(value: str, text: str, spec: SlotSpec, *, min_overlap: float = 0.5) -> bool:
    """Whether one user message backs a value: it states it (enough of the value's content
    words appear in it, not as a fact about someone else), or, for fields that may be
    inferred, it is about the field's topic.
    """
    if overlap(value, text) >= min_overlap:
        return not (spec.about_user and about_someone_else(value, text))
    return bool(spec.cues and spec.cues & content_words(text))


def cite(value: str, turns: Sequence[Turn], spec: SlotSpec) -> list[Turn]:
    """The user turns that back ``value`` (at most 4, in order); empty if none does."""
    backing = [t for t in turns if supports(value, t.user_message, spec)]
    if backing:
        return backing[:4]
    joined = " ".join(t.user_message for t in turns)  # stated across several messages
    if overlap(value, joined) >= 0.5:
        return [t for t in turns if overlap(value, t.user_message) > 0][:4]
    return []


def edits_from_extraction(
    doc: ProfileDocument,
    facts: SessionFacts,
    turns: Sequence[Turn],
) -> ExtractionOutcome:
    """Turn the model's extraction for one session into validated edits.

    A value is kept only if some user message backs it (:func:`supports`): names, ages,
    places, jobs and the like must be stated; diet, likes, dislikes, hobbies and answer style
    may be inferred from messages on that topic, and are then marked inferred with the
    messages as evidence. Kept values cite the turns that back them.
    """
    edits: list[ProfileEdit] = []
    rejected: list[Rejected] = []
    current = list(doc.facts)
    values = [(slot, item) for slot, whole in
              (with_polarity(name, _clean(drop_cut_tail(name, getattr(facts, name),
                                                        value_cap(name))))
               for name in SLOTS)
              for item in split_items(slot, whole)]
    added: list[tuple[str, str]] = []  # (slot, value) added this session, across list fields
    for slot_name, value in values:
        spec = SLOTS[slot_name]
        if value.lower() in EMPTY_VALUES or len(value) < 2:
            continue
        if _LINK.search(value):
            rejected.append(Rejected(slot_name, value, "a link, not a fact"))
            continue
        if "?" in value or len(value.split()) > MAX_VALUE_WORDS:
            rejected.append(Rejected(slot_name, value, "not a short fact (a copied sentence?)"))
            continue
        if copies_field_description(slot_name, value) or (
            slot_name not in _ADDRESSED_SLOTS and SECOND_PERSON.search(value)
        ):
            rejected.append(Rejected(slot_name, value, "repeats the field's description"))
            continue
        cited = cite(value, turns, spec)
        if not cited:
            rejected.append(Rejected(slot_name, value, "no user message supports it"))
            continue
        user_texts = [t.user_message for t in cited]
        if slot_name == "standing_instruction" and not any(
            addresses_assistant(t) for t in user_texts
        ):
            rejected.append(Rejected(slot_name, value, "not a request to the assistant"))
            continue
        if slot_name == "standing_instruction" and any(
            looks_like_injection(t) for t in [value, *user_texts]
        ):
            rejected.append(Rejected(slot_name, value, "looks like an injected instruction"))
            continue
        said = content_words(" ".join(user_texts))
        inferred = not content_words(value) <= said
        sources = [t.id for t in cited]
        text = f"{spec.label}: {value}"
        evidence = f'from "{_snippet(user_texts)}"' if inferred else ""
        same_slot = [f for f in current if f.slot == slot_name]
        match = next((f for f in same_slot if _similar(_value_of(f), value)), None)
        if match is not None:
            edits.append(ProfileEdit(op="confirm", fact_id=match.id, sources=sources))
        elif spec.single and same_slot:
            edits.append(ProfileEdit(
                op="supersede", fact_id=same_slot[0].id, section=spec.section, text=text,
                sources=sources, inferred=inferred, evidence=evidence, slot=slot_name,
            ))
        elif any(_similar(v, value) for slot, v in added if SLOTS[slot].section == spec.section):
            continue  # the same item under two fields ("reading" in likes and hobbies)
        else:
            edits.append(ProfileEdit(
                op="add", section=spec.section, text=text, sources=sources,
                inferred=inferred, evidence=evidence, slot=slot_name,
            ))
            added.append((slot_name, value))
    return ExtractionOutcome(edits, rejected)
