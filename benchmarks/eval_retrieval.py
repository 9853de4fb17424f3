"""Evidence recall of memory-agent's tree retrieval versus flat baselines, at equal budgets.

Needs a store made by ``benchmarks/ingest.py``. For every QA pair and budget B, each method
fills B tokens of context, rendered the same way (``MemoryContext.to_prompt()``, same profile
document); a QA's evidence recall is the share of its evidence messages (``dia_id``) whose
text appears verbatim in the context.

Methods (same embedder, same budget, all see only the recorded turns and the profile):
- ``tree``: ``MemoryManager.recall`` (level-wise descent, then turns of the chosen sessions);
- ``dense``: top turns by cosine similarity over all turns;
- ``bm25``: top turns by BM25 over all turns;
- ``hybrid``: dense and BM25 fused by reciprocal rank;
- ``recency``: the latest turns.

    python -m benchmarks.eval_retrieval --dataset locomo [--cache benchmarks/cache/locomo-default]
"""

from __future__ import annotations

import argparse
import json
import statistics
import time
from collections import defaultdict
from pathlib import Path
from typing import Any

from benchmarks.datasets import HALVES, Conversation, add_dataset_args, halves, load
from benchmarks.ingest import add_store_arg, fully_ingested, store_dir, turn_ids, user_id_for
from benchmarks.lib.models import reading_manager
from benchmarks.lib.paths import RESULTS
from benchmarks.lib.results import describe, read_json, write_json
from memory_agent import ChromaStore, E5Embedder, MemoryConfig, MemoryManager
from memory_agent.core.context import MemoryContext
from memory_agent.core.pool import best_first, fuse
from memory_agent.core.retrieval import assemble, turn_item
from memory_agent.core.text import content_words
from memory_agent.core.types import Turn
from memory_agent.engine.lexical import BM25Index
from memory_agent.engine.turn_index import turn_words

BUDGETS = (500, 1000, 2000)
METHODS = ("tree", "dense", "bm25", "hybrid", "recency")


def answer_coverage(answer: str, text: str) -> float | None:
    """The share of the gold answer's content words found in ``text`` (None: the answer has
    none). It needs no reader and credits a summary that carries the answer."""
    gold = content_words(answer)
    if not gold:
        return None
    return len(gold & content_words(text)) / len(gold)


class FlatRanker:
    """The flat baselines' rankings of one user's turns: dense, BM25 and their RRF fusion."""

    def __init__(self, memory: MemoryManager) -> None:
        self.memory = memory
        self.turns = memory.store.get_turns(memory.user_id)
        self.bm25 = BM25Index()
        self.bm25.add_all((t.id, turn_words(t)) for t in self.turns)
        self.by_id = {t.id: t for t in self.turns}

    def rankings(self, query: str) -> dict[str, list[Turn]]:
        qvec = self.memory.embedder.embed_query(query)
        hits = self.memory.store.search_turns(self.memory.user_id, qvec, k=len(self.turns))
        dense = [t for t, _ in hits]
        words = best_first(self.bm25.scores(query))  # turns holding a query term
        scored = {tid for tid, _ in words}
        lexical = [*(self.by_id[tid] for tid, _ in words),
                   *(t for t in self.turns if t.id not in scored)]
        fused = fuse([(t.id, s) for t, s in hits], words, self.memory.config.rrf_k)
        hybrid = best_first({tid: f.total for tid, f in fused.items()})
        return {"dense": dense, "bm25": lexical,
                "hybrid": [self.by_id[tid] for tid, _ in hybrid]}


def flat_context(
    memory: MemoryManager, query: str, budget: int, ranked: list[Turn]
) -> MemoryContext:
    cfg = memory.config
    items = [turn_item(t, float(len(ranked) - r), max_tokens=cfg.max_item_tokens,
                       count=memory.count_tokens, truncate=memory.backends.truncate_tokens,
                       query=query)
             for r, t in enumerate(ranked[:200])]
    return assemble(query=query, budget=budget, profile=memory.profile(), nodes=[], turns=items,
                    count=memory.count_tokens, profile_share=cfg.profile_share,
                    node_share=cfg.node_share)


def evidence_hits(conv: Conversation, evidence: list[str], text: str) -> list[bool]:
    hits = []
    for dia in evidence:
        message = conv.messages.get(dia)
        hits.append(bool(message and message.text and message.text in text))
    return hits


def new_cells() -> dict[str, Any]:
    return {m: {str(b): {"recall_sum": 0.0, "n": 0, "per_category": {}, "node_cover_sum": 0.0,
                         "coverage_sum": 0.0, "coverage_n": 0, "coverage_per_category": {}}
                for b in BUDGETS} for m in METHODS}


def add(per: dict[str, list[float]], category: int, value: float) -> None:
    cell = per.setdefault(str(category), [0.0, 0])
    cell[0] += value
    cell[1] += 1


