"""recall() latency versus history size, tree versus flat search (no language model).

Builds synthetic histories of N sessions (5 turns each, synthetic session summaries, a tree
grown incrementally with the real insertion code) in a fresh embedded Chroma store, then
times ``MemoryManager.recall`` (query embedding with the bundled E5 model included) and a flat
dense search over all turns (one Chroma query) with the same embedder and budget.

Stored vectors come from the hashing embedder (building 50,000 E5 vectors would take longer
than the measurement); query vectors are E5's, so the timing includes the real query cost.

The sizes are built first, then take turns query by query (a machine whose load changes
during the run slows every size alike). Also recorded per size: the first recall of a new
manager (it loads the tree, the session list and the turn index), the recalls without their
query embedding, where the time of a recall goes (``stages_ms``: p50 per stage, timed by
wrapping the functions recall calls; ``token_counting`` is inside ``turn_items`` and
``assembly``), the memory of the turn index, and how often the turn index's top 24 match
Chroma's for the same query vector (``vs_chroma_top24``).

    python -m benchmarks.bench_latency [--sizes 100 1000 10000] [--queries 60] [--note TEXT]
"""

from __future__ import annotations

import argparse
import functools
import json
import os
import random
import statistics
import tempfile
import time
from collections import defaultdict
from collections.abc import Callable
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import numpy as np

from benchmarks.lib.paths import RESULTS
from benchmarks.lib.results import describe, write_json
from benchmarks.lib.stats import percentile
from memory_agent import ChromaStore, E5Embedder, FakeLLM, HashingEmbedder, MemoryManager
from memory_agent.backends.tokens import count_tokens, truncate_to_tokens
from memory_agent.core.embedder import Embedder
from memory_agent.core.retrieval import assemble, turn_item
from memory_agent.core.tree import SummaryTree, TreeConfig, make_node, session_node_id, with_summary
from memory_agent.core.types import Turn
from memory_agent.engine import manager as manager_module
from memory_agent.engine import search as search_module
from memory_agent.engine import tree_index, turn_index
from memory_agent.engine.turn_index import TurnIndex

TOPICS = ["hiking trip", "new job", "sister's wedding", "guitar lessons", "vegetable garden",
          "marathon training", "moving house", "book club", "dog adoption", "cooking class",
          "trip to Japan", "car repair", "birthday party", "doctor visit", "painting course"]
T0 = datetime(2020, 1, 1, tzinfo=timezone.utc)


class HashingWithE5Queries(Embedder):
    """Documents by hashing (fast to build), queries by E5 (the real per-query cost)."""

    dim = 384
    name = "hashing-docs/e5-queries"

    def __init__(self) -> None:
        self.docs = HashingEmbedder(dim=384)
        self.e5 = E5Embedder()

    def embed_documents(self, texts):  # type: ignore[no-untyped-def]
        return self.docs.embed_documents(texts)

    def embed_query(self, text):  # type: ignore[no-untyped-def]
        self.e5.embed_query(text)  # pay for a real query embedding...
        return self.docs.embed_query(text)  # ...but search the space the store was built in


def build(store: ChromaStore, embedder: Embedder, n_sessions: int, rng: random.Random) -> None:
    tree = SummaryTree()
    config = TreeConfig()
    batch_turns, batch_vecs = [], []
    for s in range(n_sessions):
        sid = f"s{s}"
        at = T0 + timedelta(hours=12 * s)
        topic = rng.choice(TOPICS)
        turns = [Turn("bench", sid, i, f"About the {topic}: detail {rng.randint(0, 10**6)} "
                      f"on day {s}, part {i}.", f"Noted the {topic} detail {i}.",
                      at + timedelta(minutes=i)) for i in range(1, 6)]
        batch_turns += turns
        node = make_node(id=session_node_id(sid), user_id="bench", level=1,
                         summary=f"The user talked about the {topic} (session {s}).",
                         children=[t.id for t in turns], start=turns[0].at, end=turns[-1].at,
                         session_id=sid)
        tree.insert_session(node, config)
        for stale in tree.stale_nodes():
            kids = tree.children(stale)
            tree.replace(with_summary(stale, " ".join(k.summary for k in kids[:3])[:500]))
        if len(batch_turns) >= 2000:
            batch_vecs = embedder.embed_documents([t.text() for t in batch_turns])
            store.add_turns(batch_turns, batch_vecs)
            batch_turns = []
    if batch_turns:
        store.add_turns(batch_turns, embedder.embed_documents([t.text() for t in batch_turns]))
    nodes = tree.nodes
    for i in range(0, len(nodes), 2000):
        chunk = nodes[i:i + 2000]
        store.put_nodes(chunk, embedder.embed_documents([n.summary for n in chunk]))
    assert tree.verify() == []


