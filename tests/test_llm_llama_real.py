"""The llama.cpp backend: schema preparation (fast) and the real default model (``real``).

The ``real`` tests load the default Qwen2.5-Coder-1.5B model once for the module. They are
skipped only when llama-cpp-python is not importable; a missing model makes them fail.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from typing import Literal

import pytest
from pydantic import BaseModel, Field

from memory_agent.backends.llm.grammar import json_schema_grammar, prepare_json_schema
from memory_agent.backends.llm.llama import LlamaCppLLM
from memory_agent.core.types import Message
from memory_agent.engine.structured import generate_structured
from memory_agent.errors import InvalidInputError, ModelError, ModelUnavailableError

try:
    import llama_cpp  # noqa: F401

    HAVE_LLAMA_CPP = True
except ImportError:
    HAVE_LLAMA_CPP = False

needs_llama_cpp = pytest.mark.skipif(
    not HAVE_LLAMA_CPP,
    reason='llama-cpp-python is not importable (pip install "memory-agent[local]")',
)


class Pet(BaseModel):
    kind: Literal["cat", "dog", "other"]
    name: str | None = Field(default=None, max_length=30)


class Profile(BaseModel):
    name: str | None = Field(default=None, max_length=40)
    city: str | None = Field(default=None, max_length=40)
    age: int | None = Field(default=None, ge=0, le=120)
    hobbies: list[str] = Field(default_factory=list, max_length=4)
    pets: list[Pet] = Field(default_factory=list, max_length=3)


# -- schema preparation (no model needed) -------------------------------------------------


def test_prepare_requires_every_property_in_declared_order() -> None:
    schema = Profile.model_json_schema()
    prepared = prepare_json_schema(schema)

    assert prepared["required"] == ["name", "city", "age", "hobbies", "pets"]
    assert prepared["$defs"]["Pet"]["required"] == ["kind", "name"]
    assert "required" not in schema  # the input is not modified


def test_prepare_enumerates_small_integer_ranges_only() -> None:
    schema = {
        "type": "object",
        "properties": {
            "score": {"type": "integer", "minimum": 1, "maximum": 5},
            "open": {"type": "integer", "exclusiveMinimum": 0, "exclusiveMaximum": 4},
            "big": {"type": "integer", "minimum": 0, "maximum": 10_000},
            "half": {"type": "integer", "minimum": 0},
            "even": {"type": "integer", "minimum": 0, "maximum": 6, "multipleOf": 2},
            "age": {"anyOf": [{"type": "integer", "minimum": 0, "maximum": 2}, {"type": "null"}]},
        },
    }
    props = prepare_json_schema(schema)["properties"]

    assert props["score"]["enum"] == [1, 2, 3, 4, 5]
    assert props["open"]["enum"] == [1, 2, 3]
    assert "enum" not in props["big"]
    assert "enum" not in props["half"]
    assert props["even"]["enum"] == [0, 2, 4, 6]
    assert props["age"]["anyOf"][0]["enum"] == [0, 1, 2]


def test_prepare_leaves_field_names_and_defaults_alone() -> None:
    schema = {
        "type": "object",
        "properties": {
            "properties": {"type": "object", "properties": {"x": {"type": "string"}}},
            "type": {"type": "integer", "minimum": 0, "maximum": 1, "default": 0},
        },
    }
    prepared = prepare_json_schema(schema)

    assert set(prepared["properties"]) == {"properties", "type"}
    assert prepared["properties"]["properties"]["required"] == ["x"]
    assert prepared["properties"]["type"]["enum"] == [0, 1]


@needs_llama_cpp
def test_grammar_uses_compact_bounds_and_strict_strings() -> None:
    class Note(BaseModel):
        text: str = Field(max_length=3000)
        tags: list[str] = Field(min_length=1, max_length=5)

    grammar = json_schema_grammar(Note.model_json_schema())

    assert "{0,3000}" in grammar  # not 3000 nested optional groups
    assert 'tags ::= "[" space string ("," space string){0,4} "]" space' in grammar
    assert r'char ::= [^"\\\x7F\x00-\x1F]' in grammar  # no raw control characters


@needs_llama_cpp
def test_grammar_refuses_what_llama_cannot_convert() -> None:
    with pytest.raises(ModelError, match="cannot turn this JSON schema"):
        json_schema_grammar({"type": "object", "properties": {"x": {"type": "tuple"}}})


def test_importing_the_backend_does_not_import_llama_cpp() -> None:
    code = (
        "import sys, memory_agent, memory_agent.backends.llm.llama as m; "
        "m.LlamaCppLLM(); assert 'llama_cpp' not in sys.modules"
    )
    subprocess.run([sys.executable, "-c", code], check=True)


def test_missing_llama_cpp_names_the_extra(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "llama_cpp", None)  # makes `import llama_cpp` fail
    llm = LlamaCppLLM("/nowhere/model.gguf")

    with pytest.raises(ModelUnavailableError, match=r'pip install "memory-agent\[local\]"'):
        llm.load()


def test_invalid_settings_are_refused() -> None:
    with pytest.raises(InvalidInputError):
        LlamaCppLLM(n_ctx=0)
    with pytest.raises(InvalidInputError):
        LlamaCppLLM(n_threads=0)
    assert LlamaCppLLM().n_threads == max(os.cpu_count() or 1, 1)


# -- the real default model ------------------------------------------------------------------


@pytest.fixture(scope="module")
def llm() -> Iterator[LlamaCppLLM]:
    model = LlamaCppLLM(n_ctx=4096, n_threads=2)
    model.load()  # a missing model fails here: these tests must not skip then
    yield model
    model.close()


def user(text: str) -> list[Message]:
    return [{"role": "user", "content": text}]


@pytest.mark.real
@needs_llama_cpp
def test_plain_completion(llm: LlamaCppLLM) -> None:
    text = llm.complete(user("Name one primary colour. Answer with one word."), max_tokens=8)
    assert isinstance(text, str)
    assert text.strip()


@pytest.mark.real
@needs_llama_cpp
def test_structured_output_is_valid(llm: LlamaCppLLM) -> None:
    messages: list[Message] = [
        {"role": "system", "content": "Extract facts about the user as JSON. Use null if unknown."},
        {
            "role": "user",
            "content": "I'm Dana, 34, I live in Lyon. I climb and play chess. "
            "My cat is called Miso.",
        },
    ]
    profile = generate_structured(llm, messages, Profile, max_tokens=200)

    assert isinstance(profile, Profile)
    assert profile.city == "Lyon"
    assert profile.age == 34
    assert len(profile.hobbies) <= 4


@pytest.mark.real
@needs_llama_cpp
def test_a_shared_prompt_prefix_is_evaluated_once(llm: LlamaCppLLM) -> None:
    """llama.cpp keeps the previous prompt's state: a prompt that starts like it evaluates
    only the rest, and ``stats.prefill_tokens`` counts what was evaluated."""
    story = " ".join(f"On day {i} the user walked {i + 2} km by the river." for i in range(30))
    first = [{"role": "system", "content": "You read notes."},
             {"role": "user", "content": f"{story}\nTask: say how many days."}]
    second = [first[0], {"role": "user", "content": f"{story}\nTask: name the river."}]
    llm.complete([{"role": "user", "content": "Reset."}], max_tokens=2)
    before = (llm.stats.prompt_tokens, llm.stats.prefill_tokens)
    llm.complete(first, max_tokens=4)
    assert llm.stats.prefill_tokens - before[1] >= llm.count_prompt_tokens(first) - 12
    middle = (llm.stats.prompt_tokens, llm.stats.prefill_tokens)
    llm.complete(second, max_tokens=4)
    evaluated = llm.stats.prefill_tokens - middle[1]
    assert llm.stats.prompt_tokens - middle[0] == llm.count_prompt_tokens(second)
    assert 0 < evaluated <= 20  # the story came from the cache: only the task was read
    assert llm.stats.cached_tokens == llm.stats.prompt_tokens - llm.stats.prefill_tokens


@pytest.mark.real
@needs_llama_cpp
def test_stats_match_the_prompt(llm: LlamaCppLLM) -> None:
    messages = user("Say hello.")
    before = (llm.stats.calls, llm.stats.prompt_tokens, llm.stats.completion_tokens)

    llm.complete(messages, max_tokens=10)

    assert llm.stats.calls == before[0] + 1
    assert llm.stats.prompt_tokens - before[1] == llm.count_prompt_tokens(messages)
    assert 0 < llm.stats.completion_tokens - before[2] <= 10
    assert llm.stats.seconds > 0


@pytest.mark.real
@needs_llama_cpp
def test_count_tokens_uses_the_model_tokenizer(llm: LlamaCppLLM) -> None:
    assert llm.count_tokens("hello world") == 2  # Qwen2.5: "hello", " world"
    assert llm.count_tokens("") == 0
    assert llm.count_prompt_tokens(user("hello world")) > llm.count_tokens("hello world")


@pytest.mark.real
@needs_llama_cpp
def test_strings_never_hold_raw_control_characters(llm: LlamaCppLLM) -> None:
    schema = {"type": "object", "properties": {"poem": {"type": "string", "maxLength": 160}}}
    prompt = 'Write a 4-line poem about the sea as JSON {"poem": ...}, one line per line.'

    raw = llm.complete(user(prompt), max_tokens=120, json_schema=schema)

    assert isinstance(json.loads(raw)["poem"], str)  # strict json.loads: no raw newlines


@pytest.mark.real
@needs_llama_cpp
def test_long_string_bounds_do_not_break_the_grammar(llm: LlamaCppLLM) -> None:
    class Summary(BaseModel):
        summary: str = Field(max_length=2000)  # llama-cpp-python's own grammar dies here

    raw = llm.complete(
        user("Summarise: we met."), max_tokens=60, json_schema=Summary.model_json_schema()
    )
    assert raw.startswith("{")


@pytest.mark.real
@needs_llama_cpp
def test_overflow_raises_before_generating(llm: LlamaCppLLM) -> None:
    calls = llm.stats.calls
    with pytest.raises(ModelError, match="exceeds the context window of 4096 tokens"):
        llm.complete(user("word " * 4100), max_tokens=200)
    with pytest.raises(ModelError, match="nothing is truncated"):
        llm.complete(user("word " * 3950), max_tokens=200)  # fits alone, not with max_tokens
    assert llm.stats.calls == calls


@pytest.mark.real
@needs_llama_cpp
def test_close_releases_and_reloads(llm: LlamaCppLLM) -> None:
    llm.close()
    assert not llm.is_loaded
    assert llm.complete(user("Say yes."), max_tokens=4).strip()
    assert llm.is_loaded
