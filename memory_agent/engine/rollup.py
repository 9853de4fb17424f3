"""The roll-up step: re-summarise every stale node of the tree from its children."""

from __future__ import annotations

from memory_agent.core.tree import with_summary
from memory_agent.core.types import Node
from memory_agent.engine.summaries import merge_summaries
from memory_agent.engine.tree_index import TreeIndex
from memory_agent.engine.upkeep import Backends, store_nodes


def rollup(backends: Backends, index: TreeIndex, user_id: str) -> list[Node]:
    """Re-summarise every stale node, children before parents; store each as it is done."""
    done: list[Node] = []
    for node in index.snapshot().stale_nodes():
        tree = index.tree
        current = tree.get(node.id)
        if not current.stale:
            continue
        kids = tree.children(current)
        backends.notify(f"rolling up {current.id} (level {current.level}, {len(kids)} children)")
        dated = [f"({k.start.strftime('%Y-%m-%d')}) {k.summary}" for k in kids]
        fresh = with_summary(current, merge_summaries(backends, dated, current.start, current.end))
        store_nodes(backends, index, [fresh])
        done.append(fresh)
    return done
