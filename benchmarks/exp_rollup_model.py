"""Is the 0.5B model as good as the 1.5B one at roll-ups? Both merge the same session
summaries, one call after the other (alternating which goes first), and are scored alike.

Roll-ups merge summaries, not transcripts, so they are the step a smaller model might do as
well. The inputs are the stored session summaries of a store made by ``benchmarks/ingest.py``
(written by the default model), in windows of ``--window`` consecutive sessions (a month
holds 1-6 sessions on LoCoMo), every window of each conversation. Each model merges each
window with the product's own roll-up call (``engine.summaries.merge_summaries``). Per
roll-up:

- **answer coverage**: for every question whose evidence lies wholly in the window's
  sessions, the share of its gold answer's content words in the roll-up (as in
  ``eval_retrieval``); the children's text together is the ceiling;
- **key terms kept**: the share of the children's numbers and capitalised words (not
  sentence-initial: names, places, months) that the roll-up keeps;
- model seconds, prompt and generated tokens, and outputs rejected by the validator.

Reported per half (``datasets.halves``) and overall.

    python -m benchmarks.exp_rollup_model --dataset locomo --threads 2
"""

from __future__ import annotations

import argparse
import re
import statistics
import time
from pathlib import Path
from typing import Any

from benchmarks.datasets import HALVES, add_dataset_args, halves, load
from benchmarks.eval_retrieval import answer_coverage
from benchmarks.ingest import add_store_arg, store_dir, user_id_for
from benchmarks.lib.models import make_llm
from benchmarks.lib.paths import RESULTS
from benchmarks.lib.results import describe, write_json
from memory_agent import ChromaStore, HashingEmbedder, MemoryConfig
from memory_agent.backends.tokens import count_tokens, truncate_to_tokens
from memory_agent.core.text import sentences
from memory_agent.core.types import Node
from memory_agent.engine.summaries import merge_summaries
from memory_agent.engine.upkeep import Backends
from memory_agent.errors import ModelOutputError

MODELS = ("qwen2.5-1.5b", "qwen2.5-0.5b")
_NUMBER = re.compile(r"\d[\d:.,/]*")
_CAPITALISED = re.compile(r"\b[A-Z][\w'-]+")
_SPEAKER_WORDS = {"user", "the", "assistant"}


def key_terms(text: str) -> set[str]:
    """Numbers, and capitalised words that do not start a sentence, lower-cased."""
    out = {m.group().rstrip(".,:/").lower() for m in _NUMBER.finditer(text)}
    for sentence in sentences(text):
        out |= {w.lower() for w in _CAPITALISED.findall(sentence)[1:]} - _SPEAKER_WORDS
        if not sentence[:1].isupper():
            out |= {w.lower() for w in _CAPITALISED.findall(sentence[:40])[:1]}
    return out


def kept(terms: set[str], text: str) -> float | None:
    if not terms:
        return None
    lower = text.lower()
    return sum(t in lower for t in terms) / len(terms)


def mean(values: list[float]) -> float | None:
    return round(statistics.fmean(values), 4) if values else None


def windows(nodes: list[Node], size: int) -> list[list[Node]]:
    sessions = sorted((n for n in nodes if n.level == 1), key=lambda n: n.start)
    return [sessions[i:i + size] for i in range(max(0, len(sessions) - size + 1))]


def merge(backends: Backends, window: list[Node]) -> dict[str, Any]:
    before = (backends.llm.stats.seconds, backends.llm.stats.prompt_tokens,
              backends.llm.stats.completion_tokens)
    started = time.perf_counter()
    try:
        text = merge_summaries(backends, [n.summary for n in window], window[0].start,
                               window[-1].end)
        error = None
    except ModelOutputError as exc:
        text, error = "", str(exc)[:200]
    stats = backends.llm.stats
    return {"text": text, "error": error, "wall_seconds": round(time.perf_counter() - started, 2),
            "model_seconds": round(stats.seconds - before[0], 2),
            "prompt_tokens": stats.prompt_tokens - before[1],
            "completion_tokens": stats.completion_tokens - before[2]}


