"""Fakes shared by the unit tests."""

from __future__ import annotations

import json
import re
from collections.abc import Sequence
from typing import Any

from memory_agent.backends.embeddings import HashingEmbedder
from memory_agent.backends.llm.fake import FakeLLM
from memory_agent.core.types import Message


def scripted_extraction(fields: dict[str, str]) -> str:
    """A SessionFacts JSON answer: {slot: value}."""
    return json.dumps(fields)


class TaskLLM(FakeLLM):
    """A fake that answers by task: extraction from a queue, summaries extractively."""

    def __init__(self, extractions: Sequence[str] = ()) -> None:
        self.extractions = list(extractions)
        super().__init__(responder=self._respond)

    def _respond(self, messages: Sequence[Message], schema: dict[str, Any] | None) -> str:
        if schema is not None and schema.get("title") == "SessionFacts":
            return self.extractions.pop(0) if self.extractions else "{}"
        if schema is not None:
            return "{}"
        last = messages[-1]["content"]
        if "Summaries of conversations" in last:
            return "Merged: " + " | ".join(
                line[2:60] for line in last.splitlines() if line.startswith("- "))
        users = [line.split("User:", 1)[1].strip() for line in last.splitlines() if "User:" in line]
        return "The user said: " + " ".join(users)[:400]


class ConceptEmbedder(HashingEmbedder):
    """HashingEmbedder that first maps words to a shared concept word, so texts with no word
    in common can still be similar ("a stand-in for meaning" in ranking tests); counts the
    texts it embeds as documents."""

    def __init__(self, concepts: dict[str, str], dim: int = 256) -> None:
        super().__init__(dim)
        self.concepts = concepts
        self.documents_embedded: list[str] = []

    def _canonical(self, text: str) -> str:
        return " ".join(self.concepts.get(w, w) for w in re.findall(r"\w+", text.lower()))

    def embed_documents(self, texts: Sequence[str]) -> list[list[float]]:
        self.documents_embedded += texts
        return super().embed_documents([self._canonical(t) for t in texts])

    def embed_query(self, text: str) -> list[float]:
        return super().embed_query(self._canonical(text))
