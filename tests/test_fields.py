"""The field table (core/fields.py) is the one source of the form, the prompt and the
validators: what each reads from it is pinned to what main had before the table existed
(tests/data/profile_fields_main.json, taken on b044c9f), so the model sees byte-identical
text and schemas."""

from __future__ import annotations

import json
from pathlib import Path

from memory_agent.core import prompts
from memory_agent.core.extraction import LIST_SLOTS, SLOTS, SessionFacts, value_cap
from memory_agent.core.fields import BY_NAME, CHECK_ORDER, FIELDS
from memory_agent.core.profile import SECTIONS
from memory_agent.core.rules import RULES, LanguageRules, load
from memory_agent.engine.compaction import Compaction

PINNED = json.loads((Path(__file__).parent / "data" / "profile_fields_main.json").read_text())


def test_the_form_schema_the_grammar_is_built_from_is_unchanged() -> None:
    assert json.dumps(SessionFacts.model_json_schema()) == PINNED["session_facts_schema"]
    assert list(SessionFacts.model_fields) == [f.name for f in FIELDS]


def test_the_compaction_schema_is_unchanged() -> None:
    assert json.dumps(Compaction.model_json_schema()) == PINNED["compaction_schema"]


def test_the_prompt_field_list_is_unchanged() -> None:
    assert PINNED["extract_profile_fields"] == prompts.EXTRACT_PROFILE_FIELDS
    assert PINNED["field_descriptions"] == prompts.PROFILE_FIELD_DESCRIPTIONS


# cue words taken out of the diet topic on purpose since the pin (issue #15): words about
# meals or eating in general ("Suggest one dinner for tonight") back no diet
REMOVED_DIET_CUES = {"recip", "recipe", "dinner", "lunch", "breakfast", "meal", "eat", "food",
                     "cook", "snack"}


# fields no longer inferred from topic words at all since the pin (issue #15's rule audit)
UNINFERRED = {"hobbies", "likes", "dislikes"}


def test_the_validators_read_the_same_slots_in_the_same_order() -> None:
    slots = {name: {"section": s.section, "label": s.label, "single": s.single,
                    "cues": sorted(s.cues), "about_user": s.about_user}
             for name, s in SLOTS.items()}
    assert list(slots) == list(PINNED["slots"])  # the order values are checked in
    pinned = {name: {**row, "cues": [] if name in UNINFERRED
                     else sorted(set(row["cues"]) - REMOVED_DIET_CUES)}
              for name, row in PINNED["slots"].items()}
    assert slots == pinned
    assert not REMOVED_DIET_CUES & BY_NAME["diet"].cues
    assert sorted(LIST_SLOTS) == PINNED["list_slots"]
    assert {name: value_cap(name) for name in SessionFacts.model_fields} == PINNED["caps"]


def test_the_table_is_consistent() -> None:
    assert sorted(CHECK_ORDER) == sorted(BY_NAME) and len(CHECK_ORDER) == len(FIELDS)
    assert all(f.section in SECTIONS for f in FIELDS)
    # checked by section, in the sections' order
    ranks = [SECTIONS.index(BY_NAME[name].section) for name in CHECK_ORDER]
    assert ranks == sorted(ranks)


def test_the_default_rule_pack_is_english() -> None:
    assert isinstance(RULES, LanguageRules) and RULES.code == "en"
    assert load("en") is RULES
    assert set(RULES.cue_words) == {"diet", "style"}