class Stopwatch:
    """Time spent in wrapped functions, per stage, during one recall."""

    def __init__(self) -> None:
        self.spent: dict[str, float] = defaultdict(float)

    def wrap(self, stage: str, fn: Callable[..., Any]) -> Callable[..., Any]:
        @functools.wraps(fn)
        def timed(*args: Any, **kwargs: Any) -> Any:
            t0 = time.perf_counter()
            try:
                return fn(*args, **kwargs)
            finally:
                self.spent[stage] += time.perf_counter() - t0
        return timed

    def patch(self, owner: Any, name: str, stage: str) -> None:
        setattr(owner, name, self.wrap(stage, getattr(owner, name)))

    def timed(self, fn: Callable[[], object]) -> dict[str, float]:
        """Run ``fn``; milliseconds per stage, plus ``total`` and ``other`` (not in a stage)."""
        self.spent.clear()
        t0 = time.perf_counter()
        fn()
        total = time.perf_counter() - t0
        stages = {k: v * 1000 for k, v in self.spent.items()}
        inner = sum(v for k, v in stages.items() if k != "token_counting")  # nested
        return {**stages, "total": total * 1000, "other": max(0.0, total * 1000 - inner)}


class Subject:
    """One history size: its store, a manager on it, and what was measured."""

    def __init__(self, n: int, embedder: Embedder, rng: random.Random,
                 count: Callable[[str], int]) -> None:
        self.n = n
        self.tmp = tempfile.TemporaryDirectory()
        self.store = ChromaStore.persistent(self.tmp.name)
        t0 = time.perf_counter()
        print(f"building {n} sessions ({5 * n} turns)...", flush=True)
        build(self.store, embedder, n, rng)
        self.build_seconds = time.perf_counter() - t0
        self.memory = MemoryManager(user_id="bench", store=self.store, llm=FakeLLM(),
                                    embedder=embedder, background=False, resume=False,
                                    count_tokens=count)
        self.recalls: list[dict[str, float]] = []
        self.flat_ms: list[float] = []
        self.same = self.higher = 0
        self.first_ms = 0.0
        self.check = TurnIndex(self.store, "bench", refresh_seconds=3600)  # vs Chroma

    def close(self) -> None:
        self.memory.close()
        self.store.close()
        self.tmp.cleanup()


