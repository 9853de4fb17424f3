"""An offline agent that remembers the user across runs of this script.

    python offline_agent.py --data-dir /tmp/mem "I'm vegetarian. What should I cook tonight?"
    python offline_agent.py --data-dir /tmp/mem "Any dinner idea for me?"

Each run is one session: the agent recalls memory before answering, records the exchange,
and the session is ended at exit (summary and profile update on the local model;
``--keep-session`` skips that).
``--fake`` swaps the local model for fakes (used by the tests).
"""

from __future__ import annotations

import argparse
import uuid
from dataclasses import dataclass
from pathlib import Path

from _backends import chat_model, open_manager
from langchain.agents import create_agent

from langchain_memory_agent import ManagerPool, MemoryMiddleware


@dataclass
class UserContext:
    user_id: str
    session_id: str


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("message")
    parser.add_argument("--user", default="alice")
    parser.add_argument("--data-dir", type=Path, required=True)
    parser.add_argument("--fake", action="store_true", help="fake models (tests)")
    parser.add_argument("--max-tokens", type=int, default=256, help="answer length cap")
    parser.add_argument("--show-memory", action="store_true",
                        help="also print the memory block injected into the system prompt")
    parser.add_argument("--keep-session", action="store_true",
                        help="do not end the session at exit (no summary / profile update)")
    args = parser.parse_args()

    managers = ManagerPool(lambda user_id: open_manager(user_id, args.data_dir, fake=args.fake))
    memory = MemoryMiddleware(managers, token_budget=800)
    agent = create_agent(chat_model(managers.get(args.user), fake=args.fake,
                                    max_tokens=args.max_tokens),
                         middleware=[memory], context_schema=UserContext,
                         system_prompt="You are a helpful cooking assistant.")
    session_id = f"run-{uuid.uuid4().hex[:8]}"
    result = agent.invoke({"messages": [("user", args.message)]},
                          context=UserContext(args.user, session_id))
    print(result["messages"][-1].content)
    if args.show_memory:
        used = memory.last_context.to_prompt() if memory.last_context is not None else ""
        print("--- memory used ---")
        print(used or "(none)")
    if not args.keep_session:
        memory.end_session(args.user, session_id)  # summary + profile update (local model)
    managers.close()


if __name__ == "__main__":
    main()
