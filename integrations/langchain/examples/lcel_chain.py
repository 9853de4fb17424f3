"""An LCEL chain (prompt | model) with long-term memory.

    python lcel_chain.py --data-dir /tmp/mem
"""

from __future__ import annotations

import argparse
from pathlib import Path

from _backends import chat_model, open_manager
from langchain_core.output_parsers import StrOutputParser
from langchain_core.prompts import ChatPromptTemplate
from memory_agent import new_session_id

from langchain_memory_agent import ManagerPool, with_memory


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data-dir", type=Path, required=True)
    parser.add_argument("--fake", action="store_true", help="fake models (tests)")
    args = parser.parse_args()

    managers = ManagerPool(lambda user_id: open_manager(user_id, args.data_dir, fake=args.fake))
    prompt = ChatPromptTemplate.from_messages(
        [("system", "You are a helpful cooking assistant.\n\n{memory}"), ("human", "{input}")]
    )
    chain = with_memory(prompt | chat_model(managers.get("alice"), fake=args.fake)
                        | StrOutputParser(), managers, token_budget=800)

    first, second = new_session_id("day"), new_session_id("day")  # unique across runs
    day1 = {"configurable": {"user_id": "alice", "session_id": first}}
    print("day 1:", chain.invoke({"input": "I'm vegetarian. Dinner idea?"}, config=day1))
    managers.get("alice").end_session(first)

    day2 = {"configurable": {"user_id": "alice", "session_id": second}}
    print("day 2:", "".join(chain.stream({"input": "What should I cook?"}, config=day2)))
    print(managers.get("alice").profile_markdown())
    managers.close()


if __name__ == "__main__":
    main()
