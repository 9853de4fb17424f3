"""The update jobs and their handlers: what runs after a session ends (summary, tree,
profile, roll-up), a roll-up left stale, and re-summarising sessions after a fact is
forgotten."""

from __future__ import annotations

from memory_agent.core.store import Job
from memory_agent.engine.jobs import JobRunner
from memory_agent.engine.profile_update import ProfileUpdate
from memory_agent.engine.profile_writes import ProfileWrites
from memory_agent.engine.recall import Recall
from memory_agent.engine.rollup import rollup
from memory_agent.engine.sessions import SessionBook
from memory_agent.engine.summaries import summarize_session
from memory_agent.engine.upkeep import Backends
from memory_agent.errors import UnknownSessionError

SESSION_JOB = "session"
ROLLUP_JOB = "rollup"
RESUMMARIZE_JOB = "resummarize"  # sessions whose summary must be written again (forget_fact)


class UpdateJobs:
    """Registers the handlers of the update jobs of one user with ``runner``."""

    def __init__(self, backends: Backends, user_id: str, *, runner: JobRunner, recall: Recall,
                 sessions: SessionBook, writes: ProfileWrites) -> None:
        self.backends = backends
        self.user_id = user_id
        self.runner = runner
        self.recall = recall
        self.sessions = sessions
        self.writes = writes
        self.last_profile_update: ProfileUpdate | None = None
        runner.register(SESSION_JOB, self.session_ended)
        runner.register(ROLLUP_JOB, self.roll_up)
        runner.register(RESUMMARIZE_JOB, self.resummarize)

    def session_ended(self, job: Job) -> None:
        session_id = str(job.payload["session_id"])
        self.sessions.ensure_ended(session_id)  # a crash may have come between journal and mark
        index = self.recall.tree_index()
        summarize_session(self.backends, index, self.user_id, session_id)
        self.last_profile_update = self.writes.update_from_session(session_id)
        self.recall.warm_facts(self.writes.profile)
        if not self.runner.waiting(SESSION_JOB):  # roll up once the queue of sessions drains
            rollup(self.backends, index, self.user_id)

    def roll_up(self, job: Job) -> None:
        rollup(self.backends, self.recall.tree_index(), self.user_id)

    def resummarize(self, job: Job) -> None:
        index = self.recall.tree_index()
        for session_id in job.payload["session_ids"]:
            if self.backends.store.get_turns(self.user_id, session_id=str(session_id)):
                summarize_session(self.backends, index, self.user_id, str(session_id))
        rollup(self.backends, index, self.user_id)

    def resume(self) -> None:
        """Re-queue journaled work; with none, roll up nodes a crash left stale."""
        if not self.runner.resume() and any(n.stale for n in self.recall.tree_index().tree.nodes):
            self.runner.dispatch(self.runner.new(ROLLUP_JOB))

    def end_session(self, session_id: str) -> None:
        """Journal the session's update job, mark it ended, then run or queue the job."""
        with self.sessions.lock:
            state = self.sessions.get(session_id)
            if state is None:
                raise UnknownSessionError.no_turns(self.user_id, session_id)
            if state.ended:
                return  # idempotent
            job = self.runner.journal(SESSION_JOB, {"session_id": session_id})
            self.backends.store.mark_session_ended(self.user_id, session_id)
            self.sessions.mark_ended(session_id)
        self.runner.dispatch(job)

    def forgotten(self, named: set[str]) -> list[str]:
        """Queue the stored sessions among ``named`` (those a forgotten fact came from) to be
        summarised again; returns their ids."""
        stored = {s.session_id for s in self.backends.store.list_sessions(self.user_id)}
        session_ids = sorted(named & stored)
        if session_ids:
            self.runner.dispatch(self.runner.journal(RESUMMARIZE_JOB,
                                                     {"session_ids": session_ids}))
        return session_ids
