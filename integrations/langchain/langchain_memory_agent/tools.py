"""Memory tools for agents: search memory, remember / correct / forget a profile fact.

Edits go through ``MemoryManager.apply_profile_edits`` (the validated path background updates
use: compare-and-set on the profile version, budget, history) with provenance source
``tool``. Invalid arguments come back to the agent as a clear error message and store
nothing. The user comes from the run (runtime context, else ``config["configurable"]``).

Text that looks like a prompt injection (``memory_agent.looks_like_injection``) is never
stored. The "Standing instructions" section (rendered as instructions to the assistant) is
closed to tools unless ``memory_tools(..., allow_instructions=True)``; even then, only for
text that does not look like an injection.

    tools = memory_tools(factory)
    agent = create_agent(model, tools=tools, context_schema=UserContext)
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any, Literal

from langchain_core.runnables import RunnableConfig
from langchain_core.tools import BaseTool, ToolException
from memory_agent import (
    ExtractionOutcome,
    Fact,
    MemoryAgentError,
    MemoryManager,
    ProfileDocument,
    ProfileEdit,
    ProfileUpdate,
    looks_like_injection,
)
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from .managers import ManagerPool, MemoryManagerFactory, as_pool, resolve_ids

Section = Literal["About", "Preferences", "Routines and schedule", "Goals",
                  "Communication style", "Standing instructions"]
STANDING = "Standing instructions"
FACT_ID = r"^f[1-9][0-9]{0,5}$"
MAX_FACT_CHARS = 400
_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f]")
Planner = Callable[[ProfileDocument], ExtractionOutcome]


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
    if looks_like_injection(text):
        msg = ("Error: the text reads like instructions to the system (a possible prompt "
               "injection), not a fact about the user. Nothing was stored.")
        raise ToolException(msg)
    return text


def _outcome(*edits: ProfileEdit) -> ExtractionOutcome:
    return ExtractionOutcome(edits=list(edits), rejected=[])


class _MemoryTool(BaseTool):
    """Shared plumbing: which user, errors as messages."""

    model_config = ConfigDict(arbitrary_types_allowed=True)

    pool: ManagerPool
    token_budget: int | None = 600
    allow_instructions: bool = False  # may tools write the "Standing instructions" section?
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

    def _edit(self, config: RunnableConfig | None, plan: Planner) -> ProfileUpdate:
        manager = self._manager(config)
        try:
            return manager.apply_profile_edits(plan)
        except ToolException:
            raise
        except ValidationError as error:
            raise ToolException(_validation_message(error)) from None
        except (MemoryAgentError, ValueError) as error:
            raise ToolException(f"Error: {error}. Nothing was stored.") from None


def _known(doc: ProfileDocument, fact_id: str) -> Fact:
    fact = doc.get(fact_id)
    if fact is None:
        ids = ", ".join(f"{f.id} ({f.text})" for f in doc.facts[:20]) or "none"
        msg = (f"Error: no fact {fact_id!r} in the profile. Known facts: {ids}. "
               "Use search_memory to find the id. Nothing was changed.")
        raise ToolException(msg)
    return fact


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

    def _run(self, fact: str, config: RunnableConfig, section: Section = "About") -> str:
        if section == STANDING and not self.allow_instructions:
            msg = (f"Error: section {STANDING!r} is not open to tools; use one of About, "
                   "Preferences, Routines and schedule, Goals, Communication style. "
                   "Nothing was stored.")
            raise ToolException(msg)
        text = _fact_text(fact)
        confirmed: list[str] = []

        def plan(doc: ProfileDocument) -> ExtractionOutcome:
            confirmed.clear()
            same = [f for f in doc.facts if f.text.lower() == text.lower()]
            if same:
                confirmed.append(same[0].id)
                return _outcome(ProfileEdit(op="confirm", fact_id=same[0].id, sources=["tool"]))
            return _outcome(ProfileEdit(op="add", section=section, text=text, sources=["tool"]))

        update = self._edit(config, plan)
        kept = update.added or confirmed
        if not kept:
            return "The fact could not be kept (the profile is over its token budget)."
        return f"Remembered as {kept[-1]}: {text}"


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

        def plan(doc: ProfileDocument) -> ExtractionOutcome:
            old = _known(doc, fact_id)
            if old.section == STANDING and not self.allow_instructions:
                msg = (f"Error: {fact_id} is a standing instruction; tools cannot change "
                       "those. Nothing was changed.")
                raise ToolException(msg)
            return _outcome(ProfileEdit(op="supersede", fact_id=fact_id, text=text,
                                        sources=["tool"], reason="corrected by a tool call"))

        update = self._edit(config, plan)
        if not update.added:
            return f"{fact_id} was retired, but the correction did not fit the profile budget."
        return f"Corrected {fact_id}: now {update.added[-1]}: {text}"


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
        def plan(doc: ProfileDocument) -> ExtractionOutcome:
            _known(doc, fact_id)
            why = f"removed by a tool call: {reason}" if reason else "removed by a tool call"
            return _outcome(ProfileEdit(op="remove", fact_id=fact_id, reason=why[:200]))

        self._edit(config, plan)
        return f"Forgot {fact_id}."


def memory_tools(
    managers: ManagerPool | MemoryManagerFactory | MemoryManager,
    *,
    token_budget: int | None = 600,
    allow_instructions: bool = False,
    include: tuple[str, ...] = ("search_memory", "remember_fact", "correct_fact",
                                "forget_fact"),
) -> list[BaseTool]:
    """The memory tools, sharing one manager pool (``include`` picks a subset by name).

    ``allow_instructions=True`` lets ``remember_fact`` / ``correct_fact`` write the
    "Standing instructions" section (text that looks like an injection is still refused).
    """
    pool = as_pool(managers)
    kinds: dict[str, type[_MemoryTool]] = {
        "search_memory": SearchMemoryTool, "remember_fact": RememberFactTool,
        "correct_fact": CorrectFactTool, "forget_fact": ForgetFactTool,
    }
    unknown = set(include) - set(kinds)
    if unknown:
        msg = f"unknown memory tools {sorted(unknown)}; known: {sorted(kinds)}"
        raise ValueError(msg)
    return [kinds[name](pool=pool, token_budget=token_budget,  # type: ignore[call-arg]
                        allow_instructions=allow_instructions)
            for name in include]
