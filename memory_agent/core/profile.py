"""The profile document: pure logic (parse, render, edit, budget). No I/O, no model.

A profile is Markdown a person can read and edit::

    # Profile

    ## Preferences
    - Vegetarian _(inferred: avoids meat)_ {#f3 slot=diet src=day-1#3+5 learned=2026-05-01 conf=2}

Each fact is one bullet. The trailing ``{#id ...}`` marker carries its provenance:

- ``#f3``: the fact id;
- ``src=``: source turns as ``SESSION#TURN`` (``+`` joins turns of one session, ``,``
  separates sessions), or ``edit`` / ``tool`` / ``import`` for facts a person or a tool added;
- ``learned=``: the date it was learned (YYYY-MM-DD);
- optional ``slot=`` (the extraction field it fills), ``conf=`` (times confirmed, default 1),
  ``was=`` (ids of the facts it superseded, joined by ``+``).

A bullet without a marker is a new fact added by a person. ``_(inferred: ...)_`` at the end
of the text marks a fact that was inferred rather than stated, with its evidence.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field, replace
from datetime import date, datetime
from typing import Literal, get_args

from pydantic import BaseModel, Field, field_validator

from memory_agent.core.facts import (
    FACT_ID_PATTERN,
    FACT_ID_RE,
    MAX_FACT_CHARS,
    MAX_SOURCES,
    SOURCE_RE,
    SPECIAL_SOURCES,
    fact_from_line,
    without_braces,
)
from memory_agent.core.facts import (
    Fact as Fact,  # the profile's unit: importable from here too
)
from memory_agent.errors import ProfileBudgetError, ProfileError, ProfileParseError

SectionName = Literal[
    "About",
    "Preferences",
    "Routines and schedule",
    "Goals",
    "Communication style",
    "Standing instructions",
]
SECTIONS: tuple[SectionName, ...] = get_args(SectionName)  # in the order they are rendered
STANDING: SectionName = "Standing instructions"
# the slot of a user's own words kept verbatim (statements.py): the least protected facts
STATEMENT_SLOT = "said"
TITLE = "# Profile"
HELP_COMMENT = (
    "<!-- One fact per bullet. Keep the {#...} marker to keep a fact's provenance; "
    "a bullet without one is a new fact. -->"
)

_SECTION_LOOKUP: dict[str, str] = {s.lower(): s for s in SECTIONS}
_SECTION_ORDER: dict[str, int] = {s: i for i, s in enumerate(SECTIONS)}

TokenCounter = Callable[[str], int]


@dataclass(frozen=True)
class ProfileDocument:
    """An ordered set of facts in sections. Immutable: edits return a new document."""

    facts: tuple[Fact, ...] = ()
    title: str = TITLE

    def __post_init__(self) -> None:  # canonical order: by section, stable within one
        ordered = tuple(sorted(self.facts, key=lambda f: _SECTION_ORDER.get(f.section, 99)))
        object.__setattr__(self, "facts", ordered)

    def by_id(self) -> dict[str, Fact]:
        return {f.id: f for f in self.facts}

    def section(self, name: str) -> list[Fact]:
        return [f for f in self.facts if f.section == name]

    def get(self, fact_id: str) -> Fact | None:
        return next((f for f in self.facts if f.id == fact_id), None)

    def next_id(self, taken: Iterable[str] = ()) -> str:
        used = [*(f.id for f in self.facts), *(s for f in self.facts for s in f.supersedes), *taken]
        numbers = [int(i[1:]) for i in used if FACT_ID_RE.match(i)]
        return f"f{max(numbers, default=0) + 1}"

    def render(self) -> str:
        """Markdown for people and prompts; :func:`parse_profile` reads it back exactly."""
        lines = [self.title, HELP_COMMENT]
        for name in SECTIONS:
            facts = self.section(name)
            if facts:
                lines += ["", f"## {name}", *(f.render() for f in facts)]
        return "\n".join(lines) + "\n"

    def is_empty(self) -> bool:
        return not self.facts



def parse_profile(
    markdown: str, *, today: date | None = None, reserved: Iterable[str] = ()
) -> ProfileDocument:
    """Parse a profile document. New bullets (no marker) get fresh ids, source ``edit``.

    Raises :class:`ProfileParseError` naming the first line that cannot be read.
    """
    today = today or date.today()
    reserved = list(reserved)
    facts: list[Fact] = []
    seen: set[str] = set()
    section: str | None = None
    title = TITLE
    in_comment = False
    pending_new: list[int] = []
    for number, line in enumerate(markdown.splitlines(), start=1):
        stripped = line.strip()
        if in_comment:
            in_comment = "-->" not in stripped
            continue
        if not stripped:
            continue
        if stripped.startswith("<!--"):
            in_comment = "-->" not in stripped
            continue
        if stripped.startswith("# ") and not facts and section is None:
            title = stripped
            continue
        if stripped.startswith("## "):
            name = stripped[3:].strip()
            canonical = _SECTION_LOOKUP.get(name.lower())
            if canonical is None:
                raise ProfileParseError(
                    f"unknown section {name!r} (sections: {', '.join(SECTIONS)})",
                    line_number=number, line=line,
                )
            section = canonical
            continue
        if stripped.startswith(("- ", "* ")):
            if section is None:
                raise ProfileParseError(
                    "a fact must be under a '## Section' heading", line_number=number, line=line
                )
            try:
                fact = fact_from_line(stripped[2:], section, today)
            except ValueError as error:
                raise ProfileParseError(str(error), line_number=number, line=line) from None
            assert fact is not None
            if fact.id:
                if fact.id in seen:
                    raise ProfileParseError(
                        f"fact id {fact.id} appears twice", line_number=number, line=line
                    )
                seen.add(fact.id)
            else:
                pending_new.append(len(facts))
            facts.append(fact)
            continue
        raise ProfileParseError(
            "expected a '## Section' heading or a '- fact' bullet", line_number=number, line=line
        )
    doc = ProfileDocument(facts=tuple(facts), title=title)
    for position in pending_new:  # number new facts after every existing id
        new_id = ProfileDocument(facts=tuple(f for f in facts if f.id)).next_id(reserved)
        facts[position] = replace(facts[position], id=new_id)
    return replace(doc, facts=tuple(facts))


# --- edits ---------------------------------------------------------------------------

EditOp = Literal["add", "update", "supersede", "remove", "confirm"]


class ProfileEdit(BaseModel):
    """One change to the profile, validated before it touches the document.

    - ``add``: a new fact (``section``, ``text``, ``sources``);
    - ``update``: reword fact ``fact_id`` in place (the old wording goes to history);
    - ``supersede``: replace fact ``fact_id`` by a new fact (the old one goes to history);
    - ``remove``: drop fact ``fact_id`` (kept in history);
    - ``confirm``: the fact was said again: raise its confidence, add ``sources``.
    """

    model_config = {"extra": "forbid"}

    op: EditOp
    fact_id: str | None = Field(default=None, pattern=FACT_ID_PATTERN)
    section: SectionName | None = None
    text: str | None = Field(default=None, min_length=1, max_length=MAX_FACT_CHARS)
    sources: list[str] = Field(default_factory=list, max_length=MAX_SOURCES)
    inferred: bool = False
    evidence: str = Field(default="", max_length=200)
    slot: str = Field(default="", pattern=r"^[a-z_]{0,32}$")
    reason: str = Field(default="", max_length=200)

    @field_validator("text", "evidence")
    @classmethod
    def _one_line(cls, value: str | None) -> str | None:
        if value is None:
            return None
        cleaned = " ".join(without_braces(value).split())
        return cleaned

    @field_validator("sources")
    @classmethod
    def _valid_sources(cls, value: list[str]) -> list[str]:
        for src in value:
            if src not in SPECIAL_SOURCES and not SOURCE_RE.match(src):
                msg = f"bad source {src!r}"
                raise ValueError(msg)
        return value


@dataclass(frozen=True)
class Retired:
    """A fact that left the document, and why (goes to the profile history)."""

    fact: Fact
    reason: str


@dataclass
class EditResult:
    document: ProfileDocument
    retired: list[Retired] = field(default_factory=list)
    added: list[str] = field(default_factory=list)


def apply_edits(
    doc: ProfileDocument,
    edits: Sequence[ProfileEdit],
    *,
    today: date,
    reserved: Iterable[str] = (),
) -> EditResult:
    """Apply validated edits in order. Unknown fact ids raise ProfileError (nothing applied).

    ``reserved``: fact ids already used (e.g. in the history) that new facts must not reuse.
    """
    reserved = list(reserved)
    facts = list(doc.facts)
    retired: list[Retired] = []
    added: list[str] = []

    def index_of(fact_id: str | None, op: str) -> int:
        for i, f in enumerate(facts):
            if f.id == fact_id:
                return i
        msg = f"{op}: no fact {fact_id!r} in the profile"
        raise ProfileError(msg)

    def new_id() -> str:
        taken = [*reserved, *(f.fact.id for f in retired)]
        return ProfileDocument(facts=tuple(facts)).next_id(taken)

    for edit in edits:
        if edit.op == "add":
            if not edit.text or not edit.section:
                msg = "add needs section and text"
                raise ProfileError(msg)
            fact = Fact(
                id=new_id(), section=edit.section, text=edit.text,
                sources=tuple(dict.fromkeys(edit.sources or ["tool"])), learned=today,
                inferred=edit.inferred, evidence=edit.evidence, slot=edit.slot,
            )
            facts.append(fact)
            added.append(fact.id)
        elif edit.op == "confirm":
            i = index_of(edit.fact_id, "confirm")
            old = facts[i]
            facts[i] = replace(
                old, confidence=old.confidence + 1,
                sources=tuple(dict.fromkeys([*old.sources, *edit.sources])),
            )
        elif edit.op == "update":
            i = index_of(edit.fact_id, "update")
            old = facts[i]
            if not edit.text:
                msg = "update needs text"
                raise ProfileError(msg)
            facts[i] = replace(
                old, text=edit.text, section=edit.section or old.section,
                sources=tuple(dict.fromkeys([*old.sources, *edit.sources])), learned=today,
                inferred=edit.inferred, evidence=edit.evidence,
            )
            retired.append(Retired(old, edit.reason or "reworded"))
        elif edit.op == "supersede":
            i = index_of(edit.fact_id, "supersede")
            old = facts[i]
            if not edit.text:
                msg = "supersede needs text"
                raise ProfileError(msg)
            fact = Fact(
                id=new_id(), section=edit.section or old.section, text=edit.text,
                sources=tuple(dict.fromkeys(edit.sources or ["tool"])), learned=today,
                inferred=edit.inferred, evidence=edit.evidence,
                supersedes=(old.id,), slot=edit.slot or old.slot,
            )
            facts[i] = fact  # keeps the position in its section
            added.append(fact.id)
            retired.append(Retired(old, edit.reason or f"superseded by {fact.id}"))
        elif edit.op == "remove":
            i = index_of(edit.fact_id, "remove")
            retired.append(Retired(facts.pop(i), edit.reason or "removed"))
    return EditResult(ProfileDocument(facts=tuple(facts), title=doc.title), retired, added)


def diff_documents(old: ProfileDocument, new: ProfileDocument) -> list[Retired]:
    """What a person's edit retired: facts deleted, and old wordings of changed facts."""
    new_by_id = new.by_id()
    retired = []
    for fact in old.facts:
        after = new_by_id.get(fact.id)
        if after is None:
            retired.append(Retired(fact, "removed by a person's edit"))
        elif ((after.text, after.section, after.inferred)
              != (fact.text, fact.section, fact.inferred)):
            retired.append(Retired(fact, "changed by a person's edit"))
    return retired


