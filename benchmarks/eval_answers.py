"""Answer quality (LoCoMo token F1) of the default local model reading different contexts.

Needs a store made by ``benchmarks/ingest.py``. A seeded random subset of the QA pairs
(``--questions``, default 60 per dataset) is answered by the same local reader from four
contexts:

- ``tree``: ``MemoryManager.recall(question, token_budget=B)`` (memory-agent);
- ``flat``: the best flat baseline of ``eval_retrieval.py`` at the same budget (the method
  with the highest evidence recall in ``results/retrieval.json`` for the dataset and B,
  hybrid if there is no result yet), rendered the same way;
- ``no_memory``: the question alone;
- ``full_history``: the conversation itself (``Name: text`` lines under their session dates),
  the most recent part that fits the reader's context window with the question.

Scoring follows LoCoMo's evaluation: answers and predictions are normalised (lower case,
punctuation and articles removed), token F1; multi-hop answers (category 1) are split on
commas and each gold part takes its best F1 against the predicted parts; open-domain answers
(category 3) use the first ``;`` alternative; adversarial questions (category 5) score 1
when the prediction says the information is not available, else 0.

Answers are cached in ``benchmarks/cache/answers-<dataset>.jsonl`` keyed by the prompt's
hash, so a rerun only answers what changed (e.g. after a retrieval change, only ``tree``).

    python -m benchmarks.eval_answers --dataset locomo --threads 1
"""

from __future__ import annotations

import argparse
import json
import random
import re
import statistics
import string
import time
from collections import Counter, defaultdict
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from benchmarks.datasets import HALVES, QA, Conversation, add_dataset_args, halves, load
from benchmarks.eval_retrieval import FlatRanker, flat_context
from benchmarks.ingest import add_store_arg, fully_ingested, store_dir, user_id_for
from benchmarks.lib.answers import AnswerCache, prompt_sha, prompt_tokens
from benchmarks.lib.models import add_model_args, make_llm, reading_manager
from benchmarks.lib.paths import CACHE, RESULTS
from benchmarks.lib.results import describe, read_json, write_json
from memory_agent import ChromaStore, E5Embedder, MemoryConfig, MemoryManager
from memory_agent.core.types import Message

SYSTEMS = ("no_memory", "full_history", "flat", "tree")
NOT_AVAILABLE = "Not mentioned in the conversation."
ANSWER_TOKENS = 32

READER_SYSTEM = (
    "You answer questions about a long conversation between {a} and {b}. "
    "Use only the information below. Answer with a short phrase (a few words, a name, a "
    "date or a number), not a sentence. If the information is not there, answer exactly: "
    f"{NOT_AVAILABLE}"
)
# a variant that asks the reader to check who a remembered message is about (LoCoMo's
# adversarial questions ask about one speaker what the other said): --reader speaker_check
READER_SYSTEM_SPEAKER_CHECK = (
    "You answer questions about a long conversation between {a} and {b}. "
    "Use only the information below. Each remembered message starts with the name of the "
    "person who wrote it. Answer with a short phrase (a few words, a name, a date or a "
    "number), not a sentence. If the information is not there, or it is about someone other "
    f"than the person the question asks about, answer exactly: {NOT_AVAILABLE}"
)
READERS = {"default": READER_SYSTEM, "speaker_check": READER_SYSTEM_SPEAKER_CHECK}
READER_QUESTION = "Question: {question}\nShort answer:"

_ARTICLES = re.compile(r"\b(a|an|the|and)\b")
_NOT_AVAILABLE = re.compile(
    r"not (mentioned|available|stated|specified|provided|discussed|known)|no information|"
    r"does not (say|mention)|doesn't (say|mention)|unknown|cannot be determined|"
    r"is not (in|given)", re.IGNORECASE)


# -- scoring (pure) ---------------------------------------------------------------------


def normalize(text: str) -> list[str]:
    text = text.lower().replace(",", " ")
    text = "".join(ch for ch in text if ch not in string.punctuation)
    return _ARTICLES.sub(" ", text).split()


def token_f1(prediction: str, gold: str) -> float:
    pred, ref = normalize(prediction), normalize(gold)
    common = Counter(pred) & Counter(ref)
    same = sum(common.values())
    if not pred or not ref or same == 0:
        return 0.0
    precision, recall = same / len(pred), same / len(ref)
    return 2 * precision * recall / (precision + recall)


def says_not_available(prediction: str) -> bool:
    return bool(_NOT_AVAILABLE.search(prediction))


