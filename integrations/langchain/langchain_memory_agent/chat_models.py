"""``ChatLocalLlama``: any memory-agent ``LLM`` (e.g. ``LlamaCppLLM``) as a LangChain chat model.

This lets an agent run fully offline without ``langchain-community``. Tool calling is not
supported (memory-agent's ``LLM`` interface has none): ``bind_tools`` raises
NotImplementedError, so use it for agents without tools, LCEL chains and memory upkeep.
Streaming yields the whole answer as one chunk (the ``LLM`` interface does not stream).
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

    def _generate(
        self,
        messages: list[BaseMessage],
        stop: list[str] | None = None,
        run_manager: CallbackManagerForLLMRun | None = None,
        **kwargs: Any,
    ) -> ChatResult:
        text = self._answer(messages, stop, **kwargs)
        message = AIMessage(content=text, response_metadata={"model_name": self.llm.name})
        return ChatResult(generations=[ChatGeneration(message=message)])

    def _stream(
        self,
        messages: list[BaseMessage],
        stop: list[str] | None = None,
        run_manager: CallbackManagerForLLMRun | None = None,
        **kwargs: Any,
    ) -> Iterator[ChatGenerationChunk]:
        text = self._answer(messages, stop, **kwargs)
        chunk = ChatGenerationChunk(message=AIMessageChunk(content=text))
        if run_manager is not None:
            run_manager.on_llm_new_token(text, chunk=chunk)
        yield chunk

    def with_json_schema(self, schema: dict[str, Any]) -> Any:
        """A runnable answering with a dict that follows ``schema`` (JSON-constrained)."""
        from langchain_core.runnables import RunnableLambda

        def parse(message: BaseMessage) -> Any:
            text = message.text.strip()
            start, end = text.find("{"), text.rfind("}")
            return json.loads(text[start : end + 1] if start != -1 else text)

        return self.bind(json_schema=schema) | RunnableLambda(parse)
