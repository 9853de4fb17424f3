"""A process for the crash tests: restart on a data dir, report what is stored, then write.

Run as ``python tests/crash_child.py DATA_DIR SEED TRIAL [--check-only]``. It opens the user's
memory the way ``MemoryManager.open`` does (embedded Chroma + the turn journal in DATA_DIR),
but with a fake model and the hashing embedder. It first finishes what a killed predecessor
left (journal drain, pending jobs) and prints one ``REPORT {json}`` line; then, unless
``--check-only``, records conversations with background updates, printing ``ACK <turn id>``
after each ``record()`` returns, until the parent kills it.
"""

from __future__ import annotations

import json
import random
import re
import sys
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from memory_agent import HashingEmbedder, MemoryManager
from memory_agent.backends.llm.fake import FakeLLM
from memory_agent.backends.store.chroma import ChromaStore
from memory_agent.backends.tokens import count_tokens
from memory_agent.core.config import MemoryConfig
from memory_agent.core.profile import parse_profile
from memory_agent.core.types import Message
from memory_agent.engine.journal import TurnJournal

USER = "crash-user"
BUDGET = 250
CITIES = ["Lyon", "Oslo", "Lima", "Kyoto", "Perth", "Cairo", "Quito", "Turku"]
HOBBIES = ["chess", "rowing", "pottery", "birding", "climbing", "baking", "origami", "judo"]


def respond(messages: Sequence[Message], schema: dict[str, Any] | None) -> str:
    last = messages[-1]["content"]
    if schema is not None and schema.get("title") == "SessionFacts":
        facts: dict[str, str] = {}
        for city in re.findall(r"I live in (\w+)", last):
            facts["location"] = city
        hobbies = re.findall(r"I enjoy (\w+)", last)
        if hobbies:
            facts["hobbies"] = ", ".join(dict.fromkeys(hobbies))
        return json.dumps(facts)
    if schema is not None:
        return "{}"
    said = re.findall(r"User: ([^\n]*)", last) or re.findall(r"- ([^\n]*)", last)
    return "Summary: " + " ".join(said)[:300]


def open_memory(data: Path) -> MemoryManager:
    return MemoryManager(
        user_id=USER, store=ChromaStore.persistent(data / "chroma"),
        llm=FakeLLM(responder=respond), embedder=HashingEmbedder(),
        config=MemoryConfig(profile_token_budget=BUDGET, fanout=3, period="none"),
        background=True, journal=TurnJournal(data / "turn-journal.sqlite3"),
    )


def report(memory: MemoryManager) -> dict[str, Any]:
    failures = memory.flush()
    stored = memory.store.get_profile(USER)
    markdown = stored.markdown if stored else ""
    try:
        parse_profile(markdown)
        parses = True
    except Exception:  # reported to the parent, which fails the test
        parses = False
    return {
        "turns": [t.id for t in memory.store.get_turns(USER)],
        "journal": len(memory.journal.pending(USER)) if memory.journal else 0,
        "pending_jobs": len(memory.store.pending_jobs(USER)),
        "failures": [repr(f.error) for f in failures],
        "profile_parses": parses,
        "profile_tokens": count_tokens(markdown),
        "tree_problems": memory.tree().verify(),
        "stale": [n.id for n in memory.tree().stale_nodes()],
    }


def main(argv: list[str]) -> None:
    data, seed, trial = Path(argv[0]), int(argv[1]), int(argv[2])
    memory = open_memory(data)
    print("REPORT " + json.dumps(report(memory)), flush=True)
    if "--check-only" in argv:
        memory.close()
        return
    rng = random.Random(seed)
    for s in range(1000):
        session = f"t{trial}-s{s}"
        for _ in range(rng.randint(2, 5)):
            said = rng.choice([f"I live in {rng.choice(CITIES)} now.",
                               f"I enjoy {rng.choice(HOBBIES)} on weekends.",
                               f"Random note {rng.random():.6f} about nothing."])
            turn = memory.record(said, "Noted.", session_id=session)
            print(f"ACK {turn.id}", flush=True)
            time.sleep(rng.uniform(0.002, 0.02))  # a conversation, not a bulk load
        memory.end_session(session)


if __name__ == "__main__":
    main(sys.argv[1:])
