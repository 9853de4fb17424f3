"""Chroma server mode for real: ``chroma run`` on 127.0.0.1 and a free port, stopped by pid.

Two client processes write for the same and for different users through one server: no
lost turns, no lost profile edits. The server stops mid-run: record() keeps succeeding
(turns wait in the client's journal), and everything reaches the server once it is back.
"""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from memory_agent import HashingEmbedder, MemoryManager
from memory_agent.backends.llm.fake import FakeLLM
from memory_agent.backends.store.chroma import ChromaStore
from memory_agent.engine.journal import TurnJournal
from memory_agent.testing.chroma_server import LocalChromaServer, chroma_executable

pytestmark = pytest.mark.chroma_server
ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture
def server(tmp_path: Path) -> Iterator[LocalChromaServer]:
    if chroma_executable() is None:
        pytest.skip("the chroma command is not installed")
    running = LocalChromaServer(tmp_path / "chroma-server")
    running.start()
    try:
        yield running
    finally:
        running.stop()


def test_two_client_processes_lose_no_turns_or_edits(
    server: LocalChromaServer, tmp_path: Path
) -> None:
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    jobs = []
    for i in range(2):
        for user, prefix in (("shared", f"c{i}"), (f"own{i}", f"c{i}")):
            jobs.append(subprocess.Popen(
                [sys.executable, str(ROOT / "tests" / "server_client.py"), str(server.port),
                 user, prefix, "30", "8", str(tmp_path / f"journal-{i}-{user}.sqlite3")],
                stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env))
    for job in jobs:
        out, err = job.communicate(timeout=600)
        assert job.returncode == 0 and out.startswith("DONE 30 8"), err[-2000:]
    store = ChromaStore.http("127.0.0.1", server.port)
    try:
        shared = store.get_turns("shared")
        assert sorted(t.user_message for t in shared) == sorted(
            f"c{i} message {n}" for i in range(2) for n in range(30))
        assert len({t.id for t in shared}) == 60
        for i in range(2):
            own = store.get_turns(f"own{i}")
            assert sorted(t.user_message for t in own) == sorted(
                f"c{i} message {n}" for n in range(30))
        profile = store.get_profile("shared")
        assert profile is not None
        for i in range(2):
            for n in range(8):
                assert f"Goal: item c{i} {n}" in profile.markdown
        assert profile.version == 16
        own0 = store.get_profile("own0")
        assert own0 is not None and "c1" not in own0.markdown
    finally:
        store.close()


def test_server_down_mid_run_keeps_turns_queued_then_ingests(server: LocalChromaServer,
                                                             tmp_path: Path) -> None:
    store = ChromaStore.http("127.0.0.1", server.port)
    memory = MemoryManager(user_id="alice", store=store, llm=FakeLLM(),
                           embedder=HashingEmbedder(), background=False,
                           journal=TurnJournal(tmp_path / "journal.sqlite3"))
    try:
        for n in range(3):
            memory.record(f"before {n}", "ok", session_id="s1")
        assert len(memory.sessions()) == 1  # stored
        server.stop()
        for n in range(5):  # the server is gone: record() still succeeds, durably
            memory.record(f"during {n}", "ok", session_id="s1")
        assert memory.journal is not None
        assert [t.user_message for t in memory.journal.pending("alice")] == [
            f"during {n}" for n in range(5)]
        server.start()  # same path, same port
        memory.sessions()  # drains the journal (the ingest thread would within a second)
        assert [t.user_message for t in store.get_turns("alice")] == [
            *(f"before {n}" for n in range(3)), *(f"during {n}" for n in range(5))]
        assert memory.journal.pending("alice") == []
    finally:
        memory.close()
        store.close()
