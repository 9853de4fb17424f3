"""``ChatModelLLM``: any LangChain chat model as memory-agent's ``LLM`` (summaries, profile
updates). memory-agent validates structured output either way (one repair attempt)."""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any, Literal

from langchain_core.language_models import BaseChatModel
from langchain_core.messages import HumanMessage
from memory_agent import LLM, Message

from ._messages import from_memory_messages, text_of

StructuredMode = Literal["auto", "json_schema", "json_mode", "function_calling", "text"]

JSON_INSTRUCTION = (
    "Answer with a single JSON object that follows this JSON schema, and nothing else:\n{schema}"
)


class ChatModelLLM(LLM):
    """Wrap a LangChain ``BaseChatModel`` as a memory-agent ``LLM``.

    When memory-agent asks for JSON (``json_schema``), ``structured`` chooses how:
    ``"auto"`` (default) tries ``model.with_structured_output(schema, method="json_schema")``
    and falls back to plain text with the schema in the prompt if the model does not
    support it; ``"text"`` always uses the prompt. ``bind_params=True`` passes
    ``max_tokens`` and ``temperature`` to the model on each call (only if it accepts them).
    """

    def __init__(
        self,
        model: BaseChatModel,
        /,
        *,
        structured: StructuredMode = "auto",
        bind_params: bool = False,
        context_window: int = 8192,
        name: str | None = None,
    ) -> None:
        super().__init__()
        if not isinstance(model, BaseChatModel):
            msg = f"ChatModelLLM wraps a LangChain BaseChatModel, got {type(model).__name__}"
            raise TypeError(msg)
        self.model = model
        self.structured = structured
        self.bind_params = bind_params
        self.context_window = context_window
        self.name = name or f"langchain:{model._llm_type}"
        self.supports_json_schema = structured != "text"
        self._structured_ok: bool | None = None if structured == "auto" else structured != "text"

    def _complete(
        self,
        messages: Sequence[Message],
        *,
        max_tokens: int,
        json_schema: dict[str, Any] | None,
        temperature: float,
    ) -> str:
        self.stats.calls += 1
        lc_messages = from_memory_messages(messages)
        model: Any = self.model
        if self.bind_params:
            model = model.bind(max_tokens=max_tokens, temperature=temperature)
        if json_schema is not None and self._structured_ok is not False:
            result = self._structured(lc_messages, json_schema)
            if result is not None:
                return result if isinstance(result, str) else json.dumps(result)
        if json_schema is not None:
            instruction = JSON_INSTRUCTION.format(schema=json.dumps(json_schema))
            lc_messages = [*lc_messages, HumanMessage(content=instruction)]
        return text_of(model.invoke(lc_messages))

    def _structured(self, lc_messages: list[Any], json_schema: dict[str, Any]) -> Any:
        """The model's structured answer, or None if it has no structured output."""
        if self.structured == "auto":
            attempts: list[dict[str, Any]] = [{"method": "json_schema"}, {}]
        else:
            attempts = [{"method": self.structured}]
        for kwargs in attempts:
            try:
                runnable = self.model.with_structured_output(json_schema, **kwargs)
            except NotImplementedError:
                break
            except (TypeError, ValueError):  # e.g. "unsupported arguments {'method': ...}"
                continue
            self._structured_ok = True
            return runnable.invoke(lc_messages)
        self._structured_ok = False  # this model cannot: use the prompt from now on
        return None
