"""recall() latency versus history size, tree versus flat search (no language model).

Builds synthetic histories of N sessions (5 turns each, synthetic session summaries, a tree
grown incrementally with the real insertion code) in a fresh embedded Chroma store, then
times ``MemoryManager.recall`` (query embedding with the bundled E5 model included) and a flat
dense search over all turns with the same embedder and budget.

Stored vectors come from the hashing embedder (building 50,000 E5 vectors would take longer
than the measurement); query vectors are E5's, so the timing includes the real query cost.

    python benchmarks/bench_latency.py [--sizes 100 1000 10000] [--queries 60]
"""

from __future__ import annotations

import argparse
import json
import random
import statistics
import sys
import tempfile
import time
from datetime import datetime, timedelta, timezone
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from machine import describe

from memory_agent import ChromaStore, E5Embedder, FakeLLM, HashingEmbedder, MemoryManager
from memory_agent.embeddings import Embedder
from memory_agent.retrieval import assemble, turn_item
from memory_agent.tree import SummaryTree, TreeConfig, make_node, session_node_id, with_summary
from memory_agent.types import Turn

HERE = Path(__file__).resolve().parent
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


def pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--sizes", type=int, nargs="+", default=[100, 1000, 10000])
    parser.add_argument("--queries", type=int, default=60)
    parser.add_argument("--budget", type=int, default=1000)
    parser.add_argument("--out", type=Path, default=HERE / "results" / "latency.json")
    args = parser.parse_args()
    rng = random.Random(7)
    embedder = HashingWithE5Queries()
    results: dict[str, object] = {}
    for n in args.sizes:
        with tempfile.TemporaryDirectory() as tmp:
            store = ChromaStore.persistent(tmp)
            t0 = time.perf_counter()
            print(f"building {n} sessions ({5 * n} turns)...", flush=True)
            build(store, embedder, n, rng)
            print(f"  built in {time.perf_counter() - t0:.0f} s; timing {args.queries} queries",
                  flush=True)
            memory = MemoryManager(user_id="bench", store=store, llm=FakeLLM(), embedder=embedder,
                                   background=False, resume=False)
            memory.recall("warm up", token_budget=args.budget)
            tree_ms, flat_ms = [], []
            for q in range(args.queries):
                topic, day = rng.choice(TOPICS), rng.randint(0, n)
                query = f"What happened with the {topic} around day {day}?"
                t1 = time.perf_counter()
                memory.recall(query, token_budget=args.budget)
                tree_ms.append((time.perf_counter() - t1) * 1000)
                t2 = time.perf_counter()
                qvec = embedder.embed_query(query)
                hits = store.search_turns("bench", qvec, k=24)
                items = [turn_item(t, s, max_tokens=200, count=memory.count_tokens)
                         for t, s in hits]
                assemble(query=query, budget=args.budget, profile=memory.profile(), nodes=[],
                         turns=items, count=memory.count_tokens, profile_share=0.4,
                         node_share=0.25)
                flat_ms.append((time.perf_counter() - t2) * 1000)
                if q % 20 == 19:
                    tree_p50, flat_p50 = statistics.median(tree_ms), statistics.median(flat_ms)
                    print(f"  {q + 1}/{args.queries}: tree p50 {tree_p50:.1f} ms, "
                          f"flat p50 {flat_p50:.1f} ms", flush=True)
            tree = memory.tree()
            results[str(n)] = {
                "sessions": n, "turns": 5 * n, "tree_nodes": len(tree), "tree_height": tree.height,
                "tree_recall_ms": {"p50": round(statistics.median(tree_ms), 2),
                                   "p95": round(pct(tree_ms, 0.95), 2)},
                "flat_dense_ms": {"p50": round(statistics.median(flat_ms), 2),
                                  "p95": round(pct(flat_ms, 0.95), 2)},
                "build_seconds": round(time.perf_counter() - t0, 1),
            }
            memory.close()
            store.close()
    out = {"what": "recall latency excluding any language model; E5 query embedding included",
           "budget": args.budget, "queries": args.queries, "by_sessions": results,
           "targets": {"p50_at_1000": "<= 20 ms", "p95_at_1000": "<= 50 ms",
                       "growth_1000_to_10000": "<= 1.5x"}, **describe()}
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(out, indent=2) + "\n")
    print(json.dumps(results, indent=1))


if __name__ == "__main__":
    main()
