"""The hierarchical summary tree: pure logic (insert, verify, descend). No I/O, no model.

Levels: turns are the leaves (level 0, kept by the store); level 1 nodes summarise one
session; level 2 nodes group consecutive sessions (by calendar period and a fan-out
limit); higher levels group by fan-out only, up to a single root.

Growth is incremental, like the right edge of a B-tree: a new session joins the newest
node of level 2 if it has room (and, with ``period``, is in the same period); otherwise a
new level-2 node opens and joins the newest node above it, and so on. When the top level
gets a second node, a new root is made above both. Ancestors whose children changed are
marked ``stale``: the caller re-summarises them bottom-up (:meth:`SummaryTree.stale_nodes`).
A new node with a single child takes its child's summary and is not stale.

The roll-up rule (:meth:`SummaryTree.upkeep_action`) keeps the cost of a session independent
of the history: only a *closed* node (:meth:`SummaryTree.is_closed`: nothing under it can
change any more) is summarised by the model, once; an *open* node on the right edge gets a
summary derived from its children's without a model (:func:`derived_summary`).
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Literal

from memory_agent.core.render import fmt_day
from memory_agent.core.tokens import Truncator
from memory_agent.core.types import Node

Period = Literal["month", "week", "none"]
UpkeepAction = Literal["merge", "copy", "derive"]
"""How a stale node gets its summary: the model merges its children's (a closed node with
several children), it takes its only child's (``copy``), or it is derived from its
children's without a model (an open node: :func:`derived_summary`)."""

MIN_DERIVED_TOKENS = 12  # of each child's summary in a derived summary, however many children
DATE_TOKENS = 8  # "(Thursday 1 January 2026) " in the default tokenizer
CLIP_MARK = " …"  # ends a child's summary that was cut


@dataclass(frozen=True)
class TreeConfig:
    fanout: int = 8  # most children of a node above the sessions
    period: Period = "month"  # level-2 nodes never span two periods

    def __post_init__(self) -> None:
        if self.fanout < 2:
            msg = "fanout must be at least 2"
            raise ValueError(msg)


def node_hash(
    level: int, summary: str, children: Iterable[str], start: datetime, end: datetime
) -> str:
    """Content hash of a node: its level, summary, children ids and time span."""
    h = hashlib.sha256()
    for part in (str(level), summary, "\x1f".join(children), start.isoformat(), end.isoformat()):
        h.update(part.encode("utf-8"))
        h.update(b"\x1e")
    return h.hexdigest()[:32]


def make_node(
    *,
    id: str,
    user_id: str,
    level: int,
    summary: str,
    children: Iterable[str],
    start: datetime,
    end: datetime,
    parent: str | None = None,
    session_id: str | None = None,
    stale: bool = False,
) -> Node:
    kids = tuple(children)
    return Node(
        id=id, user_id=user_id, level=level, summary=summary, children=kids, start=start,
        end=end, content_hash=node_hash(level, summary, kids, start, end), parent=parent,
        session_id=session_id, stale=stale,
    )


def with_summary(node: Node, summary: str) -> Node:
    """The node re-summarised: new summary and hash, no longer stale."""
    return replace(
        node, summary=summary, stale=False,
        content_hash=node_hash(node.level, summary, node.children, node.start, node.end),
    )


def rehash(node: Node) -> Node:
    """The node with its content hash recomputed (after its children or span changed)."""
    return replace(
        node, content_hash=node_hash(node.level, node.summary, node.children, node.start, node.end)
    )


