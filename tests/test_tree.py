"""Summary tree: incremental insertion, roll-up marking, verification, level-wise search."""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime, timedelta, timezone

import numpy as np
import pytest

from memory_agent.core.tree import (
    SummaryTree,
    TreeConfig,
    derived_summary,
    make_node,
    session_node_id,
    with_summary,
)
from memory_agent.engine.tree_index import TreeIndex

T0 = datetime(2026, 1, 1, tzinfo=timezone.utc)


def session(i: int, day: int | None = None, text: str | None = None):
    at = T0 + timedelta(days=day if day is not None else i)
    sid = f"s{i}"
    return make_node(id=session_node_id(sid), user_id="u", level=1, summary=text or f"summary {i}",
                     children=[f"{sid}#1", f"{sid}#2"], start=at, end=at + timedelta(hours=1),
                     session_id=sid)


def build(n: int, config: TreeConfig, *, resummarize: bool = True) -> SummaryTree:
    tree = SummaryTree()
    for i in range(n):
        tree.insert_session(session(i), config)
        if resummarize:
            for node in tree.stale_nodes():
                tree.replace(with_summary(node, f"rollup of {len(node.children)}"))
    return tree


def test_first_session_makes_a_root_without_model_call():
    tree = SummaryTree()
    changed = tree.insert_session(session(0), TreeConfig(fanout=4, period="none"))
    assert {n.level for n in changed} == {1, 2}
    root = tree.root
    assert root is not None and root.level == 2 and root.summary == "summary 0"
    assert not tree.stale_nodes()  # a single child's summary is reused, nothing to roll up
    assert tree.verify() == []


@pytest.mark.parametrize("n", [1, 2, 4, 5, 16, 17, 64, 65, 300])
def test_growth_keeps_one_root_and_log_height(n: int):
    tree = build(n, TreeConfig(fanout=4, period="none"))
    assert tree.verify() == []
    assert tree.root is not None
    assert len(tree.level(1)) == n
    import math
    expected_height = 1 + max(1, math.ceil(math.log(n, 4))) if n > 1 else 2
    assert tree.height <= expected_height + 1
    for node in tree.nodes:
        if node.level >= 2:
            assert 1 <= len(node.children) <= 4


def test_insertion_marks_only_the_right_edge_stale():
    config = TreeConfig(fanout=4, period="none")
    tree = build(20, config)
    changed = tree.insert_session(session(20), config)
    stale = tree.stale_nodes()
    assert all(n.stale for n in stale)
    # the new session's ancestors, and nothing else
    new = tree.session_node("s20")
    assert new is not None
    ancestors = {a.id for a in tree.ancestors(new)}
    assert {n.id for n in stale} <= ancestors | {n.id for n in changed}
    assert len(changed) <= tree.height + 2  # incremental: O(height) nodes touched


def test_month_period_splits_level_two():
    config = TreeConfig(fanout=8, period="month")
    tree = SummaryTree()
    for i, day in enumerate([0, 5, 10, 40, 45]):  # Jan x3, Feb x2
        tree.insert_session(session(i, day), config)
    level2 = tree.level(2)
    assert [len(n.children) for n in level2] == [3, 2]
    assert tree.verify() == []


def test_verify_detects_tampering():
    config = TreeConfig(fanout=3, period="none")
    tree = build(7, config)
    node = tree.level(1)[2]
    tree.replace(replace(node, summary="tampered"))
    problems = tree.verify()
    assert any("content hash mismatch" in p for p in problems)
    tree2 = build(7, config)
    victim = tree2.level(2)[0]
    tree2.replace(replace(victim, children=victim.children[:-1], content_hash="x"))
    assert any("not linked" in p or "does not list" in p for p in tree2.verify())


def test_reload_from_nodes_rebuilds_same_structure_and_continues():
    config = TreeConfig(fanout=3, period="none")
    tree = build(10, config)
    reloaded = SummaryTree(tree.nodes)
    assert reloaded.verify() == []
    tree.insert_session(session(10), config)
    reloaded.insert_session(session(10), config)
    assert {n.id: (n.parent, n.children) for n in tree.nodes} == {
        n.id: (n.parent, n.children) for n in reloaded.nodes}