def p50_p95(values: list[float]) -> dict[str, float]:
    return {"p50": round(statistics.median(values), 2), "p95": round(percentile(values, 0.95), 2)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--sizes", type=int, nargs="+", default=[100, 1000, 10000])
    parser.add_argument("--queries", type=int, default=60)
    parser.add_argument("--budget", type=int, default=1000)
    parser.add_argument("--out", type=Path, default=RESULTS / "latency.json")
    parser.add_argument("--note", default="", help="conditions of the run, kept in the results")
    args = parser.parse_args()
    rng = random.Random(7)
    embedder = HashingWithE5Queries()
    watch = Stopwatch()  # stages of a recall (see the module docstring)
    watch.patch(embedder, "embed_query", "query_embedding")
    watch.patch(tree_index.TreeIndex, "dense", "node_dense")
    watch.patch(tree_index.TreeIndex, "lexical", "node_bm25")
    watch.patch(turn_index.TurnIndex, "lexical", "turn_bm25")
    watch.patch(turn_index.TurnIndex, "sync", "turn_index_check")
    watch.patch(turn_index.TurnIndex, "search", "turn_search")
    watch.patch(turn_index.TurnIndex, "fetch", "turn_fetch")
    watch.patch(manager_module.MemoryManager, "profile", "profile_read")
    watch.patch(search_module, "turn_item", "turn_items")
    watch.patch(search_module, "assemble", "assembly")
    counted = watch.wrap("token_counting", count_tokens)  # inside turn_items and assembly
    subjects = [Subject(n, embedder, rng, counted) for n in args.sizes]
    load_before = os.getloadavg()
    for sub in subjects:
        t0 = time.perf_counter()
        sub.memory.recall("warm up", token_budget=args.budget)
        sub.first_ms = (time.perf_counter() - t0) * 1000
        sub.check.sync()
    # Sizes take turns query by query, so a change in the machine's load (other jobs) hits
    # every size alike instead of whichever size happens to be measured at the time.
    print(f"timing {args.queries} queries per size, sizes interleaved", flush=True)
    for q in range(args.queries):
        for sub in subjects:
            topic, day = rng.choice(TOPICS), rng.randint(0, sub.n)
            query = f"What happened with the {topic} around day {day}?"
            sub.recalls.append(watch.timed(
                lambda sub=sub, query=query: sub.memory.recall(query, token_budget=args.budget)))
            t2 = time.perf_counter()
            qvec = embedder.embed_query(query)
            hits = sub.store.search_turns("bench", qvec, k=24)
            items = [turn_item(t, s, max_tokens=200, count=sub.memory.count_tokens,
                               truncate=truncate_to_tokens)
                     for t, s in hits]
            assemble(query=query, budget=args.budget, profile=sub.memory.profile(), nodes=[],
                     turns=items, count=sub.memory.count_tokens, profile_share=0.4,
                     node_share=0.25)
            sub.flat_ms.append((time.perf_counter() - t2) * 1000)
            mine = sub.check.search(np.asarray(qvec, dtype=np.float32), k=24)
            gap = np.array([s for _, s in mine]) - np.array([s for _, s in hits])
            sub.same += bool(np.all(np.abs(gap) <= 1e-5))  # equal up to ties
            sub.higher += bool(np.all(gap >= -1e-5) and np.any(gap > 1e-5))  # HNSW missed
        if q % 20 == 19:
            print(f"  {q + 1}/{args.queries}: tree p50 " + ", ".join(
                f"{sub.n}: {statistics.median(r['total'] for r in sub.recalls):.1f} ms"
                for sub in subjects), flush=True)
    results: dict[str, object] = {}
    for sub in subjects:
        tree = sub.memory.tree()
        stages = sorted({k for r in sub.recalls for k in r} - {"total"})
        results[str(sub.n)] = {
            "sessions": sub.n, "turns": 5 * sub.n, "tree_nodes": len(tree),
            "tree_height": tree.height,
            "tree_recall_ms": p50_p95([r["total"] for r in sub.recalls]),
            # the same recalls without their query embedding (E5's time varies most with the
            # load of the machine, and does not depend on the history size)
            "tree_recall_without_embedding_ms": p50_p95(
                [r["total"] - r.get("query_embedding", 0.0) for r in sub.recalls]),
            "flat_dense_ms": p50_p95(sub.flat_ms),
            "first_recall_ms": round(sub.first_ms, 1),
            "stages_ms": {k: round(statistics.median(r.get(k, 0.0) for r in sub.recalls), 2)
                          for k in stages},
            "turn_index_mib": round(sub.check.nbytes / 2**20, 1),
            # top 24 of the turn index vs one Chroma query: share of queries with the same
            # similarity scores (ids may differ among equal scores), and with higher ones
            # (Chroma's approximate HNSW missed closer turns)
            "vs_chroma_top24": {"same_scores": round(sub.same / args.queries, 3),
                                "index_higher": round(sub.higher / args.queries, 3)},
            "build_seconds": round(sub.build_seconds, 1),
        }
        sub.close()
    out = {"what": "recall latency excluding any language model; E5 query embedding included",
           "budget": args.budget, "queries": args.queries, "by_sessions": results,
           "targets": {"p50_at_1000": "<= 20 ms", "p95_at_1000": "<= 50 ms",
                       "growth_1000_to_10000": "<= 1.5x"},
           "conditions": {"note": args.note,
                          "load_average_1_5_15_before": [round(x, 2) for x in load_before],
                          "load_average_1_5_15_after": [round(x, 2) for x in os.getloadavg()]},
           **describe()}
    write_json(args.out, out, indent=2)
    print(json.dumps(results, indent=1))


if __name__ == "__main__":
    main()
