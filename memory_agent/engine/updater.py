"""The update work run after a session ends: summary, tree insertion, roll-up, profile.

Each step reads from the store, calls the model, validates, and only then writes. A
failure (invalid model output, store error) leaves stored memory as it was.
"""

from __future__ import annotations

import logging
import re
import unicodedata
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from functools import partial

from pydantic import BaseModel, Field

from memory_agent.backends.tokens import truncate_to_tokens
from memory_agent.core.config import MemoryConfig
from memory_agent.core.embedder import Embedder
from memory_agent.core.extraction import ExtractionOutcome, SessionFacts, edits_from_extraction
from memory_agent.core.llm import LLM
from memory_agent.core.profile import (
    Fact,
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
    COMPACT_PROFILE_SYSTEM,
    COMPACT_PROFILE_USER,
    EXTRACT_PROFILE_FIELDS,
    EXTRACT_PROFILE_SYSTEM,
    EXTRACT_PROFILE_USER,
    ROLLUP_SYSTEM,
    ROLLUP_USER,
    SUMMARIZE_SESSION_SYSTEM,
    SUMMARIZE_SESSION_USER,
)
from memory_agent.core.statements import statement_edits
from memory_agent.core.store import HistoryEntry, MemoryStore
from memory_agent.core.text import content_words
from memory_agent.core.tree import TreeConfig, make_node, session_node_id, with_summary
from memory_agent.core.types import Message, Node, Turn
from memory_agent.engine.structured import generate_structured
from memory_agent.engine.tree_index import TreeIndex
from memory_agent.errors import (
    ModelOutputError,
    ProfileConflictError,
    ProfileError,
    UnknownSessionError,
)

log = logging.getLogger("memory_agent")
TokenCounter = Callable[[str], int]


@dataclass
class Backends:
    """Everything the update steps need, passed in (never constructed here)."""

    store: MemoryStore
    llm: LLM
    embedder: Embedder
    config: MemoryConfig
    count_tokens: TokenCounter
    notify: Callable[[str], None] = lambda message: None  # progress of long steps


@dataclass
class ProfileUpdate:
    """What one profile update did (for logs, the CLI and benchmarks)."""

    edits: list[ProfileEdit] = field(default_factory=list)
    rejected: list[str] = field(default_factory=list)
    retired: list[Retired] = field(default_factory=list)
    version: int = 0
    added: list[str] = field(default_factory=list)  # ids of the facts this update added


def _clip(text: str, tokens: int) -> str:
    clipped = truncate_to_tokens(text, tokens)
    return clipped if clipped == text else clipped + " …"


def transcript(turns: Sequence[Turn], *, turn_tokens: int, assistant_tokens: int) -> str:
    """Turns numbered by their index, each message shortened for the prompt."""
    lines = []
    for t in turns:
        lines.append(f"[{t.index}] User: {_clip(t.user_message, turn_tokens)}")
        lines.append(f"    Assistant: {_clip(t.assistant_message, assistant_tokens)}")
    return "\n".join(lines)


def _chunks(turns: Sequence[Turn], b: Backends) -> list[list[Turn]]:
    chunks: list[list[Turn]] = [[]]
    used = 0
    for t in turns:
        cost = b.count_tokens(t.text())
        if chunks[-1] and used + cost > b.config.transcript_chunk_tokens:
            chunks.append([])
            used = 0
        chunks[-1].append(t)
        used += cost
    return chunks


def _summarize_turns(b: Backends, turns: Sequence[Turn], session_id: str) -> str:
    cfg = b.config
    messages: list[Message] = [
        {"role": "system", "content": SUMMARIZE_SESSION_SYSTEM},
        {"role": "user", "content": SUMMARIZE_SESSION_USER.format(
            date=turns[0].at.strftime("%Y-%m-%d %H:%M"), session_id=session_id,
            transcript=transcript(turns, turn_tokens=cfg.turn_prompt_tokens,
                                  assistant_tokens=cfg.turn_prompt_tokens // 2),
            max_words=cfg.summary_words)},
    ]
    return _one_paragraph(b.llm.complete(messages, max_tokens=cfg.summary_max_tokens),
                          cfg.summary_max_tokens)


_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f\u2028\u2029\ufeff]")


def _one_paragraph(text: object, max_tokens: int = 400) -> str:
    """A model's summary made safe to store: one line of printable text, at most
    ``max_tokens`` tokens (cut at a word), else ModelOutputError."""
    if not isinstance(text, str):
        msg = f"model returned {type(text).__name__} instead of text"
        raise ModelOutputError(msg)
    text = text.encode("utf-8", "replace").decode("utf-8")  # lone surrogates -> '?'
    cleaned = " ".join(_CONTROL.sub(" ", unicodedata.normalize("NFC", text)).split())
    if not any(ch.isalnum() for ch in cleaned):
        msg = f"model returned an empty summary: {text[:80]!r}"
        raise ModelOutputError(msg, raw_output=text[:2000])
    clipped = truncate_to_tokens(cleaned[: max_tokens * 8], max_tokens)
    if clipped != cleaned:
        clipped = clipped.rsplit(" ", 1)[0] if " " in clipped.strip() else clipped
        clipped = clipped.rstrip() + " …"
    return clipped


