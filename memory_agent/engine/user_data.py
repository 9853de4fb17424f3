"""Forgetting, export and import of one user's memory: the operations that touch every
service at once (the journal, the store, the session states, the indexes, the jobs)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from memory_agent.engine.archive import read_archive, restore_archive, write_archive
from memory_agent.engine.ingestion import Ingestion
from memory_agent.engine.jobs import JobRunner
from memory_agent.engine.profile_writes import ProfileWrites
from memory_agent.engine.recall import Recall
from memory_agent.engine.sessions import SessionBook
from memory_agent.engine.update_jobs import UpdateJobs


class UserData:
    """Erases, exports and restores one user's memory, keeping the services consistent."""

    def __init__(self, *, ingestion: Ingestion, runner: JobRunner, jobs: UpdateJobs,
                 book: SessionBook, indexes: Recall, writes: ProfileWrites) -> None:
        self.ingestion = ingestion
        self.runner = runner
        self.jobs = jobs
        self.book = book
        self.indexes = indexes
        self.writes = writes
        self.store = ingestion.backends.store
        self.user_id = book.user_id

    def forget(self) -> None:
        self.runner.flush()
        with self.book.lock, self.ingestion.paused():
            self.ingestion.forget()
            self.store.forget_user(self.user_id)
            self.book.reset()
            self.indexes.reset()

    def forget_fact(self, fact_id: str) -> list[str]:
        try:
            named = self.writes.forget_fact(fact_id)
        finally:
            self.indexes.fact_vectors.clear()  # no forgotten text stays in memory
        return self.jobs.forgotten(named)

    def export(self, path: Path) -> Path:
        self.ingestion.drain()
        self.runner.flush()
        return write_archive(path, self.user_id, self.store)

    def import_archive(self, path: Path) -> None:
        archive = read_archive(path)
        self.ingestion.drain()
        with self.book.lock:
            restore_archive(archive, self.user_id, self.store, self.ingestion.backends.embedder)
            self.book.reset()
            self.indexes.reset()

    def stats(self) -> dict[str, Any]:
        self.ingestion.drain()
        sessions = self.store.list_sessions(self.user_id)
        tree = self.indexes.tree_index().snapshot()
        profile = self.writes.profile()
        return {
            "sessions": len(sessions),
            "turns": sum(s.n_turns for s in sessions),
            "nodes": len(tree),
            "tree_height": tree.height,
            "profile_facts": len(profile.facts),
            "profile_tokens": self.ingestion.backends.count_tokens(profile.render()),
            "pending_jobs": self.runner.pending,
        }