def score(qa: QA, prediction: str) -> float:
    """LoCoMo-style score of ``prediction`` for ``qa`` in [0, 1]."""
    if qa.category == 5:
        return 1.0 if says_not_available(prediction) else 0.0
    gold = qa.answer
    if qa.category == 3:
        gold = gold.split(";")[0]
    if qa.category == 1:
        parts = [p for p in (s.strip() for s in prediction.split(",")) if p] or [prediction]
        golds = [g for g in (s.strip() for s in gold.split(",")) if g] or [gold]
        return statistics.fmean(max(token_f1(p, g) for p in parts) for g in golds)
    return token_f1(prediction, gold)


def sample_questions(conversations: Sequence[Conversation], n: int,
                     seed: int) -> list[tuple[Conversation, int]]:
    """A seeded random subset of (conversation, QA index) pairs, in conversation order."""
    pool = [(ci, qi) for ci, conv in enumerate(conversations) for qi in range(len(conv.qa))]
    picked = sorted(random.Random(seed).sample(pool, min(n, len(pool))))
    return [(conversations[ci], qi) for ci, qi in picked]


# -- contexts ---------------------------------------------------------------------------


def history_lines(conv: Conversation) -> list[str]:
    """The conversation as text lines: a date line per session, then ``Name: text``."""
    lines: list[str] = []
    for session in conv.sessions:
        lines.append(f"[session on {session.at:%Y-%m-%d}]")
        lines += [f"{m.speaker}: {m.text}" for m in session.messages if m.text]
    return lines


def latest_that_fit(lines: Sequence[str], budget: int, count: Callable[[str], int]) -> str:
    """The longest suffix of ``lines`` whose text takes at most ``budget`` tokens."""
    kept: list[str] = []
    used = 0
    for line in reversed(lines):
        cost = count(line) + 1
        if used + cost > budget:
            break
        kept.append(line)
        used += cost
    return "\n".join(reversed(kept))


def reader_messages(conv: Conversation, context: str, question: str,
                    reader: str = "default") -> list[Message]:
    speakers = list(dict.fromkeys(m.speaker for s in conv.sessions for m in s.messages))
    a, b = [*speakers, "?", "?"][:2]
    system = READERS[reader].format(a=a, b=b)
    if context:
        system += "\n\n" + context
    return [Message(role="system", content=system),
            Message(role="user", content=READER_QUESTION.format(question=question))]


