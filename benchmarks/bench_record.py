"""What record() adds to a chat turn, with embedded Chroma and the bundled E5 embedder.

Replays real LoCoMo turns (../shared/data by default) through MemoryManager.record() into a
fresh embedded Chroma store, set up as MemoryManager.open() does (local turn journal, ingest
thread), and reports per-call latency. It also reports the direct path (embed + write to
Chroma inside record(), as without a journal) and checks that every turn reached Chroma.
No language model is involved: record() never calls one.

    python -m benchmarks.bench_record [--data ../shared/data] [--turns 600]
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import tempfile
import time
from pathlib import Path

from benchmarks.lib.paths import DEFAULT_DATA, RESULTS
from benchmarks.lib.results import describe, write_json
from benchmarks.lib.stats import percentile
from memory_agent import ChromaStore, E5Embedder, FakeLLM, MemoryManager
from memory_agent.engine.journal import TurnJournal


def locomo_exchanges(data: Path) -> list[tuple[str, str, str]]:
    """(session_id, user_text, assistant_text) pairs from LoCoMo, speaker A as the user."""
    records = json.loads((data / "locomo" / "locomo_dev.json").read_text())
    out = []
    for record in records:
        conv = record["conversation"]
        n = 1
        while f"session_{n}" in conv:
            turns = conv[f"session_{n}"]
            for a, b in zip(turns[::2], turns[1::2], strict=False):
                out.append((f"{record['sample_id']}-s{n}", a["text"], b["text"]))
            n += 1
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--data", type=Path, default=DEFAULT_DATA)
    parser.add_argument("--turns", type=int, default=600)
    parser.add_argument("--out", type=Path, default=RESULTS / "record.json")
    args = parser.parse_args()
    exchanges = locomo_exchanges(args.data)[: args.turns]
    print(f"replaying {len(exchanges)} LoCoMo exchanges through record()", flush=True)
    embedder = E5Embedder()
    embedder.embed_documents(["warm up"])
    def replay(memory: MemoryManager, label: str) -> list[float]:
        latencies = []
        for i, (session, user, assistant) in enumerate(exchanges, 1):
            t0 = time.perf_counter()
            memory.record(user, assistant, session_id=session)
            latencies.append((time.perf_counter() - t0) * 1000)
            time.sleep(0.05)  # a chat turn is never back to back: let the ingest thread run
            if i % 100 == 0:
                print(f"  [{label}] {i}/{len(exchanges)}  p50 so far "
                      f"{statistics.median(latencies):.1f} ms", flush=True)
        return latencies

    with tempfile.TemporaryDirectory() as tmp:
        store = ChromaStore.persistent(Path(tmp) / "journaled")
        memory = MemoryManager(user_id="bench", store=store, llm=FakeLLM(), embedder=embedder,
                               background=False, journal=TurnJournal(Path(tmp) / "j.sqlite3"))
        latencies = replay(memory, "journal")
        t0 = time.perf_counter()
        memory.close()
        drain_s = time.perf_counter() - t0
        stored = len(store.get_turns("bench"))
        direct_store = ChromaStore.persistent(Path(tmp) / "direct")
        direct = MemoryManager(user_id="bench", store=direct_store, llm=FakeLLM(),
                               embedder=embedder, background=False)
        direct_latencies = replay(direct, "direct")
        direct.close()
    result = {
        "what": "MemoryManager.record() latency, embedded Chroma (PersistentClient), E5 embedder",
        "n": len(latencies),
        "record_ms": {"p50": round(statistics.median(latencies), 2),
                      "p95": round(percentile(latencies, 0.95), 2),
                      "mean": round(statistics.fmean(latencies), 2)},
        "turns_in_chroma_after_close": stored,
        "drain_at_close_seconds": round(drain_s, 2),
        "direct_record_ms": {"p50": round(statistics.median(direct_latencies), 2),
                             "p95": round(percentile(direct_latencies, 0.95), 2),
                             "note": "no journal: embed + Chroma write inside record()"},
        "target": "p50 <= 20 ms",
        "meets_target": statistics.median(latencies) <= 20,
        **describe(),
    }
    write_json(args.out, result, indent=2)
    print(json.dumps({k: result[k] for k in ("n", "record_ms", "turns_in_chroma_after_close",
                                             "direct_record_ms")}))
    if stored != len(exchanges):
        sys.exit(f"lost turns: {stored} of {len(exchanges)} reached Chroma")


if __name__ == "__main__":
    main()
