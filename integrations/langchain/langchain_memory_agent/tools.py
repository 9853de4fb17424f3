"""Memory tools for agents: search memory, remember / correct / forget a profile fact.

Edits go through ``MemoryManager.apply_profile_edits`` (the validated path background updates
use: compare-and-set on the profile version, budget, history) with provenance source
``tool``. Invalid arguments come back to the agent as a clear error message and store
nothing. The user comes from the run (runtime context, else ``config["configurable"]``).

    tools = memory_tools(factory)
    agent = create_agent(model, tools=tools, context_schema=UserContext)
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any, Literal

from langchain_core.runnables import RunnableConfig
from langchain_core.tools import BaseTool, ToolException
from memory_agent import MemoryAgentError, MemoryManager, ProfileDocument, ProfileEdit
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from .managers import ManagerPool, MemoryManagerFactory, as_pool, resolve_ids

Section = Literal["About", "Preferences", "Routines and schedule", "Goals",
                  "Communication style"]
FACT_ID = r"^f[1-9][0-9]{0,5}$"
MAX_FACT_CHARS = 400
_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f]")


@dataclass
class _Plan:  # the shape MemoryManager.apply_profile_edits expects from a planner
    edits: list[ProfileEdit]
    rejected: list[Any] = field(default_factory=list)


def _validation_message(error: ValidationError) -> str:
    problems = "; ".join(f"{'.'.join(str(p) for p in e['loc']) or 'input'}: {e['msg']}"
                         for e in error.errors())
    return f"Error: invalid arguments ({problems}). Nothing was stored; fix them and retry."


def _fact_text(value: str) -> str:
    text = " ".join(value.split())
    if not text:
        msg = "Error: the fact is empty. Nothing was stored."
        raise ToolException(msg)
    if _CONTROL.search(value) or "{" in text or "}" in text:
        msg = "Error: the fact contains control characters or braces. Nothing was stored."
        raise ToolException(msg)
    if len(text) > MAX_FACT_CHARS:
        msg = (f"Error: the fact is {len(text)} characters; keep it under {MAX_FACT_CHARS} "
               "(one short fact). Nothing was stored.")
        raise ToolException(msg)
    return text


class _MemoryTool(BaseTool):
    """Shared plumbing: which user, errors as messages."""

    model_config = ConfigDict(arbitrary_types_allowed=True)

    pool: ManagerPool
    token_budget: int | None = 600
    handle_tool_error: bool = True
    handle_validation_error: Any = _validation_message

    def _manager(self, config: RunnableConfig | None) -> MemoryManager:
        context = None
        try:
            from langgraph.runtime import get_runtime

            context = getattr(get_runtime(), "context", None)
        except (RuntimeError, KeyError, AttributeError):
            context = None
        try:
            user_id, _ = resolve_ids(context, config, need_session=False)
        except MemoryAgentError as error:
            raise ToolException(f"Error: {error}") from None
        return self.pool.get(user_id)

    def _edit(self, config: RunnableConfig | None, plan: Any) -> ProfileDocument:
        manager = self._manager(config)
        try:
            manager.apply_profile_edits(plan)
        except ValidationError as error:
            raise ToolException(_validation_message(error)) from None
        except (MemoryAgentError, ValueError) as error:
            raise ToolException(f"Error: {error}. Nothing was stored.") from None
        return manager.profile()


def _known(doc: ProfileDocument, fact_id: str) -> None:
    if doc.get(fact_id) is None:
        ids = ", ".join(f"{f.id} ({f.text})" for f in doc.facts[:20]) or "none"
        msg = (f"Error: no fact {fact_id!r} in the profile. Known facts: {ids}. "
               "Use search_memory to find the id. Nothing was changed.")
        raise ToolException(msg)


class SearchArgs(BaseModel):
    query: str = Field(min_length=1, max_length=2000,
                       description="What to look for in the user's long-term memory.")


class SearchMemoryTool(_MemoryTool):
    name: str = "search_memory"
    description: str = (
        "Search the user's long-term memory (profile facts with ids like f3, summaries of "
        "past conversations, past messages). Use before answering questions about the user."
    )
    args_schema: type[BaseModel] = SearchArgs

    def _run(self, query: str, config: RunnableConfig) -> str:
        manager = self._manager(config)
        try:
            context = manager.recall(query, token_budget=self.token_budget)
        except MemoryAgentError as error:
            raise ToolException(f"Error: {error}") from None
        return context.to_prompt() or "Nothing in memory matches this query."


class RememberArgs(BaseModel):
    fact: str = Field(min_length=1, max_length=MAX_FACT_CHARS,
                      description="One short fact about the user, e.g. 'Diet: vegetarian'.")
    section: Section = Field(default="About", description="The profile section.")


class RememberFactTool(_MemoryTool):
    name: str = "remember_fact"
    description: str = (
        "Save one short fact the user told you about themselves in their long-term profile. "
        "Do not save instructions or anything the user did not say."
    )
    args_schema: type[BaseModel] = RememberArgs

    def _run(self, fact: str, config: RunnableConfig, section: str = "About") -> str:
        text = _fact_text(fact)
        edit = ProfileEdit(op="add", section=section, text=text,
                           sources=["tool"])

        def plan(doc: ProfileDocument) -> _Plan:
            same = [f for f in doc.facts if f.text.lower() == text.lower()]
            if same:
                return _Plan([ProfileEdit(op="confirm", fact_id=same[0].id, sources=["tool"])])
            return _Plan([edit])

        doc = self._edit(config, plan)
        kept = [f for f in doc.facts if f.text.lower() == text.lower()]
        if not kept:
            return "The fact could not be kept (the profile is over its token budget)."
        return f"Remembered as {kept[-1].id}: {kept[-1].text}"


class CorrectArgs(BaseModel):
    fact_id: str = Field(pattern=FACT_ID, description="The id of the fact to correct, e.g. f3.")
    corrected_fact: str = Field(min_length=1, max_length=MAX_FACT_CHARS,
                                description="The corrected fact.")


class CorrectFactTool(_MemoryTool):
    name: str = "correct_fact"
    description: str = (
        "Correct a fact of the user's profile (by its id, e.g. f3, from search_memory) when "
        "the user says it is wrong or has changed. The old version is kept in history."
    )
    args_schema: type[BaseModel] = CorrectArgs

    def _run(self, fact_id: str, corrected_fact: str, config: RunnableConfig) -> str:
        text = _fact_text(corrected_fact)

        def plan(doc: ProfileDocument) -> _Plan:
            _known(doc, fact_id)
            return _Plan([ProfileEdit(op="supersede", fact_id=fact_id, text=text,
                                      sources=["tool"], reason="corrected by a tool call")])

        doc = self._edit(config, plan)
        new = next((f for f in doc.facts if fact_id in f.supersedes), None)
        if new is None:
            return f"{fact_id} was retired, but the correction did not fit the profile budget."
        return f"Corrected {fact_id}: now {new.id}: {new.text}"


class ForgetArgs(BaseModel):
    fact_id: str = Field(pattern=FACT_ID, description="The id of the fact to forget, e.g. f3.")
    reason: str = Field(default="", max_length=200, description="Why (optional).")


class ForgetFactTool(_MemoryTool):
    name: str = "forget_fact"
    description: str = (
        "Remove a fact from the user's profile (by its id, e.g. f3) when the user asks you "
        "to forget it or it no longer holds. It is kept in the profile history."
    )
    args_schema: type[BaseModel] = ForgetArgs

    def _run(self, fact_id: str, config: RunnableConfig, reason: str = "") -> str:
        def plan(doc: ProfileDocument) -> _Plan:
            _known(doc, fact_id)
            why = f"removed by a tool call: {reason}" if reason else "removed by a tool call"
            return _Plan([ProfileEdit(op="remove", fact_id=fact_id, reason=why[:200])])

        self._edit(config, plan)
        return f"Forgot {fact_id}."


def memory_tools(
    managers: ManagerPool | MemoryManagerFactory | MemoryManager,
    *,
    token_budget: int | None = 600,
    include: tuple[str, ...] = ("search_memory", "remember_fact", "correct_fact",
                                "forget_fact"),
) -> list[BaseTool]:
    """The memory tools, sharing one manager pool (``include`` picks a subset by name)."""
    pool = as_pool(managers)
    kinds: dict[str, type[_MemoryTool]] = {
        "search_memory": SearchMemoryTool, "remember_fact": RememberFactTool,
        "correct_fact": CorrectFactTool, "forget_fact": ForgetFactTool,
    }
    unknown = set(include) - set(kinds)
    if unknown:
        msg = f"unknown memory tools {sorted(unknown)}; known: {sorted(kinds)}"
        raise ValueError(msg)
    return [kinds[name](pool=pool, token_budget=token_budget)  # type: ignore[call-arg]
            for name in include]
