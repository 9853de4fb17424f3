"""MemoryMiddleware in langchain.agents.create_agent, on fake chat models."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from typing import Any

import pytest
from langchain.agents import create_agent
from langchain_core.language_models.fake_chat_models import GenericFakeChatModel
from langchain_core.messages import AIMessage, BaseMessage, HumanMessage
from langchain_core.tools import tool
from langgraph.checkpoint.memory import InMemorySaver
from lc_fakes import RuleChatModel, ToolCallingFake
from memory_agent import InvalidInputError, MemoryAgentError

from langchain_memory_agent import ManagerPool, MissingUserIdError
from langchain_memory_agent.middleware import MemoryMiddleware


@dataclass
class Ctx:
    user_id: str
    session_id: str = "s1"


def echo_system(messages: list[BaseMessage]) -> str:
    system = messages[0].text if messages and messages[0].type == "system" else ""
    return "I remember you are vegetarian." if "vegetarian" in system else "Nice to meet you."


def ask(agent: Any, text: str, **kwargs: Any) -> str:
    result = agent.invoke({"messages": [HumanMessage(text)]}, **kwargs)
    return str(result["messages"][-1].content)


def test_records_and_recalls_across_sessions(pool: ManagerPool) -> None:
    middleware = MemoryMiddleware(pool, token_budget=500)
    agent = create_agent(RuleChatModel(rule=echo_system), middleware=[middleware],
                         system_prompt="You are helpful.", context_schema=Ctx)
    first = ask(agent, "I'm vegetarian, what should I cook?", context=Ctx("alice"))
    assert first == "Nice to meet you."
    turns = pool.get("alice").store.get_turns("alice", session_id="s1")
    assert [(t.user_message, t.assistant_message) for t in turns] == [
        ("I'm vegetarian, what should I cook?", "Nice to meet you.")]
    middleware.end_session("alice", "s1")
    answer = ask(agent, "Any dinner idea for me?", context=Ctx("alice", "s2"))
    assert answer == "I remember you are vegetarian."
    assert middleware.last_context is not None
    assert "Diet: vegetarian" in middleware.last_context.profile
    # other users see nothing of alice's
    assert ask(agent, "Any dinner idea for me?", context=Ctx("bob")) == "Nice to meet you."


def test_system_prompt_is_kept_and_memory_appended(pool: ManagerPool) -> None:
    seen: list[list[BaseMessage]] = []

    def rule(messages: list[BaseMessage]) -> str:
        seen.append(messages)
        return "ok"

    pool.get("alice").record("I live in Lyon", "Nice city.", session_id="old")
    agent = create_agent(RuleChatModel(rule=rule), middleware=[MemoryMiddleware(pool)],
                         system_prompt="You are helpful.", context_schema=Ctx)
    ask(agent, "Where do I live?", context=Ctx("alice"))
    system = seen[-1][0].text
    assert system.startswith("You are helpful.\n\n<memory>")
    assert "Lyon" in system


def test_ids_from_config_configurable(pool: ManagerPool) -> None:
    agent = create_agent(GenericFakeChatModel(messages=iter(["hi"])),
                         middleware=[MemoryMiddleware(pool)])
    ask(agent, "hello", config={"configurable": {"user_id": "carol", "thread_id": "t-1"}})
    assert [s.session_id for s in pool.get("carol").sessions()] == ["t-1"]


def test_missing_user_id_is_a_clear_error(pool: ManagerPool) -> None:
    agent = create_agent(GenericFakeChatModel(messages=iter(["hi"])),
                         middleware=[MemoryMiddleware(pool)])
    with pytest.raises(MissingUserIdError, match="user_id") as info:
        ask(agent, "hello")
    assert isinstance(info.value, InvalidInputError)
    assert isinstance(info.value, MemoryAgentError)
    assert pool.users() == []


def test_idle_timeout_ends_the_session(pool: ManagerPool) -> None:
    now = [datetime(2026, 1, 1, tzinfo=timezone.utc)]
    middleware = MemoryMiddleware(pool, idle_timeout=timedelta(minutes=30), clock=lambda: now[0])
    agent = create_agent(RuleChatModel(rule=lambda m: "ok"), middleware=[middleware],
                         context_schema=Ctx)
    ask(agent, "first", context=Ctx("alice"))
    now[0] += timedelta(minutes=10)
    ask(agent, "second", context=Ctx("alice"))
    now[0] += timedelta(hours=2)
    ask(agent, "third", context=Ctx("alice"))
    sessions = {s.session_id: s for s in pool.get("alice").sessions()}
    assert sessions["s1"].n_turns == 2 and sessions["s1"].ended
    assert sessions["s1.2"].n_turns == 1 and not sessions["s1.2"].ended
    assert pool.get("alice").tree().session_node("s1") is not None  # summarised
    now[0] += timedelta(hours=1)
    assert middleware.end_idle_sessions() == [("alice", "s1.2")]


def test_explicit_end_then_same_conversation_continues_in_new_session(pool: ManagerPool) -> None:
    middleware = MemoryMiddleware(pool)
    agent = create_agent(RuleChatModel(rule=lambda m: "ok"), middleware=[middleware],
                         context_schema=Ctx)
    ask(agent, "one", context=Ctx("alice"))
    assert middleware.end_session("alice", "s1") == "s1"
    ask(agent, "two", context=Ctx("alice"))
    assert [s.session_id for s in pool.get("alice").sessions()] == ["s1", "s1.2"]
    # a new middleware (a restarted process) also skips the ended session
    again = MemoryMiddleware(pool)
    agent2 = create_agent(RuleChatModel(rule=lambda m: "ok"), middleware=[again],
                          context_schema=Ctx)
    ask(agent2, "three", context=Ctx("alice"))
    assert pool.get("alice").store.get_turns("alice", session_id="s1.2")[-1].user_message \
        == "three"


def test_tool_loop_records_only_the_final_answer(pool: ManagerPool) -> None:
    @tool
    def weather(city: str) -> str:
        """The weather in a city."""
        return f"sunny in {city}"

    model = ToolCallingFake(responses=[
        AIMessage("", tool_calls=[{"name": "weather", "args": {"city": "Oslo"}, "id": "c1"}]),
        AIMessage("It is sunny in Oslo."),
    ])
    agent = create_agent(model, tools=[weather], middleware=[MemoryMiddleware(pool)],
                         context_schema=Ctx)
    ask(agent, "Weather in Oslo?", context=Ctx("alice"))
    turns = pool.get("alice").store.get_turns("alice")
    assert [(t.user_message, t.assistant_message) for t in turns] == [
        ("Weather in Oslo?", "It is sunny in Oslo.")]


def test_checkpointed_thread_records_each_exchange_once(pool: ManagerPool) -> None:
    agent = create_agent(RuleChatModel(rule=lambda m: f"answer {len(m)}"),
                         middleware=[MemoryMiddleware(pool)], checkpointer=InMemorySaver())
    config = {"configurable": {"user_id": "alice", "thread_id": "th"}}
    ask(agent, "a", config=config)
    ask(agent, "b", config=config)
    turns = pool.get("alice").store.get_turns("alice")
    assert [t.user_message for t in turns] == ["a", "b"]


async def test_async_agent(pool: ManagerPool) -> None:
    pool.get("alice").record("I'm vegetarian", "Noted.", session_id="old")
    agent = create_agent(RuleChatModel(rule=echo_system), middleware=[MemoryMiddleware(pool)],
                         context_schema=Ctx)
    result = await agent.ainvoke({"messages": [HumanMessage("dinner?")]}, context=Ctx("alice"))
    assert result["messages"][-1].content == "I remember you are vegetarian."
    turns = pool.get("alice").store.get_turns("alice", session_id="s1")
    assert turns[0].assistant_message == "I remember you are vegetarian."


def test_model_with_no_text_records_nothing(pool: ManagerPool,
                                             caplog: pytest.LogCaptureFixture) -> None:
    pool.get("dave").record("I like tofu", "Noted.", session_id="s0")
    agent = create_agent(GenericFakeChatModel(messages=iter([""])),
                         middleware=[MemoryMiddleware(pool)], context_schema=Ctx)
    with caplog.at_level("WARNING"):
        assert ask(agent, "hello?", context=Ctx("dave")) == ""
    assert "no text" in caplog.text
    turns = pool.get("dave").store.get_turns("dave")
    assert [(t.session_id, t.user_message) for t in turns] == [("s0", "I like tofu")]


async def test_async_path_runs_the_factory_off_the_event_loop(
        make_manager: Any) -> None:
    import asyncio
    import threading
    import time

    loop_thread = threading.get_ident()
    seen: list[int] = []

    def slow_factory(user_id: str) -> Any:
        seen.append(threading.get_ident())
        time.sleep(0.3)  # e.g. loading a model
        return make_manager(user_id)

    ticks = 0

    async def ticker() -> None:
        nonlocal ticks
        while True:
            await asyncio.sleep(0.01)
            ticks += 1

    middleware = MemoryMiddleware(ManagerPool(slow_factory))
    agent = create_agent(RuleChatModel(rule=lambda m: "ok"), middleware=[middleware],
                         context_schema=Ctx)
    task = asyncio.create_task(ticker())
    await agent.ainvoke({"messages": [HumanMessage("hello")]}, context=Ctx("alice"))
    task.cancel()
    assert seen and loop_thread not in seen
    assert ticks >= 5  # the loop kept running while the factory slept


def test_pool_makes_each_manager_once_and_outside_its_lock(make_manager: Any) -> None:
    import threading
    import time

    calls: list[str] = []
    bob_made = threading.Event()

    def factory(user_id: str) -> Any:
        calls.append(user_id)
        if user_id == "alice":
            assert bob_made.wait(5), "bob's manager waited for alice's"
        else:
            time.sleep(0.05)
        manager = make_manager(user_id)
        if user_id == "bob":
            bob_made.set()
        return manager

    pool = ManagerPool(factory)
    threads = [threading.Thread(target=pool.get, args=(u,)) for u in ["alice", "alice", "bob"]]
    for t in threads:
        t.start()
    for t in threads:
        t.join(10)
    assert sorted(calls) == ["alice", "bob"]
    assert pool.get("alice") is pool.get("alice")
