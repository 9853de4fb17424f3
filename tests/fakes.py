"""Fakes shared by the unit tests."""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

from memory_agent.llm.fake import FakeLLM
from memory_agent.types import Message


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
