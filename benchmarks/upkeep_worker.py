"""The worker of ``bench_upkeep``: one process, one version of memory-agent, one user.

Run as a script (``python benchmarks/upkeep_worker.py``), so that ``PYTHONPATH`` alone picks
the memory-agent it measures (this worktree, or another checkout such as main's). It imports
only memory-agent and the standard library, and measures the model itself, so old code
without ``LLMStats.prefill_tokens`` is measured the same way: the prompt tokens llama.cpp
evaluated are those of the first ``eval`` of each call (the rest of the prompt is the prefix
kept from the previous call).

Protocol: one JSON request per line on stdin, one JSON answer per line on stdout, prefixed
with ``@@`` (anything else on stdout is the libraries' noise):
``{"cmd": "session", "id": ..., "exchanges": [[user, assistant, iso time], ...]}`` records and
ends a session and answers with its cost; ``{"cmd": "dump"}`` answers with the profile and the
tree; ``{"cmd": "quit"}`` ends the process.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from collections import Counter
from datetime import datetime
from typing import Any

from memory_agent import MemoryManager
from memory_agent.backends.embeddings import HashingEmbedder
from memory_agent.backends.llm.fake import FakeLLM
from memory_agent.backends.store.memory import InMemoryStore
from memory_agent.core.llm import LLM


class Meter:
    """Calls, prompt tokens (in full and evaluated), generated tokens and model seconds."""

    def __init__(self, llm: LLM) -> None:
        self.llm = llm
        self.prefill = 0
        self.kinds: Counter[str] = Counter()  # calls by what they were for (call_kind)
        self._first_eval = False
        llama = getattr(llm, "_llama", None)
        if llama is not None:
            evaluate, complete = llama.eval, llama.create_chat_completion

            def counting_eval(tokens: Any) -> Any:
                if self._first_eval:
                    self.prefill += len(tokens)
                    self._first_eval = False
                return evaluate(tokens)

            def marking_complete(*args: Any, **kwargs: Any) -> Any:
                self._first_eval = True
                self.kinds[call_kind(kwargs)] += 1
                return complete(*args, **kwargs)

            llama.eval = counting_eval
            llama.create_chat_completion = marking_complete

    def reading(self) -> dict[str, float]:
        s = self.llm.stats
        prefill = self.prefill if getattr(self.llm, "_llama", None) is not None else getattr(
            s, "prefill_tokens", s.prompt_tokens)
        return {"calls": s.calls, "prompt_tokens": s.prompt_tokens, "prefill_tokens": prefill,
                "completion_tokens": s.completion_tokens, "model_seconds": s.seconds,
                **{f"calls_{kind}": self.kinds[kind]
                   for kind in [*CALL_KINDS.values(), "other"]}}


# what a call was for, told by how its system prompt starts (the prompts of core/prompts.py;
# a version whose prompts start otherwise counts as "other")
CALL_KINDS = {"You read a conversation": "session", "You merge summaries": "rollup",
              "You shorten a user profile": "compaction"}


def call_kind(kwargs: dict[str, Any]) -> str:
    messages = kwargs.get("messages") or [{}]
    system = str(messages[0].get("content", ""))
    return next((kind for start, kind in CALL_KINDS.items() if system.startswith(start)),
                "other")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--fake-llm", action="store_true")
    parser.add_argument("--model", default=None)
    parser.add_argument("--threads", type=int, default=1)
    args = parser.parse_args()
    if args.fake_llm:
        llm: LLM = FakeLLM()
    else:
        from memory_agent import LlamaCppLLM

        model = LlamaCppLLM(args.model, n_threads=args.threads)
        model.load()
        llm = model
    meter = Meter(llm)
    memory = MemoryManager(user_id="bench", store=InMemoryStore(), llm=llm,
                           embedder=HashingEmbedder(), background=False)
    answer({"ready": True, "llm": llm.name})
    for line in sys.stdin:
        request = json.loads(line)
        if request["cmd"] == "quit":
            break
        if request["cmd"] == "dump":
            tree = memory.tree()
            answer({"profile": memory.profile_markdown(), "verify": tree.verify(),
                    "nodes": [{"id": n.id, "level": n.level, "children": len(n.children),
                               "stale": n.stale, "summary": n.summary} for n in tree.nodes]})
            continue
        before = meter.reading()
        started = time.perf_counter()
        for user, assistant, at in request["exchanges"]:
            memory.record(user, assistant, session_id=request["id"],
                          at=datetime.fromisoformat(at))
        memory.end_session(request["id"])
        wall = time.perf_counter() - started
        after = meter.reading()
        answer({"id": request["id"], "wall_seconds": wall,
                **{k: after[k] - before[k] for k in after}})
    memory.close()


def answer(data: dict[str, Any]) -> None:
    sys.stdout.write("@@" + json.dumps(data) + "\n")
    sys.stdout.flush()


if __name__ == "__main__":
    main()
