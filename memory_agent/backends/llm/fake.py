"""A deterministic model for tests, docs and benchmarks that need no real model."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Sequence
from typing import Any

from memory_agent.core.llm import LLM
from memory_agent.core.types import Message

Responder = Callable[[Sequence[Message], "dict[str, Any] | None"], str]


def _minimal(schema: dict[str, Any], defs: dict[str, Any]) -> Any:
    """The smallest value that satisfies a (pydantic-generated) JSON schema."""
    if "$ref" in schema:
        return _minimal(defs[schema["$ref"].split("/")[-1]], defs)
    if "default" in schema:
        return schema["default"]
    if "anyOf" in schema:
        return _minimal(schema["anyOf"][0], defs)
    kind = schema.get("type")
    if kind == "object":
        required = schema.get("required", [])
        props = schema.get("properties", {})
        return {name: _minimal(props[name], defs) for name in required}
    if kind == "array":
        return []
    if kind == "string":
        return schema.get("enum", [""])[0]
    if kind in ("integer", "number"):
        return schema.get("minimum", 0)
    if kind == "boolean":
        return False
    if "enum" in schema:
        return schema["enum"][0]
    return None


def _extractive_summary(messages: Sequence[Message]) -> str:
    """First sentence of each 'User:' line in the last user message, joined."""
    last = next((m["content"] for m in reversed(messages) if m["role"] == "user"), "")
    picked = []
    for line in last.splitlines():
        line = line.strip()
        if line.lower().startswith(("user:", "- ")) or (line[:1] == "[" and "]" in line):
            body = line.split(":", 1)[-1].strip() if ":" in line else line
            picked.append(body.split(". ")[0].strip())
    return " ".join(picked)[:600] or last[:300]


def _rendered(messages: Sequence[Message]) -> list[str]:
    """The words of the messages as one prompt, each message opened by its role."""
    return [w for m in messages for w in (f"<{m['role']}>", *m["content"].split())]


class FakeLLM(LLM):
    """Answers from a script, a function, or a simple deterministic default.

    - ``responses``: replies returned in order (an exhausted script raises IndexError);
    - ``responder``: ``f(messages, json_schema) -> str`` called for every request;
    - neither: schema requests get the minimal valid JSON, text requests an extractive
      summary of the last user message.

    Every request is kept in ``requests`` so tests can look at the prompts.
    """

    name = "fake"
    context_window = 8192
    supports_json_schema = True

    def __init__(
        self,
        responses: Iterable[str] | None = None,
        *,
        responder: Responder | None = None,
    ) -> None:
        super().__init__()
        self._responses = list(responses) if responses is not None else None
        self._responder = responder
        self.requests: list[tuple[list[Message], dict[str, Any] | None]] = []
        self._previous: list[str] = []

    def _count(self, messages: Sequence[Message], reply: str) -> None:
        """Count the call like a backend with a prompt cache: a "token" is a word of the
        rendered prompt; the words shared with the start of the previous prompt are reused."""
        words = _rendered(messages)
        shared = 0
        for a, b in zip(self._previous, words, strict=False):
            if a != b:
                break
            shared += 1
        self._previous = words
        generated = len(reply.split()) if isinstance(reply, str) else 0
        self.stats.record(prompt_tokens=len(words), completion_tokens=generated, seconds=0.0,
                          prefill_tokens=len(words) - shared)

    def _complete(
        self,
        messages: Sequence[Message],
        *,
        max_tokens: int,
        json_schema: dict[str, Any] | None,
        temperature: float,
    ) -> str:
        self.requests.append((list(messages), json_schema))
        try:
            reply = self._reply(messages, json_schema)
        except BaseException:
            self._count(messages, "")  # a failed call still counts
            raise
        self._count(messages, reply)
        return reply

    def _reply(self, messages: Sequence[Message], json_schema: dict[str, Any] | None) -> str:
        if self._responses is not None:
            if not self._responses:
                msg = "FakeLLM script exhausted"
                raise IndexError(msg)
            return self._responses.pop(0)
        if self._responder is not None:
            return self._responder(messages, json_schema)
        if json_schema is not None:
            return json.dumps(_minimal(json_schema, json_schema.get("$defs", {})))
        return _extractive_summary(messages)