def best_flat_method(results: Path, dataset: str, budget: int) -> str:
    try:
        table = json.loads(results.read_text())[dataset]
    except (OSError, KeyError, ValueError):
        return "hybrid"
    flat = {m: table[m][str(budget)]["evidence_recall"]
            for m in ("dense", "bm25", "hybrid") if m in table}
    return max(flat, key=lambda m: flat[m]) if flat else "hybrid"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    add_dataset_args(parser)
    add_store_arg(parser)
    parser.add_argument("--questions", type=int, default=60)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--budget", type=int, default=1000, help="memory context tokens")
    parser.add_argument("--systems", default=",".join(SYSTEMS))
    parser.add_argument("--half", choices=[*HALVES, "all"], default="all",
                        help="only the conversations of one half (datasets.halves)")
    parser.add_argument("--config", default="{}", help="MemoryConfig overrides as JSON")
    parser.add_argument("--reader", choices=sorted(READERS), default="default",
                        help="the reader's instructions (READERS)")
    parser.add_argument("--n-ctx", type=int, default=4096, help="reader context window")
    add_model_args(parser, fake_help="plumbing check, no model")
    parser.add_argument("--out", type=Path, default=RESULTS / "answers.json")
    args = parser.parse_args()

    conversations = load(args.dataset, args.data)
    if args.half != "all":
        split = halves(conversations)
        conversations = [c for c in conversations if split[c.id] == args.half]
    result_key = args.dataset if args.half == "all" else f"{args.dataset} ({args.half} half)"
    store = ChromaStore.persistent(store_dir(args) / "chroma")
    embedder = E5Embedder()
    config = MemoryConfig(**json.loads(args.config))
    reader = make_llm(fake=args.fake_llm, model=args.model, threads=args.threads,
                      n_ctx=args.n_ctx)
    systems = [s for s in args.systems.split(",") if s]
    flat_method = best_flat_method(RESULTS / "retrieval.json", args.dataset, args.budget)
    answers = AnswerCache(CACHE / f"answers-{args.dataset}.jsonl", key=lambda row: row["key"])
    complete = [c for c in conversations if fully_ingested(store, c)]
    for conv in conversations:
        if conv not in complete:
            print(f"skipping {conv.id}: not fully ingested (run ingest.py to finish it)")
    picked = sample_questions(complete, args.questions, args.seed)
    print(f"{args.dataset}: {len(picked)} questions x {len(systems)} systems "
          f"(flat = {flat_method}, B = {args.budget}, reader {reader.name}, "
          f"n_ctx {args.n_ctx})", flush=True)
    started = time.perf_counter()
    rows: dict[str, list[dict[str, Any]]] = defaultdict(list)
    memories: dict[str, MemoryManager] = {}
    rankers: dict[str, FlatRanker] = {}
    history_room = args.n_ctx - ANSWER_TOKENS - 200  # instructions, question, chat template
    answered = 0
    # system by system, conversation by conversation: consecutive prompts share their long
    # prefix (the history, the instructions), which llama.cpp reuses instead of re-reading
    for system in systems:
        for conv, qi in picked:
            qa = conv.qa[qi]
            user = user_id_for(conv.id)
            if user not in memories:
                memories[user] = reading_manager(user, store, embedder, config)
            memory = memories[user]
            if system == "no_memory":
                context = ""
            elif system == "full_history":
                context = latest_that_fit(history_lines(conv), history_room, reader.count_tokens)
            elif system == "tree":
                context = memory.recall(qa.question, token_budget=args.budget).to_prompt()
            else:
                if user not in rankers:
                    rankers[user] = FlatRanker(memory)
                ranked = rankers[user].rankings(qa.question)[flat_method]
                context = flat_context(memory, qa.question, args.budget, ranked).to_prompt()
            messages = reader_messages(conv, context, qa.question, args.reader)
            key = prompt_sha(reader, messages)
            row = answers.get(key)
            if row is None:
                t0 = time.perf_counter()
                prediction = reader.complete(messages, max_tokens=ANSWER_TOKENS).strip()
                row = {"key": key, "prediction": prediction,
                       "seconds": round(time.perf_counter() - t0, 2),
                       "prompt_tokens": prompt_tokens(reader, messages)}
                answers.put(row)
            answered += 1
            f1 = score(qa, row["prediction"])
            rows[system].append({"conversation": conv.id, "qa": qi, "category": qa.category,
                                 "question": qa.question, "gold": qa.answer,
                                 "prediction": row["prediction"], "f1": round(f1, 4),
                                 "prompt_tokens": row["prompt_tokens"],
                                 "seconds": row["seconds"]})
            if answered % 5 == 0 or answered == len(picked) * len(systems):
                print(f"  [{answered}/{len(picked) * len(systems)}] {system}: "
                      f"mean F1 so far {statistics.fmean(r['f1'] for r in rows[system]):.3f}; "
                      f"elapsed {(time.perf_counter() - started) / 60:.1f} min", flush=True)
    for memory in memories.values():
        memory.close()
    wall = time.perf_counter() - started
    table: dict[str, Any] = {}
    for system, items in rows.items():
        per_cat: dict[int, list[float]] = defaultdict(list)
        for r in items:
            per_cat[r["category"]].append(r["f1"])
        table[system] = {
            "f1": round(statistics.fmean(r["f1"] for r in items), 4), "n": len(items),
            "per_category": {str(c): round(statistics.fmean(v), 4)
                             for c, v in sorted(per_cat.items())},
            "prompt_tokens": round(statistics.fmean(r["prompt_tokens"] for r in items), 1),
            "reader_seconds": round(sum(r["seconds"] for r in items), 1),
        }
    existing = read_json(args.out)
    existing[result_key] = table
    existing.setdefault("_runs", {})[result_key] = {
        "budget": args.budget, "flat_method": flat_method, "questions": len(picked),
        "seed": args.seed, "conversations": [c.id for c in complete],
        "reader": reader.name, "reader_prompt": args.reader, "n_ctx": args.n_ctx,
        "config_overrides": json.loads(args.config),
        "wall_seconds_this_run": round(wall, 1), **describe(),
    }
    existing.setdefault("_predictions", {})[result_key] = rows
    write_json(args.out, existing)
    print("system         F1     n  prompt tokens")
    for system, cell in table.items():
        print(f"{system:13} {cell['f1']:.3f} {cell['n']:4}  {cell['prompt_tokens']:.0f}")


if __name__ == "__main__":
    main()
