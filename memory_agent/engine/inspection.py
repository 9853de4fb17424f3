"""Read-only views of one user's memory for the inspector (and for Python callers).

``MemoryManager`` inherits them from :class:`InspectionReads` (``summary``,
``session_turns``, ``job_log``, ``session_overview``, ``recall_trace``); each is a thin
delegation to a function here, given the store and what the manager's services know.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING

from memory_agent.core.profile import ProfileDocument
from memory_agent.core.store import MemoryStore
from memory_agent.core.text import clean_message
from memory_agent.core.tree import SummaryTree, session_node_id
from memory_agent.core.types import Node, SessionInfo, Turn, validate_id
from memory_agent.engine.worker import JobRecord
from memory_agent.errors import UnknownSessionError

if TYPE_CHECKING:
    from memory_agent.core.config import MemoryConfig
    from memory_agent.core.trace import RecallTrace
    from memory_agent.engine.ingestion import Ingestion
    from memory_agent.engine.jobs import JobRunner
    from memory_agent.engine.recall import Recall
    from memory_agent.engine.sessions import SessionBook


@dataclass(frozen=True)
class UserSummary:
    """Counts for the list of users: sessions, turns, facts, last activity, pending work."""

    user_id: str
    sessions: int
    ended_sessions: int
    turns: int
    facts: int
    history: int  # superseded, removed or forgotten facts kept in the history
    profile_version: int
    last_activity: datetime | None  # the newest turn's time
    pending_jobs: int  # journaled update jobs not finished yet
    failed_jobs: int  # jobs that failed in this process (see ``job_log``)


@dataclass(frozen=True)
class SessionOverview:
    """One session with its end and summary state and the jobs that concern it."""

    info: SessionInfo
    node: Node | None  # the session's summary node (None: not summarised yet)
    jobs: tuple[JobRecord, ...]

    @property
    def summary_state(self) -> str:
        if self.node is None:
            return "queued" if any(r.status in ("queued", "running") for r in self.jobs) else (
                "not summarised")
        return "stale" if self.node.stale else "summarised"


def stored_users(store: MemoryStore) -> list[str]:
    """The users with any stored memory, sorted."""
    return sorted(store.list_users())


def user_summary(
    store: MemoryStore,
    user_id: str,
    *,
    sessions: Sequence[SessionInfo],
    profile: ProfileDocument,
    profile_version: int,
    log: Sequence[JobRecord],
) -> UserSummary:
    jobs = job_log(store, user_id, log)
    return UserSummary(
        user_id=user_id,
        sessions=len(sessions),
        ended_sessions=sum(1 for s in sessions if s.ended),
        turns=sum(s.n_turns for s in sessions),
        facts=len(profile.facts),
        history=len(store.get_history(user_id)),
        profile_version=profile_version,
        last_activity=max((s.end for s in sessions), default=None),
        pending_jobs=sum(1 for r in jobs if r.status in ("queued", "running")),
        failed_jobs=sum(1 for r in jobs if r.status == "failed"),
    )


def session_turns(store: MemoryStore, user_id: str, session_id: str) -> list[Turn]:
    """The turns of one session, in order; UnknownSessionError if it has none."""
    validate_id(session_id, "session_id")
    turns = store.get_turns(user_id, session_id=session_id)
    if not turns:
        msg = f"no turns recorded for session {session_id!r} of {user_id!r}"
        raise UnknownSessionError(msg)
    return turns


def job_log(store: MemoryStore, user_id: str, log: Sequence[JobRecord]) -> list[JobRecord]:
    """This process's job outcomes, plus journaled jobs it has not run (as ``queued``:
    another process, or the next start, will run them), oldest first."""
    seen = {r.job.id for r in log}
    journaled = [JobRecord(job, "queued") for job in store.pending_jobs(user_id)
                 if job.id not in seen]
    return sorted([*log, *journaled], key=lambda r: r.job.created)


def session_overview(
    sessions: Sequence[SessionInfo], tree: SummaryTree, jobs: Sequence[JobRecord]
) -> list[SessionOverview]:
    """Each session with its summary node and the jobs naming it."""
    out = []
    for info in sessions:
        node_id = session_node_id(info.session_id)
        node = tree.get(node_id) if node_id in tree else None
        mine = tuple(r for r in jobs if _names_session(r, info.session_id))
        out.append(SessionOverview(info, node, mine))
    return out


def _names_session(record: JobRecord, session_id: str) -> bool:
    payload = record.job.payload
    return payload.get("session_id") == session_id or session_id in payload.get(
        "session_ids", ())


class InspectionReads:
    """The public inspection reads of ``MemoryManager`` (mixed in; they use only its
    services and public reads)."""

    if TYPE_CHECKING:  # provided by MemoryManager
        user_id: str
        runner: JobRunner
        ingestion: Ingestion
        indexes: Recall
        book: SessionBook

        @property
        def store(self) -> MemoryStore: ...
        @property
        def config(self) -> MemoryConfig: ...
        def sessions(self) -> list[SessionInfo]: ...
        def profile(self) -> ProfileDocument: ...
        def profile_version(self) -> int: ...
        def tree(self) -> SummaryTree: ...

    def summary(self) -> UserSummary:
        """Sessions, turns, facts, last activity and pending or failed update work."""
        return user_summary(self.store, self.user_id, sessions=self.sessions(),
                            profile=self.profile(), profile_version=self.profile_version(),
                            log=self.runner.log())

    def session_turns(self, session_id: str) -> list[Turn]:
        """The turns of one session, in order; UnknownSessionError if it has none."""
        self.ingestion.drain()
        return session_turns(self.store, self.user_id, session_id)

    def job_log(self) -> list[JobRecord]:
        """Update jobs of this user: queued, running, done or failed (with the error text),
        as this process saw them (the last 200), plus journaled jobs not run yet."""
        return job_log(self.store, self.user_id, self.runner.log())

    def session_overview(self) -> list[SessionOverview]:
        """Each session with its end and summary state and the jobs that concern it."""
        return session_overview(self.sessions(), self.tree(), self.job_log())

    def recall_trace(self, query: str, *, token_budget: int | None = None) -> RecallTrace:
        """``recall`` with the reasons: per candidate its score parts (dense, lexical,
        session prior, time) and why the budget cut it, and the tokens of each context part.
        ``trace.context`` is exactly what ``recall`` returns for the same state."""
        text = clean_message(query, "query", max_chars=self.config.max_message_chars)
        self.ingestion.drain()  # nothing recorded is invisible
        return self.indexes.trace(text, token_budget, profile=self.profile())
