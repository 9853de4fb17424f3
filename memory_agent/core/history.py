"""Undoing a profile change from the kept history (pure).

A fact that was removed, reworded or superseded keeps its text, section and provenance
marker in the profile history (``HistoryEntry``). Restoring it plans one validated
profile edit: the old wording back in place if the fact's id is still in the profile
(it was reworded), else the fact added again with its original sources.
"""

from __future__ import annotations

from collections.abc import Sequence

from memory_agent.core.profile import ProfileDocument, ProfileEdit, parse_profile
from memory_agent.core.store import HistoryEntry
from memory_agent.errors import NotFoundError, ProfileError

FORGOTTEN = "(forgotten)"  # the text of a forgotten fact's tombstone in the history


def latest_entry(entries: Sequence[HistoryEntry], fact_id: str) -> HistoryEntry:
    """The most recent history entry of ``fact_id`` (NotFoundError if there is none)."""
    matching = [e for e in entries if e.fact_id == fact_id]
    if not matching:
        msg = f"no fact {fact_id!r} in the profile history (see 'memory-agent profile history')"
        raise NotFoundError(msg)
    return max(matching, key=lambda e: e.valid_to)


def restore_edit(entry: HistoryEntry, current: ProfileDocument) -> ProfileEdit:
    """The edit that brings ``entry``'s fact back into ``current``."""
    if entry.text == FORGOTTEN or not entry.marker:
        msg = (f"fact {entry.fact_id} was forgotten at the user's request: its text is gone "
               "and cannot be restored")
        raise ProfileError(msg)
    line = f"- {entry.text} {entry.marker}"
    parsed = parse_profile(f"## {entry.section}\n{line}\n").get(entry.fact_id)
    if parsed is None:  # pragma: no cover - parse_profile keeps a well-formed line
        msg = f"the history entry of {entry.fact_id} cannot be read back"
        raise ProfileError(msg)
    reason = f"restored from history ({entry.reason})"
    if current.get(entry.fact_id) is not None:
        return ProfileEdit(op="update", fact_id=entry.fact_id, text=parsed.text, reason=reason)
    return ProfileEdit(op="add", section=parsed.section, text=parsed.text,  # type: ignore[arg-type]
                       sources=list(parsed.sources), inferred=parsed.inferred,
                       evidence=parsed.evidence, slot=parsed.slot, reason=reason)
