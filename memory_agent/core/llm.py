"""The model interface every backend implements."""

from __future__ import annotations

import threading
from abc import ABC, abstractmethod
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import Any

from memory_agent.core.types import Message


@dataclass
class LLMStats:
    """Counters a backend keeps so benchmarks can report model cost.

    ``prompt_tokens`` counts every prompt in full; ``prefill_tokens`` only the prompt tokens
    the model evaluated. A backend that keeps the previous prompt's state (llama.cpp reuses
    the longest common token prefix) evaluates fewer; one that cannot tell counts them all
    (:meth:`record`). ``cached_tokens`` is the difference: the prompt tokens reused.
    """

    calls: int = 0
    prompt_tokens: int = 0
    completion_tokens: int = 0
    seconds: float = 0.0
    prefill_tokens: int = 0

    @property
    def cached_tokens(self) -> int:
        return self.prompt_tokens - self.prefill_tokens

    def record(self, *, prompt_tokens: int, completion_tokens: int, seconds: float,
               prefill_tokens: int | None = None) -> None:
        """Count one call (``prefill_tokens`` None: the whole prompt was evaluated)."""
        self.calls += 1
        self.prompt_tokens += prompt_tokens
        self.completion_tokens += completion_tokens
        self.seconds += seconds
        self.prefill_tokens += prompt_tokens if prefill_tokens is None else prefill_tokens


class LLM(ABC):
    """A chat model memory-agent can call.

    Backends implement :meth:`complete`. When ``json_schema`` is given the backend should
    constrain its output to that schema if it can (``supports_json_schema``); the caller
    validates the output either way (see
    :func:`memory_agent.engine.structured.generate_structured`).
    """

    name: str = "llm"
    context_window: int = 4096
    supports_json_schema: bool = False

    def __init__(self) -> None:
        self.stats = LLMStats()
        self._lock = threading.Lock()  # backends are not assumed to be thread-safe

    @abstractmethod
    def _complete(
        self,
        messages: Sequence[Message],
        *,
        max_tokens: int,
        json_schema: dict[str, Any] | None,
        temperature: float,
    ) -> str:
        """Return the assistant's reply text."""

    def complete(
        self,
        messages: Sequence[Message],
        *,
        max_tokens: int = 512,
        json_schema: dict[str, Any] | None = None,
        temperature: float = 0.0,
    ) -> str:
        """Return the model's reply to ``messages`` (serialised: one call at a time)."""
        with self._lock:
            return self._complete(
                messages, max_tokens=max_tokens, json_schema=json_schema, temperature=temperature
            )

    def stream(
        self,
        messages: Sequence[Message],
        *,
        max_tokens: int = 512,
        temperature: float = 0.0,
    ) -> Iterator[str]:
        """Yield the reply in pieces as the model writes them (serialised like
        :meth:`complete`: iterate to the end, or ``close()`` the iterator, to free the model).
        Backends that cannot stream yield the whole reply once."""
        with self._lock:
            yield from self._stream(messages, max_tokens=max_tokens, temperature=temperature)

    def _stream(
        self, messages: Sequence[Message], *, max_tokens: int, temperature: float
    ) -> Iterator[str]:
        yield self._complete(messages, max_tokens=max_tokens, json_schema=None,
                             temperature=temperature)

    def count_tokens(self, text: str) -> int:
        """Tokens ``text`` takes in this model's context (default: an estimate)."""
        from memory_agent.backends.tokens import count_tokens

        return count_tokens(text)
