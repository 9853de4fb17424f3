"""JSON schema -> GBNF grammar for llama.cpp's constrained sampling.

:func:`prepare_json_schema` adjusts a (pydantic) schema for what llama-cpp-python's converter
does not handle; :func:`json_schema_grammar` converts it with that converter.

Why a subclass of the converter (llama-cpp-python 0.3.36) rather than its public API:
``json_schema_to_gbnf`` and ``LlamaGrammar.from_json_schema`` give no way to change how a
rule is written. Their bounded strings and arrays (``maxLength``, ``maxItems``) become
nested optional groups, ``(c (c (c)?)?)?``, which llama.cpp rejects from ``maxLength``
~1000 on (it crashes the process, or refuses the grammar), and their JSON ``char`` rule
admits raw control characters, which ``json.loads`` rejects. We need llama.cpp's compact
``{m,n}`` repetition for the first, and swap the ``char`` rule in the output for the second.
So :class:`SchemaConverter` (not in the package's documented API) is subclassed here, and
only here: ``visit`` is overridden for bounded strings and arrays, which calls the private
``_add_rule`` and ``_add_primitive`` to register the rules. ``tests/test_llm_grammar.py``
pins this: the public function still writes the nested form (so the subclass is still
needed) and ours writes ``{m,n}``.

``llama_cpp`` is imported on first use, so importing this module does not need it.
"""

from __future__ import annotations

import copy
import functools
import importlib
import json
import math
from typing import Any

from memory_agent.backends.llm.models import INSTALL_HINT
from memory_agent.errors import ModelError, ModelUnavailableError

MAX_ENUMERATED_INTEGERS = 256
"""Integer ranges up to this many values are constrained by listing them (see below)."""

# llama.cpp's C++ converter excludes control characters from JSON strings; the Python port
# llama-cpp-python uses does not, so a model may emit a raw newline that json.loads rejects.
_LOOSE_CHAR_RULE = (
    r'char ::= [^"\\] | "\\" (["\\/bfnrt] | "u" [0-9a-fA-F] [0-9a-fA-F] [0-9a-fA-F] [0-9a-fA-F])'
)
_STRICT_CHAR_RULE = (
    r'char ::= [^"\\\x7F\x00-\x1F] | "\\" (["\\/bfnrt] | "u" [0-9a-fA-F] [0-9a-fA-F] '
    r"[0-9a-fA-F] [0-9a-fA-F])"
)


def prepare_json_schema(schema: dict[str, Any]) -> dict[str, Any]:
    """Adapt a (pydantic) JSON schema to llama-cpp-python's schema-to-grammar converter.

    The converter handles ``$defs``/``$ref``, ``enum``, ``anyOf`` (Optional), ``maxLength``
    and ``maxItems``, but ignores integer bounds and puts required properties before optional
    ones. Returns a copy where

    * every object property is required, so the model writes all fields in declared order
      (pydantic still accepts an explicit default such as ``null`` or ``[]``);
    * integers bounded on both sides by at most ``MAX_ENUMERATED_INTEGERS`` values become an
      ``enum`` of those values.
    """
    prepared = copy.deepcopy(schema)
    _adapt(prepared)
    return prepared


def json_schema_grammar(schema: dict[str, Any]) -> str:
    """The GBNF grammar constraining output to ``schema`` (after :func:`prepare_json_schema`).

    Built with llama-cpp-python's converter, except that bounded strings and arrays use
    llama.cpp's compact ``{m,n}`` repetition (the converter's nested form makes llama.cpp
    reject the grammar from ``maxLength`` ~1000 on) and JSON strings exclude control
    characters. Raises :class:`ModelError` if the schema cannot be converted
    (llama-cpp-python itself would silently fall back to unconstrained JSON).
    """
    return _grammar_text(json.dumps(schema))  # key order matters: it is the field order


@functools.lru_cache(maxsize=64)
def _grammar_text(schema_json: str) -> str:
    converter = _converter_class()(
        prop_order={}, allow_fetch=False, dotall=False, raw_pattern=False
    )
    try:
        prepared = converter.resolve_refs(prepare_json_schema(json.loads(schema_json)), "stdin")
        converter.visit(prepared, "")
        grammar: str = converter.format_grammar()
    except Exception as exc:  # the converter raises bare AssertionError/KeyError/...
        msg = f"llama.cpp cannot turn this JSON schema into a grammar: {exc!r}"
        raise ModelError(msg) from exc
    return "\n".join(
        _STRICT_CHAR_RULE if line == _LOOSE_CHAR_RULE else line for line in grammar.splitlines()
    )


