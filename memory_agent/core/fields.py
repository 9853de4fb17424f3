"""The profile's fields, declared once: what the model fills, and how each value is checked.

Every field of the extraction form is one :class:`ProfileField` row of :data:`FIELDS`,
in the order the model sees them. Everything else reads this table:

- the prompt's field list (``prompts.PROFILE_FIELD_DESCRIPTIONS``, ``EXTRACT_PROFILE_FIELDS``);
- the form the model fills, ``extraction.SessionFacts``, generated from it (each field a
  string of at most ``cap`` characters; the grammar is compiled from its JSON schema);
- the validators of :mod:`memory_agent.core.extraction` (``SLOTS``, ``LIST_SLOTS``, caps,
  cue words, who a value may be about).

Cue words are named by topic here; their words are the language's (``rules/en.py``).
"""

from __future__ import annotations

from dataclasses import dataclass

from memory_agent.core.profile import SectionName
from memory_agent.core.rules import RULES
from memory_agent.core.text import stem

VALUE_CHARS = 80
LIST_VALUE_CHARS = 160  # room for a list of a few items (likes, hobbies...)


def cue_words(*topics: str) -> frozenset[str]:
    """The stemmed cue words of some topics of the language's rule pack."""
    return frozenset(stem(w) for topic in topics for w in RULES.cue_words[topic].split())


@dataclass(frozen=True)
class ProfileField:
    """One field of the extraction form, and the facts it makes."""

    name: str  # the form's key and the facts' ``slot=``
    description: str  # its line in the extraction prompt
    section: SectionName  # where its facts go
    label: str  # a fact's text is "label: value"
    single: bool  # a new value supersedes the old one (else facts accumulate)
    is_list: bool = False  # a value lists items, each checked and stored as its own fact
    cues: frozenset[str] = frozenset()  # topic words that let a value be inferred, not stated
    about_user: bool = True  # False where the value describes others (family, pets)
    addressed: bool = False  # a value may speak to the assistant ("you"): a request
    instruction: bool = False  # a rule for the assistant: needs a request, never an injection
    lasting: bool = False  # tied to a one-off moment ("cook dinner tonight"), it is no such fact
    routine: bool = False  # says when something is done: a bare time gets its activity

    @property
    def cap(self) -> int:
        """The most characters the model may write (the schema's ``maxLength``)."""
        return LIST_VALUE_CHARS if self.is_list else VALUE_CHARS


_DIET, _STYLE = cue_words("diet"), cue_words("style")

FIELDS: tuple[ProfileField, ...] = (
    ProfileField("name", "the user's own first name", "About", "Name", True),
    ProfileField("age", "the user's own age", "About", "Age", True),
    ProfileField("location", "the city or country where the user lives", "About", "Lives in",
                 True),
    ProfileField("occupation", "the user's job", "About", "Work", True),
    ProfileField("family", "the user's partner, children or parents, with names and ages",
                 "About", "Family", False, about_user=False),
    ProfileField("pets", "the user's animals", "About", "Pets", False, about_user=False),
    ProfileField("diet", "what the user eats or avoids (vegetarian, vegan, allergies)",
                 "Preferences", "Diet", True, cues=_DIET),
    ProfileField("health", "the user's conditions or injuries", "About", "Health", False,
                 is_list=True),
    # hobbies, likes and dislikes are never inferred from topic words ("I read your answers
    # on my phone" made "Hobbies: reading"): on both MSC halves such inferences lowered
    # precision for one gold sentence each (benchmarks/results/msc_rules_ea141ce.json)
    ProfileField("hobbies", "activities the user does for fun or sport", "Preferences",
                 "Hobbies", False, is_list=True),
    ProfileField("likes", "things the user enjoys", "Preferences", "Likes", False,
                 is_list=True),
    ProfileField("dislikes", "things the user avoids or dislikes", "Preferences", "Dislikes",
                 False, is_list=True),
    ProfileField("schedule", "the user's routines, with days or times",
                 "Routines and schedule", "Schedule", False, lasting=True, routine=True),
    ProfileField("goals", "what the user is working towards", "Goals", "Goal", False,
                 is_list=True, lasting=True),
    ProfileField("answer_style", "how the user wants answers (length, tone, format)",
                 "Communication style", "Prefers answers", True, cues=_STYLE, addressed=True),
    ProfileField("standing_instruction", "a rule the user asks the assistant to always follow",
                 "Standing instructions", "Always", False, addressed=True, instruction=True),
    ProfileField("other", "any other lasting fact about the user", "About", "Other", False),
)

# The order extracted values are checked and turned into edits (which decides fact ids and
# order, and which field keeps an item given under two): by section, and within
# "Preferences" likes and dislikes before hobbies ("reading" in likes and hobbies is a like).
CHECK_ORDER: tuple[str, ...] = (
    "name", "age", "location", "occupation", "family", "pets", "health", "other",
    "diet", "likes", "dislikes", "hobbies", "schedule", "goals", "answer_style",
    "standing_instruction",
)

BY_NAME: dict[str, ProfileField] = {f.name: f for f in FIELDS}
if sorted(CHECK_ORDER) != sorted(BY_NAME):  # pragma: no cover - a table edit gone wrong
    msg = "fields.CHECK_ORDER must name every field of FIELDS once"
    raise RuntimeError(msg)