# --- budget --------------------------------------------------------------------------


def is_statement(fact: Fact) -> bool:
    """Whether a fact is a user's statement kept verbatim (statements.py)."""
    return fact.slot == STATEMENT_SLOT


def support(fact: Fact) -> tuple[int, int, int, int, date]:
    """Sort key: lower means less supported, dropped first to fit the budget (verbatim
    statements before extracted facts, standing instructions last)."""
    return (
        1 if fact.section == STANDING else 0,
        0 if is_statement(fact) else 1,
        fact.confidence,
        len(fact.sources),
        fact.learned,
    )


def fit_budget(
    doc: ProfileDocument, budget: int, count_tokens: TokenCounter,
    *, only: Callable[[Fact], bool] | None = None,
) -> tuple[ProfileDocument, list[Retired]]:
    """Drop the least supported facts until the rendered document fits ``budget`` tokens.

    With ``only``, drop only facts it accepts (the result may then still be over budget).
    """
    if count_tokens(doc.render()) <= budget:
        return doc, []
    if count_tokens(ProfileDocument(title=doc.title).render()) > budget:
        msg = f"a profile budget of {budget} tokens cannot hold even an empty document"
        raise ProfileBudgetError(msg)
    order = sorted((f for f in doc.facts if only is None or only(f)), key=support)
    dropped: list[Retired] = []
    keep = list(doc.facts)
    while order and count_tokens(ProfileDocument(tuple(keep), doc.title).render()) > budget:
        victim = order.pop(0)
        keep.remove(victim)
        dropped.append(Retired(victim, "dropped to fit the profile budget"))
    return ProfileDocument(tuple(keep), doc.title), dropped


def as_datetime(day: date) -> datetime:
    from datetime import timezone

    return datetime(day.year, day.month, day.day, tzinfo=timezone.utc)
