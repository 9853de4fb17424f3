"""A regression set for the profile: scripted conversations and the facts they should give.

Each file of ``conversations/`` is one conversation (one user, one or more sessions) and
what its profile must and must not hold after every session has ended. The cases come from
mistakes seen in use (issue #15's new-user chat, the demo), not from any benchmark's data:
nothing here is MSC, LoCoMo, REALTALK or PrefEval, so a rule tuned on those is tested on
conversations it was not written from. Add a case for every profile mistake found.

A conversation file::

    {"id": "porto", "source": "where the case comes from",
     "sessions": [{"id": "s1", "at": "2026-03-02T19:00:00+00:00",
                   "turns": [["user message", "assistant reply"], ...]}],
     "expect": [{"what": "lives in Porto", "kind": "present", "slot": "location",
                 "text": ["porto"]}, ...]}

An expectation is a loose check on the facts (``MemoryManager.profile().facts``), so that
it holds for any wording of a right fact:

- the facts it is about: those of ``section`` and ``slot`` (either optional; ``slot`` is
  the extraction field, ``said`` for statements in the user's words) whose text contains
  every keyword of ``text`` and none of ``not_text``. A keyword matches at the start of a
  word, case-insensitive ("vegan" matches "Vegan", not "nonvegan"); ``"a|b"`` is either;
- ``kind``: ``present`` (the default): at least one such fact, and it meets the
  conditions below; ``absent``: no such fact; ``each``: every such fact meets them (true
  when there is none);
- conditions: ``then_text`` (keywords its text must also contain), ``evidence`` (an
  inferred fact's evidence quote contains these keywords; a stated fact passes),
  ``not_from`` (it cites no turn whose user message contains one of these strings:
  "Suggest one dinner" does not confirm a diet);
- ``known_failure``: a note, when the expectation is known to fail on the default model
  (reported as such; a fix that makes it pass should remove the note).

``python -m benchmarks.regression`` runs them on the local model (see ``__main__.py``).
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any, Literal

from memory_agent.core.facts import Fact

CONVERSATIONS = Path(__file__).resolve().parent / "conversations"
Kind = Literal["present", "absent", "each"]


@dataclass(frozen=True)
class Session:
    id: str
    at: datetime
    turns: tuple[tuple[str, str], ...]


@dataclass(frozen=True)
class Expectation:
    what: str
    kind: Kind = "present"
    section: str = ""
    slot: str = ""
    text: tuple[str, ...] = ()
    not_text: tuple[str, ...] = ()
    then_text: tuple[str, ...] = ()
    evidence: tuple[str, ...] = ()
    not_from: tuple[str, ...] = ()
    known_failure: str = ""


@dataclass(frozen=True)
class Conversation:
    id: str
    source: str
    sessions: tuple[Session, ...]
    expect: tuple[Expectation, ...]


@dataclass(frozen=True)
class Outcome:
    conversation: str
    expectation: Expectation
    passed: bool
    facts: tuple[str, ...] = ()  # the facts the check was about, as rendered
    why: str = ""

    @property
    def label(self) -> str:
        if self.passed:
            return "pass" if not self.expectation.known_failure else "pass (was a known failure)"
        return "FAIL (known)" if self.expectation.known_failure else "FAIL"


_KINDS = ("present", "absent", "each")
_KEYS = {"what", "kind", "section", "slot", "text", "not_text", "then_text", "evidence",
         "not_from", "known_failure"}


def _strings(value: Any, where: str) -> tuple[str, ...]:
    if isinstance(value, str):
        return (value,)
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        msg = f"{where}: expected a string or a list of strings"
        raise ValueError(msg)
    return tuple(value)


def parse_expectation(row: dict[str, Any], where: str) -> Expectation:
    unknown = set(row) - _KEYS
    if unknown:
        msg = f"{where}: unknown keys {sorted(unknown)}"
        raise ValueError(msg)
    if not row.get("what"):
        msg = f"{where}: every expectation needs a 'what'"
        raise ValueError(msg)
    kind = row.get("kind", "present")
    if kind not in _KINDS:
        msg = f"{where}: kind must be one of {_KINDS}"
        raise ValueError(msg)
    lists = {k: _strings(row.get(k, []), f"{where}.{k}")
             for k in ("text", "not_text", "then_text", "evidence", "not_from")}
    return Expectation(what=row["what"], kind=kind, section=row.get("section", ""),
                       slot=row.get("slot", ""), known_failure=row.get("known_failure", ""),
                       **lists)


def parse_conversation(data: dict[str, Any], where: str) -> Conversation:
    sessions = []
    for k, s in enumerate(data["sessions"]):
        turns = tuple((str(u), str(a)) for u, a in s["turns"])
        sessions.append(Session(s.get("id", f"s{k + 1}"), datetime.fromisoformat(s["at"]), turns))
    expect = tuple(parse_expectation(e, f"{where}: expect[{i}]")
                   for i, e in enumerate(data["expect"]))
    return Conversation(data["id"], data.get("source", ""), tuple(sessions), expect)


def load_conversations(folder: Path = CONVERSATIONS,
                       only: Iterable[str] = ()) -> list[Conversation]:
    """The conversations of ``folder`` (``*.json``, by file name), or only the ids given."""
    wanted = set(only)
    out = []
    for path in sorted(folder.glob("*.json")):
        conversation = parse_conversation(json.loads(path.read_text()), path.name)
        if not wanted or conversation.id in wanted:
            out.append(conversation)
    missing = wanted - {c.id for c in out}
    if missing:
        msg = f"no conversation with id {sorted(missing)} in {folder}"
        raise ValueError(msg)
    return out


def has_keyword(text: str, keyword: str) -> bool:
    """Whether ``text`` holds ``keyword`` (or one of its ``|`` alternatives) at the start of
    a word, case-insensitive."""
    return any(re.search(r"(?<![A-Za-z0-9])" + re.escape(k.strip()), text, re.IGNORECASE)
               for k in keyword.split("|") if k.strip())


def _all(text: str, keywords: Sequence[str]) -> bool:
    return all(has_keyword(text, k) for k in keywords)


def selected(expectation: Expectation, facts: Sequence[Fact]) -> list[Fact]:
    """The facts an expectation is about (section, slot, ``text`` and ``not_text``)."""
    e = expectation
    return [f for f in facts
            if (not e.section or f.section == e.section) and (not e.slot or f.slot == e.slot)
            and _all(f.text, e.text) and not any(has_keyword(f.text, k) for k in e.not_text)]


def problem(expectation: Expectation, fact: Fact, user_messages: dict[str, str]) -> str:
    """Why ``fact`` does not meet the expectation's conditions ("" when it does)."""
    e = expectation
    missing = [k for k in e.then_text if not has_keyword(fact.text, k)]
    if missing:
        return f"its text lacks {missing}"
    if e.evidence and fact.inferred and not _all(fact.evidence, e.evidence):
        return f"its evidence {fact.evidence!r} lacks {list(e.evidence)}"
    for source in fact.sources:
        message = user_messages.get(source, "")
        hit = next((n for n in e.not_from if n.lower() in message.lower()), None)
        if hit is not None:
            return f"it cites {source} ({message[:60]!r})"
    return ""


