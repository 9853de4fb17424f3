"""A client process for the server-mode tests: writes turns and profile edits through a
Chroma server. ``python tests/server_client.py PORT USER SESSION_PREFIX TURNS EDITS JOURNAL``;
prints ``DONE <turns> <edits>`` at the end."""

from __future__ import annotations

import sys
from datetime import date
from pathlib import Path

from memory_agent import HashingEmbedder, MemoryManager
from memory_agent.backends.llm.fake import FakeLLM
from memory_agent.backends.store.chroma import ChromaStore
from memory_agent.core.extraction import ExtractionOutcome
from memory_agent.core.profile import ProfileDocument, ProfileEdit
from memory_agent.engine.journal import TurnJournal
from memory_agent.errors import ProfileConflictError


def main(argv: list[str]) -> None:
    port, user, prefix = int(argv[0]), argv[1], argv[2]
    turns, edits, journal = int(argv[3]), int(argv[4]), Path(argv[5])
    memory = MemoryManager(user_id=user, store=ChromaStore.http("127.0.0.1", port),
                           llm=FakeLLM(), embedder=HashingEmbedder(), background=False,
                           journal=TurnJournal(journal))
    done_edits = 0
    for n in range(max(turns, edits)):
        if n < turns:
            memory.record(f"{prefix} message {n}", "ok", session_id=f"{prefix}-s{n // 10}")
        if n < edits:
            text = f"Goal: item {prefix} {n}"

            def plan(doc: ProfileDocument, text: str = text) -> ExtractionOutcome:
                return ExtractionOutcome([ProfileEdit(op="add", section="Goals", text=text,
                                                      sources=["edit"])], [])

            while True:
                try:
                    memory.apply_profile_edits(plan)
                    break
                except ProfileConflictError:
                    continue  # lost the race three times in a row: plan again
            done_edits += 1
    memory.close()
    print(f"DONE {turns} {done_edits} {date.today()}", flush=True)


if __name__ == "__main__":
    main(sys.argv[1:])
