"""``ChatLocalLlama``: any memory-agent ``LLM`` (e.g. ``LlamaCppLLM``) as a LangChain chat model.

This lets an agent run fully offline without ``langchain-community``. ``bind_tools`` gives
it tool calling through a grammar-constrained JSON reply (see ``tool_calling.py``), so
``create_agent(ChatLocalLlama.local(), tools=...)`` works on the local model. Plain
answers stream token by token (``LLM.stream``).
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Sequence
from typing import Any

from langchain_core.callbacks import CallbackManagerForLLMRun
from langchain_core.language_models import BaseChatModel
from langchain_core.messages import AIMessage, AIMessageChunk, BaseMessage
from langchain_core.outputs import ChatGeneration, ChatGenerationChunk, ChatResult
from memory_agent import LLM
from pydantic import ConfigDict, Field

from ._messages import to_memory_messages
from .tool_calling import ANSWER, parse_reply, reply_schema, tool_specs, with_tools_prompt


class ChatLocalLlama(BaseChatModel):
    """A LangChain chat model backed by a memory-agent ``LLM``.

    ``ChatLocalLlama(llm=LlamaCppLLM())`` (or ``ChatLocalLlama.local(model=...)``) answers
    on the local llama.cpp model; ``ChatLocalLlama(llm=FakeLLM(...))`` is handy in tests.
    Per call you may pass ``json_schema=`` (a JSON schema dict) to constrain the output
    when the backend supports it (``llm.supports_json_schema``).
    """

    model_config = ConfigDict(arbitrary_types_allowed=True)

    llm: LLM
    max_tokens: int = Field(default=512, gt=0)
    temperature: float = Field(default=0.0, ge=0.0)
    stop: list[str] | None = None

    @classmethod
    def local(cls, model: str | None = None, **kwargs: Any) -> ChatLocalLlama:
        """On memory-agent's llama.cpp backend (needs ``memory-agent[local]``); lazy load."""
        from memory_agent import LlamaCppLLM

        llm_kwargs = {k: kwargs.pop(k) for k in ("n_ctx", "n_threads") if k in kwargs}
        return cls(llm=LlamaCppLLM(model, **llm_kwargs), **kwargs)

    @property
    def _llm_type(self) -> str:
        return f"memory-agent-{self.llm.name}"

    @property
    def _identifying_params(self) -> dict[str, Any]:
        return {"llm": self.llm.name, "max_tokens": self.max_tokens,
                "temperature": self.temperature}

    def _answer(self, messages: Sequence[BaseMessage], stop: list[str] | None,
                **kwargs: Any) -> str:
        schema = kwargs.get("json_schema")
        text: str = self.llm.complete(
            to_memory_messages(messages),
            max_tokens=int(kwargs.get("max_tokens", self.max_tokens)),
            json_schema=schema if isinstance(schema, dict) else None,
            temperature=float(kwargs.get("temperature", self.temperature)),
        )
        for marker in stop or self.stop or []:
            if marker and marker in text:
                text = text[: text.index(marker)]
        return text

    def bind_tools(self, tools: Sequence[Any], *, tool_choice: str | None = None,
                   **kwargs: Any) -> Any:
        """This model with ``tools`` (LangChain tools, functions or schemas) to call.

        ``tool_choice``: None/"auto" lets the model answer or call; "any"/"required" forces
        a call; a tool's name forces that tool."""
        specs = tool_specs(tools)
        if tool_choice not in (None, "auto", "none"):
            forced = [s for s in specs if s["name"] == tool_choice]
            specs = forced if tool_choice not in ("any", "required") else specs
            if not specs:
                msg = f"tool_choice {tool_choice!r} names no bound tool"
                raise ValueError(msg)
            kwargs["tool_choice_forced"] = True
        return self.bind(tools=specs, **kwargs)

    def _call_tools(self, messages: Sequence[BaseMessage], specs: list[dict[str, Any]],
                    forced: bool, **kwargs: Any) -> AIMessage:
        schema = reply_schema(specs)
        if forced:
            schema["oneOf"] = [o for o in schema["oneOf"]
                               if o["properties"]["name"]["const"] != ANSWER]
        text: str = self.llm.complete(
            to_memory_messages(with_tools_prompt(messages, specs)),
            max_tokens=int(kwargs.get("max_tokens", self.max_tokens)), json_schema=schema,
            temperature=float(kwargs.get("temperature", self.temperature)),
        )
        return parse_reply(text, specs)

    def _generate(
        self,
        messages: list[BaseMessage],
        stop: list[str] | None = None,
        run_manager: CallbackManagerForLLMRun | None = None,
        **kwargs: Any,
    ) -> ChatResult:
        specs = kwargs.pop("tools", None)
        forced = bool(kwargs.pop("tool_choice_forced", False))
        if specs:
            message = self._call_tools(messages, specs, forced, **kwargs)
        else:
            message = AIMessage(content=self._answer(messages, stop, **kwargs))
        message.response_metadata["model_name"] = self.llm.name
        return ChatResult(generations=[ChatGeneration(message=message)])

    def _stream(
        self,
        messages: list[BaseMessage],
        stop: list[str] | None = None,
        run_manager: CallbackManagerForLLMRun | None = None,
        **kwargs: Any,
    ) -> Iterator[ChatGenerationChunk]:
        if kwargs.get("tools") or kwargs.get("json_schema") or stop or self.stop:
            # a tool call or a schema is one JSON value; a stop marker needs the whole text
            [generation] = self._generate(messages, stop, run_manager, **kwargs).generations
            message = generation.message
            chunk = ChatGenerationChunk(message=AIMessageChunk(
                content=message.content, tool_call_chunks=[
                    {"name": c["name"], "args": json.dumps(c["args"]), "id": c["id"],
                     "index": i, "type": "tool_call_chunk"}
                    for i, c in enumerate(getattr(message, "tool_calls", []))]))
            if run_manager is not None:
                run_manager.on_llm_new_token(str(message.content), chunk=chunk)
            yield chunk
            return
        pieces = self.llm.stream(
            to_memory_messages(messages),
            max_tokens=int(kwargs.get("max_tokens", self.max_tokens)),
            temperature=float(kwargs.get("temperature", self.temperature)),
        )
        for piece in pieces:
            chunk = ChatGenerationChunk(message=AIMessageChunk(content=piece))
            if run_manager is not None:
                run_manager.on_llm_new_token(piece, chunk=chunk)
            yield chunk

    def with_json_schema(self, schema: dict[str, Any]) -> Any:
        """A runnable answering with a dict that follows ``schema`` (JSON-constrained)."""
        from langchain_core.runnables import RunnableLambda

        def parse(message: BaseMessage) -> Any:
            text = message.text.strip()
            start, end = text.find("{"), text.rfind("}")
            return json.loads(text[start : end + 1] if start != -1 else text)

        return self.bind(json_schema=schema) | RunnableLambda(parse)
