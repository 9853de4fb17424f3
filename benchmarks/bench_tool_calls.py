"""How often does the local model call the right memory tool with valid arguments?

``ChatLocalLlama.bind_tools(memory_tools(...))`` on a fixed set of requests written for this
benchmark (not taken from any dataset): remember, correct, forget, search, and requests that
need no tool. A request scores when the model makes the expected choice (the tool, or a plain
answer) and, for a call, the arguments pass the tool's own schema and hold the expected words.
One model call per request, temperature 0.

    python -m benchmarks.bench_tool_calls --threads 2
    python -m benchmarks.bench_tool_calls --fake       # plumbing, no model
"""

from __future__ import annotations

import argparse
import json
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from benchmarks.lib.paths import RESULTS as RESULTS_DIR
from benchmarks.lib.results import describe, write_json

RESULTS = RESULTS_DIR / "tool_calls.json"


@dataclass(frozen=True)
class Request:
    text: str
    tool: str  # the expected tool, or "answer" for no call
    words: tuple[str, ...] = ()  # each must appear in the arguments (case-insensitive)
    fact_id: str = ""  # the fact id the call must name


REQUESTS = [
    Request("Please remember that I'm allergic to peanuts.", "remember_fact", ("peanut",)),
    Request("Note that I moved to Porto last week.", "remember_fact", ("porto",)),
    Request("My daughter's name is Maya, keep that in mind.", "remember_fact", ("maya",)),
    Request("Fact f2 is out of date: I'm vegan now, not vegetarian.", "correct_fact",
            ("vegan",), "f2"),
    Request("Fact f4 is wrong: my son is 9, not 8.", "correct_fact", ("9",), "f4"),
    Request("Forget fact f3, please.", "forget_fact", (), "f3"),
    Request("Delete what you stored as f5.", "forget_fact", (), "f5"),
    Request("What do you remember about my diet?", "search_memory", ("diet",)),
    Request("Look up what I told you about my running plans.", "search_memory", ("run",)),
    Request("Do you know where I live? Check your memory.", "search_memory", ("live",)),
    Request("What's the capital of France?", "answer"),
    Request("Write a haiku about autumn.", "answer"),
]


def score(request: Request, message: Any, tools: dict[str, Any]) -> dict[str, Any]:
    calls = list(getattr(message, "tool_calls", []) or [])
    chosen = calls[0]["name"] if calls else "answer"
    row: dict[str, Any] = {"request": request.text, "expected": request.tool,
                           "chosen": chosen, "args": calls[0]["args"] if calls else None,
                           "answer": None if calls else str(message.content)[:200]}
    valid = chosen == request.tool
    if valid and calls:
        args = calls[0]["args"]
        try:
            tools[chosen].args_schema.model_validate(args)
        except Exception as error:  # the tool's own validation
            row["invalid"] = str(error)[:200]
            valid = False
        text = json.dumps(args).lower()
        valid = valid and all(w in text for w in request.words)
        valid = valid and (not request.fact_id or args.get("fact_id") == request.fact_id)
    row["right"] = valid
    return row


def fake_model() -> Any:
    from memory_agent import FakeLLM

    def responder(messages: Any, schema: Any) -> str:
        return '{"name": "answer", "text": "ok"}'

    return FakeLLM(responder=responder)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--threads", type=int, default=None)
    parser.add_argument("--model", default=None, help="registry key or .gguf path")
    parser.add_argument("--fake", action="store_true", help="a fake model (plumbing only)")
    parser.add_argument("--out", type=Path, default=RESULTS)
    args = parser.parse_args()

    from langchain_memory_agent import ChatLocalLlama, memory_tools

    from memory_agent import LlamaCppLLM

    tools = {t.name: t for t in memory_tools(lambda _: None)}
    llm = fake_model() if args.fake else LlamaCppLLM(args.model, n_threads=args.threads)
    chat = ChatLocalLlama(llm=llm, max_tokens=200).bind_tools(list(tools.values()))
    rows = []
    for i, request in enumerate(REQUESTS, start=1):
        started = time.perf_counter()
        row = score(request, chat.invoke(request.text), tools)
        row["seconds"] = round(time.perf_counter() - started, 1)
        rows.append(row)
        print(f"[{i}/{len(REQUESTS)}] {'ok' if row['right'] else '--'} {request.tool:>13} "
              f"<- {row['chosen']:<13} {row['seconds']:5.1f}s  {request.text}", flush=True)
    right = sum(r["right"] for r in rows)
    calls = [r for r in rows if r["expected"] != "answer"]
    result = {
        "model": llm.name, "right": right, "n": len(rows), "accuracy": round(right / len(rows), 3),
        "tool_requests_right": sum(r["right"] for r in calls), "tool_requests": len(calls),
        "no_tool_requests_right": right - sum(r["right"] for r in calls),
        "mean_seconds": round(sum(r["seconds"] for r in rows) / len(rows), 1),
        "rows": rows, "_run": describe(),
    }
    write_json(args.out, result)
    print(f"right tool with valid arguments: {right}/{len(rows)}")


if __name__ == "__main__":
    main()
