"""Where the model time of a session goes, and would filling the profile form field by field
save any of it?

Two measurements on the local model (llama.cpp, ``--threads``), for the write path issue:

- **rates**: seconds per prompt token evaluated (prefill), per generated token, and per
  generated token under the profile form's grammar (``SessionFacts``), so a session's cost
  can be read off its token counts;
- **form fill**: the product's form call (one grammar-constrained completion of the whole
  JSON object) against a variant that writes the 16 keys itself and lets the model generate
  only the values, one short completion per field with a grammar for that value and its
  separator (the keys are then evaluated as prompt tokens, in a batch, not generated one
  at a time). Same prompts (the form prompts of the first ``--sessions`` sessions of LoCoMo
  conversation ``--conversation``), the cache emptied before each call, alternating which
  variant goes first. Reported: seconds, generated tokens, and how many values differ.

    python -m benchmarks.exp_form_fill --threads 2

Writes ``benchmarks/results/form_fill.json``. The variant is written here, not in the
product: it is kept only if it pays.
"""

from __future__ import annotations

import argparse
import json
import statistics
import time
from datetime import datetime
from pathlib import Path
from typing import Any

from benchmarks.bench_upkeep import locomo_sessions
from benchmarks.lib.paths import DEFAULT_DATA, RESULTS
from benchmarks.lib.results import describe, write_json
from memory_agent import LlamaCppLLM, MemoryConfig
from memory_agent.backends.llm.grammar import (
    _STRICT_CHAR_RULE,
    json_schema_grammar,
    prepare_json_schema,
)
from memory_agent.core.extraction import SessionFacts
from memory_agent.core.types import Message, Turn
from memory_agent.engine.profile_update import FORM_MAX_TOKENS, form_prompt

RATE_TOKENS = 600  # prompt tokens for the prefill rate
RATE_STEPS = 60  # generated tokens for the generation rates


def rates(llm: LlamaCppLLM, text: str) -> dict[str, float]:
    from llama_cpp.llama_grammar import LlamaGrammar

    llama = llm._llama
    assert llama is not None
    tokens = llama.tokenize(text.encode("utf-8"))[:RATE_TOKENS]
    llama.reset()
    started = time.perf_counter()
    llama.eval(tokens)
    out = {"prefill_s_per_token": (time.perf_counter() - started) / len(tokens)}
    grammar = json_schema_grammar(prepare_json_schema(SessionFacts.model_json_schema()))
    for name, g in (("generate", None), ("generate_grammar",
                                          LlamaGrammar.from_string(grammar, verbose=False))):
        started, n = time.perf_counter(), 0
        for _ in llama.generate(tokens, temp=0.0, grammar=g, reset=True):  # prefix reused
            n += 1
            if n >= RATE_STEPS:
                break
        out[f"{name}_s_per_token"] = (time.perf_counter() - started) / n
    return {k: round(v, 4) for k, v in out.items()}


def value_grammar(cap: int, last: bool) -> Any:
    """One field's value and what follows it: ``,`` or the object's end."""
    from llama_cpp.llama_grammar import LlamaGrammar

    end = '" "? "}"' if last else '","'
    root = f'root ::= " "? "\\"" char{{0,{cap}}} "\\"" {end}\n'
    return LlamaGrammar.from_string(root + _STRICT_CHAR_RULE + "\n", verbose=False)


def fill_by_field(llm: LlamaCppLLM, messages: list[Message]) -> tuple[dict[str, str], int]:
    llama, formatter = llm._llama, llm._formatter
    assert llama is not None and formatter is not None
    props = SessionFacts.model_json_schema()["properties"]
    text, _ = formatter(messages)
    text += "{"
    values, generated = {}, 0
    for i, (name, prop) in enumerate(props.items()):
        text += f" {json.dumps(name)}:"
        cap = int(prop["maxLength"])
        reply = llama.create_completion(text, max_tokens=cap + 4, temperature=0.0, seed=0,
                                        grammar=value_grammar(cap, i == len(props) - 1))
        raw = str(reply["choices"][0]["text"])  # type: ignore[index]
        generated += int(reply["usage"]["completion_tokens"])  # type: ignore[index]
        values[name] = json.loads(raw.strip().rstrip(",}").strip())
        text += raw
    return values, generated


def by_grammar(llm: LlamaCppLLM, messages: list[Message]) -> tuple[dict[str, str], int]:
    before = llm.stats.completion_tokens
    raw = llm.complete(messages, max_tokens=FORM_MAX_TOKENS,
                       json_schema=SessionFacts.model_json_schema())
    return dict(json.loads(raw)), llm.stats.completion_tokens - before


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data", type=Path, default=DEFAULT_DATA)
    parser.add_argument("--conversation", type=int, default=0)
    parser.add_argument("--sessions", type=int, default=6)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--out", type=Path, default=RESULTS / "form_fill.json")
    args = parser.parse_args()
    llm = LlamaCppLLM(None, n_threads=args.threads)
    llm.load()
    turn_tokens = MemoryConfig().turn_prompt_tokens
    prompts = [form_prompt([Turn("bench", sid, i + 1, u, a, datetime.fromisoformat(at))
                            for i, (u, a, at) in enumerate(turns)], turn_tokens=turn_tokens)
               for sid, turns in locomo_sessions(args.data, args.conversation, args.sessions)]
    result: dict[str, Any] = {"rates": rates(llm, prompts[0][1]["content"] * 3)}
    print("rates", result["rates"], flush=True)
    variants = {"grammar": by_grammar, "by_field": fill_by_field}
    rows = []
    for i, messages in enumerate(prompts):
        row: dict[str, Any] = {}
        for name in list(variants) if i % 2 == 0 else list(reversed(variants)):
            assert llm._llama is not None
            llm._llama.reset()  # both prefill the whole prompt
            started = time.perf_counter()
            values, generated = variants[name](llm, messages)
            row[name] = {"seconds": round(time.perf_counter() - started, 2),
                         "generated": generated, "values": values}
        row["values_differing"] = sum(row["grammar"]["values"][k] != row["by_field"]["values"][k]
                                      for k in row["grammar"]["values"])
        print(f"session {i + 1}: grammar {row['grammar']['seconds']} s, by field "
              f"{row['by_field']['seconds']} s, {row['values_differing']} values differ",
              flush=True)
        rows.append(row)
    result["per_session"] = rows
    result["mean"] = {name: {k: round(statistics.fmean(r[name][k] for r in rows), 2)
                             for k in ("seconds", "generated")} for name in variants}
    result["mean"]["values_differing"] = statistics.fmean(r["values_differing"] for r in rows)
    result["run"] = describe()
    write_json(args.out, result)
    print(json.dumps(result["mean"]), f"wrote {args.out}")


if __name__ == "__main__":
    main()
