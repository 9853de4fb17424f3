"""MemoryManager: the public API of one user's memory, a thin facade over the services.

- :mod:`~memory_agent.engine.ingestion`: recorded turns into the journal and the store;
- :mod:`~memory_agent.engine.sessions`: session states and the idle-rollover clock;
- :mod:`~memory_agent.engine.jobs` and :mod:`~memory_agent.engine.update_jobs`: journaled
  update work run by registered handlers;
- :mod:`~memory_agent.engine.profile_writes`: every write of the profile;
- :mod:`~memory_agent.engine.recall`: the indexes and the search;
- :mod:`~memory_agent.engine.user_data`: forget, export, import;
- :mod:`~memory_agent.engine.twins`: the async twins;
- :mod:`memory_agent.defaults`: the default backends of :meth:`MemoryManager.open`.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from datetime import datetime
from pathlib import Path
from typing import Any

from memory_agent.core.config import MemoryConfig
from memory_agent.core.context import MemoryContext
from memory_agent.core.embedder import Embedder
from memory_agent.core.extraction import ExtractionOutcome
from memory_agent.core.llm import LLM
from memory_agent.core.profile import ProfileDocument
from memory_agent.core.store import HistoryEntry, MemoryStore
from memory_agent.core.text import clean_message
from memory_agent.core.tree import SummaryTree
from memory_agent.core.types import SessionInfo, Turn, utc, validate_id
from memory_agent.engine.ingestion import Ingestion
from memory_agent.engine.inspection import InspectionReads
from memory_agent.engine.jobs import JobRunner, WorkerFactory, thread_worker
from memory_agent.engine.journal import TurnJournal
from memory_agent.engine.profile_update import ProfileUpdate
from memory_agent.engine.profile_writes import ProfileWrites
from memory_agent.engine.recall import Recall
from memory_agent.engine.sessions import Clock, SessionBook, SessionClock
from memory_agent.engine.tree_index import TreeIndex
from memory_agent.engine.twins import AsyncTwins
from memory_agent.engine.update_jobs import UpdateJobs
from memory_agent.engine.upkeep import Backends
from memory_agent.engine.user_data import UserData
from memory_agent.engine.worker import JobFailure


class MemoryManager(AsyncTwins, InspectionReads):
    """Long-term memory of one user: a profile document and a summary tree.

    Backends are passed in (see :meth:`open` for the defaults: embedded Chroma, the local
    llama.cpp model, the bundled E5 embedder)::

        memory = MemoryManager(user_id="alice", store=store, llm=llm, embedder=embedder)
        memory.record("I'm vegetarian", "Noted!", session_id="s1")
        memory.end_session("s1")          # summary, tree and profile update in the background
        context = memory.recall("what should I cook tonight?", token_budget=1000)
        prompt = context.to_prompt()

    ``background=False`` runs update work inside :meth:`end_session` (scripts, tests).
    The public methods named in ``memory_agent.engine.twins.TWINNED`` have an
    ``a``-prefixed async twin (``arecord``, ``arecall``, ...) that runs them in a thread.
    """

    def __init__(self, *, user_id: str, store: MemoryStore, llm: LLM, embedder: Embedder,
                 config: MemoryConfig | None = None, background: bool = True,
                 count_tokens: Callable[[str], int] | None = None, resume: bool = True,
                 on_progress: Callable[[str], None] | None = None,
                 journal: TurnJournal | None = None, clock: Clock = utc,
                 worker: WorkerFactory = thread_worker) -> None:
        self.user_id = validate_id(user_id, "user_id")
        config = config or MemoryConfig()
        from memory_agent.defaults import default_token_counter, default_truncator

        self.backends = Backends(store, llm, embedder, config,
                                 count_tokens or default_token_counter(), default_truncator(),
                                 on_progress or (lambda message: None))
        self.journal = journal
        self._lock = threading.RLock()  # one lock for the session states and the indexes
        self.book = SessionBook(store, self.user_id, journal, self._lock)
        self.indexes = Recall(self.backends, self.user_id, self._lock)
        self.writes = ProfileWrites(self.backends, self.user_id)
        self.runner = JobRunner(store, self.user_id, background=background, worker=worker)
        self.jobs = UpdateJobs(self.backends, self.user_id, runner=self.runner,
                               recall=self.indexes, sessions=self.book, writes=self.writes)
        self.conversations = SessionClock(config.session_idle_seconds, clock=clock)
        self.ingestion = Ingestion(self.backends, self.user_id, journal, self.indexes)
        self.data = UserData(ingestion=self.ingestion, runner=self.runner, jobs=self.jobs,
                             book=self.book, indexes=self.indexes, writes=self.writes)
        self.ingestion.start()
        if resume:
            self.jobs.resume()

    @classmethod
    def open(cls, user_id: str, *, data_dir: str | Path | None = None,
             server_url: str | None = None, model: str | Path | None = None,
             llm: LLM | None = None, config: MemoryConfig | None = None,
             background: bool = True, resume: bool = True,
             progress: Callable[[str], None] | None = None, n_threads: int | None = None,
             n_ctx: int = 4096) -> MemoryManager:
        """A manager on the defaults: Chroma (embedded in ``data_dir``, or the server at
        ``server_url``), the bundled E5 embedder, and the local llama.cpp model (``model``:
        a registry key or a .gguf path; the default model if None; ``n_threads`` and
        ``n_ctx`` are its CPU threads and context window). The model loads lazily.
        """
        from memory_agent.defaults import default_backends

        made = default_backends(data_dir=data_dir, server_url=server_url, model=model,
                                llm=llm, progress=progress, n_threads=n_threads, n_ctx=n_ctx)
        return cls(user_id=user_id, store=made.store, llm=made.llm, embedder=made.embedder,
                   config=config, background=background, resume=resume, on_progress=progress,
                   journal=made.journal, count_tokens=made.count_tokens)

    # --- the backends (one set, shared by every service) -----------------------------------
    @property
    def store(self) -> MemoryStore:
        return self.backends.store

    @property
    def embedder(self) -> Embedder:
        return self.backends.embedder

    @property
    def llm(self) -> LLM:
        return self.backends.llm

    @llm.setter
    def llm(self, llm: LLM) -> None:  # the model may be swapped (e.g. a test's failing one)
        self.backends.llm = llm

    @property
    def count_tokens(self) -> Callable[[str], int]:
        return self.backends.count_tokens

    @property
    def config(self) -> MemoryConfig:
        return self.backends.config

    @property
    def last_profile_update(self) -> ProfileUpdate | None:
        """What the last background profile update of this manager did."""
        return self.jobs.last_profile_update

    # --- sessions and turns --------------------------------------------------------------
    def sessions(self) -> list[SessionInfo]:
        """Sessions with at least one stored turn, oldest first."""
        self.ingestion.drain()
        return self.store.list_sessions(self.user_id)

    def session_for(self, conversation: str) -> str:
        """The session the next turn of ``conversation`` goes to: the first of
        ``conversation``, ``conversation.2``, ... not ended; an idle one (longer than
        ``config.session_idle_seconds``) is ended first. See :class:`SessionClock`."""
        validate_id(conversation, "conversation")
        return self.conversations.session_for(self, conversation)

    def record(self, user_message: str, assistant_message: str, *, session_id: str,
               at: datetime | None = None) -> Turn:
        """Store one exchange durably before returning. No model call: cheap.

        With a journal (the default of :meth:`open`) the turn is committed to the local
        journal and embedded and written to the store by a background thread within
        milliseconds; :meth:`recall` and :meth:`end_session` first store whatever is pending.

        Raises InvalidInputError subclasses for bad input and SessionStateError if the
        session was already ended; nothing stored is touched in either case.
        """
        return self.ingestion.record(self.book, user_message, assistant_message,
                                     session_id=session_id, at=at)

    def end_session(self, session_id: str) -> None:
        """Queue the update work for a finished session (summary, tree, profile).

        In background mode this returns at once; otherwise the work runs now.
        """
        validate_id(session_id, "session_id")
        self.ingestion.drain()
        self.jobs.end_session(session_id)

    def flush(self, timeout: float | None = None) -> list[JobFailure]:
        """Wait for queued update work; return the jobs that failed (empty if none)."""
        return self.runner.flush(timeout)

    @property
    def pending(self) -> int:
        """Update jobs queued or running in this process."""
        return self.runner.pending

    def close(self, *, wait: bool = True) -> None:
        """Store journaled turns, finish queued work (``wait=False``: leave it journaled
        for the next manager of this user) and stop the background threads."""
        self.ingestion.close()
        self.runner.close(wait=wait)

    def __enter__(self) -> MemoryManager:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # --- recall --------------------------------------------------------------------------
    def tree_index(self) -> TreeIndex:
        """The loaded summary tree with its node vectors (read it; do not change it)."""
        return self.indexes.tree_index()

    def tree(self) -> SummaryTree:
        """A snapshot of the summary tree."""
        return self.indexes.tree_index().snapshot()

    def recall(self, query: str, *, token_budget: int | None = None) -> MemoryContext:
        """The profile plus the most relevant tree nodes and turns, within ``token_budget``.

        See :func:`memory_agent.engine.search.search_memory`. ``to_prompt()`` of the result
        never exceeds the budget.
        """
        text = clean_message(query, "query", max_chars=self.config.max_message_chars)
        self.ingestion.drain()  # nothing recorded is invisible
        return self.indexes.search(text, token_budget, profile=self.profile())

    # --- profile -------------------------------------------------------------------------
    def profile(self) -> ProfileDocument:
        """The current profile document."""
        return self.writes.profile()

    def profile_markdown(self) -> str:
        """The profile as Markdown (what ``memory-agent profile show`` prints)."""
        return self.profile().render()

    def profile_history(self) -> list[HistoryEntry]:
        """Facts that were superseded, removed or dropped, with their validity span."""
        return self.writes.history()

    def profile_version(self) -> int:
        """The stored version of the profile (0 before the first write)."""
        return self.writes.version()

    def edit_profile(self, markdown: str, *, base_version: int | None = None) -> ProfileDocument:
        """Replace the profile with a person's edit of it.

        The text is parsed first: an unparseable edit raises ProfileParseError naming the
        line, and the stored document is unchanged. Facts the person deleted or reworded
        go to the profile history. ``base_version`` (the version the person started from)
        makes a concurrent background update raise ProfileConflictError instead of being
        overwritten.
        """
        return self.writes.edit(markdown, base_version=base_version)

    def apply_profile_edits(
        self, planner: Callable[[ProfileDocument], ExtractionOutcome]
    ) -> ProfileUpdate:
        """Apply edits planned against the current profile through the validated path."""
        return self.writes.apply(planner)

    def restore_fact(self, fact_id: str) -> ProfileUpdate:
        """Undo a removal, rewording or supersession from the history (core/history.py):
        NotFoundError if there is none, ProfileError if the fact was forgotten."""
        return self.writes.restore(fact_id)

    # --- forgetting, export and import ---------------------------------------------------
    def forget(self) -> None:
        """Erase every record of this user: turns, tree, profile, history, journal."""
        self.data.forget()

    def forget_fact(self, fact_id: str) -> list[str]:
        """Forget one profile fact: remove it from the profile and its history entries, and
        queue the summaries of the sessions it came from to be written again.

        Returns the ids of the sessions queued for re-summarisation. The turns themselves
        stay (use :meth:`forget` to erase everything). Raises NotFoundError if no fact or
        history entry has this id.
        """
        return self.data.forget_fact(fact_id)

    def export(self, path: str | Path) -> Path:
        """Write a complete, human-readable archive of this user's memory to directory
        ``path``: ``profile.md``, ``turns.json``, ``sessions.json``, ``nodes.json``,
        ``history.json`` and ``manifest.json``. Pending turns are stored first and queued
        update work is finished, so the archive is complete. See :meth:`import_archive`.
        """
        return self.data.export(Path(path))

    def import_archive(self, path: str | Path) -> None:
        """Restore an archive written by :meth:`export` into this (empty) user's memory.

        Turns and summaries are embedded again with this manager's embedder; the profile,
        its history and the tree come back as they were, so recall gives the same results
        with the same embedder. Raises InvalidInputError if the archive is malformed or
        this user already has memory (``forget()`` first).
        """
        self.data.import_archive(Path(path))

    def stats(self) -> dict[str, Any]:
        """Counts for display: sessions, turns, nodes, tree height, profile tokens."""
        return self.data.stats()

    # --- inspection reads (public): summary, session_turns, job_log, session_overview and
    # recall_trace are inherited from InspectionReads (engine/inspection.py)
