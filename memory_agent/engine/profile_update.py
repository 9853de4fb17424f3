"""The profile step: facts from a session's user messages, written with compare-and-set.

The model fills the fixed-field form (:data:`~memory_agent.core.extraction.SessionFacts`);
pure logic turns it into validated edits, with the session's verbatim self-statements
(:mod:`memory_agent.core.statements`). :func:`write_profile_edits` is the one write path:
plan against the current version, apply, fit the budget (compacting if needed), write.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from functools import partial

from memory_agent.core.extraction import (
    ExtractionOutcome,
    ProfileForm,
    SessionFacts,
    edits_from_extraction,
)
from memory_agent.core.profile import (
    ProfileDocument,
    ProfileEdit,
    Retired,
    apply_edits,
    as_datetime,
    fit_budget,
    is_statement,
    parse_profile,
)
from memory_agent.core.prompts import (
    EXTRACT_PROFILE_FIELDS,
    EXTRACT_PROFILE_SYSTEM,
    EXTRACT_PROFILE_TASK,
)
from memory_agent.core.statements import statement_edits
from memory_agent.core.store import HistoryEntry, MemoryStore
from memory_agent.core.types import Message, Turn
from memory_agent.engine.compaction import compact
from memory_agent.engine.structured import generate_structured
from memory_agent.engine.transcripts import chunks, session_prompt
from memory_agent.engine.upkeep import Backends, session_turns
from memory_agent.errors import ProfileConflictError

log = logging.getLogger("memory_agent")

FORM_MAX_TOKENS = 600  # the model's answer: the filled form as JSON
WRITE_ATTEMPTS = 3  # plans of one write, when other writers keep changing the profile


@dataclass
class ProfileUpdate:
    """What one profile update did (for logs, the CLI and benchmarks)."""

    edits: list[ProfileEdit] = field(default_factory=list)
    rejected: list[str] = field(default_factory=list)
    retired: list[Retired] = field(default_factory=list)
    version: int = 0
    added: list[str] = field(default_factory=list)  # ids of the facts this update added


def load_profile(store: MemoryStore, user_id: str) -> tuple[ProfileDocument, int]:
    stored = store.get_profile(user_id)
    if stored is None:
        return ProfileDocument(), 0
    return parse_profile(stored.markdown), stored.version


def history_entries(user_id: str, retired: Sequence[Retired], when: datetime) -> list[HistoryEntry]:
    return [
        HistoryEntry(
            user_id=user_id, fact_id=r.fact.id, section=r.fact.section, text=r.fact.text,
            marker=r.fact.marker(), valid_from=as_datetime(r.fact.learned), valid_to=when,
            reason=r.reason,
        )
        for r in retired
    ]


def extract_facts(backends: Backends, turns: Sequence[Turn]) -> ProfileForm:
    """The model fills the fixed-field form from the user's messages of one session.

    The prompt is the session's summary prompt with another task at the end (the same
    transcript, assistant replies included, as its prefix: read once by a model with a
    prompt cache); the task says only the user's lines count, and
    :func:`~memory_agent.core.extraction.edits_from_extraction` keeps only values a user
    turn supports.
    """
    messages = form_prompt(turns, turn_tokens=backends.config.turn_prompt_tokens)
    return generate_structured(backends.llm, messages, SessionFacts, max_tokens=FORM_MAX_TOKENS)


def form_prompt(turns: Sequence[Turn], *, turn_tokens: int) -> list[Message]:
    """The profile form's prompt: the session prompt with the form as its task."""
    task = EXTRACT_PROFILE_TASK.format(instructions=EXTRACT_PROFILE_SYSTEM,
                                       fields=EXTRACT_PROFILE_FIELDS)
    return session_prompt(turns, task, turn_tokens=turn_tokens)