def summarise(rows: list[dict[str, Any]], model: str) -> dict[str, Any]:
    outs = [r[model] for r in rows]
    coverage = [c for r in rows for c in r[model]["coverage"]]
    return {
        "rollups": len(rows),
        "questions_scored": len(coverage),
        "answer_coverage": mean(coverage),
        "key_terms_kept": mean([o["key_terms_kept"] for o in outs
                                if o["key_terms_kept"] is not None]),
        "words": mean([len(o["text"].split()) for o in outs]),
        "rejected": sum(o["error"] is not None for o in outs),
        "model_seconds": mean([o["model_seconds"] for o in outs]),
        "prompt_tokens": mean([o["prompt_tokens"] for o in outs]),
        "completion_tokens": mean([o["completion_tokens"] for o in outs]),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    add_dataset_args(parser)
    add_store_arg(parser)
    parser.add_argument("--window", type=int, default=3, help="sessions per roll-up")
    parser.add_argument("--threads", type=int, default=None)
    parser.add_argument("--limit", type=int, default=None, help="roll-ups per conversation")
    parser.add_argument("--out", type=Path, default=RESULTS / "rollup_model.json")
    args = parser.parse_args()

    conversations = load(args.dataset, args.data)
    half_of = halves(conversations)
    store = ChromaStore.persistent(store_dir(args) / "chroma")
    config = MemoryConfig()
    backends = {key: Backends(store, llm, HashingEmbedder(), config, count_tokens,
                              truncate_to_tokens)
                for key in MODELS for llm in [make_llm(model=key, threads=args.threads)]}
    names = {key: b.llm.name for key, b in backends.items()}

    rows: list[dict[str, Any]] = []
    for conv in conversations:
        nodes = store.get_nodes(user_id_for(conv.id))
        if not nodes:
            continue
        session_of = {m.dia_id: s.id for s in conv.sessions for m in s.messages}
        for window in windows(nodes, args.window)[:args.limit]:
            ids = {n.session_id for n in window}
            children = "\n".join(n.summary for n in window)
            terms = key_terms(children)
            answers = [qa.answer for qa in conv.qa if qa.evidence and qa.category != 5
                       and all(session_of.get(d) in ids for d in qa.evidence)]
            row: dict[str, Any] = {
                "conversation": conv.id, "half": half_of[conv.id],
                "sessions": sorted(ids, key=lambda s: int(s[1:])),
                "children_coverage": [c for a in answers
                                      if (c := answer_coverage(a, children)) is not None],
            }
            order = MODELS if len(rows) % 2 == 0 else MODELS[::-1]
            for key in order:
                out = merge(backends[key], window)
                out["coverage"] = [c for a in answers
                                   if (c := answer_coverage(a, out["text"])) is not None]
                out["key_terms_kept"] = kept(terms, out["text"])
                row[key] = out
            rows.append(row)
            print(f"{conv.id} {row['sessions']}: " + "  ".join(
                f"{k} {row[k]['model_seconds']:.1f}s terms {row[k]['key_terms_kept'] or 0:.2f}"
                for k in MODELS), flush=True)

    report: dict[str, Any] = {"what": __doc__.split("\n\n")[0], "models": names,
                              "window": args.window}
    for half in [*HALVES, "all"]:
        chosen = [r for r in rows if half in ("all", r["half"])]
        report[half] = {key: summarise(chosen, key) for key in MODELS}
        report[half]["children_ceiling"] = mean(
            [c for r in chosen for c in r["children_coverage"]])
    report["rows"] = rows
    report["command"] = "python -m benchmarks.exp_rollup_model " + " ".join(
        f"--{k.replace('_', '-')} {v}" for k, v in vars(args).items()
        if v is not None and k not in ("out", "data", "cache"))
    report.update(describe())
    write_json(args.out, report)
    for half in [*HALVES, "all"]:
        print(half, {k: report[half][k] for k in MODELS})


if __name__ == "__main__":
    main()
