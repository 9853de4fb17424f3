"""Where is MSC's gap to the goals? Counts on each half, from the recorded run (no model).

Every episode is replayed with the current rules (as ``exp_msc_rules`` does); then:

- each **gold sentence no fact matches** is put in one of three bins: a user sentence of
  the episode says it (E5 cosine with some user sentence >= the match threshold: the
  rules or the model dropped a statement the user made), a user sentence is near it
  (cosine >= ``NEAR``: said in other words), or no user sentence is near it (the gold
  sums up several messages, or states what the user never said in one sentence);
- each **fact no gold sentence matches** is counted by where it came from: a statement
  in the user's words (``slot=said``), or a field of the model's form.

    python -m benchmarks.exp_msc_gap --out benchmarks/results/msc_gap.json
"""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

import numpy as np

from benchmarks import eval_msc as msc
from benchmarks.exp_msc_rules import MemoEmbedder
from benchmarks.lib.llm_cache import RecordingLLM
from benchmarks.lib.models import make_llm
from benchmarks.lib.paths import CACHE, DEFAULT_DATA, cache_dir
from benchmarks.lib.results import describe, write_json
from memory_agent.core.text import sentences

NEAR = 0.85


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data", type=Path, default=DEFAULT_DATA)
    parser.add_argument("--episodes", type=int, default=30)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--cache", type=Path, default=CACHE)
    parser.add_argument("--out", type=Path, default=None)
    args = parser.parse_args()
    from memory_agent import E5Embedder, HashingEmbedder, InMemoryStore, MemoryManager

    recording = cache_dir(args.cache, "msc", msc.DEFAULT_MODEL_KEY) / "llm_calls.jsonl"
    llm = RecordingLLM(make_llm(threads=1), recording, replay_only=True)
    episodes = msc.load_episodes(args.data)
    chosen = [(episodes[i], msc.half_of(p))
              for p, i in msc.select_half(len(episodes), args.episodes, seed=args.seed)]
    scorer = MemoEmbedder(E5Embedder())
    msc.profile_only().__enter__()
    store = InMemoryStore()
    counts: dict[str, dict[str, int]] = {}
    for episode, half in chosen:
        c = counts.setdefault(half, {"gold": 0, "gold_missed": 0, "missed_said": 0,
                                     "missed_near": 0, "missed_unsaid": 0, "facts": 0,
                                     "facts_unmatched": 0, "unmatched_statements": 0,
                                     "unmatched_fields": 0})
        speaker = msc.speaker_for(episode.id, seed=args.seed)
        user = msc.user_id_for(episode, speaker, session=3, split="valid")
        memory = MemoryManager(user_id=user, store=store, llm=llm, embedder=HashingEmbedder(),
                               background=False)
        msc.ingest_episode(memory, episode, speaker, llm, lambda sid, cost: None)
        doc = memory.profile()
        memory.close()
        facts = [f for f in doc.facts if f.section not in msc.EXCLUDED_SECTIONS]
        gold = list(episode.gold[speaker])
        sim = msc.similarity_matrix(scorer, [f.text for f in facts], gold)
        said = [s.strip() for session in episode.sessions
                for user_text, _ in msc.exchanges(session.utterances, speaker)
                for s in sentences(user_text) if s.strip()]
        by_user = msc.similarity_matrix(scorer, said, gold)
        best_user = by_user.max(axis=0) if by_user.size else np.zeros(len(gold))
        matched_gold = (sim >= msc.THRESHOLD).any(axis=0) if sim.size else np.zeros(len(gold))
        matched_fact = (sim >= msc.THRESHOLD).any(axis=1) if sim.size else np.zeros(len(facts))
        c["gold"] += len(gold)
        c["facts"] += len(facts)
        for j in range(len(gold)):
            if matched_gold[j]:
                continue
            c["gold_missed"] += 1
            c["missed_said" if best_user[j] >= msc.THRESHOLD
              else "missed_near" if best_user[j] >= NEAR else "missed_unsaid"] += 1
        for i, f in enumerate(facts):
            if not matched_fact[i]:
                c["facts_unmatched"] += 1
                c["unmatched_statements" if f.slot == "said" else "unmatched_fields"] += 1
    for half, c in counts.items():
        print(f"{half}: {c}")
    if args.out is not None:
        result: dict[str, Any] = {"what": __doc__.split("\n\n")[0], "near": NEAR,
                                  "threshold": msc.THRESHOLD, "halves": counts,
                                  "_run": describe()}
        write_json(args.out, result)
        print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