@functools.cache
def _converter_class() -> Any:
    """llama-cpp-python's ``SchemaConverter``, emitting ``{m,n}`` for bounded repetitions."""
    try:
        grammar_module: Any = importlib.import_module("llama_cpp.llama_grammar")
    except ImportError as exc:
        msg = f"grammar-constrained output needs llama-cpp-python; install: {INSTALL_HINT}"
        raise ModelUnavailableError(msg) from exc

    class CompactRepetitionConverter(grammar_module.SchemaConverter):  # type: ignore[misc]
        def visit(self, schema: dict[str, Any], name: str) -> str:
            if _SPECIAL_KEYS.isdisjoint(schema):
                rule_name = name + "-" if name in grammar_module.RESERVED_NAMES else name
                body = self._bounded_body(schema, name)
                if body is not None:
                    return str(self._add_rule(rule_name or "root", body))
            return str(super().visit(schema, name))

        def _bounded_body(self, schema: dict[str, Any], name: str) -> str | None:
            """The rule for a length-bounded string or array, else None."""
            kind, items = schema.get("type"), schema.get("items")
            if kind == "string" and ("minLength" in schema or "maxLength" in schema):
                char = self._add_primitive("char", grammar_module.PRIMITIVE_RULES["char"])
                body = _repeat(char, schema.get("minLength", 0), schema.get("maxLength"))
                return rf'"\"" {body} "\"" space'
            if kind == "array" and isinstance(items, dict) and "maxItems" in schema:
                item = self.visit(items, f"{name}{'-' if name else ''}item")
                body = _array_body(item, schema.get("minItems", 0), schema["maxItems"])
                return f'"[" space {body} "]" space'
            return None

    return CompactRepetitionConverter


_SPECIAL_KEYS = frozenset(("$ref", "anyOf", "oneOf", "allOf", "const", "enum", "pattern", "format"))


def _repeat(item: str, low: int, high: int | None) -> str:
    """GBNF for ``item`` repeated ``low`` to ``high`` times (no upper bound if None)."""
    if high is None:
        return f"({item}){{{low},}}"
    if high <= 0:
        return ""
    return f"({item}){{{low},{high}}}"


def _array_body(item: str, low: int, high: int) -> str:
    """GBNF for the inside of a JSON array of ``low`` to ``high`` comma-separated ``item``."""
    if high <= 0:
        return ""
    rest = _repeat(f'"," space {item}', max(low - 1, 0), high - 1)
    body = f"{item} {rest}".strip()
    return body if low >= 1 else f"({body})?"


_SCHEMA_MAPS = ("properties", "$defs", "definitions", "patternProperties")
_SCHEMA_LISTS = ("anyOf", "oneOf", "allOf", "prefixItems")
_SCHEMA_VALUES = ("items", "additionalProperties", "not", "contains")


def _adapt(node: Any) -> None:
    """Apply :func:`prepare_json_schema`'s changes to schema ``node`` and its subschemas."""
    if not isinstance(node, dict):
        return
    properties = node.get("properties")
    if isinstance(properties, dict) and properties:
        node["required"] = list(properties)
    if node.get("type") == "integer" and "enum" not in node:
        values = _integer_range(node)
        if values is not None:
            node["enum"] = values
    for key in _SCHEMA_MAPS:
        children = node.get(key)
        if isinstance(children, dict):
            for child in children.values():
                _adapt(child)
    for key in _SCHEMA_LISTS:
        children = node.get(key)
        if isinstance(children, list):
            for child in children:
                _adapt(child)
    for key in _SCHEMA_VALUES:
        child = node.get(key)
        if isinstance(child, list):  # old-style tuple "items"
            for item in child:
                _adapt(item)
        else:
            _adapt(child)


def _integer_range(node: dict[str, Any]) -> list[int] | None:
    """The allowed values of a bounded integer schema, or None if unbounded or too many."""
    low = _bound(node, "minimum", "exclusiveMinimum", +1)
    high = _bound(node, "maximum", "exclusiveMaximum", -1)
    if low is None or high is None or high < low or high - low >= MAX_ENUMERATED_INTEGERS:
        return None
    step = node.get("multipleOf")
    values = list(range(low, high + 1))
    if isinstance(step, int) and step > 0:
        values = [v for v in values if v % step == 0]
    return values


def _bound(node: dict[str, Any], inclusive: str, exclusive: str, nudge: int) -> int | None:
    """An integer bound from ``inclusive`` or ``exclusive`` (moved inward by one)."""
    value = node.get(inclusive)
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return math.ceil(value) if nudge > 0 else math.floor(value)
    value = node.get(exclusive)
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        edge = math.floor(value) if nudge > 0 else math.ceil(value)
        return edge + nudge
    return None
