"""Experiment: does ranking profile facts by meaning put the right preference in context?

Opens a PrefEval store written by ``eval_prefeval.py`` (no model calls: only ``recall``) and,
for each selected record, recalls for its question + options as the benchmark does, once with
profile facts ranked by word overlap and once by meaning (``rank_facts_by_meaning``). Reports
how often the context holds a profile fact learned from the record's reveal session, the
reveal turn itself, or either. This measures retrieval only; accuracy needs the reader
(``eval_prefeval.py``).

    python -m benchmarks.exp_fact_ranking --store benchmarks/cache/prefeval-default \\
        --form explicit --budget 1000 --out benchmarks/results/fact_ranking.json
"""

from __future__ import annotations

import argparse
from collections.abc import Sequence
from pathlib import Path

from benchmarks.eval_prefeval import (
    load_records,
    prefeval_dir,
    recall_query,
    select_records,
    session_id_for,
    shuffle_options,
)
from benchmarks.lib.models import reading_manager
from benchmarks.lib.paths import DEFAULT_DATA
from benchmarks.lib.results import describe, write_json
from memory_agent import ChromaStore, E5Embedder
from memory_agent.core.config import MemoryConfig


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--store", type=Path, required=True,
                        help="an eval_prefeval cache folder (holding chroma/)")
    parser.add_argument("--form", default="explicit")
    parser.add_argument("--data", type=Path, default=DEFAULT_DATA)
    parser.add_argument("--records", type=int, default=40)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--budget", type=int, default=1000)
    parser.add_argument("--out", type=Path, default=None)
    args = parser.parse_args(argv)
    records = select_records(load_records(prefeval_dir(args.data)), args.records, args.seed)
    store = ChromaStore.persistent(args.store / "chroma")
    embedder = E5Embedder()
    results: dict[str, object] = {}
    for by_meaning in (False, True):
        memory = reading_manager(f"prefeval-{args.form}", store, embedder,
                                 MemoryConfig(rank_facts_by_meaning=by_meaning))
        facts = memory.profile().facts
        fact_hit = turn_hit = either = with_fact = 0
        for k, record in enumerate(records, 1):
            session = session_id_for(record.id)
            mine = {f.id for f in facts if any(s.startswith(session + "#") for s in f.sources)}
            options = shuffle_options(record, args.seed)[0]
            ctx = memory.recall(recall_query(record.question, options), token_budget=args.budget)
            f_ok = any(i.id in mine for i in ctx.profile_items)
            t_ok = any(i.id.startswith(session + "#") for i in ctx.turns)
            with_fact += bool(mine)
            fact_hit += f_ok
            turn_hit += t_ok
            either += f_ok or t_ok
            print(f"  [{by_meaning=} {k}/{len(records)}] {record.id}: "
                  f"fact {f_ok} (of {len(mine)}), turn {t_ok}", flush=True)
        memory.close()
        n = len(records)
        name = "meaning" if by_meaning else "words"
        results[name] = {
            "records": n, "records_with_a_fact_from_their_reveal": with_fact,
            "fact_in_context": round(fact_hit / n, 3), "reveal_turn_in_context":
            round(turn_hit / n, 3), "either_in_context": round(either / n, 3),
            "profile_facts": len(facts)}
        print(f"{name}: {results[name]}", flush=True)
    results["_run"] = {"store": str(args.store), "form": args.form, "budget": args.budget,
                       **describe()}
    if args.out:
        write_json(args.out, results)
        print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
