"""View models of the inspector's pages (pure: memory data in, plain rows out; no I/O).

Templates get these rows; every string in them is escaped by Jinja2 when rendered.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace

from memory_agent.core.profile import HELP_COMMENT, SECTIONS, Fact, ProfileDocument
from memory_agent.core.render import fmt_span
from memory_agent.core.store import HistoryEntry
from memory_agent.core.trace import RecallTrace, TraceItem
from memory_agent.core.tree import SummaryTree
from memory_agent.core.types import Node, Turn, parse_turn_id
from memory_agent.errors import InvalidInputError


@dataclass(frozen=True)
class Source:
    """Where a fact came from: a turn (``session``, ``turn``) or a person or tool (``label``)."""

    label: str
    session: str = ""
    turn: int = 0


@dataclass(frozen=True)
class FactRow:
    fact: Fact
    sources: tuple[Source, ...]
    superseded: tuple[HistoryEntry, ...]  # the facts it replaced, from the history


@dataclass(frozen=True)
class SectionRows:
    name: str
    facts: tuple[FactRow, ...]


def sources_of(fact: Fact) -> tuple[Source, ...]:
    out = []
    for src in fact.sources:
        try:
            session, index = parse_turn_id(src)
        except ValueError:
            out.append(Source(label=src))  # "edit", "tool", "import"
            continue
        out.append(Source(label=src, session=session, turn=index))
    return tuple(out)


def profile_sections(doc: ProfileDocument, history: Sequence[HistoryEntry]) -> list[SectionRows]:
    """Every section (empty ones too, so a fact can be added to any), facts in order."""
    kept: dict[str, list[HistoryEntry]] = {}
    for entry in history:
        kept.setdefault(entry.fact_id, []).append(entry)
    rows = []
    for name in SECTIONS:
        facts = tuple(
            FactRow(f, sources_of(f), tuple(e for old in f.supersedes for e in kept.get(old, [])))
            for f in doc.section(name))
        rows.append(SectionRows(name, facts))
    return rows


def history_rows(history: Sequence[HistoryEntry]) -> list[HistoryEntry]:
    """The history, newest retirement first."""
    return sorted(history, key=lambda e: e.valid_to, reverse=True)


# --- profile edits as Markdown (the inspector saves them with ``edit_profile``) ----------
def one_line(text: str, what: str = "fact text") -> str:
    value = " ".join(text.split())
    if not value:
        msg = f"the {what} is empty"
        raise InvalidInputError(msg)
    return value


def _fact(doc: ProfileDocument, fact_id: str) -> Fact:
    fact = doc.get(fact_id)
    if fact is None:
        msg = f"no fact {fact_id!r} in the profile (was it removed meanwhile?)"
        raise InvalidInputError(msg)
    return fact


def reworded(doc: ProfileDocument, fact_id: str, text: str) -> str:
    """The document with one fact's text changed (its marker, so its provenance, kept)."""
    fact = _fact(doc, fact_id)
    new = replace(fact, text=one_line(text))
    return ProfileDocument(tuple(new if f.id == fact_id else f for f in doc.facts),
                           doc.title).render()


def without(doc: ProfileDocument, fact_id: str) -> str:
    """The document without one fact (the edit path keeps it in the history)."""
    _fact(doc, fact_id)
    return ProfileDocument(tuple(f for f in doc.facts if f.id != fact_id), doc.title).render()


def with_new_fact(doc: ProfileDocument, section: str, text: str) -> str:
    """The document with a new bullet (no marker: the edit path gives it an id, src=edit)."""
    if section not in SECTIONS:
        msg = f"unknown section {section!r}"
        raise InvalidInputError(msg)
    bullet = f"- {one_line(text)}"
    lines = [doc.title, HELP_COMMENT]
    for name in SECTIONS:
        facts = doc.section(name)
        if facts or name == section:
            lines += ["", f"## {name}", *(f.render() for f in facts)]
            if name == section:
                lines.append(bullet)
    return "\n".join(lines) + "\n"


# --- tree ------------------------------------------------------------------------------
@dataclass(frozen=True)
class NodeRow:
    node: Node
    depth: int
    span: str
    children: int


def tree_rows(tree: SummaryTree) -> list[NodeRow]:
    """Nodes root first, each followed by its children (depth-first, oldest child first)."""
    rows: list[NodeRow] = []
    ids = {n.id for n in tree.nodes}

    def visit(node: Node, depth: int) -> None:
        rows.append(NodeRow(node, depth, fmt_span(node.start, node.end), len(node.children)))
        for child in sorted(tree.children(node), key=lambda n: (n.start, n.id)):
            visit(child, depth + 1)

    tops = [n for n in tree.nodes if n.parent is None or n.parent not in ids]
    for top in sorted(tops, key=lambda n: (-n.level, n.start, n.id)):
        visit(top, 0)
    return rows


# --- transcript ------------------------------------------------------------------------
@dataclass(frozen=True)
class TurnRow:
    turn: Turn
    highlighted: bool


def transcript(turns: Sequence[Turn], highlight: int | None) -> list[TurnRow]:
    return [TurnRow(t, t.index == highlight) for t in turns]


# --- recall trace ----------------------------------------------------------------------
@dataclass(frozen=True)
class TraceRow:
    item: TraceItem
    dense: str
    lexical: str
    prior: str
    time: str
    total: str


def _num(value: float) -> str:
    return f"{value:.3f}"


def trace_rows(trace: RecallTrace) -> list[TraceRow]:
    return [TraceRow(i, _num(i.parts.dense), _num(i.parts.lexical), _num(i.parts.prior),
                     _num(i.parts.time), _num(i.parts.total)) for i in trace.items]


def parse_budget(value: str | None, default: int) -> int:
    if value is None or not value.strip():
        return default
    try:
        budget = int(value)
    except ValueError:
        budget = -1
    if budget < 0 or budget > 1_000_000:
        msg = f"the token budget must be a whole number from 0 to 1000000, got {value!r}"
        raise InvalidInputError(msg)
    return budget