def check(expectation: Expectation, facts: Sequence[Fact],
          user_messages: dict[str, str], conversation: str = "") -> Outcome:
    """One expectation against a profile's facts (``user_messages``: turn id -> message)."""
    about = selected(expectation, facts)
    shown = tuple(f.render() for f in about)
    problems = [(f, problem(expectation, f, user_messages)) for f in about]
    if expectation.kind == "absent":
        passed, why = not about, "" if not about else "such a fact exists"
    elif expectation.kind == "each":
        bad = [p for _, p in problems if p]
        passed, why = not bad, "; ".join(bad)
    else:
        passed = any(not p for _, p in problems)
        why = "" if passed else ("; ".join(p for _, p in problems) or "no such fact")
    return Outcome(conversation, expectation, passed, shown, why)


def check_all(conversation: Conversation, facts: Sequence[Fact],
              user_messages: dict[str, str]) -> list[Outcome]:
    return [check(e, facts, user_messages, conversation.id) for e in conversation.expect]


@dataclass
class Tally:
    passed: int = 0
    failed: int = 0
    known: int = 0  # failures marked known_failure
    by_conversation: dict[str, tuple[int, int]] = field(default_factory=dict)

    def add(self, outcomes: Sequence[Outcome]) -> None:
        for o in outcomes:
            if o.passed:
                self.passed += 1
            elif o.expectation.known_failure:
                self.known += 1
            else:
                self.failed += 1
        if outcomes:
            ok = sum(o.passed for o in outcomes)
            self.by_conversation[outcomes[0].conversation] = (ok, len(outcomes))

    @property
    def total(self) -> int:
        return self.passed + self.failed + self.known
