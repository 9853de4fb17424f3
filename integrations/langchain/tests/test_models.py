"""Models both ways: ChatLocalLlama (memory-agent LLM -> LangChain) and ChatModelLLM."""

from __future__ import annotations

import json
from typing import Any, ClassVar

import pytest
from langchain_core.language_models.fake_chat_models import (
    FakeMessagesListChatModel,
    GenericFakeChatModel,
)
from langchain_core.messages import AIMessage, HumanMessage, SystemMessage, ToolMessage
from langchain_core.prompts import ChatPromptTemplate
from lc_fakes import RuleChatModel
from memory_agent import FakeLLM, ModelOutputError, generate_structured
from pydantic import BaseModel

from langchain_memory_agent import ChatLocalLlama, ChatModelLLM


def test_chat_local_llama_invoke_passes_roles() -> None:
    llm = FakeLLM(["hello there"])
    chat = ChatLocalLlama(llm=llm, max_tokens=64)
    answer = chat.invoke([SystemMessage("be brief"), HumanMessage("hi"), AIMessage("yo"),
                          HumanMessage("again")])
    assert isinstance(answer, AIMessage)
    assert answer.content == "hello there"
    messages, schema = llm.requests[0]
    assert [m["role"] for m in messages] == ["system", "user", "assistant", "user"]
    assert schema is None


async def test_chat_local_llama_ainvoke_and_stream() -> None:
    chat = ChatLocalLlama(llm=FakeLLM(["one", "two", "three"]))
    assert (await chat.ainvoke("hi")).content == "one"
    chunks = list(chat.stream("hi"))
    assert "".join(str(c.content) for c in chunks) == "two"
    achunks = [c async for c in chat.astream("hi")]
    assert "".join(str(c.content) for c in achunks) == "three"


def test_chat_local_llama_in_lcel_chain_and_stop() -> None:
    chat = ChatLocalLlama(llm=FakeLLM(["Paris. STOP more"]))
    chain = ChatPromptTemplate.from_messages([("human", "{q}")]) | chat.bind(stop=["STOP"])
    assert chain.invoke({"q": "capital?"}).content == "Paris. "


def test_chat_local_llama_tool_messages_rendered_as_text() -> None:
    llm = FakeLLM(["ok"])
    call = AIMessage("", tool_calls=[{"name": "f", "args": {"x": 1}, "id": "c1"}])
    ChatLocalLlama(llm=llm).invoke([HumanMessage("q"), call, ToolMessage("42", tool_call_id="c1")])
    messages = llm.requests[0][0]
    assert "called tool f" in messages[1]["content"]
    assert messages[2] == {"role": "user", "content": "[tool result] 42"}


def add(a: int, b: int) -> int:
    """Add two integers."""
    return a + b


def test_chat_local_llama_calls_a_tool_through_a_constrained_reply() -> None:
    llm = FakeLLM(['{"name": "add", "arguments": {"a": 2, "b": 3}}', '{"name": "answer", '
                   '"text": "2 + 3 = 5"}'])
    chat = ChatLocalLlama(llm=llm).bind_tools([add])
    call = chat.invoke("what is 2 + 3?")
    assert call.tool_calls[0]["name"] == "add" and call.tool_calls[0]["args"] == {"a": 2, "b": 3}
    messages, schema = llm.requests[0]
    assert "add(a: integer, b: integer): Add two integers." in messages[0]["content"]
    assert [o["properties"]["name"]["const"] for o in schema["oneOf"]] == ["add", "answer"]
    result = ToolMessage("5", tool_call_id=call.tool_calls[0]["id"], name="add")
    final = chat.invoke([HumanMessage("what is 2 + 3?"), call, result])
    assert final.content == "2 + 3 = 5" and not final.tool_calls
    shown = llm.requests[1][0]
    assert '"name": "add"' in shown[2]["content"] and "add returned: 5" in shown[3]["content"]


def test_chat_local_llama_forced_tool_choice_and_unknown_tool() -> None:
    llm = FakeLLM(['{"name": "add", "arguments": {"a": 1, "b": 1}}'])
    ChatLocalLlama(llm=llm).bind_tools([add], tool_choice="add").invoke("one plus one")
    assert [o["properties"]["name"]["const"] for o in llm.requests[0][1]["oneOf"]] == ["add"]
    with pytest.raises(ValueError, match="names no bound tool"):
        ChatLocalLlama(llm=FakeLLM()).bind_tools([add], tool_choice="mul")


def test_chat_local_llama_tool_reply_schema_compiles_to_a_grammar() -> None:
    pytest.importorskip("llama_cpp")
    from memory_agent.backends.llm.llama import json_schema_grammar

    from langchain_memory_agent import memory_tools
    from langchain_memory_agent.tool_calling import reply_schema, tool_specs

    grammar = json_schema_grammar(reply_schema(tool_specs(memory_tools(lambda _: None))))
    assert "remember_fact" in grammar and "answer" in grammar


