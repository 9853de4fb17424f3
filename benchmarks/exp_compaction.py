"""Does the model's profile compaction pay for itself? Every full profile of a store made by
``benchmarks/ingest.py`` is compacted once by the product's own step
(``engine.compaction.compact``), against a budget below its size, so a merge is needed. It
reports the merges the model proposed, those applied and those refused (with the validator's
reason), and the call's cost. Nothing is written to the store.

    python -m benchmarks.exp_compaction --dataset locomo --threads 2
"""

from __future__ import annotations

import argparse
import logging
import time
from pathlib import Path
from typing import Any

from benchmarks.datasets import add_dataset_args, load
from benchmarks.ingest import add_store_arg, store_dir, user_id_for
from benchmarks.lib.models import add_model_args, make_llm
from benchmarks.lib.paths import RESULTS
from benchmarks.lib.results import describe, write_json
from memory_agent import ChromaStore, HashingEmbedder, InMemoryStore, MemoryConfig
from memory_agent.backends.tokens import count_tokens, truncate_to_tokens
from memory_agent.core.profile import parse_profile
from memory_agent.engine.compaction import compact
from memory_agent.engine.upkeep import Backends


class Refusals(logging.Handler):
    """Collects the merges the validator refused (compaction logs each one)."""

    def __init__(self) -> None:
        super().__init__(logging.INFO)
        self.messages: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.messages.append(record.getMessage())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    add_dataset_args(parser)
    add_store_arg(parser)
    add_model_args(parser, fake_help="plumbing check, no model")
    parser.add_argument("--shrink", type=float, default=0.8,
                        help="the budget, as a share of the profile's size")
    parser.add_argument("--out", type=Path, default=RESULTS / "compaction.json")
    args = parser.parse_args()
    store = ChromaStore.persistent(store_dir(args) / "chroma")
    llm = make_llm(fake=args.fake_llm, model=args.model, threads=args.threads)
    refusals = Refusals()
    logger = logging.getLogger("memory_agent")
    logger.addHandler(refusals)
    logger.setLevel(logging.INFO)
    rows: list[dict[str, Any]] = []
    for conv in load(args.dataset, args.data):
        user = user_id_for(conv.id)
        stored = store.get_profile(user)
        if stored is None:
            continue
        doc = parse_profile(stored.markdown)
        tokens = count_tokens(doc.render())
        config = MemoryConfig(profile_token_budget=max(200, int(tokens * args.shrink)),
                              compact_with_model=True)
        backends = Backends(InMemoryStore(), llm, HashingEmbedder(), config, count_tokens,
                            truncate_to_tokens)
        refusals.messages.clear()
        seconds, completion = llm.stats.seconds, llm.stats.completion_tokens
        started = time.perf_counter()
        new, retired = compact(backends, doc, today=conv.sessions[-1].at.date(),
                               reserved=[h.fact_id for h in store.get_history(user)])
        row = {"conversation": conv.id, "facts": len(doc.facts), "tokens": tokens,
               "budget": config.profile_token_budget, "facts_after": len(new.facts),
               "tokens_after": count_tokens(new.render()),
               "merged_away": len(retired), "refused": list(refusals.messages),
               "model_seconds": round(llm.stats.seconds - seconds, 1),
               "wall_seconds": round(time.perf_counter() - started, 1),
               "completion_tokens": llm.stats.completion_tokens - completion}
        rows.append(row)
        print(f"{conv.id}: {row['facts']} facts, {tokens} tokens -> {row['tokens_after']}; "
              f"{len(retired)} merged away, {len(row['refused'])} merges refused, "
              f"{row['model_seconds']} s", flush=True)
    write_json(args.out, {"what": __doc__.split("\n\n")[0], "llm": llm.name, "rows": rows,
                          "command": f"python -m benchmarks.exp_compaction --dataset "
                                     f"{args.dataset}", **describe()})


if __name__ == "__main__":
    main()
