"""A model wrapper that records every reply to a file and replays it on the same request.

Benchmarks that score rules acting on the model's output (profile validators, the
self-statement filter) need that output again to re-score a rule change. With
:class:`RecordingLLM` a real run writes each request's reply (and what it cost) to a JSON
lines file; a later run with the same file answers any request it has seen from there in
microseconds, and only calls the model (or, with ``replay_only``, fails) on a new request.
A request is the exact messages, ``max_tokens``, ``json_schema`` and ``temperature``: change
a prompt's wording and that call is new; change a rule that reads the reply and it is not.

Replies are exact only at temperature 0 (the benchmarks' setting): a replay then returns
what the model would have answered.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from memory_agent.core.llm import LLM
from memory_agent.core.types import Message
from memory_agent.errors import ModelError


def request_key(model: str, messages: Sequence[Message], *, max_tokens: int,
                json_schema: dict[str, Any] | None, temperature: float) -> str:
    """A stable hash of one request (the model's name included)."""
    payload = json.dumps({"model": model, "messages": list(messages), "max_tokens": max_tokens,
                          "json_schema": json_schema, "temperature": temperature},
                         sort_keys=True, ensure_ascii=False)
    return hashlib.sha256(payload.encode("utf-8")).hexdigest()


@dataclass(frozen=True)
class Recorded:
    reply: str
    seconds: float
    prompt_tokens: int
    completion_tokens: int


class ReplayMissError(ModelError):
    """A replay-only run met a request the recording does not hold."""


class RecordingLLM(LLM):
    """``inner`` with its replies recorded in ``path`` (JSON lines, appended) and replayed.

    ``stats`` count the calls that reached ``inner`` (their real cost); ``hits`` and
    ``misses`` count the requests answered from the file and by the model. The name,
    context window and tokenizer are ``inner``'s, so prompts are built exactly as in the
    recorded run.
    """

    def __init__(self, inner: LLM, path: Path, *, replay_only: bool = False) -> None:
        super().__init__()
        self.inner = inner
        self.path = path
        self.replay_only = replay_only
        self.name = inner.name
        self.context_window = inner.context_window
        self.supports_json_schema = inner.supports_json_schema
        self.hits = 0
        self.misses = 0
        self._recorded: dict[str, Recorded] = {}
        if path.exists():
            with path.open(encoding="utf-8") as f:
                for line in f:
                    if line.strip():
                        row = json.loads(line)
                        self._recorded[row["key"]] = Recorded(
                            row["reply"], row.get("seconds", 0.0), row.get("prompt_tokens", 0),
                            row.get("completion_tokens", 0))

    def __len__(self) -> int:
        return len(self._recorded)

    def count_tokens(self, text: str) -> int:
        return self.inner.count_tokens(text)

    def _complete(self, messages: Sequence[Message], *, max_tokens: int,
                  json_schema: dict[str, Any] | None, temperature: float) -> str:
        key = request_key(self.name, messages, max_tokens=max_tokens, json_schema=json_schema,
                          temperature=temperature)
        found = self._recorded.get(key)
        if found is not None:
            self.hits += 1
            return found.reply
        if self.replay_only:
            msg = (f"request not in the recording {self.path} (a prompt changed?); "
                   "run without replay-only to call the model")
            raise ReplayMissError(msg)
        before = self.inner.stats
        calls, prompt, completion, seconds = (before.calls, before.prompt_tokens,
                                              before.completion_tokens, before.seconds)
        reply = self.inner.complete(messages, max_tokens=max_tokens, json_schema=json_schema,
                                    temperature=temperature)
        after = self.inner.stats
        used = Recorded(reply, round(after.seconds - seconds, 3), after.prompt_tokens - prompt,
                        after.completion_tokens - completion)
        self.stats.calls += after.calls - calls
        self.stats.prompt_tokens += used.prompt_tokens
        self.stats.completion_tokens += used.completion_tokens
        self.stats.seconds += used.seconds
        self.misses += 1
        self._recorded[key] = used
        self.path.parent.mkdir(parents=True, exist_ok=True)
        with self.path.open("a", encoding="utf-8") as f:
            f.write(json.dumps({"key": key, "reply": reply, "seconds": used.seconds,
                                "prompt_tokens": used.prompt_tokens,
                                "completion_tokens": used.completion_tokens,
                                "request": {"messages": list(messages),
                                            "max_tokens": max_tokens}},
                               ensure_ascii=False) + "\n")
        return reply