def test_chat_local_llama_json_schema() -> None:
    schema = {"type": "object", "properties": {"a": {"type": "integer"}}, "required": ["a"]}
    chat = ChatLocalLlama(llm=FakeLLM())  # the fake answers schema requests with minimal JSON
    assert chat.with_json_schema(schema).invoke("give a") == {"a": 0}


class Answer(BaseModel):
    name: str
    count: int


def test_chat_model_llm_text_fallback_validated_by_memory_agent() -> None:
    # GenericFakeChatModel has no structured output: the schema goes into the prompt
    model = GenericFakeChatModel(messages=iter(['{"name": "x", "count": 2}']))
    llm = ChatModelLLM(model)
    result = generate_structured(llm, [{"role": "user", "content": "q"}], Answer)
    assert result == Answer(name="x", count=2)
    assert llm._structured_ok is False


def test_chat_model_llm_repairs_invalid_json_once() -> None:
    model = FakeMessagesListChatModel(responses=[AIMessage("nope"),
                                                 AIMessage('{"name": "y", "count": 1}')])
    result = generate_structured(ChatModelLLM(model), [{"role": "user", "content": "q"}], Answer)
    assert result.name == "y"


class StructuredFake(GenericFakeChatModel):
    """A fake that supports with_structured_output(method="json_schema")."""

    seen: ClassVar[list[Any]] = []

    def with_structured_output(self, schema: Any, *, include_raw: bool = False,
                               **kwargs: Any) -> Any:
        from langchain_core.runnables import RunnableLambda

        self.seen.append(kwargs.get("method"))
        return RunnableLambda(lambda _: {"name": "s", "count": 3})


def test_chat_model_llm_uses_structured_output_when_available() -> None:
    model = StructuredFake(messages=iter([]))
    llm = ChatModelLLM(model)
    raw = llm.complete([{"role": "user", "content": "q"}], json_schema=Answer.model_json_schema())
    assert json.loads(raw) == {"name": "s", "count": 3}
    assert model.seen == ["json_schema"]


def test_chat_model_llm_plain_text() -> None:
    llm = ChatModelLLM(GenericFakeChatModel(messages=iter(["a summary"])))
    assert llm.complete([{"role": "system", "content": "s"}, {"role": "user", "content": "u"}]) \
        == "a summary"


def test_chat_model_llm_rejects_non_chat_models() -> None:
    with pytest.raises(TypeError):
        ChatModelLLM("gpt")  # type: ignore[arg-type]


def test_round_trip_memory_manager_on_a_langchain_model(make_manager: Any) -> None:
    """memory-agent's update path runs on a LangChain model (text-mode JSON)."""
    def rule(messages: list[Any]) -> str:
        if "JSON schema" in messages[-1].text:
            return '{"diet": "vegetarian"}' if "diet" in messages[-1].text else "{}"
        return "The user asked for a vegetarian dinner."

    manager = make_manager(llm=ChatModelLLM(RuleChatModel(rule=rule)))
    manager.record("I'm vegetarian, any dinner idea?", "Try a curry.", session_id="s1")
    manager.end_session("s1")
    assert manager.flush() == []
    assert manager.tree().session_node("s1") is not None
    assert "Diet: vegetarian" in manager.profile_markdown()


@pytest.mark.parametrize("reply", [AIMessage(""), AIMessage("   "),
                                   AIMessage("", tool_calls=[{"name": "f", "args": {},
                                                              "id": "c1"}])])
def test_langchain_model_with_no_text_fails_clearly_and_stores_nothing(
    make_manager: Any, reply: AIMessage
) -> None:
    """memory-agent on a LangChain model that answers with no text: the summary and the
    profile update fail with ModelOutputError; the turns stay, nothing half-written."""
    model = FakeMessagesListChatModel(responses=[reply])  # always the same reply
    manager = make_manager(llm=ChatModelLLM(model))
    manager.record("I'm vegetarian, any dinner idea?", "Try a curry.", session_id="s1")
    with pytest.raises(ModelOutputError):  # background=False: the session's work runs here
        manager.end_session("s1")
    manager.flush()
    assert manager.tree().session_node("s1") is None
    assert manager.profile().is_empty()
    assert [t.user_message for t in manager.store.get_turns(manager.user_id)] == \
        ["I'm vegetarian, any dinner idea?"]
    with pytest.raises(ModelOutputError):  # structured requests: validated, one repair
        generate_structured(ChatModelLLM(model), [{"role": "user", "content": "q"}], Answer)


def test_chat_local_llama_with_no_text() -> None:
    message = ChatLocalLlama(llm=FakeLLM(responses=[""])).invoke("hi")
    assert message.content == ""
