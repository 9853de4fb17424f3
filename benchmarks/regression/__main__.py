"""Run the profile regression set: each scripted conversation through a fresh MemoryManager
on the local model, then every expectation checked, pass/fail printed.

    python -m benchmarks.regression --threads 1                  # default model
    python -m benchmarks.regression --threads 1 --only porto     # one conversation
    python -m benchmarks.regression --replay                     # no model: recorded replies
    python -m benchmarks.regression --fake-llm                   # plumbing, no model

Every model reply is recorded (``benchmarks/cache/regression-<model>/llm_calls.jsonl``), so
``--replay`` re-checks a change to the rules that act on the model's output in seconds.
Exit status 1 when an expectation not marked ``known_failure`` fails.
"""

from __future__ import annotations

import argparse
import sys
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from benchmarks.lib.llm_cache import RecordingLLM
from benchmarks.lib.models import add_model_args, make_llm
from benchmarks.lib.paths import CACHE, cache_dir
from benchmarks.lib.results import describe, write_json
from benchmarks.regression import (
    CONVERSATIONS,
    Conversation,
    Outcome,
    Tally,
    check_all,
    load_conversations,
)
from memory_agent.core.embedder import Embedder
from memory_agent.core.facts import Fact
from memory_agent.core.llm import LLM

SECONDS_PER_TURN = 120


def run_conversation(conversation: Conversation, llm: LLM,
                     embedder: Embedder) -> tuple[list[Fact], dict[str, str], str]:
    """Record and end every session of ``conversation`` for a fresh user of a fresh
    in-memory store. Returns the profile's facts, turn id -> user message, and the profile
    as Markdown."""
    from datetime import timedelta

    from memory_agent import InMemoryStore, MemoryManager

    memory = MemoryManager(user_id=f"regression-{conversation.id}", store=InMemoryStore(),
                           llm=llm, embedder=embedder, background=False)
    try:
        for session in conversation.sessions:
            for i, (user, assistant) in enumerate(session.turns):
                memory.record(user, assistant, session_id=session.id,
                              at=session.at + timedelta(seconds=SECONDS_PER_TURN * i))
            memory.end_session(session.id)
        messages = {t.id: t.user_message for t in memory.store.get_turns(memory.user_id)}
        return list(memory.profile().facts), messages, memory.profile_markdown()
    finally:
        memory.close()


def report(outcomes: Sequence[Outcome]) -> list[str]:
    lines = []
    for o in outcomes:
        lines.append(f"  [{o.label}] {o.expectation.what}")
        if not o.passed:
            lines.append(f"      why: {o.why}")
            if o.expectation.known_failure:
                lines.append(f"      known: {o.expectation.known_failure}")
        if not o.passed or o.expectation.kind == "absent":
            lines += [f"      fact: {f}" for f in o.facts]
    return lines


def as_json(outcomes: Sequence[Outcome]) -> list[dict[str, Any]]:
    return [{"conversation": o.conversation, "what": o.expectation.what, "passed": o.passed,
             "known_failure": bool(o.expectation.known_failure), "why": o.why,
             "facts": list(o.facts)} for o in outcomes]


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--conversations", type=Path, default=CONVERSATIONS)
    parser.add_argument("--only", action="append", default=[], help="a conversation id")
    add_model_args(parser, fake_help="no model: plumbing check")
    parser.add_argument("--replay", action="store_true",
                        help="no model calls: replies from the recording (fails on a new one)")
    parser.add_argument("--llm-cache", type=Path, default=None,
                        help="replies recorded/replayed here (default: "
                             "benchmarks/cache/regression-<model>/llm_calls.jsonl)")
    parser.add_argument("--hashing-embedder", action="store_true",
                        help="the hashing embedder instead of E5 (extraction does not use it)")
    parser.add_argument("--json", type=Path, default=None, help="write the outcomes here")
    parser.add_argument("--quiet", action="store_true", help="no profiles printed")
    args = parser.parse_args(argv)

    model = "fake" if args.fake_llm else (args.model or "default")
    llm_cache = args.llm_cache or cache_dir(CACHE, "regression", model) / "llm_calls.jsonl"
    llm = RecordingLLM(make_llm(fake=args.fake_llm, model=args.model, threads=args.threads),
                       llm_cache, replay_only=args.replay)
    if args.hashing_embedder or args.fake_llm:
        from memory_agent import HashingEmbedder

        embedder: Embedder = HashingEmbedder()
    else:
        from memory_agent import E5Embedder

        embedder = E5Embedder()
    conversations = load_conversations(args.conversations, args.only)
    tally = Tally()
    everything: list[Outcome] = []
    started = time.perf_counter()
    for conversation in conversations:
        t0 = time.perf_counter()
        facts, messages, markdown = run_conversation(conversation, llm, embedder)
        outcomes = check_all(conversation, facts, messages)
        tally.add(outcomes)
        everything += outcomes
        ok, n = tally.by_conversation[conversation.id]
        print(f"== {conversation.id}: {ok}/{n} pass ({time.perf_counter() - t0:.0f} s)")
        if not args.quiet:
            print("\n".join("    " + line for line in markdown.strip().splitlines()))
        print("\n".join(report(outcomes)), flush=True)
    print(f"\n{tally.passed}/{tally.total} expectations pass; {tally.failed} fail, "
          f"{tally.known} known failures; model replies: {llm.hits} replayed, "
          f"{llm.misses} from the model; {time.perf_counter() - started:.0f} s")
    if args.json is not None:
        write_json(args.json, {"model": model, "passed": tally.passed, "total": tally.total,
                               "failed": tally.failed, "known_failures": tally.known,
                               "by_conversation": {k: list(v) for k, v in
                                                   tally.by_conversation.items()},
                               "outcomes": as_json(everything),
                               "_run": {**describe(), "replay": args.replay,
                                        "llm": llm.name, "threads": args.threads}})
    return 1 if tally.failed else 0


if __name__ == "__main__":
    sys.exit(main())
