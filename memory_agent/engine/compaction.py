"""Compaction: when the profile is over its token budget, the model may merge related facts.

Best effort: a merge is checked (:func:`bad_merge`) before it is applied, and a failed or
unsound plan leaves the profile as it was; :func:`memory_agent.core.profile.fit_budget`,
applied after this, is the hard guarantee of size.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from datetime import date

from pydantic import BaseModel, Field

from memory_agent.core.facts import MAX_SOURCES
from memory_agent.core.profile import (
    STANDING,
    Fact,
    ProfileDocument,
    ProfileEdit,
    Retired,
    apply_edits,
)
from memory_agent.core.prompts import COMPACT_PROFILE_SYSTEM, COMPACT_PROFILE_USER
from memory_agent.core.text import content_words
from memory_agent.core.types import Message
from memory_agent.engine.structured import generate_structured
from memory_agent.engine.upkeep import Backends
from memory_agent.errors import ProfileError

log = logging.getLogger("memory_agent")

COMPACTION_MAX_TOKENS = 600  # the model's answer: up to MAX_MERGES merges as JSON
MAX_MERGES = 12  # merges one plan may propose
MAX_MERGED_FACTS = 8  # facts one merge may replace
MAX_MERGE_CHARS = 200  # of a merged fact's text
MERGE_REASON = "merged to fit budget"


class Merge(BaseModel):
    replaces: list[int] = Field(max_length=MAX_MERGED_FACTS)
    text: str = Field(max_length=MAX_MERGE_CHARS)


class Compaction(BaseModel):
    merges: list[Merge] = Field(default_factory=list, max_length=MAX_MERGES)


def bad_merge(facts: Sequence[Fact], text: str, count: Callable[[str], int]) -> str:
    """Why a merge the model proposed must be ignored ("" if it is sound).

    Small models "merge" by gluing unrelated facts into one run-on line ("Lives in X, works
    as Y, likes Z, ...") that saves nothing and can no longer be confirmed, superseded or
    ranked on its own. A merge is kept only if its facts share a field, it is shorter than
    what it replaces, and it says nothing they did not (its content words are theirs).
    """
    if len({(f.section, f.slot) for f in facts}) > 1:  # the merged fact keeps one slot
        return "facts of different fields"
    if count(text) >= sum(count(f.text) for f in facts):
        return "not shorter than the facts it replaces"
    said: set[str] = set().union(*(content_words(f.text) for f in facts))
    new_words = content_words(text) - said
    if len(new_words) > 1:
        return f"adds words the facts do not have ({', '.join(sorted(new_words)[:4])})"
    return ""


def merge_edits(plan: Compaction, numbered: Sequence[Fact],
                count: Callable[[str], int]) -> list[ProfileEdit]:
    """The sound merges of a plan as edits: the first fact of each is superseded by the
    merged text, the others removed; a fact is merged at most once."""
    edits: list[ProfileEdit] = []
    used: set[int] = set()
    for merge in plan.merges:
        ids = [i for i in dict.fromkeys(merge.replaces)
               if 1 <= i <= len(numbered) and i not in used]
        if len(ids) < 2 or not merge.text.strip():
            continue
        merged = [numbered[i - 1] for i in ids]
        reason = bad_merge(merged, merge.text, count)
        if reason:
            log.info("compaction merge ignored (%s): %r", reason, merge.text)
            continue
        used.update(ids)
        first, *rest = merged
        sources = list(dict.fromkeys(s for f in merged for s in f.sources))[:MAX_SOURCES]
        edits.append(ProfileEdit(op="supersede", fact_id=first.id, text=merge.text,
                                 sources=sources, slot=first.slot, reason=MERGE_REASON))
        edits += [ProfileEdit(op="remove", fact_id=f.id, reason=MERGE_REASON) for f in rest]
    return edits


def compact(
    backends: Backends, doc: ProfileDocument, *, today: date, reserved: Sequence[str]
) -> tuple[ProfileDocument, list[Retired]]:
    """Ask the model to merge related facts (standing instructions are never merged);
    invalid merges are ignored.

    The hard guarantee is :func:`fit_budget`, applied after this.
    """
    numbered = [f for f in doc.facts if f.section != STANDING]
    listing = "\n".join(f"{i}. [{f.section}] {f.text}" for i, f in enumerate(numbered, 1))
    messages: list[Message] = [
        {"role": "system", "content": COMPACT_PROFILE_SYSTEM},
        {"role": "user", "content": COMPACT_PROFILE_USER.format(
            facts=listing, tokens=backends.count_tokens(doc.render()),
            budget=backends.config.profile_token_budget)},
    ]
    try:
        plan = generate_structured(backends.llm, messages, Compaction,
                                   max_tokens=COMPACTION_MAX_TOKENS)
    except Exception as error:  # compaction is best effort; fit_budget still guarantees size
        log.warning("profile compaction failed (%s); dropping least supported facts instead", error)
        return doc, []
    edits = merge_edits(plan, numbered, backends.count_tokens)
    if not edits:
        return doc, []
    try:
        result = apply_edits(doc, edits, today=today, reserved=reserved)
    except (ProfileError, ValueError) as error:
        log.warning("profile compaction produced invalid edits (%s); ignored", error)
        return doc, []
    return result.document, result.retired
