"""MemoryManager: the public API of one user's memory."""

from __future__ import annotations

import asyncio
import logging
import threading
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path
from typing import Any, ParamSpec, TypeVar

from .config import MemoryConfig
from .embeddings import Embedder
from .errors import (
    ProfileBudgetError,
    ProfileConflictError,
    SessionStateError,
    UnknownSessionError,
)
from .extraction import ExtractionOutcome
from .index import TreeIndex
from .llm.base import LLM
from .profile import ProfileDocument, diff_documents, parse_profile
from .search import SearchInputs, search_memory
from .store.base import HistoryEntry, Job, MemoryStore
from .store.journal import TurnJournal
from .text import clean_message
from .tokens import count_tokens as default_count_tokens
from .tree import SummaryTree
from .types import MemoryContext, SessionInfo, Turn, utc, validate_id
from .updater import (
    Backends,
    ProfileUpdate,
    history_entries,
    load_profile,
    rollup,
    summarize_session,
    update_profile,
    write_profile_edits,
)
from .worker import JobFailure, Worker

log = logging.getLogger("memory_agent")
P = ParamSpec("P")
R = TypeVar("R")

SESSION_JOB = "session"
ROLLUP_JOB = "rollup"


@dataclass(frozen=True)
class _SessionState:
    n_turns: int
    ended: bool


