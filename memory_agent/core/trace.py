"""Why recall chose what it chose: score parts per candidate and tokens per context part (pure).

``MemoryManager.recall_trace`` returns a :class:`RecallTrace`; the inspector's recall
playground shows it. Building a trace never changes what recall returns.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field

from memory_agent.core.context import MemoryContext, MemoryItem

PARTS = ("framing", "standing instructions", "profile", "summaries", "turns")


@dataclass(frozen=True)
class ScoreParts:
    """The terms a candidate's score is the sum of.

    Turns and nodes (core/pool.py): ``dense`` and ``lexical`` are ``1/(rrf_k + rank)`` by
    meaning and by BM25 (nodes: times ``node_weight``); ``prior`` is ``session_weight`` x the
    session node's fused score (plus ``neighbour_weight`` x the turn before's); ``time`` is
    ``time_weight`` if the item lies in the month or year the question names. Profile facts:
    cosine similarity and ``lexical_weight`` x word overlap (unweighted when facts rank by
    words)."""

    dense: float = 0.0
    lexical: float = 0.0
    prior: float = 0.0
    time: float = 0.0

    @property
    def total(self) -> float:
        return self.dense + self.lexical + self.prior + self.time


@dataclass(frozen=True)
class TraceItem:
    """One candidate of a recall: its score parts and whether it made it into the context."""

    kind: str  # "standing", "profile", "node" or "turn"
    id: str
    text: str
    provenance: str
    parts: ScoreParts
    chosen: bool
    cut: str = ""  # why the budget left it out ("" if chosen)
    tokens: int = 0  # what it cost in the context (chosen nodes and turns)


@dataclass
class RecallTrace:
    """A recall's context (exactly what ``recall`` returns) with the reasons behind it."""

    context: MemoryContext
    items: list[TraceItem] = field(default_factory=list)
    part_tokens: dict[str, int] = field(default_factory=dict)  # PARTS -> tokens

    @property
    def prompt(self) -> str:
        return self.context.to_prompt()


def cut_key(kind: str, item_id: str) -> str:
    return f"{kind}:{item_id}"


def part_tokens(ctx: MemoryContext, count: Callable[[str], int]) -> dict[str, int]:
    """Tokens of each rendered part of the context; ``framing`` is the rest (tags, preamble)."""
    from memory_agent.core.context import context_sections

    total = count(ctx.to_prompt())
    sections = context_sections(ctx)
    tokens = {name: count("\n".join(sections[name])) if sections.get(name) else 0
              for name in PARTS[1:]}
    tokens["framing"] = total - sum(tokens.values()) if total else 0
    return {name: tokens[name] for name in PARTS}


def build_trace(
    ctx: MemoryContext,
    *,
    candidates: Sequence[tuple[MemoryItem, ScoreParts]],
    standing: Sequence[tuple[str, str]],
    cuts: Mapping[str, str],
    count: Callable[[str], int],
) -> RecallTrace:
    """The trace of ``ctx``: every candidate (``standing``: fact id and text) in score order
    within its kind, chosen or with the reason it was cut."""
    chosen = {cut_key("profile", i.id) for i in ctx.profile_items}
    tokens: dict[str, int] = {}
    for item in ctx.items:
        chosen.add(cut_key(item.kind, item.id))
        tokens[cut_key(item.kind, item.id)] = item.tokens
    kept = set(ctx.standing_instructions)
    items = [TraceItem("standing", fid, text, "standing instruction", ScoreParts(),
                       chosen=text in kept, cut=cuts.get(cut_key("standing", fid), ""))
             for fid, text in standing]
    order = {"profile": 0, "node": 1, "turn": 2}
    ranked = sorted(candidates, key=lambda c: (order.get(c[0].kind, 3), -c[1].total))
    for item, parts in ranked:
        key = cut_key(item.kind, item.id)
        items.append(TraceItem(item.kind, item.id, item.text, item.provenance, parts,
                               chosen=key in chosen, cut="" if key in chosen else
                               cuts.get(key, "not chosen"), tokens=tokens.get(key, 0)))
    return RecallTrace(context=ctx, items=items, part_tokens=part_tokens(ctx, count))
