"""Forget leaves no residue on disk; export writes a readable archive that import restores;
forget_fact removes one fact everywhere and queues its summaries to be written again."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from memory_agent import ExtractionOutcome, HashingEmbedder, MemoryManager, ProfileEdit
from memory_agent.backends.store.chroma import ChromaStore
from memory_agent.core.config import MemoryConfig
from memory_agent.engine.journal import TurnJournal
from memory_agent.errors import InvalidInputError, NotFoundError

from .fakes import TaskLLM, scripted_extraction

SECRET = "Zanzibarquux"
KEEP = "Kilimanjarofoo"


def open_memory(data: Path, user: str, extractions: tuple[str, ...] = (),
                store: ChromaStore | None = None) -> MemoryManager:
    return MemoryManager(
        user_id=user, store=store or ChromaStore.persistent(data / "chroma"),
        llm=TaskLLM(extractions), embedder=HashingEmbedder(), background=False,
        config=MemoryConfig(fanout=2, period="none"),
        journal=TurnJournal(data / "turn-journal.sqlite3"),
    )


def files_with(root: Path, needle: str) -> list[str]:
    hits = []
    for encoded in {needle.encode("utf-8"), needle.encode("utf-16-le")}:
        hits += [str(p) for p in root.rglob("*") if p.is_file() and encoded in p.read_bytes()]
    return sorted(set(hits))


def fill(memory: MemoryManager, word: str, sessions: int = 3) -> None:
    for s in range(sessions):
        memory.record(f"I now live in {word}{s} near the sea.", f"{word}{s} sounds lovely.",
                      session_id=f"s{s}")
        memory.record(f"My dog {word} likes long walks.", "Good dog.", session_id=f"s{s}")
        memory.end_session(f"s{s}")


def test_forget_leaves_no_residue_in_chroma_or_the_journal(tmp_path: Path) -> None:
    moves = tuple(scripted_extraction({"location": f"{SECRET}{s}", "pets": f"dog {SECRET}"})
                  for s in range(3))
    memory = open_memory(tmp_path, "alice", moves)
    fill(memory, SECRET)
    memory.record(f"one more about {SECRET}", "ok", session_id="open")  # still journaled
    bob = open_memory(tmp_path, "bob", store=memory.store)  # type: ignore[arg-type]
    bob.record(f"I climbed {KEEP}", "wow", session_id="b1")
    bob.end_session("b1")
    assert memory.profile_history() and files_with(tmp_path, SECRET)
    memory.forget()
    assert files_with(tmp_path, SECRET) == []
    assert files_with(tmp_path, KEEP)  # only alice is gone
    assert "alice" not in memory.store.list_users() and memory.store.get_turns("alice") == []
    assert KEEP in bob.recall(KEEP).to_prompt()
    memory.close()
    bob.close()


def test_export_then_import_restores_recall(tmp_path: Path) -> None:
    extractions = tuple(scripted_extraction({"location": f"{KEEP}{s}", "pets": "a dog"})
                        for s in range(3))
    memory = open_memory(tmp_path / "a", "alice", extractions)
    fill(memory, KEEP)
    queries = [f"where do I live {KEEP}1?", "my dog walks", "sea"]
    before = [memory.recall(q, token_budget=600).to_prompt() for q in queries]
    archive = memory.export(tmp_path / "archive")
    assert sorted(p.name for p in archive.iterdir()) == sorted(
        ["manifest.json", "profile.md", "turns.json", "sessions.json", "nodes.json",
         "history.json"])
    assert (archive / "profile.md").read_text() == memory.profile_markdown()
    turns = json.loads((archive / "turns.json").read_text())
    assert len(turns) == 6 and turns[0]["user"].startswith("I now live in")
    assert json.loads((archive / "history.json").read_text())  # superseded locations
    memory.forget()
    memory.import_archive(archive)
    assert [memory.recall(q, token_budget=600).to_prompt() for q in queries] == before
    assert memory.tree().verify() == []
    with pytest.raises(InvalidInputError, match="already has memory"):
        memory.import_archive(archive)
    fresh = open_memory(tmp_path / "b", "carol")  # into another user and data dir
    fresh.import_archive(archive)
    assert [fresh.recall(q, token_budget=600).to_prompt() for q in queries] == before
    memory.close()
    fresh.close()


def test_import_refuses_a_broken_archive(tmp_path: Path) -> None:
    memory = open_memory(tmp_path / "a", "alice")
    memory.record("hello", "hi", session_id="s1")
    archive = memory.export(tmp_path / "archive")
    (archive / "turns.json").write_text('[{"session_id": "s1"}]')
    other = open_memory(tmp_path / "b", "bob")
    with pytest.raises(InvalidInputError, match="malformed"):
        other.import_archive(archive)
    with pytest.raises(InvalidInputError, match="not a memory-agent archive"):
        other.import_archive(tmp_path / "nowhere")
    assert other.sessions() == []
    memory.close()
    other.close()


def test_forget_fact_removes_it_and_requeues_its_summaries(tmp_path: Path) -> None:
    extractions = (scripted_extraction({"location": f"{SECRET}0"}),
                   scripted_extraction({"location": f"{SECRET}1"}),
                   scripted_extraction({"pets": "a dog"}))
    memory = open_memory(tmp_path, "alice", extractions)
    fill(memory, SECRET)
    current = next(f for f in memory.profile().facts if f.slot == "location")
    old = next(h for h in memory.profile_history() if h.text.endswith(f"{SECRET}0"))
    assert memory.forget_fact(current.id) == ["s1"]
    assert memory.profile().get(current.id) is None

    def entries(fact_id: str) -> list[tuple[str, str]]:
        return [(h.text, h.marker) for h in memory.profile_history() if h.fact_id == fact_id]

    assert entries(current.id) == [("(forgotten)", "")]  # a tombstone: no text, id reserved
    assert memory.forget_fact(old.fact_id) == ["s0"]  # a retired fact: its history goes
    assert entries(old.fact_id) == [("(forgotten)", "")]
    assert not any(SECRET in h.text or SECRET in h.marker for h in memory.profile_history())
    added = memory.apply_profile_edits(lambda doc: ExtractionOutcome(
        [ProfileEdit(op="add", section="Goals", text="Learn Italian", sources=["tool"])], []))
    assert added.added and added.added[0] not in {current.id, old.fact_id}  # never reused
    assert memory.store.pending_jobs("alice") == []  # the re-summaries ran (background=False)
    assert memory.tree().verify() == []
    with pytest.raises(NotFoundError):
        memory.forget_fact("f999")
    memory.close()


def test_hnsw_length_files_lose_garbage_text_but_keep_sizes(tmp_path: Path) -> None:
    from memory_agent.backends.store.chroma.scrub import scrub_hnsw_lengths

    segment = tmp_path / "0a1b"
    segment.mkdir()
    sizes = (0).to_bytes(4, "little") + (136).to_bytes(4, "little")
    (segment / "length.bin").write_bytes(sizes + f"xx{SECRET}yy".encode() + b"\x01")
    scrub_hnsw_lengths(tmp_path)
    data = (segment / "length.bin").read_bytes()
    assert data[:8] == sizes  # real link-list sizes untouched
    assert SECRET.encode() not in data and len(data) == len(sizes) + len(SECRET) + 5
