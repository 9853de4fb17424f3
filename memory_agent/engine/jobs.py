"""The job runner: update work journaled in the store, run by a handler registered for its
kind, on the background worker (or inline, ``background=False``).

A job is journaled (``store.add_job``) before it is dispatched and completed
(``store.complete_job``) after its handler returns, so work a crash interrupted is found
again by :meth:`JobRunner.resume` in the next process.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Callable
from typing import Any

from memory_agent.core.store import Job, MemoryStore
from memory_agent.core.types import utc
from memory_agent.engine.worker import JobFailure, JobRecord, Worker

log = logging.getLogger("memory_agent")

Handler = Callable[[Job], None]
WorkerFactory = Callable[[Handler, str], Worker]


def thread_worker(handler: Handler, name: str) -> Worker:
    return Worker(handler, name=name)


class JobRunner:
    """Runs journaled jobs of one user through the handlers registered per kind."""

    def __init__(self, store: MemoryStore, user_id: str, *, background: bool = True,
                 worker: WorkerFactory = thread_worker) -> None:
        self.store = store
        self.user_id = user_id
        self._handlers: dict[str, Handler] = {}
        self._worker = worker(self.run, f"memory-agent:{user_id}") if background else None

    def register(self, kind: str, handler: Handler) -> None:
        if kind in self._handlers:
            msg = f"a handler for job kind {kind!r} is already registered"
            raise ValueError(msg)
        self._handlers[kind] = handler

    @property
    def kinds(self) -> list[str]:
        return list(self._handlers)

    def new(self, kind: str, payload: dict[str, Any] | None = None) -> Job:
        """A job of this user (not journaled: see :meth:`journal`)."""
        return Job(id=uuid.uuid4().hex, user_id=self.user_id, kind=kind,
                   payload=dict(payload or {}), created=utc())

    def journal(self, kind: str, payload: dict[str, Any] | None = None) -> Job:
        """A new job, journaled in the store; :meth:`dispatch` it once the caller's own
        writes are done."""
        job = self.new(kind, payload)
        self.store.add_job(job)
        return job

    def dispatch(self, job: Job) -> None:
        if self._worker is not None:
            self._worker.submit(job)
        else:
            self.run(job)

    def resume(self) -> int:
        """Re-queue the jobs a previous process journaled but did not finish; how many."""
        pending = self.store.pending_jobs(self.user_id)
        for job in pending:
            self.dispatch(job)
        return len(pending)

    def run(self, job: Job) -> None:
        """Run ``job`` by its kind's handler, then mark it complete in the store."""
        handler = self._handlers.get(job.kind)
        if handler is None:
            log.warning("unknown job kind %r; dropped", job.kind)
        else:
            handler(job)
        self.store.complete_job(job.id)

    def waiting(self, kind: str) -> bool:
        """Whether a job of ``kind`` waits in the queue (not counting the one running)."""
        return self._worker is not None and kind in self._worker.queued_kinds()

    def flush(self, timeout: float | None = None) -> list[JobFailure]:
        """Wait for queued jobs; return the ones that failed (empty if none)."""
        if self._worker is None:
            return []
        return self._worker.flush(timeout)

    def log(self) -> list[JobRecord]:
        """What became of the last jobs run in the background (empty without a worker:
        inline jobs raise instead)."""
        return self._worker.log() if self._worker is not None else []

    @property
    def pending(self) -> int:
        """Jobs queued or running in this process."""
        return self._worker.pending if self._worker is not None else 0

    def close(self, *, wait: bool = True) -> None:
        """Finish queued jobs and stop the worker thread (``wait=False``: do not wait; the
        unfinished jobs stay journaled for the next manager)."""
        if self._worker is not None:
            self._worker.close(None if wait else 0)
