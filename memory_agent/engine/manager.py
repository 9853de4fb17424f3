"""MemoryManager: the public API of one user's memory."""

from __future__ import annotations

import asyncio
import logging
import re
import threading
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any, ParamSpec, TypeVar

from memory_agent.backends.tokens import count_tokens as default_count_tokens
from memory_agent.core.config import MemoryConfig
from memory_agent.core.embedder import Embedder
from memory_agent.core.extraction import ExtractionOutcome
from memory_agent.core.history import FORGOTTEN, latest_entry, restore_edit
from memory_agent.core.llm import LLM
from memory_agent.core.profile import (
    ProfileDocument,
    ProfileEdit,
    as_datetime,
    diff_documents,
    parse_profile,
    parse_sources,
)
from memory_agent.core.store import HistoryEntry, Job, MemoryStore
from memory_agent.core.text import clean_message
from memory_agent.core.tree import SummaryTree
from memory_agent.core.types import MemoryContext, SessionInfo, Turn, utc, validate_id
from memory_agent.engine.fact_vectors import FactVectors, fact_text
from memory_agent.engine.journal import TurnJournal
from memory_agent.engine.search import SearchInputs, search_memory
from memory_agent.engine.tree_index import TreeIndex
from memory_agent.engine.turn_index import StoreTurnSearch, TurnIndex, TurnSearch
from memory_agent.engine.updater import (
    Backends,
    ProfileUpdate,
    history_entries,
    load_profile,
    rollup,
    summarize_session,
    update_profile,
    write_profile_edits,
)
from memory_agent.engine.worker import JobFailure, JobRecord, Worker
from memory_agent.errors import (
    InvalidInputError,
    NotFoundError,
    ProfileBudgetError,
    ProfileConflictError,
    SessionStateError,
    StoreError,
    UnknownSessionError,
)

if TYPE_CHECKING:  # inspection reads (see the block at the end of MemoryManager)
    from memory_agent.core.trace import RecallTrace
    from memory_agent.engine.inspection import SessionOverview, UserSummary

log = logging.getLogger("memory_agent")
P = ParamSpec("P")
R = TypeVar("R")

SESSION_JOB = "session"
ROLLUP_JOB = "rollup"
RESUMMARIZE_JOB = "resummarize"  # sessions whose summary must be written again (forget_fact)


