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

import re
from collections.abc import Sequence
from dataclasses import dataclass

from pydantic import BaseModel, Field, create_model

from memory_agent.core.facts import without_braces
from memory_agent.core.fields import BY_NAME, CHECK_ORDER, FIELDS, ProfileField
from memory_agent.core.profile import Fact, ProfileDocument, ProfileEdit
from memory_agent.core.rules import RULES
from memory_agent.core.text import content_words, overlap
from memory_agent.core.types import Turn
from memory_agent.core.value_checks import (
    about_someone_else,
    addresses_assistant,
    clauses,
    evidence_quote,
    looks_like_injection,
    one_off,
    only_time,
    said_of_someone_else,
    standing_requests,
    unsaid_numbers,
    with_activity,
)


class ProfileForm(BaseModel):
    """The base of :data:`SessionFacts` (the type its instances have)."""


_FORM_DOC = """What the model fills for one session: one short value per field, "" if unknown.

The model does not cite turns: small models cite poorly. Citations are computed by
:func:`edits_from_extraction`, which keeps a value only if the user's own messages
support it and cites the turns that do."""

# The form the model fills, generated from the field table (fields.py): one string field
# per row, in its order, of at most ``cap`` characters. Its JSON schema is what the grammar
# is compiled from (pinned by tests/test_fields.py).
SessionFacts: type[ProfileForm] = create_model(
    "SessionFacts", __base__=ProfileForm, __doc__=_FORM_DOC, __module__=__name__,
    **{f.name: (str, Field(default="", max_length=f.cap)) for f in FIELDS},  # type: ignore[call-overload]
)

# the fields in the order their values are checked (fields.CHECK_ORDER)
SLOTS: dict[str, ProfileField] = {name: BY_NAME[name] for name in CHECK_ORDER}
EMPTY_VALUES = RULES.empty_values

MAX_VALUE_WORDS = 10

# a value about the user never addresses someone: "your city" is the field's description
# copied back, not a fact (fields marked ``addressed`` may speak to the assistant)
SECOND_PERSON = RULES.second_person
_DESCRIPTION_WORDS = {  # without the examples in parentheses: "vegan" is a real diet
    f.name: content_words(re.sub(r"\([^)]*\)", " ", f.description)) for f in FIELDS
}


def copies_field_description(slot: str, value: str) -> bool:
    """True when the value only repeats its field's description ("city or country")."""
    words = content_words(value)
    return bool(words) and words <= _DESCRIPTION_WORDS.get(slot, set())


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
    value = " ".join(without_braces(value).split()).strip(" .;,")
    return value


_LINK = re.compile(r"https?://|www\.", re.IGNORECASE)
def with_polarity(slot: str, value: str) -> tuple[str, str]:
    """Small models often write a dislike into "likes" ("dislike VR games"): file it under
    "dislikes" without the verb."""
    match = RULES.negated_like.match(value) if slot == "likes" else None
    return ("dislikes", match.group("rest")) if match else (slot, value)


# fields whose value is often a list ("tiramisu, gardening and meditation"): each item is
# checked, cited and stored as a fact of its own, so one unsupported item does not sink the
# others and each fact says one thing
LIST_SLOTS = frozenset(f.name for f in FIELDS if f.is_list)
MAX_ITEMS = 6
_ITEM_SEPARATORS = re.compile(r"\s*[,;/]\s*")
_LAST_ITEM = RULES.last_item
_LEADING_CONJUNCTION = RULES.leading_conjunction


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


def value_cap(slot: str) -> int:
    """The most characters the model may write in a field: its ``maxLength`` in the schema
    the grammar is built from (the field table's cap)."""
    return BY_NAME[slot].cap


def supports(value: str, text: str, spec: ProfileField, *, min_overlap: float = 0.5) -> bool:
    """Whether one user message backs a value: it states it (enough of the value's content
    words appear in it, not as a fact about someone else), or, for fields that may be
    inferred, it is about the field's topic.
    """
    if overlap(value, text) >= min_overlap:
        return not (spec.about_user and about_someone_else(value, text))
    return bool(spec.cues) and any(
        spec.cues & content_words(c) and not (spec.about_user and said_of_someone_else(c))
        for c in clauses(text))


def cite(value: str, turns: Sequence[Turn], spec: ProfileField) -> list[Turn]:
    """The user turns that back ``value`` (at most 4, in order); empty if none does."""
    backing = [t for t in turns if supports(value, t.user_message, spec)]
    if backing:
        return backing[:4]
    joined = " ".join(t.user_message for t in turns)  # stated across several messages
    if overlap(value, joined) >= 0.5 and not (spec.about_user
                                              and about_someone_else(value, joined)):
        return [t for t in turns if overlap(value, t.user_message) > 0][:4]
    return []


def edits_from_extraction(
    doc: ProfileDocument,
    facts: ProfileForm,
    turns: Sequence[Turn],
) -> ExtractionOutcome:
    """Turn the model's extraction for one session into validated edits.

    A value is kept only if some user message backs it (:func:`supports`): names, ages,
    places, jobs, likes and hobbies and the like must be stated; diet and answer style may be
    inferred from messages on that topic, and are then marked inferred with the messages as
    evidence. Kept values cite the turns that back them.
    """
    edits: list[ProfileEdit] = []
    rejected: list[Rejected] = []
    current = list(doc.facts)
    values = [(slot, item) for slot, whole in
              (with_polarity(name, _clean(drop_cut_tail(name, getattr(facts, name),
                                                        value_cap(name))))
               for name in SLOTS)
              for item in split_items(slot, whole)]
    # requests meant to last, in the user's words, beside the model's (which small models
    # often file under answer style, or leave out)
    values += [("standing_instruction", r)
               for t in turns for r in standing_requests(t.user_message)]
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
            not spec.addressed and SECOND_PERSON.search(value)
        ):
            rejected.append(Rejected(slot_name, value, "repeats the field's description"))
            continue
        cited = cite(value, turns, spec)
        if not cited:
            rejected.append(Rejected(slot_name, value, "no user message supports it"))
            continue
        user_texts = [t.user_message for t in cited]
        unsaid = unsaid_numbers(value, user_texts)
        if unsaid:
            rejected.append(Rejected(slot_name, value, f"the user never said {unsaid[0]}"))
            continue
        if spec.lasting and one_off(value, user_texts):
            rejected.append(Rejected(slot_name, value, "a one-off moment, not a lasting fact"))
            continue
        if spec.routine and only_time(value):
            completed = with_activity(value, user_texts, spec.cap)
            if not completed:
                rejected.append(Rejected(slot_name, value, "a time without what is done"))
                continue
            value = completed
        if spec.instruction and not any(
            addresses_assistant(t) for t in user_texts
        ):
            rejected.append(Rejected(slot_name, value, "not a request to the assistant"))
            continue
        if spec.instruction and any(
            looks_like_injection(t) for t in [value, *user_texts]
        ):
            rejected.append(Rejected(slot_name, value, "looks like an injected instruction"))
            continue
        said = content_words(" ".join(user_texts))
        inferred = not content_words(value) <= said
        sources = [t.id for t in cited]
        text = f"{spec.label}: {value}"
        evidence = (f'from "{evidence_quote(user_texts, content_words(value) | spec.cues)}"'
                    if inferred else "")
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


__all__ = [
    "SLOTS", "ExtractionOutcome", "ProfileForm", "Rejected", "SessionFacts", "about_someone_else",
    "addresses_assistant", "cite", "copies_field_description", "drop_cut_tail",
    "edits_from_extraction", "looks_like_injection", "said_of_someone_else", "split_items",
    "supports", "value_cap", "with_polarity",
]