def evaluate(conv: Conversation, memory: MemoryManager, dia_map: dict[str, str],
             results: dict[str, Any], timings: dict[str, list[float]]) -> None:
    ranker = FlatRanker(memory)
    tree = memory.tree()
    recency = sorted(ranker.turns, key=lambda t: t.at, reverse=True)
    for qa in conv.qa:
        evidence = [e for e in qa.evidence if e in conv.messages]
        if not evidence:
            continue
        ranked = {**ranker.rankings(qa.question), "recency": recency}
        for budget in BUDGETS:
            for method in METHODS:
                t0 = time.perf_counter()
                if method == "tree":
                    ctx = memory.recall(qa.question, token_budget=budget)
                else:
                    ctx = flat_context(memory, qa.question, budget, ranked[method])
                timings[method].append(time.perf_counter() - t0)
                prompt = ctx.to_prompt()
                hits = evidence_hits(conv, evidence, prompt)
                cell = results[method][str(budget)]
                cell["recall_sum"] += sum(hits) / len(hits)
                cell["n"] += 1
                add(cell["per_category"], qa.category, sum(hits) / len(hits))
                coverage = answer_coverage(qa.answer, prompt)
                if coverage is not None:
                    cell["coverage_sum"] += coverage
                    cell["coverage_n"] += 1
                    add(cell["coverage_per_category"], qa.category, coverage)
                if method == "tree":  # does a returned summary node cover an evidence turn?
                    covered = {c for n in ctx.nodes if n.id in tree
                               for c in tree.get(n.id).children}
                    turn_ids = {dia_map.get(e) for e in evidence}
                    cell["node_cover_sum"] += len(turn_ids & covered) / max(1, len(turn_ids))


def table_of(results: dict[str, Any]) -> dict[str, Any]:
    def mean(total: float, n: int) -> float:
        return round(total / (n or 1), 4)

    table: dict[str, Any] = {}
    for method, cells in results.items():
        table[method] = {}
        for budget, cell in cells.items():
            entry = {
                "evidence_recall": mean(cell["recall_sum"], cell["n"]), "n": cell["n"],
                "per_category": {c: mean(s, k) for c, (s, k) in
                                 sorted(cell["per_category"].items())},
                "answer_coverage": mean(cell["coverage_sum"], cell["coverage_n"]),
                "coverage_n": cell["coverage_n"],
                "coverage_per_category": {c: mean(s, k) for c, (s, k) in
                                          sorted(cell["coverage_per_category"].items())},
            }
            if method == "tree":
                entry["node_covers_evidence"] = mean(cell["node_cover_sum"], cell["n"])
            table[method][budget] = entry
    return table


def merged(parts: list[dict[str, Any]]) -> dict[str, Any]:
    """Cells of several halves summed into one (the whole dev set)."""
    out = new_cells()
    for part in parts:
        for method, cells in part.items():
            for budget, cell in cells.items():
                into = out[method][budget]
                for key, value in cell.items():
                    if isinstance(value, dict):
                        for c, (s, k) in value.items():
                            slot = into[key].setdefault(c, [0.0, 0])
                            slot[0] += s
                            slot[1] += k
                    else:
                        into[key] += value
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    add_dataset_args(parser)
    add_store_arg(parser)
    parser.add_argument("--out", type=Path, default=RESULTS / "retrieval.json")
    parser.add_argument("--config", default="{}",
                        help='MemoryConfig overrides for every method, as JSON, e.g. '
                             '\'{"profile_share": 0.2}\'')
    parser.add_argument("--label", default=None, help="store results under this key "
                        "(default: the dataset name)")
    args = parser.parse_args()
    config = MemoryConfig(**json.loads(args.config))
    cache = store_dir(args)
    conversations = load(args.dataset, args.data)
    store = ChromaStore.persistent(cache / "chroma")
    embedder = E5Embedder()
    split = halves(conversations)
    results = {half: new_cells() for half in HALVES}
    timings: dict[str, list[float]] = defaultdict(list)
    evaluated: list[str] = []
    for conv in conversations:
        user = user_id_for(conv.id)
        memory = reading_manager(user, store, embedder, config)
        if not fully_ingested(store, conv):
            print(f"skipping {args.dataset}/{user}: not fully ingested "
                  "(run ingest.py to finish it)", flush=True)
            memory.close()
            continue
        print(f"evaluating {args.dataset}/{user} ({split[conv.id]} half): "
              f"{len(conv.qa)} questions", flush=True)
        evaluate(conv, memory, turn_ids(conv), results[split[conv.id]], timings)
        evaluated.append(user)
        memory.close()
    table = {"all": table_of(merged(list(results.values()))),
             **{half: table_of(cells) for half, cells in results.items()}}
    key = args.label or args.dataset
    existing = read_json(args.out)
    existing[key] = table["all"]  # the whole dev set, then each half under its own key
    for half in HALVES:
        existing[f"{key} ({half} half)"] = table[half]
    existing.setdefault("_runs", {})[key] = {
        "cache": str(cache), "config_overrides": json.loads(args.config),
        "conversations": evaluated, "halves": split, "conversations_in_data": len(conversations),
        "mean_method_seconds": {m: round(statistics.fmean(v), 4) for m, v in timings.items()},
        **describe(),
    }
    write_json(args.out, existing, indent=2)
    for half, cells in table.items():
        print(f"{half}: evidence recall / answer coverage")
        print("method   " + "  ".join(f"B={b:>5}      " for b in BUDGETS))
        for method in METHODS:
            print(f"{method:8} " + "  ".join(
                f"{cells[method][str(b)]['evidence_recall']:.3f}/"
                f"{cells[method][str(b)]['answer_coverage']:.3f}" for b in BUDGETS))

if __name__ == "__main__":
    main()