def test_reinsert_same_session_updates_without_duplicating():
    config = TreeConfig(fanout=3, period="none")
    tree = build(5, config)
    n_before = len(tree)
    tree.insert_session(session(2, text="new words"), config)
    assert len(tree) == n_before
    assert tree.session_node("s2").summary == "new words"  # type: ignore[union-attr]
    assert tree.verify() == []


def test_descend_follows_best_branches_to_sessions():
    config = TreeConfig(fanout=3, period="none")
    tree = SummaryTree()
    for i in range(27):
        tree.insert_session(session(i, text=f"topic {i // 9} item {i}"), config)
        for node in tree.stale_nodes():
            kids = tree.children(node)
            topics = sorted({k.summary.split(' item')[0] for k in kids})
            tree.replace(with_summary(node, " ".join(topics)))
    target = "topic 2"
    calls = []

    def score(node):
        calls.append(node.id)
        only_target = ("topic 0" not in node.summary and "topic 1" not in node.summary)
        return 1.0 if target in node.summary and only_target else (
            0.5 if target in node.summary else 0.0)

    descent = tree.descend(score, beam=1, session_beam=3)
    assert descent.sessions
    assert all("topic 2" in s.node.summary for s in descent.sessions)
    assert len(calls) < len(tree) / 2  # it did not score every node


def test_fanout_validation():
    with pytest.raises(ValueError):
        TreeConfig(fanout=1)


def test_tree_index_knows_the_summarized_sessions():
    tree = build(9, TreeConfig(fanout=3, period="none"))
    index = TreeIndex(SummaryTree(tree.nodes), {})
    asked = [f"s{i}" for i in range(12)]
    assert sorted(index.summarized) == sorted(s for s in asked if tree.session_node(s))
    changed = SummaryTree(index.tree.nodes)
    added = changed.insert_session(session(10), TreeConfig(fanout=3, period="none"))
    index.apply(added, [[0.0]] * len(added))
    assert "s10" in index.summarized and "s9" not in index.summarized
    assert len(index.summarized) == 10


def test_tree_index_ranks_only_the_best_nodes_per_channel():
    tree = build(30, TreeConfig(fanout=4, period="none"))
    tree.replace(with_summary(tree.get(session_node_id("s7")), "a kayak trip on the lake"))
    tree.replace(with_summary(tree.get(session_node_id("s9")), "the lake house"))
    rng = np.random.default_rng(0)
    vectors = {n.id: rng.normal(size=8).astype(np.float32) for n in tree.nodes}
    index = TreeIndex(SummaryTree(tree.nodes), vectors)
    q = rng.normal(size=8).astype(np.float32)
    q /= np.linalg.norm(q)
    full = sorted(((nid, float(v @ q / np.linalg.norm(v))) for nid, v in vectors.items()),
                  key=lambda kv: (-kv[1], kv[0]))
    top = index.dense(q, 5)
    assert [i for i, _ in top] == [i for i, _ in full[:5]]
    assert np.allclose([s for _, s in top], [s for _, s in full[:5]], atol=1e-5)
    assert len(index.dense(q, 10_000)) == len(full) and index.dense(q, 0) == []
    words = index.lexical("kayak on a lake", 5)
    assert [i for i, _ in words] == [session_node_id("s7"), session_node_id("s9")]
    assert index.lexical("kayak", 0) == []


# --- the roll-up rule: only closed nodes cost a model call ------------------------------------

def word_truncate(text: str, max_tokens: int) -> str:
    """A stand-in tokenizer: one word is one token."""
    return " ".join(text.split()[:max_tokens])


def upkeep(tree: SummaryTree, config: TreeConfig) -> list[str]:
    """Do what engine/rollup.py does with the rule; return the ids the model merged."""
    merged = []
    for node in tree.stale_nodes():
        current = tree.get(node.id)
        kids = tree.children(current)
        action = tree.upkeep_action(current, config)
        if action == "merge":
            merged.append(current.id)
            text = f"merge of {len(kids)}"
        elif action == "derive":
            text = derived_summary(kids, 40, word_truncate)
        else:
            text = kids[0].summary
        tree.replace(with_summary(current, text))
    return merged


