"""An agent that manages the user's memory with tools (remember / correct / forget / search).

By default it runs on the local model: ``ChatLocalLlama`` calls tools through a
grammar-constrained JSON reply (see benchmarks/results/tool_calls.json for how often the
1.5B model picks the right tool). ``--fake`` runs a scripted tool-calling model (tests).

    python memory_tools_agent.py --data-dir /tmp/mem
    python memory_tools_agent.py --data-dir /tmp/mem --fake
"""

from __future__ import annotations

import argparse
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from _backends import open_manager
from langchain.agents import create_agent
from langchain_core.language_models.fake_chat_models import FakeMessagesListChatModel
from langchain_core.messages import AIMessage

from langchain_memory_agent import ManagerPool, memory_tools


class ScriptedToolModel(FakeMessagesListChatModel):
    def bind_tools(self, tools: Sequence[Any], **kwargs: Any) -> Any:
        return self


def build_model(fake: bool) -> Any:
    if not fake:
        from langchain_memory_agent import ChatLocalLlama

        return ChatLocalLlama.local(max_tokens=200)
    return ScriptedToolModel(responses=[
        AIMessage("", tool_calls=[{"name": "remember_fact", "id": "1",
                                   "args": {"fact": "Diet: vegetarian",
                                            "section": "Preferences"}}]),
        AIMessage("", tool_calls=[{"name": "correct_fact", "id": "2",
                                   "args": {"fact_id": "f1", "corrected_fact": "Diet: vegan"}}]),
        AIMessage("Noted: you are vegan now."),
    ])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data-dir", type=Path, required=True)
    parser.add_argument("--fake", action="store_true")
    args = parser.parse_args()

    managers = ManagerPool(lambda user_id: open_manager(user_id, args.data_dir, fake=args.fake))
    agent = create_agent(build_model(args.fake), tools=memory_tools(managers))
    result = agent.invoke(
        {"messages": [("user", "I was vegetarian, but I'm vegan now.")]},
        config={"configurable": {"user_id": "alice"}},
    )
    for message in result["messages"][1:]:
        print(f"{message.type}: {message.content}")
    print(managers.get("alice").profile_markdown())
    managers.close()


if __name__ == "__main__":
    main()
