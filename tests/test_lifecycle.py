"""The manager's services: session lifecycle (SessionClock, idle rollover in the core),
the job runner's registry, the async twins, and the composition root's import rule."""

from __future__ import annotations

import ast
import asyncio
import inspect
from collections.abc import Callable
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import pytest

from memory_agent import HashingEmbedder, InMemoryStore, Job, MemoryConfig, MemoryManager
from memory_agent.core.facts import marker_sources
from memory_agent.core.types import utc
from memory_agent.engine.jobs import Handler, JobRunner
from memory_agent.engine.sessions import SessionClock
from memory_agent.engine.twins import TWINNED
from memory_agent.engine.worker import Worker
from memory_agent.errors import InvalidInputError

from .fakes import TaskLLM

T0 = datetime(2026, 5, 1, 9, 0, tzinfo=timezone.utc)


class Clock:
    def __init__(self) -> None:
        self.now = T0

    def __call__(self) -> datetime:
        return self.now


def manager(*, clock: Callable[[], datetime] = utc, idle: float | None = None,
            **kw: Any) -> MemoryManager:
    return MemoryManager(user_id="alice", store=InMemoryStore(), llm=TaskLLM(),
                         embedder=HashingEmbedder(), background=False, clock=clock,
                         config=MemoryConfig(session_idle_seconds=idle), **kw)


# --- session lifecycle ------------------------------------------------------------------

def test_session_for_moves_on_after_an_idle_time() -> None:
    clock = Clock()
    memory = manager(clock=clock, idle=1800)
    assert memory.session_for("chat") == "chat"
    memory.conversations.record(memory, "chat", "I keep bees.", "Nice.")
    clock.now += timedelta(minutes=10)
    assert memory.session_for("chat") == "chat"  # not idle yet
    clock.now += timedelta(hours=2)
    assert memory.session_for("chat") == "chat.2"  # idle: ended, summarised, moved on
    sessions = {s.session_id: s for s in memory.sessions()}
    assert sessions["chat"].ended
    assert memory.tree().session_node("chat") is not None
    memory.close()


def test_session_for_without_idle_timeout_never_rolls_over() -> None:
    clock = Clock()
    memory = manager(clock=clock)
    memory.conversations.record(memory, "chat", "hello", "hi")
    clock.now += timedelta(days=30)
    assert memory.session_for("chat") == "chat"
    memory.close()


def test_a_new_clock_skips_ended_sessions_and_rejects_bad_ids() -> None:
    memory = manager()
    memory.record("one", "ok", session_id="c")
    memory.end_session("c")
    memory.record("two", "ok", session_id="c.2")
    memory.end_session("c.2")
    assert SessionClock().session_for(memory, "c") == "c.3"
    with pytest.raises(InvalidInputError):
        memory.session_for("bad id!")
    memory.close()


def test_record_moves_on_when_another_writer_ended_the_session() -> None:
    memory = manager()
    clock = SessionClock()
    clock.record(memory, "c", "one", "ok")
    memory.end_session("c")  # e.g. another process, behind the clock's back
    turn = clock.record(memory, "c", "two", "ok")
    assert turn.session_id == "c.2" and turn.index == 1
    memory.close()


def test_end_and_end_idle() -> None:
    now = Clock()
    memory = manager()
    clock = SessionClock(timedelta(minutes=30), clock=now)
    assert clock.end(memory, "c") is None  # nothing recorded
    clock.record(memory, "c", "one", "ok")
    assert clock.end(memory, "c") == "c"
    clock.record(memory, "c", "two", "ok")
    assert clock.end_idle(lambda user_id: memory) == []
    now.now += timedelta(hours=1)
    assert clock.end_idle(lambda user_id: memory) == [("alice", "c.2")]
    assert [s.ended for s in memory.sessions()] == [True, True]
    memory.close()


# --- the job runner ---------------------------------------------------------------------

def test_job_kinds_are_a_registry() -> None:
    store = InMemoryStore()
    runner = JobRunner(store, "alice", background=False)
    ran: list[str] = []
    runner.register("ping", lambda job: ran.append(job.payload["n"]))
    with pytest.raises(ValueError, match="already registered"):
        runner.register("ping", lambda job: None)
    runner.dispatch(runner.journal("ping", {"n": "1"}))
    unknown = runner.journal("no-such-kind")
    runner.dispatch(unknown)  # dropped with a warning, and completed
    assert ran == ["1"] and store.pending_jobs("alice") == []