def update_profile(
    backends: Backends,
    user_id: str,
    session_id: str,
    *,
    now: datetime,
) -> ProfileUpdate:
    """Extract facts from a session and apply them to the profile (compare-and-set)."""
    turns = session_turns(backends, user_id, session_id)
    learned = turns[-1].at.date()
    backends.notify(f"updating the profile from session {session_id}")
    total = ProfileUpdate()
    # a long session is read in chunks: report them all
    for chunk in chunks(turns, backends.count_tokens, backends.config.transcript_chunk_tokens):
        facts = extract_facts(backends, chunk)
        result = write_profile_edits(
            backends, user_id, partial(session_edits, facts=facts, turns=chunk,
                                       statements=backends.config.statements_per_session),
            today=learned, now=now,
        )
        total.edits += result.edits
        total.rejected += result.rejected
        total.retired += result.retired
        total.added += result.added
        total.version = result.version
    return total


EditPlanner = Callable[[ProfileDocument], ExtractionOutcome]


def session_edits(doc: ProfileDocument, *, facts: ProfileForm, turns: Sequence[Turn],
                  statements: int) -> ExtractionOutcome:
    """The model's field extraction as edits, then up to ``statements`` of the session's
    first-person statements that say something those fields do not (statements.py)."""
    outcome = edits_from_extraction(doc, facts, turns)
    if statements:
        extracted = [e.text for e in outcome.edits if e.text]
        outcome.edits += statement_edits(doc, turns, also_known=extracted, limit=statements)
    return outcome


def commit_profile(store: MemoryStore, user_id: str, new: ProfileDocument, *,
                   expected_version: int, retired: Sequence[Retired], now: datetime) -> int:
    """The one way a profile is written: ``new`` if the stored version is still
    ``expected_version`` (else ProfileConflictError, and nothing is written), then the facts
    it retired to the history. Returns the new version."""
    version = store.put_profile(user_id, new.render(), expected_version=expected_version)
    if retired:
        store.add_history(history_entries(user_id, list(retired), now))
    return version


def write_profile_edits(
    backends: Backends,
    user_id: str,
    plan: EditPlanner,
    *,
    today: date,
    now: datetime,
    attempts: int = WRITE_ATTEMPTS,
) -> ProfileUpdate:
    """Plan edits against the current profile, apply, fit the budget, write with CAS.

    If another writer changed the profile in between, the edits are planned again on
    the new version (up to ``attempts`` times), so no update is silently lost.
    """
    store, count = backends.store, backends.count_tokens
    for _ in range(attempts):
        doc, version = load_profile(store, user_id)
        outcome = plan(doc)
        reserved = [h.fact_id for h in store.get_history(user_id)]
        result = apply_edits(doc, outcome.edits, today=today, reserved=reserved)
        new_doc, retired = result.document, list(result.retired)
        budget = backends.config.profile_token_budget
        # verbatim statements only use room the extracted facts leave: shed them first
        new_doc, shed = fit_budget(new_doc, budget, count, only=is_statement)
        retired += shed
        if backends.config.compact_with_model and count(new_doc.render()) > budget:
            new_doc, merged = compact(backends, new_doc, today=today, reserved=reserved)
            retired += merged
        new_doc, dropped = fit_budget(new_doc, budget, count)
        retired += dropped
        if new_doc == doc and not retired:
            return ProfileUpdate(outcome.edits, [f"{r.slot}: {r.reason}" for r in outcome.rejected],
                                 [], version)
        try:
            new_version = commit_profile(store, user_id, new_doc, expected_version=version,
                                         retired=retired, now=now)
        except ProfileConflictError:
            log.info("profile of %s changed during an update; planning again", user_id)
            continue
        return ProfileUpdate(
            outcome.edits, [f"{r.slot}: {r.value!r} ({r.reason})" for r in outcome.rejected],
            retired, new_version, [i for i in result.added if new_doc.get(i) is not None],
        )
    msg = f"profile of {user_id!r} kept changing during the update; gave up after {attempts} tries"
    raise ProfileConflictError(msg)
