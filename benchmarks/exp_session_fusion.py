"""Experiment: does the tree's session ranking help pick evidence turns beyond flat hybrid?

Turns are ranked by reciprocal-rank fusion of dense and BM25 rankings over all turns (the
``hybrid`` baseline of ``eval_retrieval.py``), plus a third, weighted RRF term from the rank
of the turn's session: either the sessions chosen by the level-wise descent (``desc_w*``,
what ``recall`` can afford) or every session summary scored directly (``all_w*``, an upper
bound on what session summaries can add). ``+nodes`` variants also spend ``node_share`` of
the budget on the chosen sessions' summaries, as ``recall`` does. Evidence recall as in
``eval_retrieval.py``; needs a store made by ``ingest.py``.

    python -m benchmarks.exp_session_fusion --dataset locomo \
        --config '{"profile_share": 0.2, "node_share": 0.1}'
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import numpy as np

from benchmarks.datasets import add_dataset_args, load
from benchmarks.eval_retrieval import BM25, BUDGETS, evidence_hits, rrf
from benchmarks.ingest import add_store_arg, fully_ingested, store_dir, user_id_for
from benchmarks.lib.models import reading_manager
from benchmarks.lib.paths import RESULTS
from benchmarks.lib.results import describe, read_json, write_json
from memory_agent import ChromaStore, E5Embedder, MemoryConfig
from memory_agent.core.retrieval import assemble, node_item, turn_item
from memory_agent.core.text import overlap


def fuse(dense: list[int], lexical: list[int], session_of: list[str],
         session_rank: dict[str, int], weight: float, k: int = 60) -> list[int]:
    score: dict[int, float] = {}
    for ranking in (dense, lexical):
        for r, i in enumerate(ranking):
            score[i] = score.get(i, 0.0) + 1 / (k + r + 1)
    for i, sid in enumerate(session_of):
        if sid in session_rank:
            score[i] = score.get(i, 0.0) + weight / (k + session_rank[sid] + 1)
    return sorted(score, key=lambda i: -score[i])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    add_dataset_args(parser)
    add_store_arg(parser)
    parser.add_argument("--config", default="{}")
    parser.add_argument("--out", type=Path, default=RESULTS / "session_fusion.json")
    args = parser.parse_args()
    cfg = MemoryConfig(**json.loads(args.config))
    store = ChromaStore.persistent(store_dir(args) / "chroma")
    embedder = E5Embedder()
    sums: dict[str, dict[int, list[float]]] = {}
    for conv in load(args.dataset, args.data):
        user = user_id_for(conv.id)
        memory = reading_manager(user, store, embedder, cfg)
        if not fully_ingested(store, conv):
            print(f"skipping {user}: not fully ingested", flush=True)
            memory.close()
            continue
        print(f"{args.dataset}/{user}: {len(conv.qa)} questions", flush=True)
        turns = store.get_turns(user)
        index_of = {t.id: i for i, t in enumerate(turns)}
        session_of = [t.session_id for t in turns]
        bm25 = BM25([t.text() for t in turns])
        tree_index = memory.tree_index()  # the index recall descends (read-only)
        sessions = [n for n in tree_index.tree.nodes if n.level == 1]
        profile = memory.profile()
        for qa in conv.qa:
            evidence = [e for e in qa.evidence if e in conv.messages]
            if not evidence:
                continue
            qlist = embedder.embed_query(qa.question)
            q = np.asarray(qlist, dtype=np.float32)
            dense = [index_of[t.id] for t, _ in store.search_turns(user, qlist, k=len(turns))]
            scores = bm25.scores(qa.question)
            lexical = sorted(range(len(turns)), key=lambda i: -scores[i])

            def text_score(node_summary: str, question: str = qa.question) -> float:
                return cfg.lexical_weight * overlap(question, node_summary)

            descent = tree_index.descend(q, lambda n: text_score(n.summary),
                                         beam=cfg.beam_width, session_beam=cfg.session_beam)
            desc_rank = {s.node.session_id or "": r for r, s in enumerate(descent.sessions)}

            direct = {n.session_id or "": text_score(n.summary) + (
                float(v @ q) if (v := tree_index.vector(n.id)) is not None else 0.0)
                for n in sessions}
            all_rank = {sid: r for r, sid in enumerate(sorted(direct, key=lambda s: -direct[s]))}
            rankings = {"hybrid": rrf(dense, lexical)}
            for w in (0.5, 1.0):
                rankings[f"desc_w{w}"] = fuse(dense, lexical, session_of, desc_rank, w)
                rankings[f"all_w{w}"] = fuse(dense, lexical, session_of, all_rank, w)
            nodes = [node_item(s.node, s.score) for s in descent.sessions]
            for budget in BUDGETS:
                for name, ranked in rankings.items():
                    items = [turn_item(turns[i], float(len(ranked) - r),
                                       max_tokens=cfg.max_item_tokens, count=memory.count_tokens)
                             for r, i in enumerate(ranked[:200])]
                    for label, with_nodes in ((name, []), (f"{name}+nodes", nodes)):
                        if label == "hybrid+nodes":
                            continue
                        ctx = assemble(query=qa.question, budget=budget, profile=profile,
                                       nodes=with_nodes, turns=items, count=memory.count_tokens,
                                       profile_share=cfg.profile_share,
                                       node_share=cfg.node_share)
                        hits = evidence_hits(conv, evidence, ctx.to_prompt())
                        cell = sums.setdefault(label, {}).setdefault(budget, [0.0, 0])
                        cell[0] += sum(hits) / len(hits)
                        cell[1] += 1
        memory.close()
    table = {name: {str(b): {"evidence_recall": round(s / n, 4), "n": int(n)}
                    for b, (s, n) in cells.items()} for name, cells in sorted(sums.items())}
    existing = read_json(args.out)
    existing[args.dataset] = {**table, "_run": {"config_overrides": json.loads(args.config),
                                                **describe()}}
    write_json(args.out, existing)
    for name, cells in table.items():
        print(f"{name:16} " + "  ".join(f"{cells[str(b)]['evidence_recall']:.3f}"
                                         for b in BUDGETS))


if __name__ == "__main__":
    main()
