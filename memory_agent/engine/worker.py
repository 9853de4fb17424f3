"""A background worker that runs journaled update jobs one at a time."""

from __future__ import annotations

import logging
import queue
import threading
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Literal

from memory_agent.core.store import Job
from memory_agent.core.types import utc

log = logging.getLogger("memory_agent")


@dataclass(frozen=True)
class JobFailure:
    """A job that raised; its error is kept for :meth:`MemoryManager.flush` to report."""

    job: Job
    error: BaseException


JobStatus = Literal["queued", "running", "done", "failed"]
LOG_SIZE = 200  # job outcomes kept per worker (oldest dropped first)


@dataclass(frozen=True)
class JobRecord:
    """What became of one job submitted to a worker (read-only; see ``Worker.log``)."""

    job: Job
    status: JobStatus
    error: str = ""  # the failure's type and message, for failed jobs
    finished: datetime | None = None


class Worker:
    """Runs ``handler(job)`` for each submitted job on one daemon thread, in order.

    The caller journals a job in the store before submitting it and the handler removes
    it when done, so work interrupted by a crash is found again on the next start.
    """

    def __init__(self, handler: Callable[[Job], None], *, name: str = "memory-agent") -> None:
        self._handler = handler
        self._queue: queue.Queue[Job | None] = queue.Queue()
        self._idle = threading.Condition()
        self._pending = 0
        self._failures: list[JobFailure] = []
        self._log: OrderedDict[str, JobRecord] = OrderedDict()
        self._thread = threading.Thread(target=self._run, name=name, daemon=True)
        self._closed = False
        self._thread.start()

    def submit(self, job: Job) -> None:
        if self._closed:
            msg = "worker is closed"
            raise RuntimeError(msg)
        with self._idle:
            self._pending += 1
            self._note(JobRecord(job, "queued"))
        self._queue.put(job)

    @property
    def pending(self) -> int:
        with self._idle:
            return self._pending

    def log(self) -> list[JobRecord]:
        """The last ``LOG_SIZE`` jobs submitted, oldest first, with their status and error."""
        with self._idle:
            return list(self._log.values())

    def _note(self, record: JobRecord) -> None:  # with self._idle held
        self._log.pop(record.job.id, None)
        self._log[record.job.id] = record
        while len(self._log) > LOG_SIZE:
            self._log.popitem(last=False)

    def queued_kinds(self) -> list[str]:
        """Kinds of the jobs still waiting (not the one running)."""
        with self._queue.mutex:
            return [j.kind for j in self._queue.queue if j is not None]

    def flush(self, timeout: float | None = None) -> list[JobFailure]:
        """Wait until every submitted job has run; return (and clear) the failures."""
        with self._idle:
            if not self._idle.wait_for(lambda: self._pending == 0, timeout=timeout):
                msg = f"background work still running after {timeout} s"
                raise TimeoutError(msg)
            failures, self._failures = self._failures, []
        return failures

    def close(self, timeout: float | None = None) -> None:
        """Finish queued work, then stop the thread."""
        if self._closed:
            return
        self._closed = True
        self._queue.put(None)
        self._thread.join(timeout)

    def _run(self) -> None:
        while True:
            job = self._queue.get()
            if job is None:
                return
            with self._idle:
                self._note(JobRecord(job, "running"))
            try:
                self._handler(job)
                with self._idle:
                    self._note(JobRecord(job, "done", finished=utc()))
            except BaseException as error:  # keep the worker alive; report through flush()
                log.warning("memory update job %s (%s) failed: %s", job.id, job.kind, error)
                with self._idle:
                    self._failures.append(JobFailure(job, error))
                    self._note(JobRecord(job, "failed", f"{type(error).__name__}: {error}",
                                         utc()))
            finally:
                with self._idle:
                    self._pending -= 1
                    self._idle.notify_all()
