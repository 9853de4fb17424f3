"""The JSON-schema-to-grammar compiler (backends/llm/grammar.py), pinned.

It subclasses llama-cpp-python's ``SchemaConverter`` because the public
``json_schema_to_gbnf`` writes bounded repetitions as nested optional groups (llama.cpp
rejects those from ``maxLength`` ~1000 on) and lets JSON strings hold raw control
characters. These tests pin both halves: the public function still does that (else the
subclass could go), and ours writes the whole grammar below.
"""

from __future__ import annotations

import json
from typing import Literal

import pytest
from pydantic import BaseModel, Field

from memory_agent.backends.llm.grammar import json_schema_grammar, prepare_json_schema

llama_grammar = pytest.importorskip("llama_cpp.llama_grammar")


class Pet(BaseModel):
    kind: Literal["cat", "dog"]
    name: str = Field(max_length=20)


class Profile(BaseModel):
    name: str | None = Field(default=None, max_length=40)
    age: int | None = Field(default=None, ge=0, le=3)
    hobbies: list[str] = Field(default_factory=list, max_length=4)
    pets: list[Pet] = Field(default_factory=list, max_length=3)


PROFILE_GRAMMAR = r'''
Pet ::= "{" space Pet-kind-kv "," space Pet-name-kv "}" space
Pet-kind ::= "\"cat\"" | "\"dog\""
Pet-kind-kv ::= "\"kind\"" space ":" space Pet-kind
Pet-name ::= "\"" (char){0,20} "\"" space
Pet-name-kv ::= "\"name\"" space ":" space Pet-name
age ::= age-0 | null
age-0 ::= "0" | "1" | "2" | "3"
age-kv ::= "\"age\"" space ":" space age
char ::= [^"\\\x7F\x00-\x1F] | "\\" (["\\/bfnrt] | "u" [0-9a-fA-F] [0-9a-fA-F] [0-9a-fA-F] [0-9a-fA-F])
hobbies ::= "[" space (string ("," space string){0,3})? "]" space
hobbies-kv ::= "\"hobbies\"" space ":" space hobbies
name ::= name-0 | null
name-0 ::= "\"" (char){0,40} "\"" space
name-kv ::= "\"name\"" space ":" space name
null ::= "null" space
pets ::= "[" space (pets-item ("," space pets-item){0,2})? "]" space
pets-item ::= Pet
pets-kv ::= "\"pets\"" space ":" space pets
root ::= "{" space name-kv "," space age-kv "," space hobbies-kv "," space pets-kv "}" space
space ::= " "?
string ::= "\"" char* "\"" space
'''.strip()  # noqa: E501 (one rule per line, as emitted)


def test_the_grammar_is_pinned() -> None:
    assert json_schema_grammar(Profile.model_json_schema()) == PROFILE_GRAMMAR


def test_the_public_converter_still_nests_bounded_repetitions() -> None:
    """If this fails, llama-cpp-python's public ``json_schema_to_gbnf`` may now be enough."""
    schema = json.dumps(prepare_json_schema(Profile.model_json_schema()))
    public = llama_grammar.json_schema_to_gbnf(schema)

    assert "{0,40}" not in public
    assert "(char (char (char" in public
    assert r'char ::= [^"\\\x7F\x00-\x1F]' not in public  # admits raw control characters
