"""with_memory: LCEL chains with memory (invoke, ainvoke, batch, stream, astream)."""

from __future__ import annotations

from typing import Any

import pytest
from langchain_core.language_models.fake_chat_models import GenericFakeChatModel
from langchain_core.messages import BaseMessage
from langchain_core.output_parsers import StrOutputParser
from langchain_core.prompts import ChatPromptTemplate
from lc_fakes import RuleChatModel

from langchain_memory_agent import ManagerPool, MissingUserIdError
from langchain_memory_agent.chains import with_memory

PROMPT = ChatPromptTemplate.from_messages(
    [("system", "You are helpful.\n{memory}"), ("human", "{input}")]
)


def cfg(user: str = "alice", session: str = "s1") -> dict[str, Any]:
    return {"configurable": {"user_id": user, "session_id": session}}


def recall_rule(messages: list[BaseMessage]) -> str:
    return "You like tofu." if "tofu" in messages[0].text else "Tell me more."


def turns(pool: ManagerPool, user: str = "alice") -> list[tuple[str, str]]:
    return [(t.user_message, t.assistant_message)
            for t in pool.get(user).store.get_turns(user)]


def test_invoke_recalls_and_records(pool: ManagerPool) -> None:
    chain = with_memory(PROMPT | RuleChatModel(rule=recall_rule), pool)
    assert chain.invoke({"input": "I love tofu"}, config=cfg()).content == "Tell me more."
    assert chain.invoke({"input": "what do I like? tofu?"}, config=cfg()).content \
        == "You like tofu."
    assert turns(pool) == [("I love tofu", "Tell me more."),
                           ("what do I like? tofu?", "You like tofu.")]


def test_memory_variable_is_empty_without_memory(pool: ManagerPool) -> None:
    seen: list[str] = []

    def rule(messages: list[BaseMessage]) -> str:
        seen.append(messages[0].text)
        return "ok"

    with_memory(PROMPT | RuleChatModel(rule=rule), pool).invoke({"input": "hi"}, config=cfg())
    assert seen == ["You are helpful.\n"]


def test_string_output_chain(pool: ManagerPool) -> None:
    chain = with_memory(PROMPT | GenericFakeChatModel(messages=iter(["a b"])) | StrOutputParser(),
                        pool)
    assert chain.invoke({"input": "x"}, config=cfg()) == "a b"
    assert turns(pool) == [("x", "a b")]


async def test_ainvoke(pool: ManagerPool) -> None:
    chain = with_memory(PROMPT | RuleChatModel(rule=recall_rule), pool)
    await chain.ainvoke({"input": "tofu is great"}, config=cfg())
    out = await chain.ainvoke({"input": "remind me: tofu?"}, config=cfg())
    assert out.content == "You like tofu."
    assert len(turns(pool)) == 2


def test_batch_with_per_input_configs(pool: ManagerPool) -> None:
    chain = with_memory(PROMPT | RuleChatModel(rule=lambda m: "ok"), pool)
    chain.batch([{"input": "from alice"}, {"input": "from bob"}],
                config=[cfg("alice"), cfg("bob")])
    assert turns(pool, "alice") == [("from alice", "ok")]
    assert turns(pool, "bob") == [("from bob", "ok")]


async def test_abatch(pool: ManagerPool) -> None:
    chain = with_memory(PROMPT | RuleChatModel(rule=lambda m: "ok"), pool)
    await chain.abatch([{"input": "one"}, {"input": "two"}], config=cfg())
    assert sorted(u for u, _ in turns(pool)) == ["one", "two"]


def test_stream_records_once_complete(pool: ManagerPool) -> None:
    model = GenericFakeChatModel(messages=iter(["hello there friend"]))
    chain = with_memory(PROMPT | model, pool)
    stream = chain.stream({"input": "hi"}, config=cfg())
    first = next(stream)
    assert first.content == "hello"
    assert turns(pool) == []  # nothing recorded mid-stream
    rest = list(stream)
    assert "".join(str(c.content) for c in [first, *rest]) == "hello there friend"
    assert turns(pool) == [("hi", "hello there friend")]


def test_stream_stopped_early_records_nothing(pool: ManagerPool) -> None:
    chain = with_memory(PROMPT | GenericFakeChatModel(messages=iter(["a b c"])), pool)
    stream = chain.stream({"input": "hi"}, config=cfg())
    next(stream)
    stream.close()
    assert turns(pool) == []


async def test_astream(pool: ManagerPool) -> None:
    chain = with_memory(PROMPT | GenericFakeChatModel(messages=iter(["x y"])) | StrOutputParser(),
                        pool)
    chunks = [c async for c in chain.astream({"input": "hi"}, config=cfg())]
    assert "".join(chunks) == "x y"
    assert turns(pool) == [("hi", "x y")]


def test_missing_user_and_bad_input(pool: ManagerPool) -> None:
    chain = with_memory(PROMPT | RuleChatModel(rule=lambda m: "ok"), pool)
    with pytest.raises(MissingUserIdError):
        chain.invoke({"input": "hi"})
    with pytest.raises(ValueError, match="input"):
        chain.invoke({"question": "hi"}, config=cfg())
    assert pool.users() == []


def test_chain_with_no_text_records_nothing(pool: ManagerPool,
                                            caplog: pytest.LogCaptureFixture) -> None:
    chain = with_memory(PROMPT | RuleChatModel(rule=lambda m: "  ") | StrOutputParser(), pool)
    with caplog.at_level("WARNING"):
        assert chain.invoke({"input": "hi"}, config=cfg()).strip() == ""
        assert "".join(chain.stream({"input": "hi"}, config=cfg())).strip() == ""
    assert "no text" in caplog.text
    assert turns(pool) == []


def test_chain_rolls_over_like_the_middleware(pool: ManagerPool) -> None:
    from datetime import datetime, timedelta, timezone

    now = [datetime(2026, 1, 1, tzinfo=timezone.utc)]
    chain = with_memory(PROMPT | RuleChatModel(rule=lambda m: "ok"), pool,
                        idle_timeout=timedelta(minutes=30), clock=lambda: now[0])
    chain.invoke({"input": "first"}, config=cfg())
    now[0] += timedelta(hours=2)
    chain.invoke({"input": "second"}, config=cfg())  # idle: s1 ended, the turn goes to s1.2
    sessions = {s.session_id: s for s in pool.get("alice").sessions()}
    assert sessions["s1"].ended and sessions["s1.2"].n_turns == 1
    assert chain.end_session("alice", "s1") == "s1.2"
    chain.invoke({"input": "third"}, config=cfg())
    assert [s.session_id for s in pool.get("alice").sessions()] == ["s1", "s1.2", "s1.3"]
    now[0] += timedelta(hours=1)
    assert chain.end_idle_sessions() == [("alice", "s1.3")]


def test_chain_moves_on_from_a_session_ended_elsewhere(pool: ManagerPool) -> None:
    chain = with_memory(PROMPT | RuleChatModel(rule=lambda m: "ok"), pool)
    chain.invoke({"input": "one"}, config=cfg())
    pool.get("alice").end_session("s1")
    chain.invoke({"input": "two"}, config=cfg())
    assert [s.session_id for s in pool.get("alice").sessions()] == ["s1", "s1.2"]