def derived_summary(children: Sequence[Node], max_tokens: int, truncate: Truncator) -> str:
    """An open node's summary, made without a model: its children's summaries in order,
    each dated and cut to an equal share of ``max_tokens`` (the only child's summary as is);
    ``truncate`` cuts a text to a number of tokens."""
    if len(children) == 1:
        return children[0].summary
    share = max(MIN_DERIVED_TOKENS, max_tokens // len(children) - DATE_TOKENS)
    parts = []
    for child in children:
        text = truncate(child.summary, share)
        mark = CLIP_MARK if text != child.summary else ""
        parts.append(f"({fmt_day(child.start)}) {text.strip()}{mark}")
    whole = " ".join(parts)
    cut = truncate(whole, max_tokens)
    return cut if cut == whole else cut.rstrip() + CLIP_MARK


def session_node_id(session_id: str) -> str:
    return f"S.{session_id}"


def _same_period(a: datetime, b: datetime, period: Period) -> bool:
    if period == "none":
        return True
    if period == "month":
        return (a.year, a.month) == (b.year, b.month)
    return a.isocalendar()[:2] == b.isocalendar()[:2]


@dataclass(frozen=True)
class Scored:
    node: Node
    score: float


@dataclass(frozen=True)
class Descent:
    """The result of a level-wise search: the chosen sessions and every node scored."""

    sessions: list[Scored]
    visited: list[Scored]


class SummaryTree:
    """An in-memory view of one user's tree. Mutating methods return the changed nodes."""

    def __init__(self, nodes: Iterable[Node] = ()) -> None:
        self._nodes: dict[str, Node] = {}
        self._levels: dict[int, list[str]] = {}
        for node in sorted(nodes, key=lambda n: (n.level, _seq(n.id), n.start, n.id)):
            self._put(node)

    # --- reading -------------------------------------------------------------------------
    def __len__(self) -> int:
        return len(self._nodes)

    def __contains__(self, node_id: object) -> bool:
        return node_id in self._nodes

    def get(self, node_id: str) -> Node:
        return self._nodes[node_id]

    @property
    def nodes(self) -> list[Node]:
        return list(self._nodes.values())

    @property
    def height(self) -> int:
        return max(self._levels, default=0)

    @property
    def root(self) -> Node | None:
        top = self._levels.get(self.height, [])
        return self._nodes[top[0]] if len(top) == 1 else None

    def level(self, level: int) -> list[Node]:
        return [self._nodes[i] for i in self._levels.get(level, [])]

    def children(self, node: Node) -> list[Node]:
        if node.level <= 1:
            return []
        return [self._nodes[c] for c in node.children if c in self._nodes]

    def session_node(self, session_id: str) -> Node | None:
        return self._nodes.get(session_node_id(session_id))

    def ancestors(self, node: Node) -> list[Node]:
        out = []
        while node.parent is not None:
            node = self._nodes[node.parent]
            out.append(node)
        return out

    def stale_nodes(self) -> list[Node]:
        """Nodes to re-summarise, children before parents."""
        return sorted((n for n in self._nodes.values() if n.stale), key=lambda n: n.level)

    def is_newest(self, node: Node) -> bool:
        """Whether ``node`` is the newest of its level (on the right edge of the tree)."""
        level = self._levels.get(node.level, [])
        return bool(level) and level[-1] == node.id

    def is_closed(self, node: Node, config: TreeConfig) -> bool:
        """Whether nothing under ``node`` can change any more: a session; a node with a later
        sibling (new sessions never reach it); or a full node whose newest child is closed."""
        while node.level > 1:
            if not self.is_newest(node):
                return True
            if len(node.children) < config.fanout or node.children[-1] not in self._nodes:
                return False
            node = self._nodes[node.children[-1]]
        return True

    def upkeep_action(self, node: Node, config: TreeConfig) -> UpkeepAction:
        """How stale ``node`` gets its summary: the model merges a closed node's children
        (once: it never changes again), one child's summary is copied, and an open node's
        is derived without a model. So a session costs at most one model call per node that
        it closes, whatever the size of the history."""
        if node.level > 1 and len(node.children) > 1:
            return "merge" if self.is_closed(node, config) else "derive"
        return "copy"

    # --- writing -------------------------------------------------------------------------
    def _put(self, node: Node) -> None:
        if node.id not in self._nodes:
            self._levels.setdefault(node.level, []).append(node.id)
        self._nodes[node.id] = node

    def upsert(self, node: Node) -> None:
        """Add a node or store a new version of it."""
        self._put(node)

    def replace(self, node: Node) -> None:
        """Store a new version of an existing node (e.g. re-summarised)."""
        if node.id not in self._nodes:
            msg = f"no node {node.id!r}"
            raise KeyError(msg)
        self._nodes[node.id] = node

    def _new_id(self, level: int) -> str:
        return f"L{level}.{len(self._levels.get(level, [])) + 1}"

    def insert_session(self, session: Node, config: TreeConfig) -> list[Node]:
        """Insert (or re-summarise) a level-1 session node; return every node that changed."""
        if session.level != 1 or not session.session_id:
            msg = "insert_session takes a level-1 node with a session_id"
            raise ValueError(msg)
        changed: dict[str, Node] = {}
        existing = self._nodes.get(session.id)
        if existing is not None:  # re-summary of a session already in the tree
            updated = replace(session, parent=existing.parent)
            self._put(updated)
            changed[updated.id] = updated
            self._mark_ancestors_stale(updated, changed)
            return list(changed.values())
        was_open = {n.id for n in self._right_edge() if not self.is_closed(n, config)}
        self._attach(session, config, changed, was_open)
        return list(changed.values())

    def _right_edge(self) -> list[Node]:
        return [self._nodes[ids[-1]] for level, ids in self._levels.items() if level > 1 and ids]

    def _attach(self, child: Node, config: TreeConfig, changed: dict[str, Node],
                was_open: set[str]) -> None:
        level = child.level + 1
        siblings = self._levels.get(level, [])
        newest = self._nodes[siblings[-1]] if siblings else None
        fits = (
            newest is not None
            and len(newest.children) < config.fanout
            and (level > 2 or _same_period(newest.start, child.start, config.period))
        )
        if newest is not None and fits:
            self._adopt(newest, child, changed)
            return
        if newest is not None and newest.id in was_open:
            # a later sibling opens: ``newest`` closes, and its derived summary gets a roll-up
            newest = replace(newest, stale=newest.stale or len(newest.children) > 1)
            self._put(newest)
            changed[newest.id] = newest
        # open a new node at this level, holding just the child
        parent = make_node(
            id=self._new_id(level), user_id=child.user_id, level=level, summary=child.summary,
            children=[child.id], start=child.start, end=child.end,
        )
        self._put(parent)
        child = replace(child, parent=parent.id)
        self._put(child)
        changed[child.id] = child
        changed[parent.id] = parent
        if newest is None:
            return  # the first node at this level: it is the root
        if level == self.height and len(self._levels[level]) == 2:
            # the top level now has two nodes: grow a new root above them
            first = self._nodes[siblings[0]]
            root = make_node(
                id=self._new_id(level + 1), user_id=child.user_id, level=level + 1,
                summary=first.summary, children=[first.id, parent.id],
                start=min(first.start, parent.start), end=max(first.end, parent.end), stale=True,
            )
            self._put(root)
            for node in (first, parent):
                moved = replace(node, parent=root.id)
                self._put(moved)
                changed[moved.id] = moved
            changed[root.id] = root
            return
        self._attach(self._nodes[parent.id], config, changed, was_open)

    def _adopt(self, parent: Node, child: Node, changed: dict[str, Node]) -> None:
        child = replace(child, parent=parent.id)
        self._put(child)
        changed[child.id] = child
        grown = rehash(replace(
            parent, children=(*parent.children, child.id), start=min(parent.start, child.start),
            end=max(parent.end, child.end), stale=True,
        ))
        self._put(grown)
        changed[grown.id] = grown
        self._mark_ancestors_stale(grown, changed)

    def _mark_ancestors_stale(self, node: Node, changed: dict[str, Node]) -> None:
        while node.parent is not None:
            parent = self._nodes[node.parent]
            parent = rehash(replace(
                parent, stale=True, start=min(parent.start, node.start),
                end=max(parent.end, node.end),
            ))
            self._put(parent)
            changed[parent.id] = parent
            node = parent

    # --- checking ------------------------------------------------------------------------
    def verify(self) -> list[str]:
        """Problems found (empty if the tree is sound): hashes, links, levels, one root."""
        problems = []
        for node in self._nodes.values():
            expected = node_hash(node.level, node.summary, node.children, node.start, node.end)
            if node.content_hash != expected:
                problems.append(f"{node.id}: content hash mismatch")
            if node.parent is not None:
                parent = self._nodes.get(node.parent)
                if parent is None:
                    problems.append(f"{node.id}: parent {node.parent} missing")
                elif node.id not in parent.children or parent.level != node.level + 1:
                    problems.append(f"{node.id}: parent {node.parent} does not list it")
            elif node.level != self.height:
                problems.append(f"{node.id}: no parent below the top level")
            if node.level > 1:
                for child_id in node.children:
                    child = self._nodes.get(child_id)
                    if child is None or child.parent != node.id:
                        problems.append(f"{node.id}: child {child_id} missing or not linked")
        if self._nodes and self.root is None:
            problems.append(f"top level {self.height} has {len(self._levels[self.height])} nodes")
        return problems

    # --- searching -----------------------------------------------------------------------
    def descend(
        self, score: Callable[[Node], float], *, beam: int = 3, session_beam: int = 4
    ) -> Descent:
        """Level-wise search: from the root keep the ``beam`` best children per level,
        and the ``session_beam`` best sessions at level 1. Cost ~ beam x fanout x height.
        """
        root = self.root
        if root is None:
            return Descent([], [])
        if root.level == 1:
            scored_root = Scored(root, score(root))
            return Descent([scored_root], [scored_root])
        frontier = [root]
        visited: list[Scored] = []
        while frontier and frontier[0].level > 1:
            candidates = [c for n in frontier for c in self.children(n)]
            scored = sorted(
                (Scored(c, score(c)) for c in candidates), key=lambda s: s.score, reverse=True
            )
            visited += scored
            keep = session_beam if candidates and candidates[0].level == 1 else beam
            frontier = [s.node for s in scored[:keep]]
            if candidates and candidates[0].level == 1:
                return Descent(scored[:keep], visited)
        return Descent([], visited)


def _seq(node_id: str) -> int:
    tail = node_id.rsplit(".", 1)[-1]
    return int(tail) if tail.isdigit() else 0
