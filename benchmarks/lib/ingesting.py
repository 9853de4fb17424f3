"""Feeding a benchmark's sessions to memory-agent: resumably, with what the model spent."""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any

from memory_agent.core.llm import LLM

if TYPE_CHECKING:
    from memory_agent.engine.manager import MemoryManager


@dataclass(frozen=True)
class Usage:
    """A model's counters (``llm.stats``) at one moment, or the difference of two."""

    calls: int
    prompt_tokens: int
    completion_tokens: int
    seconds: float
    prefill_tokens: int = 0  # of prompt_tokens, those the model evaluated (not reused)

    @classmethod
    def of(cls, llm: LLM) -> Usage:
        s = llm.stats
        return cls(s.calls, s.prompt_tokens, s.completion_tokens, s.seconds, s.prefill_tokens)

    def since(self, before: Usage) -> Usage:
        return Usage(self.calls - before.calls, self.prompt_tokens - before.prompt_tokens,
                     self.completion_tokens - before.completion_tokens,
                     self.seconds - before.seconds, self.prefill_tokens - before.prefill_tokens)


def record_session(memory: MemoryManager, llm: LLM, session_id: str,
                   exchanges: Sequence[tuple[str, str, datetime]]) -> tuple[float, Usage]:
    """Record the (user, assistant, at) exchanges of a session not stored yet (resumable
    mid-session too: the turns already stored are skipped), then end it. Returns the
    seconds it took and what ``llm`` (the memory's model) spent on it."""
    before = Usage.of(llm)
    t0 = time.perf_counter()
    stored = {t.index for t in memory.store.get_turns(memory.user_id, session_id=session_id)}
    for i, (user, assistant, at) in enumerate(exchanges, 1):
        if i not in stored:
            memory.record(user, assistant, session_id=session_id, at=at)
    memory.end_session(session_id)
    return time.perf_counter() - t0, Usage.of(llm).since(before)


def session_stats(seconds: float, used: Usage, turns: int) -> dict[str, Any]:
    """One session's row of an ``ingest_stats.json``: wall seconds, and what the model spent
    (its seconds, calls, prompt tokens in full and evaluated, generated tokens)."""
    return {"seconds": round(seconds, 1), "model_seconds": round(used.seconds, 1),
            "model_calls": used.calls, "prompt_tokens": used.prompt_tokens,
            "prefill_tokens": used.prefill_tokens, "completion_tokens": used.completion_tokens,
            "turns": turns}
