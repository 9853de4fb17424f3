"""Assembling a MemoryContext within a token budget (pure: scores and texts in, context out)."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import replace

from memory_agent.core.context import MemoryContext, MemoryItem, render_context
from memory_agent.core.profile import SECTIONS, STANDING, Fact, ProfileDocument, as_datetime
from memory_agent.core.text import overlap, sentences
from memory_agent.core.timeref import annotation
from memory_agent.core.tokens import TokenCounter, Truncator
from memory_agent.core.types import Node, Turn

# what the user said is about them; the assistant's reply is not (a reader must not take a
# suggestion it once made, "A tomato pasta bar could be fun", for a fact or an answer)
USER_SAID = "The user said:"
ASSISTANT_SAID = "| The assistant replied (not a fact about the user):"
CUT = "…"  # marks sentences left out of a long message
# tokens an item's header line adds to its text (date, provenance) in the rendered context
NODE_OVERHEAD = 12
TURN_OVERHEAD = 14


def turn_item(
    turn: Turn, score: float, *, max_tokens: int, count: TokenCounter, truncate: Truncator,
    query: str = "",
) -> MemoryItem:
    """A turn as a MemoryItem. A turn longer than ``max_tokens`` (by ``count``) is cut: to
    the sentences that best match ``query`` when one is given (:func:`focus`), else to its
    first ``max_tokens`` (by ``truncate``); "…" marks what was left out."""
    user, assistant = turn.user_message, turn.assistant_message
    text = f"{USER_SAID} {user} {ASSISTANT_SAID} {assistant}"
    if count(text) > max_tokens:
        if query:
            frame = count(f"{USER_SAID} {ASSISTANT_SAID}")
            room = max(1, max_tokens - frame)
            # each message keeps its share of the room, the user's message the larger one
            share = max(room - min(count(assistant), room // 3), room // 2)
            user = focus(user, query, share, count)
            assistant = focus(assistant, query, max(1, room - count(user)), count)
            text = f"{USER_SAID} {user} {ASSISTANT_SAID} {assistant}"
        else:
            text = truncate(text, max_tokens) + " …"
    when = annotation(f"{turn.user_message} {turn.assistant_message}", turn.at)
    if when:  # "yesterday" said on 8 May 2023 is 7 May 2023: shown after the verbatim text
        text = f"{text} {when}"
    return MemoryItem(
        kind="turn", id=turn.id, text=text, start=turn.at, end=turn.at,
        provenance=f"{turn.session_id} turn {turn.index}", score=score,
    )


def focus(text: str, query: str, max_tokens: int, count: TokenCounter) -> str:
    """``text`` cut to at most ``max_tokens``: its sentences that share most words with
    ``query`` (then the earliest), in their order, with "…" where sentences were left out.
    A text within the limit is returned unchanged."""
    if count(text) <= max_tokens:
        return text
    parts = [p.strip() for p in sentences(text) if p.strip()]
    ranked = sorted(range(len(parts)), key=lambda i: (-overlap(query, parts[i]), i))
    keep: set[int] = set()
    used = 0
    for i in ranked:
        cost = count(parts[i]) + 1
        if used + cost <= max_tokens:
            keep.add(i)
            used += cost
    out: list[str] = []
    last = -1
    for i in sorted(keep):
        if i != last + 1:
            out.append(CUT)
        out.append(parts[i])
        last = i
    if last != len(parts) - 1:
        out.append(CUT)
    return " ".join(out) if keep else CUT


def node_item(node: Node, score: float) -> MemoryItem:
    if node.level == 1:
        where = f"session {node.session_id}"
    else:
        unit = "session" if node.level == 2 else "period"
        n = len(node.children)
        where = f"{n} {unit}{'' if n == 1 else 's'} ({node.id})"
    return MemoryItem(
        kind="node", id=node.id, text=node.summary, start=node.start, end=node.end,
        provenance=where, score=score,
    )


def fact_item(fact: Fact) -> MemoryItem:
    """A profile fact as a MemoryItem: id, text, date learned and source turns."""
    learned = as_datetime(fact.learned)
    return MemoryItem(kind="profile", id=fact.id, text=fact.text, start=learned, end=learned,
                      provenance=f"{fact.section}; from {', '.join(fact.sources)}")


def fact_line(fact: Fact) -> str:
    inferred = f" (inferred: {fact.evidence})" if fact.inferred and fact.evidence else (
        " (inferred)" if fact.inferred else ""
    )
    src = ",".join(fact.sources[:3])
    return f"- {fact.text}{inferred} [{fact.id}; {src}; {fact.learned.isoformat()}]"


def render_profile_facts(facts: Sequence[Fact]) -> str:
    lines: list[str] = []
    for name in SECTIONS:
        if name == STANDING:
            continue
        items = [f for f in facts if f.section == name]
        if items:
            lines.append(f"{name}:")
            lines += [fact_line(f) for f in items]
    return "\n".join(lines)


def assemble(
    *,
    query: str,
    budget: int,
    profile: ProfileDocument,
    nodes: Sequence[MemoryItem],
    turns: Sequence[MemoryItem],
    count: TokenCounter,
    profile_share: float,
    node_share: float,
    fact_scores: Mapping[str, float] | None = None,
    cuts: dict[str, str] | None = None,
    matched: bool = True,
) -> MemoryContext:
    """Fill ``budget`` tokens: standing instructions, then profile facts (most relevant
    first, up to ``profile_share`` but always room for the most relevant one), then nodes
    and turns from one pool by score (nodes up to ``node_share``).
    The rendered context (``to_prompt()``) never exceeds ``budget``.

    A fact's relevance is ``fact_scores[fact.id]`` when given (the search scores facts by
    meaning), else its word overlap with the query; ties go to the more confirmed, then the
    more recent fact.

    ``matched=False`` (no candidate shares a word with the query) makes the context say that
    nothing stored matches (``NOTHING_MATCHED``), within the budget like the rest.

    ``cuts``, when given, receives why each candidate left out was cut (``"kind:id"`` ->
    reason) for a recall trace; the context is the same either way.
    """
    def cut(kind: str, item_id: str, reason: str) -> None:
        if cuts is not None:
            cuts[f"{kind}:{item_id}"] = reason

    ctx = MemoryContext(query=query, token_budget=budget, profile="", matched=matched)
    standing = [f for f in profile.facts if f.section == STANDING]
    for fact in standing:
        ctx.standing_instructions.append(fact.text)
        if count(render_context(ctx)) > budget:
            ctx.standing_instructions.pop()
            for left in standing[standing.index(fact):]:
                cut("standing", left.id, "over the budget")
            break
    # profile facts: all if they fit the share, else the most relevant ones
    others = [f for f in profile.facts if f.section != STANDING]

    def relevance(fact: Fact) -> float:
        if fact_scores is not None and fact.id in fact_scores:
            return fact_scores[fact.id]
        return overlap(query, fact.text)

    ranked = sorted(others, key=lambda f: (relevance(f), f.confidence, f.learned), reverse=True)
    def profile_cost(facts: Sequence[Fact]) -> int:
        return count(render_profile_facts(facts)) + 4  # + the "## Profile" heading, newlines

    # the share never shuts out the most relevant fact: at a small budget it is worth more
    # than any turn (a shorter, less relevant fact would take its place otherwise)
    profile_cap = max(int(budget * profile_share), profile_cost(ranked[:1]) if ranked else 0)
    chosen: list[Fact] = []
    base = count(render_context(ctx))
    for fact in ranked:
        cost = profile_cost([*chosen, fact])
        if cost > profile_cap or base + cost > budget:
            cut("profile", fact.id, f"over the profile share ({profile_cap} tokens)"
                if cost > profile_cap else "over the budget")
            continue
        chosen.append(fact)
    order = {f.id: i for i, f in enumerate(profile.facts)}
    chosen.sort(key=lambda f: order[f.id])
    ctx.profile = render_profile_facts(chosen)
    ctx.profile_items = [fact_item(f) for f in chosen]
    # one pool: nodes and turns together, best first, nodes capped at their share
    used = count(render_context(ctx))
    node_cap = int(budget * node_share)
    node_used = 0
    pool = sorted([*nodes, *turns], key=lambda i: i.score, reverse=True)
    for item in pool:
        cost = count(item.text) + (NODE_OVERHEAD if item.kind == "node" else TURN_OVERHEAD)
        if item.kind == "node" and node_used + cost > node_cap:
            cut("node", item.id, f"over the summary share ({node_cap} tokens)")
            continue
        if used + cost > budget:
            cut(item.kind, item.id, "over the budget")
            continue
        (ctx.nodes if item.kind == "node" else ctx.turns).append(replace(item, tokens=cost))
        node_used += cost if item.kind == "node" else 0
        used += cost
    # chronological order reads best; then enforce the budget exactly
    ctx.nodes.sort(key=lambda i: (i.start or 0, i.id))
    ctx.turns.sort(key=lambda i: (i.start or 0, i.id))
    return _enforce(ctx, budget, count, chosen, cut, standing)


def _enforce(
    ctx: MemoryContext, budget: int, count: TokenCounter, profile_facts: Sequence[Fact],
    cut: Callable[[str, str, str], None], standing: Sequence[Fact],
) -> MemoryContext:
    trimmed = "removed to keep the rendered context within the budget"
    total = count(render_context(ctx))
    while total > budget:
        pools = [p for p in (ctx.turns, ctx.nodes) if p]
        if pools:
            pool = min(pools, key=lambda p: min(i.score for i in p))
            lowest = min(pool, key=lambda i: i.score)
            pool.remove(lowest)
            cut(lowest.kind, lowest.id, trimmed)
        elif ctx.profile_items:
            cut("profile", ctx.profile_items.pop().id, trimmed)
            facts = [f for f in profile_facts if f.id in {i.id for i in ctx.profile_items}]
            ctx.profile = render_profile_facts(facts)
        elif ctx.standing_instructions:
            ctx.standing_instructions.pop()
            cut("standing", standing[len(ctx.standing_instructions)].id, trimmed)
        else:
            break
        total = count(render_context(ctx))
    ctx.tokens_used = total
    return ctx

