"""The candidate pool's rank fusion (core/pool.py)."""

from __future__ import annotations

from memory_agent.core.pool import Fused, best_first, fuse, next_turn_id, rank_terms, top_ids


def test_rank_terms_and_fusion_follow_reciprocal_rank() -> None:
    dense = [("a", 0.9), ("b", 0.8), ("c", 0.1)]
    lexical = [("c", 7.0), ("d", 3.0)]
    assert rank_terms(dense, 60) == {"a": 1 / 61, "b": 1 / 62, "c": 1 / 63}
    fused = fuse(dense, lexical, 60)
    assert fused["c"] == Fused(1 / 63, 1 / 61)
    assert fused["d"] == Fused(0.0, 1 / 62)
    # c is second by words and third by meaning: it beats a, first by meaning only
    assert [i for i, _ in best_first({k: f.total for k, f in fused.items()})][:2] == ["c", "a"]


def test_top_ids_and_ties_are_stable() -> None:
    scores = {"b": 1.0, "a": 1.0, "c": 2.0}
    assert top_ids(scores, 2) == ["c", "a"]


def test_next_turn_id() -> None:
    assert next_turn_id("day-1#3") == "day-1#4"
    assert next_turn_id("no-index") is None
