"""The roll-up step: give every stale node of the tree its summary again, children first.

Which way is the tree's rule (:meth:`~memory_agent.core.tree.SummaryTree.upkeep_action`):
only a closed node is merged by the model (once); an open node on the right edge gets a
summary derived from its children's, and a node with one child takes that child's.
"""

from __future__ import annotations

from memory_agent.core.render import fmt_day
from memory_agent.core.tree import TreeConfig, derived_summary, with_summary
from memory_agent.core.types import Node
from memory_agent.engine.summaries import merge_summaries
from memory_agent.engine.tree_index import TreeIndex
from memory_agent.engine.upkeep import Backends, store_nodes


def rollup(backends: Backends, index: TreeIndex, user_id: str) -> list[Node]:
    """Re-summarise every stale node, children before parents; store each as it is done."""
    config = TreeConfig(backends.config.fanout, backends.config.period)
    done: list[Node] = []
    for node in index.snapshot().stale_nodes():
        tree = index.tree
        current = tree.get(node.id)
        if not current.stale:
            continue
        kids = tree.children(current)
        action = tree.upkeep_action(current, config) if kids else "copy"
        if action == "merge":
            backends.notify(f"rolling up {current.id} (level {current.level}, "
                            f"{len(kids)} children)")
            dated = [f"({fmt_day(k.start)}) {k.summary}" for k in kids]
            summary = merge_summaries(backends, dated, current.start, current.end)
        elif action == "derive":
            summary = derived_summary(kids, backends.config.summary_max_tokens,
                                      backends.truncate_tokens)
        else:
            summary = kids[0].summary if kids else current.summary
        fresh = with_summary(current, summary)
        store_nodes(backends, index, [fresh])
        done.append(fresh)
    return done