def _same_turn(a: Turn, b: Turn) -> bool:
    return (a.user_message, a.assistant_message, utc(a.at)) == (
        b.user_message, b.assistant_message, utc(b.at))


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
        # None if the store cannot list turn vectors (recall then asks the store)
        self._turns: TurnIndex | None = TurnIndex.for_store(
            store, self.user_id, refresh_seconds=self.config.turn_index_refresh_seconds)
        self._fact_vectors = FactVectors(embedder)
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
        n_threads: int | None = None,
        n_ctx: int = 4096,
    ) -> MemoryManager:
        """A manager on the defaults: Chroma (embedded in ``data_dir``, or the server at
        ``server_url``), the bundled E5 embedder, and the local llama.cpp model (``model``:
        a registry key or a .gguf path; the default model if None; ``n_threads`` and
        ``n_ctx`` are its CPU threads and context window). The model loads lazily.
        """
        from memory_agent.backends.embeddings import E5Embedder
        from memory_agent.backends.store.chroma import ChromaStore
        from memory_agent.core.config import default_data_dir

        store = ChromaStore.from_settings(data_dir=data_dir, server_url=server_url)
        local = Path(data_dir) if data_dir is not None else default_data_dir()
        journal = TurnJournal(local / "turn-journal.sqlite3")
        if llm is None:
            from memory_agent.backends.llm.llama import LlamaCppLLM

            def model_bytes(done: int, total: int) -> None:
                if progress is not None and (done == total or done % (128 << 20) < (8 << 20)):
                    progress(f"assembling the model file: {done * 100 // max(total, 1)}%")

            llm = LlamaCppLLM(model, n_threads=n_threads, n_ctx=n_ctx, progress=model_bytes)
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
            msg = f"at must be a datetime or None, got {type(at).__name__}"
            raise InvalidInputError(msg)
        with self._lock:
            states = self._session_states()
            state = states.get(session_id, _SessionState(0, False))
            if state.ended:
                msg = f"session {session_id!r} has ended; record new turns under a new session_id"
                raise SessionStateError(msg)
            when = utc(at)

            def make(index: int) -> Turn:
                return Turn(self.user_id, session_id, index, user_text, assistant_text, when)

            if self.journal is not None:
                # the journal hands out the index atomically (several managers or processes
                # sharing the data dir never pick the same one)
                turn = self.journal.append_next(self.user_id, session_id,
                                                floor=state.n_turns, make=make)
                self._ingest_wanted.set()
            else:
                turn = self._store_new_turn(session_id, state.n_turns, make)
            states[session_id] = _SessionState(turn.index, False)
        return turn

    def _store_new_turn(self, session_id: str, known: int, make: Callable[[int], Turn]) -> Turn:
        """Without a journal: write at the next index; if another writer took it, re-read the
        session from the store and take the next free one (a few tries)."""
        vector: list[float] | None = None
        for _ in range(5):
            turn = make(known + 1)
            if vector is None:
                vector = list(self.embedder.embed_documents([turn.text()])[0])
            try:
                self.store.add_turns([turn], [vector])
                self._turns_stored([turn], [vector])
                return turn
            except StoreError:
                if not self.store.get_turns(self.user_id, ids=[turn.id]):
                    raise  # not a taken index: a real store failure
                stored = {s.session_id: s for s in self.store.list_sessions(self.user_id)}
                info = stored.get(session_id)
                known = max(known + 1, info.n_turns if info else 0)
        msg = f"session {session_id!r} kept changing under another writer; record again"
        raise StoreError(msg)

    def _drain_turns(self) -> int:
        """Embed journaled turns and write them to the store; return how many."""
        if self.journal is None:
            return 0
        with self._drain_lock:
            pending = self.journal.pending(self.user_id)
            if not pending:
                return 0
            stored = {t.id: t for t in
                      self.store.get_turns(self.user_id, ids=[t.id for t in pending])}
            fresh: list[Turn] = []
            done: list[Turn] = []
            for turn in pending:
                twin = stored.get(turn.id)
                if twin is None:
                    fresh.append(turn)
                elif _same_turn(twin, turn):
                    done.append(turn)  # a crash after storing, before leaving the journal
                else:  # another writer (another journal) took this index: move ours
                    fresh.append(self._renumber(turn))
            if fresh:
                vectors = self.embedder.embed_documents([t.text() for t in fresh])
                self.store.add_turns(fresh, vectors)
                self._turns_stored(fresh, vectors)
            if done and self._turns is not None:
                self._turns.mark_dirty()  # stored by a process that died before counting them
            self.journal.remove(done + fresh)
            return len(pending)

    def _renumber(self, turn: Turn) -> Turn:
        assert self.journal is not None
        infos = {s.session_id: s for s in self.store.list_sessions(self.user_id)}
        info = infos.get(turn.session_id)
        moved = self.journal.renumber(turn, floor=info.n_turns if info else turn.index)
        log.warning("turn %s of %s was taken by another writer; stored as %s",
                    turn.id, self.user_id, moved.id)
        return moved  # the journal's counter now keeps later record() calls above it

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
            self._ensure_ended(session_id)  # a crash may have come between journal and mark
            index = self._tree_index()
            summarize_session(self._backends, index, self.user_id, session_id)
            self.last_profile_update = update_profile(
                self._backends, self.user_id, session_id, now=utc()
            )
            self._warm_fact_vectors()
            more_sessions = self._worker is not None and SESSION_JOB in self._worker.queued_kinds()
            if not more_sessions:  # roll up once the queue of sessions is drained
                rollup(self._backends, index, self.user_id)
        elif job.kind == ROLLUP_JOB:
            rollup(self._backends, self._tree_index(), self.user_id)
        elif job.kind == RESUMMARIZE_JOB:
            index = self._tree_index()
            for session_id in job.payload["session_ids"]:
                if self.store.get_turns(self.user_id, session_id=str(session_id)):
                    summarize_session(self._backends, index, self.user_id, str(session_id))
            rollup(self._backends, index, self.user_id)
        else:
            log.warning("unknown job kind %r; dropped", job.kind)
        self.store.complete_job(job.id)

    def _warm_fact_vectors(self) -> None:
        """Embed new profile facts now, in the update, so the next recall does not."""
        if not self.config.rank_facts_by_meaning:
            return
        try:
            self._fact_vectors.vectors([fact_text(f) for f in self.profile().facts])
        except Exception as error:  # recall embeds them itself if this fails
            log.warning("profile facts not embedded ahead of recall: %s", error)

    def _ensure_ended(self, session_id: str) -> None:
        infos = {s.session_id: s for s in self.store.list_sessions(self.user_id)}
        info = infos.get(session_id)
        if info is not None and not info.ended:
            self.store.mark_session_ended(self.user_id, session_id)
        with self._lock:
            states = self._session_states()
            known = states.get(session_id)
            if known is not None:
                states[session_id] = _SessionState(known.n_turns, True)

    def flush(self, timeout: float | None = None) -> list[JobFailure]:
        """Wait for queued update work; return the jobs that failed (empty if none)."""
        if self._worker is None:
            return []
        return self._worker.flush(timeout)

    @property
    def pending(self) -> int:
        """Update jobs queued or running in this process."""
        return self._worker.pending if self._worker is not None else 0

    def close(self, *, wait: bool = True) -> None:
        """Store journaled turns, finish queued work and stop the background threads.

        ``wait=False`` returns without waiting for queued update work: what is not done
        stays journaled in the store and is resumed by the next manager of this user."""
        if self._ingester is not None and not self._closing:
            self._closing = True
            self._ingest_wanted.set()
            self._ingester.join()
            try:
                self._drain_turns()
            except Exception as error:  # kept in the journal for the next start
                log.warning("journaled turns not stored at close: %s", error)
        if self._worker is not None:
            self._worker.close(None if wait else 0)

    def __enter__(self) -> MemoryManager:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # --- recall --------------------------------------------------------------------------
    def _turns_stored(self, turns: list[Turn], vectors: list[list[float]]) -> None:
        """Tell the turn index about turns this manager just stored (one add_turns call)."""
        if self._turns is not None:
            self._turns.added(turns, vectors)

    def _turn_search(self) -> TurnSearch:
        """The in-memory turn index, brought up to date (see turn_index.py for the rule)."""
        if self._turns is not None:
            self._turns.sync()
            return self._turns
        return StoreTurnSearch(self.store, self.user_id)

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

        See :func:`memory_agent.engine.search.search_memory`. ``to_prompt()`` of the result never
        exceeds the budget.
        """
        text = clean_message(query, "query", max_chars=self.config.max_message_chars)
        self._drain_turns()  # nothing recorded is invisible
        budget = self.config.default_recall_budget if token_budget is None else token_budget
        if not isinstance(budget, int) or budget < 0:
            msg = f"token_budget must be a non-negative int, got {budget!r}"
            raise InvalidInputError(msg)
        inputs = SearchInputs(
            turns=self._turn_search(), embedder=self.embedder, config=self.config,
            count_tokens=self.count_tokens, index=self._tree_index(),
            session_ids=list(self._session_states()), profile=self.profile(),
            facts=self._fact_vectors if self.config.rank_facts_by_meaning else None,
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

    def restore_fact(self, fact_id: str) -> ProfileUpdate:
        """Undo the removal, rewording or supersession of fact ``fact_id`` from its kept
        history: its last wording goes back in place (or is added again with its original
        sources). The restore is itself a validated profile write, kept in the history.
        Raises NotFoundError if the history has no such fact, ProfileError if it was
        forgotten (its text is gone).
        """
        entry = latest_entry(self.store.get_history(self.user_id), fact_id)

        def plan(doc: ProfileDocument) -> ExtractionOutcome:
            return ExtractionOutcome([restore_edit(entry, doc)], [])

        return self.apply_profile_edits(plan)

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
            if self._turns is not None:
                self._turns.reset()
            self._fact_vectors.clear()

    def forget_fact(self, fact_id: str) -> list[str]:
        """Forget one profile fact: remove it from the profile and its history entries, and
        queue the summaries of the sessions it came from to be written again.

        Returns the ids of the sessions queued for re-summarisation. The turns themselves
        stay (use :meth:`forget` to erase everything). Raises NotFoundError if no fact or
        history entry has this id.
        """
        if not isinstance(fact_id, str) or not fact_id:
            msg = f"fact_id must be a non-empty str such as 'f3', got {fact_id!r}"
            raise InvalidInputError(msg)
        kept = [h for h in self.store.get_history(self.user_id) if h.fact_id == fact_id]
        fact = self.profile().get(fact_id)
        if fact is None and not kept:
            msg = f"no fact {fact_id!r} in the profile or history of {self.user_id!r}"
            raise NotFoundError(msg)
        self._fact_vectors.clear()  # no forgotten text stays in memory
        sources = list(fact.sources if fact is not None else ())
        for entry in kept:  # the marker names the turns a retired fact came from
            found = re.search(r"src=([^\s}]+)", entry.marker)
            if found:
                try:
                    sources += parse_sources(found.group(1))
                except ValueError:
                    log.warning("history entry of %s has an unreadable src", fact_id)
        if fact is not None:
            def plan(doc: ProfileDocument) -> ExtractionOutcome:
                if doc.get(fact_id) is None:
                    return ExtractionOutcome([], [])
                return ExtractionOutcome(
                    [ProfileEdit(op="remove", fact_id=fact_id, reason="forgotten")], [])

            write_profile_edits(self._backends, self.user_id, plan, today=date.today(),
                                now=utc())
        self.store.delete_history(self.user_id, [fact_id])  # also the entry remove just made
        # a tombstone without the text keeps the id reserved: ids are never reused
        first = fact.learned if fact is not None else None
        self.store.add_history([HistoryEntry(
            user_id=self.user_id, fact_id=fact_id,
            section=fact.section if fact is not None else kept[0].section, text=FORGOTTEN,
            marker="", valid_from=as_datetime(first) if first else kept[0].valid_from,
            valid_to=utc(), reason="forgotten at the user's request",
        )])
        sessions = sorted({src.split("#", 1)[0] for src in sources if "#" in src}
                          & {s.session_id for s in self.store.list_sessions(self.user_id)})
        if sessions:
            job = Job(id=uuid.uuid4().hex, user_id=self.user_id, kind=RESUMMARIZE_JOB,
                      payload={"session_ids": sessions}, created=utc())
            self.store.add_job(job)
            self._dispatch(job)
        return sessions

    def export(self, path: str | Path) -> Path:
        """Write a complete, human-readable archive of this user's memory to directory
        ``path``: ``profile.md``, ``turns.json``, ``sessions.json``, ``nodes.json``,
        ``history.json`` and ``manifest.json``. Pending turns are stored first and queued
        update work is finished, so the archive is complete. See :meth:`import_archive`.
        """
        from memory_agent.engine.archive import write_archive

        self._drain_turns()
        self.flush()
        return write_archive(Path(path), self.user_id, self.store)

    def import_archive(self, path: str | Path) -> None:
        """Restore an archive written by :meth:`export` into this (empty) user's memory.

        Turns and summaries are embedded again with this manager's embedder; the profile,
        its history and the tree come back as they were, so recall gives the same results
        with the same embedder. Raises InvalidInputError if the archive is malformed or
        this user already has memory (``forget()`` first).
        """
        from memory_agent.engine.archive import read_archive, restore_archive

        archive = read_archive(Path(path))
        self._drain_turns()
        with self._lock:
            restore_archive(archive, self.user_id, self.store, self.embedder)
            self._sessions = None
            self._index = None
            if self._turns is not None:
                self._turns.reset()

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

    # --- inspection reads (public) -------------------------------------------------------
    # Read-only views for the inspector (memory_agent/apps/inspect) and Python callers; each
    # delegates to memory_agent/engine/inspection.py (or the search, for the recall trace).
    def summary(self) -> UserSummary:
        """Sessions, turns, facts, last activity and pending or failed update work."""
        from memory_agent.engine.inspection import user_summary

        return user_summary(self.store, self.user_id, sessions=self.sessions(),
                            profile=self.profile(), profile_version=self.profile_version(),
                            log=self._job_records())

    def session_turns(self, session_id: str) -> list[Turn]:
        """The turns of one session, in order; UnknownSessionError if it has none."""
        from memory_agent.engine.inspection import session_turns

        self._drain_turns()
        return session_turns(self.store, self.user_id, session_id)

    def job_log(self) -> list[JobRecord]:
        """Update jobs of this user: queued, running, done or failed (with the error text),
        as this process saw them (the last few hundred), plus journaled jobs not run yet."""
        from memory_agent.engine.inspection import job_log

        return job_log(self.store, self.user_id, self._job_records())

    def session_overview(self) -> list[SessionOverview]:
        """Each session with its end and summary state and the jobs that concern it."""
        from memory_agent.engine.inspection import session_overview

        return session_overview(self.sessions(), self.tree(), self.job_log())

    def recall_trace(self, query: str, *, token_budget: int | None = None) -> RecallTrace:
        """:meth:`recall` with the reasons: per candidate its score parts (dense, lexical,
        session prior, time) and why the budget cut it, and the tokens of each context part.
        ``trace.context`` is exactly what ``recall`` returns for the same state."""
        from memory_agent.engine.search import trace_memory

        text = clean_message(query, "query", max_chars=self.config.max_message_chars)
        self._drain_turns()
        budget = self.config.default_recall_budget if token_budget is None else token_budget
        if not isinstance(budget, int) or budget < 0:
            msg = f"token_budget must be a non-negative int, got {budget!r}"
            raise InvalidInputError(msg)
        inputs = SearchInputs(
            turns=self._turn_search(), embedder=self.embedder, config=self.config,
            count_tokens=self.count_tokens, index=self._tree_index(),
            session_ids=list(self._session_states()), profile=self.profile(),
            facts=self._fact_vectors if self.config.rank_facts_by_meaning else None,
        )
        return trace_memory(inputs, text, budget)

    def _job_records(self) -> list[JobRecord]:
        return self._worker.log() if self._worker is not None else []