def test_the_manager_registers_its_update_jobs_and_takes_a_worker() -> None:
    made: list[Worker] = []

    def worker(handler: Handler, name: str) -> Worker:
        made.append(Worker(handler, name=name))
        return made[-1]

    memory = MemoryManager(user_id="alice", store=InMemoryStore(), llm=TaskLLM(),
                           embedder=HashingEmbedder(), worker=worker)
    assert sorted(memory.runner.kinds) == ["resummarize", "rollup", "session"]
    memory.record("I keep bees.", "Nice.", session_id="s1")
    memory.end_session("s1")
    assert memory.flush(timeout=30) == []
    assert len(made) == 1 and memory.tree().session_node("s1") is not None
    memory.close()


def test_resume_runs_a_job_left_by_a_previous_process() -> None:
    store = InMemoryStore()
    first = MemoryManager(user_id="alice", store=store, llm=TaskLLM(),
                          embedder=HashingEmbedder(), background=False)
    first.record("I keep bees.", "Nice.", session_id="s1")
    store.add_job(Job("j1", "alice", "session", {"session_id": "s1"}, utc()))
    second = MemoryManager(user_id="alice", store=store, llm=TaskLLM(),
                           embedder=HashingEmbedder(), background=False)
    assert store.pending_jobs("alice") == []
    assert second.tree().session_node("s1") is not None
    assert store.list_sessions("alice")[0].ended
    first.close()
    second.close()


# --- async twins ------------------------------------------------------------------------

def test_every_twinned_method_has_an_async_twin_with_its_signature() -> None:
    for name in TWINNED:
        sync, twin = getattr(MemoryManager, name), getattr(MemoryManager, f"a{name}", None)
        assert twin is not None, f"MemoryManager.{name} has no async twin a{name}"
        assert inspect.iscoroutinefunction(twin), name
        assert (list(inspect.signature(twin).parameters)
                == list(inspect.signature(sync).parameters)), name


def test_public_io_methods_are_twinned() -> None:
    not_io = {"open", "tree_index"}  # a constructor; a read of what is loaded already
    public = {n for n, v in vars(MemoryManager).items()  # the twins live in AsyncTwins
              if inspect.isfunction(v) and not n.startswith("_")} - not_io
    assert {"record", "recall", "apply_profile_edits"} <= public
    assert public - set(TWINNED) == set()


def test_twins_run_the_sync_methods() -> None:
    memory = manager()

    async def flow() -> None:
        await memory.arecord("I keep bees.", "Nice.", session_id="s1")
        assert [s.session_id for s in await memory.asessions()] == ["s1"]
        await memory.aend_session("s1")
        assert await memory.aflush() == []
        context = await memory.arecall("bees", token_budget=300)
        assert "bees" in context.to_prompt()
        assert (await memory.atree()).session_node("s1") is not None
        assert await memory.aprofile_version() == memory.profile_version()
        await memory.aclose()

    asyncio.run(flow())


# --- structure --------------------------------------------------------------------------

def test_marker_sources_reads_what_facts_write() -> None:
    assert marker_sources("{#f3 slot=diet src=day-1#3+5 learned=2026-05-01 conf=2}") == (
        "day-1#3", "day-1#5")
    with pytest.raises(ValueError):
        marker_sources("no marker here")


ENGINE = Path(__file__).parents[1] / "memory_agent" / "engine"
SERVICES = ["manager", "ingestion", "jobs", "update_jobs", "profile_writes", "recall",
            "sessions", "user_data", "twins"]


@pytest.mark.parametrize("module", SERVICES)
def test_services_import_no_backend_at_module_level(module: str) -> None:
    tree = ast.parse((ENGINE / f"{module}.py").read_text())
    names = []
    for node in tree.body:  # module level only: open() imports the defaults lazily
        if isinstance(node, ast.ImportFrom) and node.module:
            names.append(node.module)
        elif isinstance(node, ast.Import):
            names += [a.name for a in node.names]
    bad = [n for n in names if n.startswith(("memory_agent.backends", "memory_agent.apps",
                                             "memory_agent.defaults"))]
    assert bad == []


@pytest.mark.parametrize("module", [*SERVICES, "../defaults"])
def test_modules_and_classes_stay_small(module: str) -> None:
    source = (ENGINE / f"{module}.py").read_text()
    assert len(source.splitlines()) <= 400
    for node in ast.parse(source).body:
        if isinstance(node, ast.ClassDef):
            assert node.end_lineno is not None
            assert node.end_lineno - node.lineno + 1 <= 250, node.name
