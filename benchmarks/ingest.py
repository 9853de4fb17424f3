"""Ingest LoCoMo / REALTALK conversations through the public MemoryManager API.

Each conversation becomes one user; each session is recorded exchange by exchange with its
real dates, then ended, so the session summary, tree roll-up and profile update are really
produced by the model. The store is cached (resumable: ended sessions are skipped), so
retrieval experiments rerun in minutes.

    python benchmarks/ingest.py --dataset locomo            # default local model
    python benchmarks/ingest.py --dataset realtalk --data /path/to/data
    python benchmarks/ingest.py --dataset locomo --fake-llm  # plumbing check, no model
"""

from __future__ import annotations

import argparse
import json
import re
import statistics
import sys
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

from datasets import Conversation, exchanges, load
from machine import describe

from memory_agent import ChromaStore, E5Embedder, FakeLLM, MemoryManager
from memory_agent.core.llm import LLM
from memory_agent.core.store import MemoryStore

HERE = Path(__file__).resolve().parent
DEFAULT_DATA = HERE.parent.parent / "shared" / "data"


def user_id_for(conversation_id: str) -> str:
    return re.sub(r"[^A-Za-z0-9_.@-]", "-", conversation_id)[:128]


def cache_dir(root: Path, dataset: str, model_name: str) -> Path:
    return root / f"{dataset}-{re.sub(r'[^A-Za-z0-9.]+', '_', model_name)}"


def turn_ids(conv: Conversation) -> dict[str, str]:
    """Where each message (``dia_id``) is stored: the id of the turn that records it."""
    out: dict[str, str] = {}
    for session in conv.sessions:
        for i, ex in enumerate(exchanges(session), 1):
            out.update({d: f"{session.id}#{i}" for d in ex.dia_ids})
    return out


def fully_ingested(store: MemoryStore, conv: Conversation) -> bool:
    """Whether every session of ``conv`` has been recorded and ended in ``store``."""
    ended = {s.session_id for s in store.list_sessions(user_id_for(conv.id)) if s.ended}
    return all(s.id in ended for s in conv.sessions)


def make_llm(args: argparse.Namespace) -> LLM:
    if args.fake_llm:
        return FakeLLM()
    from memory_agent import LlamaCppLLM

    return LlamaCppLLM(args.model, n_threads=args.threads)


def cost_summary(stats: dict[str, Any], dataset: str, model_name: str) -> dict[str, Any]:
    """Per-session ingest cost (model calls, tokens, seconds) from ``ingest_stats.json``."""
    rows = list(stats["sessions"].values())
    keys = ("seconds", "model_calls", "prompt_tokens", "completion_tokens", "turns")
    return {
        "what": f"{dataset} ingestion through MemoryManager (record + end_session per session), "
                f"model {model_name}",
        "sessions_measured": len(rows),
        "per_session": {k: {"mean": round(statistics.fmean(r[k] for r in rows), 1),
                            "median": statistics.median(r[k] for r in rows)} for k in keys}
        if rows else {},
        "total_hours": round(sum(r["seconds"] for r in rows) / 3600, 2),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--dataset", choices=["locomo", "realtalk"], required=True)
    parser.add_argument("--data", type=Path, default=DEFAULT_DATA)
    parser.add_argument("--cache", type=Path, default=HERE / "cache")
    parser.add_argument("--model", default=None, help="model key or .gguf (default model if unset)")
    parser.add_argument("--fake-llm", action="store_true", help="no model: extractive summaries")
    parser.add_argument("--threads", type=int, default=None,
                        help="llama.cpp threads (default: all cores; 1 on a busy machine)")
    parser.add_argument("--summary-only", action="store_true",
                        help="only write results/ingest_<dataset>.json from the cached stats")
    args = parser.parse_args()
    model_name = "fake" if args.fake_llm else (args.model or "default")
    out = cache_dir(args.cache, args.dataset, model_name)
    summary_path = HERE / "results" / f"ingest_{args.dataset}.json"
    if args.summary_only:
        stats = json.loads((out / "ingest_stats.json").read_text())
        summary = cost_summary(stats, args.dataset, model_name)
        summary_path.write_text(json.dumps({**summary, "ingest_run": stats.get("run"),
                                            "summary_written": describe()}, indent=2) + "\n")
        print(f"wrote {summary_path}")
        return
    llm = make_llm(args)
    out.mkdir(parents=True, exist_ok=True)
    conversations = load(args.dataset, args.data)
    total = sum(len(c.sessions) for c in conversations)
    print(f"ingesting {args.dataset}: {len(conversations)} conversations, {total} sessions "
          f"into {out}", flush=True)
    store = ChromaStore.persistent(out / "chroma")
    embedder = E5Embedder()
    mapping: dict[str, dict[str, str]] = {}
    stats_path = out / "ingest_stats.json"
    stats = json.loads(stats_path.read_text()) if stats_path.exists() else {"sessions": {}}
    done = 0
    started = time.perf_counter()
    for conv in conversations:
        user = user_id_for(conv.id)
        memory = MemoryManager(user_id=user, store=store, llm=llm, embedder=embedder,
                               background=False)
        ended = {s.session_id for s in memory.sessions() if s.ended}
        dia_to_turn: dict[str, str] = {}
        for session in conv.sessions:
            done += 1
            session_exchanges = exchanges(session)
            if session.id in ended:
                for i, ex in enumerate(session_exchanges, 1):
                    dia_to_turn.update({d: f"{session.id}#{i}" for d in ex.dia_ids})
                continue
            t0 = time.perf_counter()
            calls0, ptok0 = llm.stats.calls, llm.stats.prompt_tokens
            ctok0 = llm.stats.completion_tokens
            stored = {t.index for t in memory.store.get_turns(user, session_id=session.id)}
            for i, ex in enumerate(session_exchanges, 1):
                if i not in stored:  # resumable mid-session too
                    memory.record(ex.user, ex.assistant, session_id=session.id, at=ex.at)
                dia_to_turn.update({d: f"{session.id}#{i}" for d in ex.dia_ids})
            memory.end_session(session.id)
            seconds = time.perf_counter() - t0
            stats["sessions"][f"{user}/{session.id}"] = {
                "seconds": round(seconds, 1), "model_calls": llm.stats.calls - calls0,
                "prompt_tokens": llm.stats.prompt_tokens - ptok0,
                "completion_tokens": llm.stats.completion_tokens - ctok0,
                "turns": len(session_exchanges),
            }
            stats_path.write_text(json.dumps(stats, indent=1))
            elapsed = time.perf_counter() - started
            print(f"  [{done}/{total}] {user}/{session.id}: {len(session_exchanges)} turns, "
                  f"{seconds:.0f} s ({llm.stats.calls - calls0} model calls); "
                  f"elapsed {elapsed / 60:.1f} min", flush=True)
        mapping[user] = dia_to_turn
        memory.close()
    (out / "dia_map.json").write_text(json.dumps(mapping))
    stats["run"] = describe()
    stats_path.write_text(json.dumps(stats, indent=1))
    if not args.fake_llm:
        summary_path.write_text(json.dumps({**cost_summary(stats, args.dataset, model_name),
                                            **stats["run"]}, indent=2) + "\n")
    print(f"done: {out}", flush=True)


if __name__ == "__main__":
    main()
