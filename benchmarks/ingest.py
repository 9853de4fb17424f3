"""Ingest LoCoMo / REALTALK conversations through the public MemoryManager API.

Each conversation becomes one user; each session is recorded exchange by exchange with its
real dates, then ended, so the session summary, tree roll-up and profile update are really
produced by the model. The store is cached (resumable: ended sessions are skipped), so
retrieval experiments rerun in minutes.

    python -m benchmarks.ingest --dataset locomo            # default local model
    python -m benchmarks.ingest --dataset realtalk --data /path/to/data
    python -m benchmarks.ingest --dataset locomo --fake-llm  # plumbing check, no model
"""

from __future__ import annotations

import argparse
import json
import re
import statistics
import time
from pathlib import Path
from typing import Any

from benchmarks.datasets import Conversation, add_dataset_args, exchanges, load
from benchmarks.lib.ingesting import record_session, session_stats
from benchmarks.lib.models import add_model_args, make_llm
from benchmarks.lib.paths import CACHE, RESULTS, cache_dir
from benchmarks.lib.results import describe, write_json
from memory_agent import ChromaStore, E5Embedder, MemoryManager
from memory_agent.core.store import MemoryStore


def user_id_for(conversation_id: str) -> str:
    return re.sub(r"[^A-Za-z0-9_.@-]", "-", conversation_id)[:128]


def turn_ids(conv: Conversation) -> dict[str, str]:
    """Where each message (``dia_id``) is stored: the id of the turn that records it."""
    out: dict[str, str] = {}
    for session in conv.sessions:
        for i, ex in enumerate(exchanges(session), 1):
            out.update({d: f"{session.id}#{i}" for d in ex.dia_ids})
    return out


def add_store_arg(parser: argparse.ArgumentParser) -> None:
    """``--cache``: the folder of a store this script made (see ``store_dir``)."""
    parser.add_argument("--cache", type=Path, default=None,
                        help="store made by ingest.py "
                             "(default: benchmarks/cache/<dataset>-default)")


def store_dir(args: argparse.Namespace) -> Path:
    """``--cache``, or the default model's store of ``--dataset``."""
    return Path(args.cache or cache_dir(CACHE, args.dataset, "default"))


def fully_ingested(store: MemoryStore, conv: Conversation) -> bool:
    """Whether every session of ``conv`` has been recorded and ended in ``store``."""
    ended = {s.session_id for s in store.list_sessions(user_id_for(conv.id)) if s.ended}
    return all(s.id in ended for s in conv.sessions)


def cost_summary(stats: dict[str, Any], dataset: str, model_name: str) -> dict[str, Any]:
    """Per-session ingest cost (wall and model seconds, model calls, prompt tokens in full and
    evaluated, generated tokens) from ``ingest_stats.json``; a figure that older rows lack
    (model seconds, prefill tokens) is the mean of the rows that have it (``sessions_with``)."""
    rows = list(stats["sessions"].values())
    keys = ("seconds", "model_seconds", "model_calls", "prompt_tokens", "prefill_tokens",
            "completion_tokens", "turns")
    per_session: dict[str, Any] = {}
    for k in keys:
        values = [r[k] for r in rows if k in r]
        if values:
            per_session[k] = {"mean": round(statistics.fmean(values), 1),
                              "median": statistics.median(values), "sessions_with": len(values)}
    return {
        "what": f"{dataset} ingestion through MemoryManager (record + end_session per session), "
                f"model {model_name}",
        "sessions_measured": len(rows),
        "per_session": per_session,
        "total_hours": round(sum(r["seconds"] for r in rows) / 3600, 2),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    add_dataset_args(parser)
    parser.add_argument("--cache", type=Path, default=CACHE)
    add_model_args(parser, fake_help="no model: extractive summaries")
    parser.add_argument("--summary-only", action="store_true",
                        help="only write results/ingest_<dataset>.json from the cached stats")
    args = parser.parse_args()
    model_name = "fake" if args.fake_llm else (args.model or "default")
    out = cache_dir(args.cache, args.dataset, model_name)
    summary_path = RESULTS / f"ingest_{args.dataset}.json"
    if args.summary_only:
        stats = json.loads((out / "ingest_stats.json").read_text())
        summary = cost_summary(stats, args.dataset, model_name)
        write_json(summary_path, {**summary, "ingest_run": stats.get("run"),
                                  "summary_written": describe()}, indent=2)
        print(f"wrote {summary_path}")
        return
    llm = make_llm(fake=args.fake_llm, model=args.model, threads=args.threads)
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
        for session in conv.sessions:
            done += 1
            session_exchanges = exchanges(session)
            if session.id in ended:
                continue
            seconds, used = record_session(
                memory, llm, session.id,
                [(ex.user, ex.assistant, ex.at) for ex in session_exchanges])
            stats["sessions"][f"{user}/{session.id}"] = session_stats(
                seconds, used, len(session_exchanges))
            stats_path.write_text(json.dumps(stats, indent=1))
            elapsed = time.perf_counter() - started
            print(f"  [{done}/{total}] {user}/{session.id}: {len(session_exchanges)} turns, "
                  f"{seconds:.0f} s ({used.calls} model calls, {used.seconds:.0f} s model, "
                  f"{used.prefill_tokens}/{used.prompt_tokens} prompt tokens evaluated); "
                  f"elapsed {elapsed / 60:.1f} min", flush=True)
        mapping[user] = turn_ids(conv)
        memory.close()
    (out / "dia_map.json").write_text(json.dumps(mapping))
    stats["run"] = describe()
    stats_path.write_text(json.dumps(stats, indent=1))
    if not args.fake_llm:
        write_json(summary_path, {**cost_summary(stats, args.dataset, model_name),
                                  **stats["run"]}, indent=2)
    print(f"done: {out}", flush=True)


if __name__ == "__main__":
    main()