class MemoryManager:
    """Long-term memory of one user: a profile document and a summary tree.

    Backends are passed in (see :meth:`open` for the defaults: embedded Chroma, the local
    llama.cpp model, the bundled E5 embedder)::

        memory = MemoryManager(user_id="alice", store=store, llm=llm, embedder=embedder)
        memory.record("I'm vegetarian", "Noted!", session_id="s1")
        memory.end_session("s1")          # summary, tree and profile update in the background
        context = memory.recall("what should I cook tonight?", token_budget=1000)
        prompt = context.to_prompt()

    ``background=False`` runs update work inside :meth:`end_session` (scripts, tests).
    Every method has an ``a``-prefixed async variant (``arecord``, ``arecall``, ...).
    """

    def __init__(
        self,
        *,
        user_id: str,
        store: MemoryStore,
        llm: LLM,
        embedder: Embedder,
        config: MemoryConfig | None = None,
        background: bool = True,
        count_tokens: Callable[[str], int] | None = None,
        resume: bool = True,
        on_progress: Callable[[str], None] | None = None,
        journal: TurnJournal | None = None,
    ) -> None:
        self.user_id = validate_id(user_id, "user_id")
        self.config = config or MemoryConfig()
        self.store = store
        self.llm = llm
        self.embedder = embedder
        self.count_tokens = count_tokens or default_count_tokens
        self._backends = Backends(store, llm, embedder, self.config, self.count_tokens,
                                  on_progress or (lambda message: None))
        self._lock = threading.RLock()
        self._sessions: dict[str, _SessionState] | None = None
        self._index: TreeIndex | None = None
        self._worker = Worker(self._run_job, name=f"memory-agent:{user_id}") if background else None
        self.last_profile_update: ProfileUpdate | None = None
        self.journal = journal
        self._drain_lock = threading.Lock()
        self._ingest_wanted = threading.Event()
        self._closing = False
        self._ingester: threading.Thread | None = None
        if journal is not None:
            self._drain_turns()  # turns a crashed process journaled but did not store
            self._ingester = threading.Thread(target=self._ingest_loop, daemon=True,
                                              name=f"memory-agent-ingest:{user_id}")
            self._ingester.start()
        if resume:
            self._resume()

    # --- construction with defaults ------------------------------------------------------
    @classmethod
    def open(
        cls,
        user_id: str,
        *,
        data_dir: str | Path | None = None,
        server_url: str | None = None,
        model: str | Path | None = None,
        llm: LLM | None = None,
        config: MemoryConfig | None = None,
        background: bool = True,
        resume: bool = True,
        progress: Callable[[str], None] | None = None,
    ) -> MemoryManager:
        """A manager on the defaults: Chroma (embedded in ``data_dir``, or the server at
        ``server_url``), the bundled E5 embedder, and the local llama.cpp model (``model``:
        a registry key or a .gguf path; the default model if None). The model loads lazily.
        """
        from .config import default_data_dir
        from .embeddings import E5Embedder
        from .store.chroma import ChromaStore

        store = ChromaStore.from_settings(data_dir=data_dir, server_url=server_url)
        local = Path(data_dir) if data_dir is not None else default_data_dir()
        journal = TurnJournal(local / "turn-journal.sqlite3")
        if llm is None:
            from .llm.llama import LlamaCppLLM

            def model_bytes(done: int, total: int) -> None:
                if progress is not None and (done == total or done % (128 << 20) < (8 << 20)):
                    progress(f"assembling the model file: {done * 100 // max(total, 1)}%")

            llm = LlamaCppLLM(model, progress=model_bytes)
        return cls(user_id=user_id, store=store, llm=llm, embedder=E5Embedder(),
                   config=config, background=background, resume=resume, on_progress=progress,
                   journal=journal)

    # --- async variants, written once ----------------------------------------------------
    @staticmethod
    async def _in_thread(fn: Callable[P, R], *args: P.args, **kwargs: P.kwargs) -> R:
        return await asyncio.to_thread(fn, *args, **kwargs)

    async def arecord(self, user_message: str, assistant_message: str, *, session_id: str,
                      at: datetime | None = None) -> Turn:
        return await self._in_thread(self.record, user_message, assistant_message,
                                     session_id=session_id, at=at)

    async def arecall(self, query: str, *, token_budget: int | None = None) -> MemoryContext:
        return await self._in_thread(self.recall, query, token_budget=token_budget)

    async def aend_session(self, session_id: str) -> None:
        await self._in_thread(self.end_session, session_id)

    async def aflush(self, timeout: float | None = None) -> list[JobFailure]:
        return await self._in_thread(self.flush, timeout)

    async def aedit_profile(self, markdown: str) -> ProfileDocument:
        return await self._in_thread(self.edit_profile, markdown)

    # --- sessions and turns --------------------------------------------------------------
    def _session_states(self) -> dict[str, _SessionState]:
        with self._lock:
            if self._sessions is None:
                states = {
                    s.session_id: _SessionState(s.n_turns, s.ended)
                    for s in self.store.list_sessions(self.user_id)
                }
                for turn in self.journal.pending(self.user_id) if self.journal else []:
                    known = states.get(turn.session_id, _SessionState(0, False))
                    states[turn.session_id] = _SessionState(max(known.n_turns, turn.index),
                                                            known.ended)
                self._sessions = states
            return self._sessions

    def sessions(self) -> list[SessionInfo]:
        """Sessions with at least one stored turn, oldest first."""
        self._drain_turns()
        return self.store.list_sessions(self.user_id)

    def record(
        self,
        user_message: str,
        assistant_message: str,
        *,
        session_id: str,
        at: datetime | None = None,
    ) -> Turn:
        """Store one exchange durably before returning. No model call: cheap.

        With a journal (the default of :meth:`open`) the turn is committed to the local
        journal and embedded and written to the store by a background thread within
        milliseconds; :meth:`recall` and :meth:`end_session` first store whatever is pending.

        Raises InvalidInputError subclasses for bad input and SessionStateError if the
        session was already ended; nothing stored is touched in either case.
        """
        validate_id(session_id, "session_id")
        limit = self.config.max_message_chars
        user_text = clean_message(user_message, "user_message", max_chars=limit)
        assistant_text = clean_message(assistant_message, "assistant_message", max_chars=limit)
        if at is not None and not isinstance(at, datetime):
            from .errors import InvalidInputError

            msg = f"at must be a datetime or None, got {type(at).__name__}"
            raise InvalidInputError(msg)
        with self._lock:
            states = self._session_states()
            state = states.get(session_id, _SessionState(0, False))
            if state.ended:
                msg = f"session {session_id!r} has ended; record new turns under a new session_id"
                raise SessionStateError(msg)
            turn = Turn(self.user_id, session_id, state.n_turns + 1, user_text,
                        assistant_text, utc(at))
            if self.journal is not None:
                self.journal.append(turn)
                self._ingest_wanted.set()
            else:
                vector = self.embedder.embed_documents([turn.text()])[0]
                self.store.add_turns([turn], [vector])
            states[session_id] = _SessionState(turn.index, False)
        return turn

    def _drain_turns(self) -> int:
        """Embed journaled turns and write them to the store; return how many."""
        if self.journal is None:
            return 0
        with self._drain_lock:
            pending = self.journal.pending(self.user_id)
            if not pending:
                return 0
            stored = {t.id for t in self.store.get_turns(self.user_id, ids=[t.id for t in pending])}
            fresh = [t for t in pending if t.id not in stored]  # a crash may have left both
            if fresh:
                vectors = self.embedder.embed_documents([t.text() for t in fresh])
                self.store.add_turns(fresh, vectors)
            self.journal.remove(pending)
            return len(pending)

    def _ingest_loop(self) -> None:
        while not self._closing:
            self._ingest_wanted.wait(timeout=1.0)
            self._ingest_wanted.clear()
            try:
                self._drain_turns()
            except Exception as error:  # the store may be down: turns stay in the journal
                log.warning("could not store journaled turns yet: %s", error)

    def end_session(self, session_id: str) -> None:
        """Queue the update work for a finished session (summary, tree, profile).

        In background mode this returns at once; otherwise the work runs now.
        """
        validate_id(session_id, "session_id")
        self._drain_turns()
        with self._lock:
            state = self._session_states().get(session_id)
            if state is None:
                msg = f"no turns recorded for session {session_id!r} of user {self.user_id!r}"
                raise UnknownSessionError(msg)
            if state.ended:
                return  # idempotent
            job = Job(id=uuid.uuid4().hex, user_id=self.user_id, kind=SESSION_JOB,
                      payload={"session_id": session_id}, created=utc())
            self.store.add_job(job)
            self.store.mark_session_ended(self.user_id, session_id)
            self._session_states()[session_id] = _SessionState(state.n_turns, True)
        self._dispatch(job)

    def _dispatch(self, job: Job) -> None:
        if self._worker is not None:
            self._worker.submit(job)
        else:
            self._run_job(job)

    def _resume(self) -> None:
        """Re-queue work a previous process journaled but did not finish."""
        pending = self.store.pending_jobs(self.user_id)
        for job in pending:
            self._dispatch(job)
        if not pending and any(n.stale for n in self._tree_index().tree.nodes):
            self._dispatch(Job(id=uuid.uuid4().hex, user_id=self.user_id, kind=ROLLUP_JOB,
                               payload={}, created=utc()))

    def _run_job(self, job: Job) -> None:
        if job.kind == SESSION_JOB:
            session_id = str(job.payload["session_id"])
            index = self._tree_index()
            summarize_session(self._backends, index, self.user_id, session_id)
            self.last_profile_update = update_profile(
                self._backends, self.user_id, session_id, now=utc()
            )
            more_sessions = self._worker is not None and SESSION_JOB in self._worker.queued_kinds()
            if not more_sessions:  # roll up once the queue of sessions is drained
                rollup(self._backends, index, self.user_id)
        elif job.kind == ROLLUP_JOB:
            rollup(self._backends, self._tree_index(), self.user_id)
        else:
            log.warning("unknown job kind %r; dropped", job.kind)
        self.store.complete_job(job.id)

    def flush(self, timeout: float | None = None) -> list[JobFailure]:
        """Wait for queued update work; return the jobs that failed (empty if none)."""
        if self._worker is None:
            return []
        return self._worker.flush(timeout)

    @property
    def pending(self) -> int:
        """Update jobs queued or running in this process."""
        return self._worker.pending if self._worker is not None else 0

    def close(self) -> None:
        """Store journaled turns, finish queued work and stop the background threads."""
        if self._ingester is not None and not self._closing:
            self._closing = True
            self._ingest_wanted.set()
            self._ingester.join()
            try:
                self._drain_turns()
            except Exception as error:  # kept in the journal for the next start
                log.warning("journaled turns not stored at close: %s", error)
        if self._worker is not None:
            self._worker.close()

    def __enter__(self) -> MemoryManager:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # --- recall --------------------------------------------------------------------------
    def _tree_index(self) -> TreeIndex:
        with self._lock:
            if self._index is None:
                self._index = TreeIndex.load(self.store, self.user_id)
            return self._index

    def tree(self) -> SummaryTree:
        """A snapshot of the summary tree."""
        return self._tree_index().snapshot()

    def recall(self, query: str, *, token_budget: int | None = None) -> MemoryContext:
        """The profile plus the most relevant tree nodes and turns, within ``token_budget``.

        See :func:`memory_agent.search.search_memory`. ``to_prompt()`` of the result never
        exceeds the budget.
        """
        from .errors import InvalidInputError

        text = clean_message(query, "query", max_chars=self.config.max_message_chars)
        self._drain_turns()  # nothing recorded is invisible
        budget = self.config.default_recall_budget if token_budget is None else token_budget
        if not isinstance(budget, int) or budget < 0:
            msg = f"token_budget must be a non-negative int, got {budget!r}"
            raise InvalidInputError(msg)
        inputs = SearchInputs(
            store=self.store, embedder=self.embedder, config=self.config,
            count_tokens=self.count_tokens, user_id=self.user_id, index=self._tree_index(),
            session_ids=list(self._session_states()), profile=self.profile(),
        )
        return search_memory(inputs, text, budget)

    # --- profile -------------------------------------------------------------------------
    def profile(self) -> ProfileDocument:
        """The current profile document."""
        return load_profile(self.store, self.user_id)[0]

    def profile_markdown(self) -> str:
        """The profile as Markdown (what ``memory-agent profile show`` prints)."""
        return self.profile().render()

    def profile_history(self) -> list[HistoryEntry]:
        """Facts that were superseded, removed or dropped, with their validity span."""
        return self.store.get_history(self.user_id)

    def edit_profile(self, markdown: str, *, base_version: int | None = None) -> ProfileDocument:
        """Replace the profile with a person's edit of it.

        The text is parsed first: an unparseable edit raises ProfileParseError naming the
        line, and the stored document is unchanged. Facts the person deleted or reworded
        go to the profile history. ``base_version`` (the version the person started from)
        makes a concurrent background update raise ProfileConflictError instead of being
        overwritten.
        """
        from .errors import InvalidInputError

        if not isinstance(markdown, str):
            msg = f"markdown must be str, got {type(markdown).__name__}"
            raise InvalidInputError(msg)
        reserved = [h.fact_id for h in self.store.get_history(self.user_id)]
        stored = self.store.get_profile(self.user_id)
        old = parse_profile(stored.markdown) if stored else ProfileDocument()
        version = stored.version if stored else 0
        if base_version is not None and base_version != version:
            msg = (f"the profile changed (version {version}) since this edit started from "
                   f"version {base_version}; re-open it and edit again")
            raise ProfileConflictError(msg)
        new = parse_profile(markdown, today=date.today(), reserved=reserved)
        rendered = new.render()
        tokens = self.count_tokens(rendered)
        if tokens > self.config.profile_token_budget:
            msg = (f"the edited profile is {tokens} tokens, over its budget of "
                   f"{self.config.profile_token_budget}; shorten it")
            raise ProfileBudgetError(msg)
        self.store.put_profile(self.user_id, rendered, expected_version=version)
        retired = diff_documents(old, new)
        if retired:
            self.store.add_history(history_entries(self.user_id, retired, utc()))
        return new

    def profile_version(self) -> int:
        stored = self.store.get_profile(self.user_id)
        return stored.version if stored else 0

    def apply_profile_edits(
        self, planner: Callable[[ProfileDocument], ExtractionOutcome]
    ) -> ProfileUpdate:
        """Apply edits planned against the current profile through the validated path."""
        return write_profile_edits(self._backends, self.user_id, planner,
                                   today=date.today(), now=utc())

    # --- forgetting ----------------------------------------------------------------------
    def forget(self) -> None:
        """Erase every record of this user: turns, tree, profile, history, journal."""
        self.flush()
        with self._lock, self._drain_lock:
            if self.journal is not None:
                self.journal.forget_user(self.user_id)
            self.store.forget_user(self.user_id)
            self._sessions = None
            self._index = None

    def stats(self) -> dict[str, Any]:
        """Counts for display: sessions, turns, nodes, tree height, profile tokens."""
        sessions = self.sessions()
        tree = self.tree()
        return {
            "sessions": len(sessions),
            "turns": sum(s.n_turns for s in sessions),
            "nodes": len(tree),
            "tree_height": tree.height,
            "profile_facts": len(self.profile().facts),
            "profile_tokens": self.count_tokens(self.profile_markdown()),
            "pending_jobs": self.pending,
        }
