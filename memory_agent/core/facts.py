"""One fact of the profile and its Markdown bullet: the ``{#id ...}`` marker that carries
its provenance, written and read back (pure, stdlib only). The marker's fields are
described in :mod:`memory_agent.core.profile`."""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date

SPECIAL_SOURCES = frozenset({"edit", "tool", "import"})
FACT_ID_PATTERN = r"^f[1-9][0-9]{0,5}$"

_MARKER_RE = re.compile(r"\s*\{#(?P<body>[^{}]*)\}\s*$")
_INFERRED_RE = re.compile(r"\s*_\(inferred(?::\s*(?P<evidence>[^()]*?))?\)_\s*$")
FACT_ID_RE = re.compile(FACT_ID_PATTERN)
SOURCE_RE = re.compile(r"^[A-Za-z0-9_.@-]{1,128}#[1-9][0-9]*(\+[1-9][0-9]*)*$")
_SLOT_RE = re.compile(r"^[a-z_]{1,32}$")
MAX_FACT_CHARS = 400
MAX_SOURCES = 32  # source turns one fact cites at most


def without_braces(text: str) -> str:
    """``text`` with ``{`` and ``}`` made parentheses: braces would break the fact marker."""
    return text.replace("{", "(").replace("}", ")")


@dataclass(frozen=True)
class Fact:
    """One fact of the profile, with its provenance."""

    id: str
    section: str
    text: str
    sources: tuple[str, ...]  # turn ids ("day-1#3") or "edit" / "tool" / "import"
    learned: date
    inferred: bool = False
    evidence: str = ""
    confidence: int = 1
    supersedes: tuple[str, ...] = ()
    slot: str = ""

    def marker(self) -> str:
        parts = [f"#{self.id}"]
        if self.slot:
            parts.append(f"slot={self.slot}")
        parts.append(f"src={format_sources(self.sources)}")
        parts.append(f"learned={self.learned.isoformat()}")
        if self.confidence != 1:
            parts.append(f"conf={self.confidence}")
        if self.supersedes:
            parts.append(f"was={'+'.join(self.supersedes)}")
        return "{" + " ".join(parts) + "}"

    def render(self) -> str:
        text = self.text
        if self.inferred:
            text += f" _(inferred: {self.evidence})_" if self.evidence else " _(inferred)_"
        return f"- {text} {self.marker()}"




def format_sources(sources: Sequence[str]) -> str:
    """``("day-1#3", "day-1#5", "day-2#1")`` -> ``"day-1#3+5,day-2#1"``."""
    grouped: dict[str, list[str]] = {}
    for src in sources:
        if src in SPECIAL_SOURCES:
            grouped.setdefault(src, [])
            continue
        session, _, index = src.rpartition("#")
        grouped.setdefault(session, []).append(index)
    out = []
    for session, indexes in grouped.items():
        out.append(session if session in SPECIAL_SOURCES else f"{session}#{'+'.join(indexes)}")
    return ",".join(out)


def parse_sources(value: str) -> tuple[str, ...]:
    """Inverse of :func:`format_sources`; raises ValueError on malformed input."""
    sources: list[str] = []
    for chunk in value.split(","):
        if chunk in SPECIAL_SOURCES:
            sources.append(chunk)
            continue
        if not SOURCE_RE.match(chunk):
            msg = (f"bad source {chunk!r} "
                   "(expected SESSION#TURN, e.g. day-1#3+5, or edit/tool/import)")
            raise ValueError(msg)
        session, _, indexes = chunk.rpartition("#")
        sources += [f"{session}#{i}" for i in indexes.split("+")]
    if not sources:
        msg = "empty src"
        raise ValueError(msg)
    return tuple(dict.fromkeys(sources))


def parse_marker(body: str) -> dict[str, str]:
    tokens = body.split()
    if not tokens or not FACT_ID_RE.match(tokens[0]):
        msg = "a marker starts with a fact id like {#f3 ...}"
        raise ValueError(msg)
    fields = {"id": tokens[0]}
    for token in tokens[1:]:
        key, sep, value = token.partition("=")
        if not sep or key not in {"slot", "src", "learned", "conf", "was"} or not value:
            msg = f"unknown marker field {token!r} (known: slot, src, learned, conf, was)"
            raise ValueError(msg)
        if key in fields:
            msg = f"marker field {key!r} given twice"
            raise ValueError(msg)
        fields[key] = value
    for required in ("src", "learned"):
        if required not in fields:
            msg = f"marker lacks {required}="
            raise ValueError(msg)
    return fields


def marker_sources(marker: str) -> tuple[str, ...]:
    """The sources named by a stored marker such as ``{#f3 src=day-1#3+5 learned=...}``
    (a history entry's ``marker``); raises ValueError if it is not a readable marker."""
    found = _MARKER_RE.search(marker)
    if found is None:
        msg = f"not a fact marker: {marker[:80]!r}"
        raise ValueError(msg)
    return parse_sources(parse_marker(found.group("body"))["src"])


def fact_from_line(text: str, section: str, today: date) -> Fact | None:
    """A Fact from a bullet's text; None id means a new fact (no marker)."""
    marker = _MARKER_RE.search(text)
    fields: dict[str, str] = {}
    if marker:
        fields = parse_marker(marker.group("body"))
        text = text[: marker.start()]
    inferred = _INFERRED_RE.search(text)
    evidence = ""
    if inferred:
        evidence = (inferred.group("evidence") or "").strip()
        text = text[: inferred.start()]
    text = text.strip()
    if not text:
        msg = "a fact has no text"
        raise ValueError(msg)
    if "{" in text or "}" in text:
        msg = "a fact's text cannot contain { or } (a malformed marker?)"
        raise ValueError(msg)
    if len(text) > MAX_FACT_CHARS:
        msg = f"a fact is longer than {MAX_FACT_CHARS} characters"
        raise ValueError(msg)
    if not fields:
        return Fact(id="", section=section, text=text, sources=("edit",), learned=today,
                    inferred=bool(inferred), evidence=evidence)
    slot = fields.get("slot", "")
    if slot and not _SLOT_RE.match(slot):
        msg = f"bad slot {slot!r}"
        raise ValueError(msg)
    try:
        learned = date.fromisoformat(fields["learned"])
    except ValueError:
        msg = f"bad date learned={fields['learned']!r} (expected YYYY-MM-DD)"
        raise ValueError(msg) from None
    conf_text = fields.get("conf", "1")
    if not conf_text.isdigit() or int(conf_text) < 1:
        msg = f"bad conf={conf_text!r} (a whole number >= 1)"
        raise ValueError(msg)
    was = tuple(fields["was"].split("+")) if "was" in fields else ()
    if any(not FACT_ID_RE.match(w) for w in was):
        msg = f"bad was={fields['was']!r} (fact ids joined by +)"
        raise ValueError(msg)
    return Fact(
        id=fields["id"], section=section, text=text, sources=parse_sources(fields["src"]),
        learned=learned, inferred=bool(inferred), evidence=evidence,
        confidence=int(conf_text), supersedes=was, slot=slot,
    )