def summarize_session(b: Backends, index: TreeIndex, user_id: str, session_id: str) -> list[Node]:
    """Summarise a session (in chunks if long), insert it into the tree, store the changes."""
    turns = b.store.get_turns(user_id, session_id=session_id)
    if not turns:
        msg = f"no turns recorded for session {session_id!r} of user {user_id!r}"
        raise UnknownSessionError(msg)
    b.notify(f"summarizing session {session_id} ({len(turns)} turns)")
    parts = [_summarize_turns(b, chunk, session_id) for chunk in _chunks(turns, b)]
    summary = (_rollup_text(b, parts, turns[0].at, turns[-1].at) if len(parts) > 1
               else parts[0])
    node = make_node(
        id=session_node_id(session_id), user_id=user_id, level=1, summary=summary,
        children=[t.id for t in turns], start=turns[0].at, end=turns[-1].at,
        session_id=session_id,
    )
    tree = index.snapshot()
    changed = tree.insert_session(node, TreeConfig(b.config.fanout, b.config.period))
    _store_nodes(b, index, user_id, changed)
    return changed


def _store_nodes(b: Backends, index: TreeIndex, user_id: str, nodes: Sequence[Node]) -> None:
    vectors = b.embedder.embed_documents([n.summary for n in nodes])
    b.store.put_nodes(nodes, vectors)
    index.apply(nodes, vectors)


