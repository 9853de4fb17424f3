"""A reader's answers: the prompt's hash, its tokens, and a resumable cache of the answers."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Hashable, Sequence
from pathlib import Path
from typing import Any

from memory_agent.core.llm import LLM
from memory_agent.core.types import Message

Row = dict[str, Any]


def prompt_sha(reader: LLM, messages: Sequence[Message]) -> str:
    """A short hash of the reader's name and the messages: an answer's cache key."""
    text = reader.name + "\n" + "\n".join(f"{m['role']}: {m['content']}" for m in messages)
    return hashlib.sha256(text.encode()).hexdigest()[:24]


def prompt_tokens(reader: LLM, messages: Sequence[Message], *, overhead: int = 0) -> int:
    """Tokens of ``messages`` with the reader's chat template (``count_prompt_tokens``, as
    llama.cpp has). A reader without one (a fake) is estimated as the tokens of each
    message's content plus ``overhead`` per message for the template around it."""
    counter = getattr(reader, "count_prompt_tokens", None)
    if counter is not None:
        return int(counter(messages))
    return sum(reader.count_tokens(m["content"]) + overhead for m in messages)


class AnswerCache:
    """Reader answers, one JSON row per line of ``path``, appended as they are made.

    ``key(row)`` finds an answer again (e.g. its prompt hash); ``question(row)``, if given,
    groups the answers to one question whatever their prompt, for ``latest``. A later row
    with the same key replaces an earlier one.
    """

    def __init__(self, path: Path, key: Callable[[Row], Hashable],
                 question: Callable[[Row], Hashable] | None = None) -> None:
        self.path = path
        self.key = key
        self.question = question
        self.rows: dict[Hashable, Row] = {}
        self.last: dict[Hashable, Row] = {}
        if path.exists():
            for line in path.read_text().splitlines():
                if line.strip():
                    self._index(json.loads(line))

    def _index(self, row: Row) -> None:
        self.rows[self.key(row)] = row
        if self.question is not None:
            self.last[self.question(row)] = row

    def get(self, key: Hashable) -> Row | None:
        return self.rows.get(key)

    def latest(self, question: Hashable) -> Row | None:
        """The last answer stored for ``question``, whatever its prompt."""
        return self.last.get(question)

    def put(self, row: Row) -> None:
        self._index(row)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        with self.path.open("a") as f:
            f.write(json.dumps(row) + "\n")
