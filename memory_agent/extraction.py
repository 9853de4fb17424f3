"""From a model's fixed-field extraction to validated profile edits (pure logic).

Small models extract far better into named fields than into free lists, so the model
fills :class:`SessionFacts` (one bounded field per kind of fact, plus "other"), citing the
numbers of the turns each value comes from. This module then decides, without a model:

- whether each value is supported by what the *user* said in the cited turns (values whose
  cited turns do not exist, or whose cited text does not support them, are rejected);
- whether it was stated or inferred (an inferred value carries its evidence);
- which edit it makes: ``add`` a new fact, ``confirm`` a known one, or ``supersede`` a fact
  of a single-valued field (a new diet replaces the old diet; the old one goes to history).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from pydantic import BaseModel, Field

from .profile import Fact, ProfileDocument, ProfileEdit, SectionName
from .text import content_words, overlap
from .types import Turn

SupportScore = Callable[[str, Sequence[str]], float]


class Slot(BaseModel):
    """One field of the extraction: a short value and the turns it comes from."""

    value: str = Field(default="", max_length=120)
    turns: list[int] = Field(default_factory=list, max_length=6)


class SessionFacts(BaseModel):
    """What the model fills for one session. Leave a field's value empty if unknown."""

    name: Slot = Field(default_factory=Slot)
    age: Slot = Field(default_factory=Slot)
    location: Slot = Field(default_factory=Slot)
    occupation: Slot = Field(default_factory=Slot)
    family: Slot = Field(default_factory=Slot)
    pets: Slot = Field(default_factory=Slot)
    diet: Slot = Field(default_factory=Slot)
    health: Slot = Field(default_factory=Slot)
    hobbies: Slot = Field(default_factory=Slot)
    likes: Slot = Field(default_factory=Slot)
    dislikes: Slot = Field(default_factory=Slot)
    schedule: Slot = Field(default_factory=Slot)
    goals: Slot = Field(default_factory=Slot)
    answer_style: Slot = Field(default_factory=Slot)
    standing_instruction: Slot = Field(default_factory=Slot)
    other: Slot = Field(default_factory=Slot)


@dataclass(frozen=True)
class SlotSpec:
    section: SectionName
    label: str
    single: bool  # a new value supersedes the old one


SLOTS: dict[str, SlotSpec] = {
    "name": SlotSpec("About", "Name", True),
    "age": SlotSpec("About", "Age", True),
    "location": SlotSpec("About", "Lives in", True),
    "occupation": SlotSpec("About", "Work", True),
    "family": SlotSpec("About", "Family", False),
    "pets": SlotSpec("About", "Pets", False),
    "health": SlotSpec("About", "Health", False),
    "other": SlotSpec("About", "Other", False),
    "diet": SlotSpec("Preferences", "Diet", True),
    "likes": SlotSpec("Preferences", "Likes", False),
    "dislikes": SlotSpec("Preferences", "Dislikes", False),
    "hobbies": SlotSpec("Preferences", "Hobbies", False),
    "schedule": SlotSpec("Routines and schedule", "Schedule", False),
    "goals": SlotSpec("Goals", "Goal", False),
    "answer_style": SlotSpec("Communication style", "Prefers answers", True),
    "standing_instruction": SlotSpec("Standing instructions", "Always", False),
}

EMPTY_VALUES = frozenset(
    {"", "none", "n/a", "na", "unknown", "not mentioned", "not specified", "null", "no",
     "nothing", "not stated", "not provided", "-", "the user", "user"}
)

_INJECTION_RE = re.compile(
    r"ignore (all |any |the )?(previous|prior|above|earlier) (instructions|messages|rules)"
    r"|disregard (all |the )?(previous|prior|above) |system prompt|you are now|"
    r"act as (an? )?(admin|administrator|root|developer)|\badministrator\b|\badmin (rights|access|privileges)\b|"
    r"jailbreak|developer mode|reveal (your|the) (instructions|prompt)",
    re.IGNORECASE,
)


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


def edits_from_extraction(
    doc: ProfileDocument,
    facts: SessionFacts,
    turns: Sequence[Turn],
    *,
    support: SupportScore | None = None,
    min_support: float = 0.34,
) -> ExtractionOutcome:
    """Turn the model's extraction for one session into validated edits.

    ``turns`` are the session's turns; the model saw them numbered by ``Turn.index``.
    ``support(value, user_texts)`` scores (0..1) how well the user's words back a value;
    the default is lexical overlap of content words.
    """
    score = support or (lambda value, texts: overlap(value, " ".join(texts)))
    by_index = {t.index: t for t in turns}
    edits: list[ProfileEdit] = []
    rejected: list[Rejected] = []
    current = list(doc.facts)
    for slot_name, spec in SLOTS.items():
        slot: Slot = getattr(facts, slot_name)
        value = _clean(slot.value)
        if value.lower() in EMPTY_VALUES or len(value) < 2:
            continue
        cited = list(dict.fromkeys(slot.turns))
        if cited and any(i not in by_index for i in cited):
            rejected.append(Rejected(slot_name, value, f"cites turns that do not exist: {cited}"))
            continue
        if not cited:  # no citation: take the user turn that supports the value best
            best = max(turns, key=lambda t: score(value, [t.user_message]), default=None)
            cited = [best.index] if best is not None else []
        user_texts = [by_index[i].user_message for i in cited]
        if not user_texts or score(value, user_texts) < min_support:
            rejected.append(Rejected(slot_name, value, "not supported by the cited user turns"))
            continue
        if slot_name == "standing_instruction" and any(
            looks_like_injection(t) for t in [value, *user_texts]
        ):
            rejected.append(Rejected(slot_name, value, "looks like an injected instruction"))
            continue
        said = content_words(" ".join(user_texts))
        inferred = not content_words(value) <= said
        sources = [by_index[i].id for i in cited]
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
        else:
            edits.append(ProfileEdit(
                op="add", section=spec.section, text=text, sources=sources,
                inferred=inferred, evidence=evidence, slot=slot_name,
            ))
    return ExtractionOutcome(edits, rejected)
