"""Tool calling for a model without native support: a grammar-constrained JSON reply.

The bound tools become one JSON schema: the reply is either ``{"name": TOOL, "arguments":
{...}}`` with that tool's argument schema, or ``{"name": "answer", "text": "..."}``. The
backend constrains generation to that schema (llama.cpp grammars), so the reply always
parses; arguments are still validated by the tool itself when it runs. Strings and arrays
are bounded (small models otherwise run out of tokens mid-value).
"""

from __future__ import annotations

import copy
import json
import uuid
from collections.abc import Sequence
from typing import Any

from langchain_core.messages import AIMessage, BaseMessage, SystemMessage, ToolMessage
from langchain_core.utils.function_calling import convert_to_openai_tool

ANSWER = "answer"
MAX_STRING = 400
MAX_ITEMS = 8
MAX_ANSWER = 1500

TOOLS_SYSTEM = """You can call these tools:
{tools}

Reply with JSON only. To call a tool: {{"name": "<tool>", "arguments": {{...}}}}.
To answer the user (when no tool is needed, or after the tool results you need):
{{"name": "answer", "text": "<your answer>"}}.
Call a tool only when the request needs it, and at most once per tool result."""


def tool_specs(tools: Sequence[Any]) -> list[dict[str, Any]]:
    """OpenAI-style function specs (name, description, parameters) of LangChain tools."""
    return [convert_to_openai_tool(t)["function"] for t in tools]


def bounded(schema: Any) -> Any:
    """A copy of ``schema`` with every string and array held to a small maximum size."""
    if isinstance(schema, list):
        return [bounded(s) for s in schema]
    if not isinstance(schema, dict):
        return schema
    out = {k: bounded(v) for k, v in schema.items()}
    if out.get("type") == "string" and "pattern" in out:
        out.pop("maxLength", None)  # the pattern bounds it; both make llama.cpp's grammar huge
    elif out.get("type") == "string" and "enum" not in out:
        out["maxLength"] = min(int(out.get("maxLength", MAX_STRING)), MAX_STRING)
    if out.get("type") == "array":
        out["maxItems"] = min(int(out.get("maxItems", MAX_ITEMS)), MAX_ITEMS)
    return out


def reply_schema(specs: Sequence[dict[str, Any]]) -> dict[str, Any]:
    """The JSON schema of one reply: a call of one of the tools, or an answer."""
    options = [{
        "type": "object",
        "properties": {
            "name": {"const": spec["name"]},
            "arguments": bounded(copy.deepcopy(
                spec.get("parameters") or {"type": "object", "properties": {}})),
        },
        "required": ["name", "arguments"],
    } for spec in specs]
    options.append({
        "type": "object",
        "properties": {"name": {"const": ANSWER},
                       "text": {"type": "string", "maxLength": MAX_ANSWER}},
        "required": ["name", "text"],
    })
    return {"oneOf": options}


def tools_prompt(specs: Sequence[dict[str, Any]]) -> str:
    lines = []
    for spec in specs:
        params = (spec.get("parameters") or {}).get("properties", {})
        args = ", ".join(f"{k}: {v.get('type', 'any')}" for k, v in params.items())
        lines.append(f"- {spec['name']}({args}): {spec.get('description', '').strip()}")
    return TOOLS_SYSTEM.format(tools="\n".join(lines))


def with_tools_prompt(messages: Sequence[BaseMessage],
                      specs: Sequence[dict[str, Any]]) -> list[BaseMessage]:
    """The conversation with the tool instructions added to (or as) the system message;
    earlier tool calls are shown in the reply format the model is asked to use."""
    prompt = tools_prompt(specs)
    out: list[BaseMessage] = []
    for message in messages:
        if isinstance(message, AIMessage) and message.tool_calls:
            calls = [json.dumps({"name": c["name"], "arguments": c["args"]})
                     for c in message.tool_calls]
            out.append(AIMessage("\n".join(calls)))
        elif isinstance(message, ToolMessage):
            out.append(ToolMessage(f"{message.name or 'tool'} returned: {message.text}",
                                   tool_call_id=message.tool_call_id))
        else:
            out.append(message)
    if out and isinstance(out[0], SystemMessage):
        return [SystemMessage(f"{out[0].text}\n\n{prompt}"), *out[1:]]
    return [SystemMessage(prompt), *out]


def parse_reply(text: str, specs: Sequence[dict[str, Any]]) -> AIMessage:
    """The model's JSON reply as an AIMessage: with a tool call, or with the answer text.
    A reply that is not the expected JSON is kept as a plain answer."""
    try:
        value = json.loads(text[text.find("{"): text.rfind("}") + 1])
    except ValueError:
        return AIMessage(text.strip())
    names = {spec["name"] for spec in specs}
    if isinstance(value, dict) and value.get("name") in names:
        args = value.get("arguments")
        return AIMessage("", tool_calls=[{
            "name": value["name"], "args": args if isinstance(args, dict) else {},
            "id": f"call_{uuid.uuid4().hex[:12]}", "type": "tool_call",
        }])
    if isinstance(value, dict) and isinstance(value.get("text"), str):
        return AIMessage(value["text"].strip())
    return AIMessage(text.strip())