@pytest.mark.parametrize(("fanout", "period"), [(2, "none"), (4, "none"), (8, "none"),
                                                 (8, "month"), (3, "week")])
def test_each_node_is_merged_once_and_cost_does_not_grow(fanout: int, period: str):
    config = TreeConfig(fanout=fanout, period=period)  # type: ignore[arg-type]
    tree = SummaryTree()
    per_session: list[int] = []
    merged_ever: list[str] = []
    for i in range(200):
        tree.insert_session(session(i, day=i * 9), config)
        merged = upkeep(tree, config)
        per_session.append(len(merged))
        merged_ever += merged
        assert not tree.stale_nodes() and tree.verify() == []
    assert len(merged_ever) == len(set(merged_ever))  # no node is merged twice
    # amortised: the merges are the closed nodes with several children, fewer than sessions
    assert sum(per_session) / len(per_session) <= 1 / (fanout - 1) + 0.3
    assert max(per_session) <= tree.height  # at most one per level in any session
    closed = [n for n in tree.nodes if n.level > 1 and tree.is_closed(n, config)]
    assert {n.id for n in closed if len(n.children) > 1} == set(merged_ever)


def test_open_nodes_are_derived_from_their_children_without_a_model():
    config = TreeConfig(fanout=4, period="none")
    tree = SummaryTree()
    for i in range(3):
        tree.insert_session(session(i, text=f"talk about topic{i} and more"), config)
        assert upkeep(tree, config) == []  # the one level-2 node is open: no model call
    root = tree.root
    assert root is not None and not tree.is_closed(root, config)
    assert root.summary == ("(Thursday 1 January 2026) talk about topic0 and more "
                            "(Friday 2 January 2026) talk about topic1 and more "
                            "(Saturday 3 January 2026) talk about topic2 and more")


def test_a_full_node_closes_with_its_last_child_and_a_new_period_closes_the_old():
    config = TreeConfig(fanout=3, period="month")
    tree = SummaryTree()
    for i in range(3):  # January, three sessions: the level-2 node is full, so closed
        tree.insert_session(session(i, day=i), config)
    assert upkeep(tree, config) == ["L2.1"]
    tree.insert_session(session(3, day=40), config)  # February opens L2.2 and a root
    assert upkeep(tree, config) == []  # L2.1 was merged already; the root is open
    tree.insert_session(session(4, day=41), config)
    assert upkeep(tree, config) == []  # L2.2 (2 sessions) and the root are open: derived
    tree.insert_session(session(5, day=70), config)  # March: February's node closes
    assert upkeep(tree, config) == ["L2.2"]
    assert [tree.is_closed(n, config) for n in tree.level(2)] == [True, True, False]


def test_a_closed_node_stays_stale_until_merged_even_after_a_reload():
    """Crash safety: the stale flag is stored with the node, and the rule is structural, so a
    tree loaded again from its nodes redoes an interrupted roll-up the same way."""
    config = TreeConfig(fanout=2, period="none")
    tree = SummaryTree()
    tree.insert_session(session(0), config)
    tree.insert_session(session(1), config)  # L2.1 full of sessions: closed, stale
    reloaded = SummaryTree(tree.nodes)
    assert [n.id for n in reloaded.stale_nodes()] == ["L2.1"]
    assert upkeep(reloaded, config) == ["L2.1"]


def test_resummarised_session_merges_its_closed_ancestors_again():
    config = TreeConfig(fanout=2, period="none")
    tree = SummaryTree()
    for i in range(4):
        tree.insert_session(session(i), config)
        upkeep(tree, config)
    tree.insert_session(session(0, text="forgotten fact removed"), config)
    assert upkeep(tree, config) == ["L2.1", "L3.1"]


def test_derived_summary_shares_the_budget_and_marks_cuts():
    kids = [session(i, text=" ".join(f"w{i}x{j}" for j in range(30))) for i in range(3)]
    text = derived_summary(kids, 60, word_truncate)
    assert text.count(" January 2026) ") == 3 and text.count(" …") == 3
    assert len(text.split()) <= 60 + 1
    assert derived_summary(kids[:1], 5, word_truncate) == kids[0].summary  # one child: as is
