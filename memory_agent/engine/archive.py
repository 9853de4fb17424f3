"""A user's memory as a directory a person can read: export, validation and import.

Layout (every file UTF-8)::

    manifest.json   format version, user id, export time, counts
    profile.md      the profile document, exactly as stored
    turns.json      every turn: session, index, both messages, time
    sessions.json   every session: start, end, whether it ended
    nodes.json      the summary tree: id, level, summary, children, parent, span, hash
    history.json    facts that left the profile, with validity spans and reasons

Vectors are not exported: import embeds turns and summaries again with the importing
manager's embedder (the same embedder gives the same vectors, hence the same recall).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from memory_agent.core.embedder import Embedder
from memory_agent.core.store import HistoryEntry, MemoryStore
from memory_agent.core.types import Node, SessionInfo, Turn, utc
from memory_agent.errors import InvalidInputError

FORMAT = "memory-agent-archive/1"
_FILES = ("manifest.json", "profile.md", "turns.json", "sessions.json", "nodes.json",
          "history.json")


@dataclass(frozen=True)
class Archive:
    user_id: str
    profile: str
    turns: list[Turn]
    sessions: list[SessionInfo]
    nodes: list[Node]
    history: list[HistoryEntry]


def _dump(path: Path, value: Any) -> None:
    path.write_text(json.dumps(value, ensure_ascii=False, indent=2) + "\n", encoding="utf-8")


def write_archive(path: Path, user_id: str, store: MemoryStore) -> Path:
    turns = store.get_turns(user_id)
    sessions = store.list_sessions(user_id)
    nodes = store.get_nodes(user_id)
    history = store.get_history(user_id)
    stored = store.get_profile(user_id)
    path.mkdir(parents=True, exist_ok=True)
    (path / "profile.md").write_text(stored.markdown if stored else "", encoding="utf-8")
    _dump(path / "turns.json", [
        {"session_id": t.session_id, "index": t.index, "user": t.user_message,
         "assistant": t.assistant_message, "at": utc(t.at).isoformat()} for t in turns])
    _dump(path / "sessions.json", [
        {"session_id": s.session_id, "n_turns": s.n_turns, "start": utc(s.start).isoformat(),
         "end": utc(s.end).isoformat(), "ended": s.ended} for s in sessions])
    _dump(path / "nodes.json", [
        {"id": n.id, "level": n.level, "summary": n.summary, "children": list(n.children),
         "parent": n.parent, "session_id": n.session_id, "start": utc(n.start).isoformat(),
         "end": utc(n.end).isoformat(), "content_hash": n.content_hash, "stale": n.stale}
        for n in nodes])
    _dump(path / "history.json", [
        {"fact_id": h.fact_id, "section": h.section, "text": h.text, "marker": h.marker,
         "valid_from": utc(h.valid_from).isoformat(), "valid_to": utc(h.valid_to).isoformat(),
         "reason": h.reason} for h in history])
    _dump(path / "manifest.json", {
        "format": FORMAT, "user_id": user_id, "exported": utc().isoformat(),
        "profile_version": stored.version if stored else 0, "turns": len(turns),
        "sessions": len(sessions), "nodes": len(nodes), "history": len(history)})
    return path


def _load(path: Path, name: str) -> Any:
    try:
        return json.loads((path / name).read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, ValueError) as error:
        msg = f"cannot read {name} of the archive at {path}: {error}"
        raise InvalidInputError(msg) from error


def _time(value: Any) -> datetime:
    return utc(datetime.fromisoformat(str(value)))


def read_archive(path: Path) -> Archive:
    """Read and validate an archive completely (InvalidInputError if anything is off)."""
    missing = [name for name in _FILES if not (path / name).is_file()]
    if missing:
        msg = f"{path} is not a memory-agent archive: missing {', '.join(missing)}"
        raise InvalidInputError(msg)
    manifest = _load(path, "manifest.json")
    if not isinstance(manifest, dict) or manifest.get("format") != FORMAT:
        msg = f"{path}/manifest.json is not of format {FORMAT}"
        raise InvalidInputError(msg)
    try:
        profile = (path / "profile.md").read_text(encoding="utf-8")
        turns = [Turn(str(manifest["user_id"]), str(t["session_id"]), int(t["index"]),
                      str(t["user"]), str(t["assistant"]), _time(t["at"]))
                 for t in _load(path, "turns.json")]
        sessions = [SessionInfo(str(s["session_id"]), int(s["n_turns"]), _time(s["start"]),
                                _time(s["end"]), bool(s["ended"]))
                    for s in _load(path, "sessions.json")]
        nodes = [Node(id=str(n["id"]), user_id=str(manifest["user_id"]), level=int(n["level"]),
                      summary=str(n["summary"]), children=tuple(str(c) for c in n["children"]),
                      start=_time(n["start"]), end=_time(n["end"]),
                      content_hash=str(n["content_hash"]),
                      parent=None if n["parent"] is None else str(n["parent"]),
                      session_id=None if n["session_id"] is None else str(n["session_id"]),
                      stale=bool(n.get("stale", False)))
                 for n in _load(path, "nodes.json")]
        history = [HistoryEntry(str(manifest["user_id"]), str(h["fact_id"]), str(h["section"]),
                                str(h["text"]), str(h["marker"]), _time(h["valid_from"]),
                                _time(h["valid_to"]), str(h["reason"]))
                   for h in _load(path, "history.json")]
    except (KeyError, TypeError, ValueError, UnicodeDecodeError, OSError) as error:
        msg = f"the archive at {path} is malformed: {type(error).__name__}: {error}"
        raise InvalidInputError(msg) from error
    if profile:
        from memory_agent.core.profile import parse_profile

        parse_profile(profile)  # ProfileParseError names the line
    return Archive(str(manifest["user_id"]), profile, turns, sessions, nodes, history)


def _as_user(user_id: str, archive: Archive) -> Archive:
    from dataclasses import replace

    return Archive(
        user_id, archive.profile,
        [replace(t, user_id=user_id) for t in archive.turns], archive.sessions,
        [replace(n, user_id=user_id) for n in archive.nodes],
        [replace(h, user_id=user_id) for h in archive.history],
    )


def restore_archive(archive: Archive, user_id: str, store: MemoryStore, embedder: Embedder) -> None:
    """Write an archive into ``user_id``'s (empty) memory."""
    if (store.list_sessions(user_id) or store.get_profile(user_id) is not None
            or store.get_nodes(user_id)):
        msg = f"user {user_id!r} already has memory; forget() it before importing an archive"
        raise InvalidInputError(msg)
    archive = _as_user(user_id, archive)
    if archive.turns:
        store.add_turns(archive.turns, embedder.embed_documents([t.text() for t in archive.turns]))
    for session in archive.sessions:
        if session.ended:
            store.mark_session_ended(user_id, session.session_id)
    if archive.nodes:
        store.put_nodes(archive.nodes, embedder.embed_documents([n.summary for n in archive.nodes]))
    if archive.history:
        store.add_history(archive.history)
    if archive.profile:
        store.put_profile(user_id, archive.profile, expected_version=0)