def _rollup_text(b: Backends, summaries: Sequence[str], start: datetime, end: datetime) -> str:
    cfg = b.config
    per_child = max(40, cfg.transcript_chunk_tokens // max(1, len(summaries)))
    children = "\n".join(f"- {_clip(s, per_child)}" for s in summaries)
    messages: list[Message] = [
        {"role": "system", "content": ROLLUP_SYSTEM},
        {"role": "user", "content": ROLLUP_USER.format(
            start=start.strftime("%Y-%m-%d"), end=end.strftime("%Y-%m-%d"),
            children=children, max_words=cfg.rollup_words)},
    ]
    return _one_paragraph(b.llm.complete(messages, max_tokens=cfg.summary_max_tokens),
                          cfg.summary_max_tokens)


def rollup(b: Backends, index: TreeIndex, user_id: str) -> list[Node]:
    """Re-summarise every stale node, children before parents; store each as it is done."""
    done: list[Node] = []
    for node in index.snapshot().stale_nodes():
        tree = index.tree
        current = tree.get(node.id)
        if not current.stale:
            continue
        kids = tree.children(current)
        b.notify(f"rolling up {current.id} (level {current.level}, {len(kids)} children)")
        dated = [f"({k.start.strftime('%Y-%m-%d')}) {k.summary}" for k in kids]
        summary = _rollup_text(b, dated, current.start, current.end)
        fresh = with_summary(current, summary)
        _store_nodes(b, index, user_id, [fresh])
        done.append(fresh)
    return done


# --- profile ---------------------------------------------------------------------------


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


def user_transcript(turns: Sequence[Turn], *, turn_tokens: int) -> str:
    """Only the user's messages, numbered by turn (facts come from the user's own words)."""
    return "\n".join(f"[{t.index}] {_clip(t.user_message, turn_tokens)}" for t in turns)


def extract_facts(b: Backends, turns: Sequence[Turn]) -> SessionFacts:
    """The model fills the fixed-field form from the user's messages of one session."""
    messages: list[Message] = [
        {"role": "system", "content": EXTRACT_PROFILE_SYSTEM},
        {"role": "user", "content": EXTRACT_PROFILE_USER.format(
            fields=EXTRACT_PROFILE_FIELDS, date=turns[0].at.strftime("%Y-%m-%d"),
            transcript=user_transcript(turns, turn_tokens=b.config.turn_prompt_tokens))},
    ]
    return generate_structured(b.llm, messages, SessionFacts, max_tokens=600)


def update_profile(
    b: Backends,
    user_id: str,
    session_id: str,
    *,
    now: datetime,
) -> ProfileUpdate:
    """Extract facts from a session and apply them to the profile (compare-and-set)."""
    turns = b.store.get_turns(user_id, session_id=session_id)
    if not turns:
        msg = f"no turns recorded for session {session_id!r} of user {user_id!r}"
        raise UnknownSessionError(msg)
    learned = turns[-1].at.date()
    b.notify(f"updating the profile from session {session_id}")
    total = ProfileUpdate()
    for chunk in _chunks(turns, b):  # a long session is read in chunks: report them all
        facts = extract_facts(b, chunk)
        result = write_profile_edits(
            b, user_id, partial(session_edits, facts=facts, turns=chunk,
                                statements=b.config.statements_per_session),
            today=learned, now=now,
        )
        total.edits += result.edits
        total.rejected += result.rejected
        total.retired += result.retired
        total.added += result.added
        total.version = result.version
    return total


EditPlanner = Callable[[ProfileDocument], ExtractionOutcome]


def session_edits(doc: ProfileDocument, *, facts: SessionFacts, turns: Sequence[Turn],
                  statements: int) -> ExtractionOutcome:
    """The model's field extraction as edits, then up to ``statements`` of the session's
    first-person statements that say something those fields do not (statements.py)."""
    outcome = edits_from_extraction(doc, facts, turns)
    if statements:
        extracted = [e.text for e in outcome.edits if e.text]
        outcome.edits += statement_edits(doc, turns, also_known=extracted, limit=statements)
    return outcome


def write_profile_edits(
    b: Backends,
    user_id: str,
    plan: EditPlanner,
    *,
    today: date,
    now: datetime,
    attempts: int = 3,
) -> ProfileUpdate:
    """Plan edits against the current profile, apply, fit the budget, write with CAS.

    If another writer changed the profile in between, the edits are planned again on
    the new version (up to ``attempts`` times), so no update is silently lost.
    """
    for _ in range(attempts):
        doc, version = load_profile(b.store, user_id)
        outcome = plan(doc)
        reserved = [h.fact_id for h in b.store.get_history(user_id)]
        result = apply_edits(doc, outcome.edits, today=today, reserved=reserved)
        new_doc, retired = result.document, list(result.retired)
        budget = b.config.profile_token_budget
        # verbatim statements only use room the extracted facts leave: shed them first
        new_doc, shed = fit_budget(new_doc, budget, b.count_tokens, only=is_statement)
        retired += shed
        if b.count_tokens(new_doc.render()) > budget:
            new_doc, merged = compact(b, new_doc, today=today, reserved=reserved)
            retired += merged
        new_doc, dropped = fit_budget(new_doc, budget, b.count_tokens)
        retired += dropped
        if new_doc == doc and not retired:
            return ProfileUpdate(outcome.edits, [f"{r.slot}: {r.reason}" for r in outcome.rejected],
                                 [], version)
        try:
            new_version = b.store.put_profile(user_id, new_doc.render(), expected_version=version)
        except ProfileConflictError:
            log.info("profile of %s changed during an update; planning again", user_id)
            continue
        if retired:
            b.store.add_history(history_entries(user_id, retired, now))
        return ProfileUpdate(
            outcome.edits, [f"{r.slot}: {r.value!r} ({r.reason})" for r in outcome.rejected],
            retired, new_version, [i for i in result.added if new_doc.get(i) is not None],
        )
    msg = f"profile of {user_id!r} kept changing during the update; gave up after {attempts} tries"
    raise ProfileConflictError(msg)


# --- compaction --------------------------------------------------------------------------

class Merge(BaseModel):
    replaces: list[int] = Field(max_length=8)
    text: str = Field(max_length=200)


class Compaction(BaseModel):
    merges: list[Merge] = Field(default_factory=list, max_length=12)


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


def compact(
    b: Backends, doc: ProfileDocument, *, today: date, reserved: Sequence[str]
) -> tuple[ProfileDocument, list[Retired]]:
    """Ask the model to merge related facts; invalid merges are ignored.

    The hard guarantee is :func:`fit_budget`, applied after this.
    """
    numbered = [f for f in doc.facts if f.section != "Standing instructions"]
    listing = "\n".join(f"{i}. [{f.section}] {f.text}" for i, f in enumerate(numbered, 1))
    messages: list[Message] = [
        {"role": "system", "content": COMPACT_PROFILE_SYSTEM},
        {"role": "user", "content": COMPACT_PROFILE_USER.format(
            facts=listing, tokens=b.count_tokens(doc.render()),
            budget=b.config.profile_token_budget)},
    ]
    try:
        plan = generate_structured(b.llm, messages, Compaction, max_tokens=600)
    except Exception as error:  # compaction is best effort; fit_budget still guarantees size
        log.warning("profile compaction failed (%s); dropping least supported facts instead", error)
        return doc, []
    edits: list[ProfileEdit] = []
    used: set[int] = set()
    for merge in plan.merges:
        ids = [i for i in dict.fromkeys(merge.replaces)
               if 1 <= i <= len(numbered) and i not in used]
        if len(ids) < 2 or not merge.text.strip():
            continue
        merged = [numbered[i - 1] for i in ids]
        reason = bad_merge(merged, merge.text, b.count_tokens)
        if reason:
            log.info("compaction merge ignored (%s): %r", reason, merge.text)
            continue
        used.update(ids)
        first, *rest = merged
        sources = list(dict.fromkeys(s for f in (first, *rest) for s in f.sources))[:32]
        edits.append(ProfileEdit(op="supersede", fact_id=first.id, text=merge.text,
                                 sources=sources, slot=first.slot, reason="merged to fit budget"))
        edits += [ProfileEdit(op="remove", fact_id=f.id, reason="merged to fit budget")
                  for f in rest]
    if not edits:
        return doc, []
    try:
        result = apply_edits(doc, edits, today=today, reserved=reserved)
    except (ProfileError, ValueError) as error:
        log.warning("profile compaction produced invalid edits (%s); ignored", error)
        return doc, []
    return result.document, result.retired
