"""Schema-constrained generation with validation and one repair attempt."""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import TypeVar

from pydantic import BaseModel, ValidationError

from memory_agent.core.llm import LLM
from memory_agent.core.prompts import REPAIR_JSON
from memory_agent.core.types import Message
from memory_agent.errors import ModelError, ModelOutputError

T = TypeVar("T", bound=BaseModel)


def _parse(raw: str, schema: type[T]) -> T:
    text = raw.strip()
    if text.startswith("```"):  # tolerate a fenced block
        text = text.strip("`")
        text = text[text.find("{") :] if "{" in text else text
    start, end = text.find("{"), text.rfind("}")
    if start == -1 or end < start:
        msg = "no JSON object in the output"
        raise ValueError(msg)
    return schema.model_validate(json.loads(text[start : end + 1]))


def generate_structured(
    llm: LLM,
    messages: Sequence[Message],
    schema: type[T],
    *,
    max_tokens: int = 512,
) -> T:
    """Ask ``llm`` for a JSON object matching ``schema``; validate it with pydantic.

    Invalid output gets exactly one repair attempt (the model sees its output and the
    validation error); if that fails too, :class:`ModelOutputError` is raised, so invalid
    output never reaches stored memory.
    """
    json_schema = schema.model_json_schema()
    raw = llm.complete(messages, max_tokens=max_tokens, json_schema=json_schema)
    if not isinstance(raw, str):
        msg = f"model backend returned {type(raw).__name__}, not str"
        raise ModelError(msg)
    try:
        return _parse(raw, schema)
    except (ValueError, ValidationError) as first_error:
        error_text = str(first_error)[:600]
    repair: list[Message] = [
        *messages,
        {"role": "assistant", "content": raw[:4000]},
        {"role": "user", "content": REPAIR_JSON.format(error=error_text)},
    ]
    raw2 = llm.complete(repair, max_tokens=max_tokens, json_schema=json_schema)
    try:
        return _parse(raw2 if isinstance(raw2, str) else "", schema)
    except (ValueError, ValidationError) as second_error:
        msg = (f"model output did not match {schema.__name__} after one repair attempt: "
               f"{str(second_error)[:300]}")
        raise ModelOutputError(msg, raw_output=str(raw2)[:2000]) from second_error
