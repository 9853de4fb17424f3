"""Load through a local Chroma server: 2 client processes x 5,000 recorded turns plus recalls.

Starts ``chroma run --path TMP --host 127.0.0.1 --port FREE`` (stopped by its own process id),
then runs two client processes at once, each a MemoryManager on ``ChromaStore.http`` with its
own local turn journal, writing for its own user: sessions of 20 turns, a recall every 25
turns, ``end_session`` after each session (summary, tree and profile on a background
worker with FakeLLM). It reports per-call latency of record() and recall(), throughput
(turns durably stored in Chroma per second, counted until the client's close() drained its
journal) and checks that every turn reached the server. The embedder is HashingEmbedder by
default (this measures the storage path; ``--embedder e5`` adds the bundled E5 model).

    python -m benchmarks.bench_load [--turns 5000] [--clients 2] [--embedder hashing|e5]
"""

from __future__ import annotations

import argparse
import json
import multiprocessing as mp
import shutil
import statistics
import tempfile
import time
from pathlib import Path
from typing import Any

from benchmarks.lib.paths import RESULTS
from benchmarks.lib.results import describe, write_json
from benchmarks.lib.stats import percentile
from memory_agent.testing.chroma_server import LocalChromaServer

TOPICS = ["cooking", "hiking", "my sister", "the garden", "work deadlines", "a new bike",
          "jazz records", "the dentist", "tax forms", "a trip to Oslo"]


def client(index: int, port: int, turns: int, embedder: str, work: str, out: Any) -> None:
    from memory_agent import FakeLLM, HashingEmbedder, MemoryManager
    from memory_agent.backends.store.chroma import ChromaStore
    from memory_agent.core.embedder import Embedder
    from memory_agent.engine.journal import TurnJournal

    emb: Embedder
    if embedder == "e5":
        from memory_agent import E5Embedder

        emb = E5Embedder()
    else:
        emb = HashingEmbedder()
    user = f"load-user-{index}"
    store = ChromaStore.http("127.0.0.1", port, prefix="bench_load")
    memory = MemoryManager(user_id=user, store=store, llm=FakeLLM(), embedder=emb,
                           background=True,
                           journal=TurnJournal(Path(work) / f"journal-{index}.sqlite3"))
    record_ms: list[float] = []
    recall_ms: list[float] = []
    start = time.perf_counter()
    for n in range(turns):
        session = f"s{n // 20}"
        topic = TOPICS[n % len(TOPICS)]
        t0 = time.perf_counter()
        memory.record(f"Turn {n}: let me tell you about {topic}, detail {n * 7919 % 1000}.",
                      f"Thanks for sharing about {topic}.", session_id=session)
        record_ms.append((time.perf_counter() - t0) * 1000)
        if n % 25 == 24:
            t0 = time.perf_counter()
            memory.recall(f"what did I say about {topic}?", token_budget=800)
            recall_ms.append((time.perf_counter() - t0) * 1000)
        if n % 20 == 19:
            memory.end_session(session)
    memory.close()  # drains the journal: every turn is in Chroma after this
    elapsed = time.perf_counter() - start
    stored = len(store.get_turns(user))
    failures = memory.flush()
    store.close()
    out.put({"client": index, "record_ms": record_ms, "recall_ms": recall_ms,
             "seconds": elapsed, "stored": stored, "failures": len(failures)})


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--turns", type=int, default=5000, help="turns per client")
    parser.add_argument("--clients", type=int, default=2)
    parser.add_argument("--embedder", choices=["hashing", "e5"], default="hashing")
    parser.add_argument("--out", type=Path, default=RESULTS / "load.json")
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="bench-load-"))
    server = LocalChromaServer(work / "chroma", log=work / "server.log")
    server.start()
    port = server.port
    try:
        queue: Any = mp.get_context("spawn").Queue()
        procs = [mp.get_context("spawn").Process(
            target=client, args=(i, port, args.turns, args.embedder, str(work), queue))
            for i in range(args.clients)]
        wall = time.perf_counter()
        for p in procs:
            p.start()
        results = [queue.get(timeout=3600) for _ in procs]
        for p in procs:
            p.join()
        wall = time.perf_counter() - wall
    finally:
        server.stop()  # by its own process id
        shutil.rmtree(work, ignore_errors=True)
    records = [x for r in results for x in r["record_ms"]]
    recalls = [x for r in results for x in r["recall_ms"]]
    total = args.turns * args.clients
    stored = sum(r["stored"] for r in results)
    result = {
        "what": (f"{args.clients} client processes x {args.turns} turns through one local "
                 f"Chroma server (chroma run), {args.embedder} embedder, journal + ingest "
                 "thread per client, background end_session work with FakeLLM"),
        "turns_recorded": total,
        "turns_in_chroma": stored,
        "all_stored": stored == total,
        "job_failures": sum(r["failures"] for r in results),
        "throughput_turns_per_s": round(total / wall, 1),
        "wall_seconds": round(wall, 1),
        "record_ms": {"n": len(records), "p50": round(percentile(records, 0.5), 2),
                      "p95": round(percentile(records, 0.95), 2),
                      "mean": round(statistics.fmean(records), 2)},
        "recall_ms": {"n": len(recalls), "p50": round(percentile(recalls, 0.5), 2),
                      "p95": round(percentile(recalls, 0.95), 2),
                      "mean": round(statistics.fmean(recalls), 2)},
        "per_client_seconds": [round(r["seconds"], 1) for r in results],
        **describe(),
    }
    write_json(args.out, result, indent=2)
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
