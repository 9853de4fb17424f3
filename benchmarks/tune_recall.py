"""Choosing recall's settings by measurement: evidence recall and answer coverage of
``MemoryManager.recall`` for several MemoryConfig overrides, beside flat hybrid search, on
one half of the dev conversations (``datasets.halves``: tune on ``tune``, then run the
chosen settings on ``check`` once, unchanged).

Needs the stores of ``benchmarks/ingest.py``; no model calls. Conversations not fully
ingested are skipped (and named in the result).

    python -m benchmarks.tune_recall --dataset locomo --half tune \\
        --grid '[{}, {"node_weight": 0}, {"session_weight": 0}]'
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any

from benchmarks.datasets import HALVES, add_dataset_args, halves, load
from benchmarks.eval_retrieval import (
    BUDGETS,
    FlatRanker,
    answer_coverage,
    evidence_hits,
    flat_context,
)
from benchmarks.ingest import add_store_arg, fully_ingested, store_dir, user_id_for
from benchmarks.lib.models import reading_manager
from benchmarks.lib.paths import RESULTS
from benchmarks.lib.results import describe, read_json, write_json
from memory_agent import ChromaStore, E5Embedder, MemoryConfig


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    add_dataset_args(parser)
    add_store_arg(parser)
    parser.add_argument("--half", choices=[*HALVES, "all"], default="tune")
    parser.add_argument("--grid", default="[{}]",
                        help="a JSON list of MemoryConfig overrides, each one variant")
    parser.add_argument("--categories", default=None,
                        help="only the questions of these categories, e.g. 2 (LoCoMo's "
                             "temporal questions) or 1,4; the result is stored as "
                             "<dataset>/<half>/cat<categories>")
    parser.add_argument("--out", type=Path, default=RESULTS / "tune_recall.json")
    args = parser.parse_args()
    categories = {int(c) for c in args.categories.split(",")} if args.categories else None
    grid: list[dict[str, Any]] = json.loads(args.grid)
    configs = [MemoryConfig(**overrides) for overrides in grid]
    conversations = load(args.dataset, args.data)
    split = halves(conversations)
    store = ChromaStore.persistent(store_dir(args) / "chroma")
    embedder = E5Embedder()
    names = ["hybrid", *(json.dumps(o, sort_keys=True) for o in grid)]
    sums = {n: {b: [0.0, 0.0, 0, 0] for b in BUDGETS} for n in names}  # recall, cov, n, n_cov
    used, skipped = [], []
    for conv in conversations:
        if args.half != "all" and split[conv.id] != args.half:
            continue
        user = user_id_for(conv.id)
        if not fully_ingested(store, conv):
            skipped.append(user)
            continue
        used.append(user)
        memories = [reading_manager(user, store, embedder, c) for c in configs]
        ranker = FlatRanker(memories[0])
        for qa in conv.qa:
            evidence = [e for e in qa.evidence if e in conv.messages]
            if not evidence or (categories is not None and qa.category not in categories):
                continue
            hybrid = ranker.rankings(qa.question)["hybrid"]
            for budget in BUDGETS:
                contexts = [flat_context(memories[0], qa.question, budget, hybrid),
                            *(m.recall(qa.question, token_budget=budget) for m in memories)]
                for name, ctx in zip(names, contexts, strict=True):
                    text = ctx.to_prompt()
                    hits = evidence_hits(conv, evidence, text)
                    cell = sums[name][budget]
                    cell[0] += sum(hits) / len(hits)
                    cell[2] += 1
                    coverage = answer_coverage(qa.answer, text)
                    if coverage is not None:
                        cell[1] += coverage
                        cell[3] += 1
        for m in memories:
            m.close()
        print(f"{args.dataset}/{user}: done", flush=True)
    table = {name: {str(b): {"evidence_recall": round(c[0] / max(1, c[2]), 4),
                             "answer_coverage": round(c[1] / max(1, c[3]), 4), "n": c[2]}
                    for b, c in cells.items()} for name, cells in sums.items()}
    key = f"{args.dataset}/{args.half}" + (f"/cat{args.categories}" if categories else "")
    existing = read_json(args.out)
    existing[key] = {"variants": table, "conversations": used, "skipped": skipped,
                     "halves": split, **describe()}
    write_json(args.out, existing, indent=2)
    print(f"{key}: evidence recall / answer coverage at B = {', '.join(map(str, BUDGETS))}")
    for name in names:
        print(f"  {name:60} " + "  ".join(
            f"{table[name][str(b)]['evidence_recall']:.3f}/{table[name][str(b)]['answer_coverage']:.3f}"
            for b in BUDGETS))


if __name__ == "__main__":
    main()
