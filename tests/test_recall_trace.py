"""recall_trace: the same context as recall, with score parts, cut reasons and part tokens;
and the other public inspection reads (summary, session_turns, job_log, session_overview)."""

from __future__ import annotations

import pytest

from memory_agent import FakeLLM, HashingEmbedder, InMemoryStore, MemoryManager
from memory_agent.engine.worker import LOG_SIZE, Worker
from memory_agent.errors import UnknownSessionError

from .inspect_seed import seed

QUERIES = ["what should I cook tonight?", "where do I live and work?", "short answers"]


@pytest.fixture
def memory():
    store = InMemoryStore()
    seed(store)
    with MemoryManager(user_id="alice", store=store, llm=FakeLLM(), embedder=HashingEmbedder(),
                       background=False) as manager:
        yield manager


@pytest.mark.parametrize("budget", [60, 150, 400, 1500])
@pytest.mark.parametrize("query", QUERIES)
def test_trace_context_is_recall(memory, query, budget):
    trace = memory.recall_trace(query, token_budget=budget)
    plain = memory.recall(query, token_budget=budget)
    assert trace.prompt == plain.to_prompt()
    assert trace.context == plain


def test_parts_add_up_and_cuts_are_explained(memory):
    trace = memory.recall_trace("what should I cook tonight?", token_budget=150)
    context = trace.context
    scores = {(i.kind, i.id): i.score for i in context.items}
    kinds = {i.kind for i in trace.items}
    assert {"profile", "node", "turn", "standing"} <= kinds
    for item in trace.items:
        if (item.kind, item.id) in scores:
            assert item.chosen
            assert item.parts.total == pytest.approx(scores[item.kind, item.id])
            assert item.parts.time == 0.0
        if not item.chosen:
            assert item.cut, item
    assert any(not i.chosen and "budget" in i.cut for i in trace.items)
    chosen_facts = {i.id for i in trace.items if i.kind == "profile" and i.chosen}
    assert chosen_facts == {i.id for i in context.profile_items}


def test_part_tokens_sum_to_tokens_used(memory):
    for budget in (80, 1500):
        trace = memory.recall_trace("what should I cook tonight?", token_budget=budget)
        parts = trace.part_tokens
        assert list(parts) == ["framing", "standing instructions", "profile", "summaries",
                               "turns"]
        assert sum(parts.values()) == trace.context.tokens_used
        assert parts["profile"] > 0 and parts["standing instructions"] > 0


def test_trace_validates_like_recall(memory):
    from memory_agent.errors import InvalidInputError

    with pytest.raises(InvalidInputError):
        memory.recall_trace("x", token_budget=-1)
    with pytest.raises(InvalidInputError):
        memory.recall_trace("   ")


def test_summary_and_sessions(memory):
    summary = memory.summary()
    assert (summary.sessions, summary.ended_sessions, summary.turns) == (3, 3, 8)
    assert summary.facts == len(memory.profile().facts) and summary.history >= 1
    assert summary.last_activity is not None and summary.pending_jobs == 0
    turns = memory.session_turns("day-1")
    assert [t.index for t in turns] == [1, 2, 3]
    with pytest.raises(UnknownSessionError):
        memory.session_turns("no-such-session")
    states = {o.info.session_id: o.summary_state for o in memory.session_overview()}
    assert states == {"day-1": "summarised", "day-2": "summarised", "day-3": "summarised"}


def test_job_log_keeps_failures_with_their_error():
    def summarise_fails(messages, schema):
        if schema is None:
            msg = "the model ran out of memory"
            raise RuntimeError(msg)
        return "{}"

    store = InMemoryStore()
    with MemoryManager(user_id="bob", store=store, llm=FakeLLM(responder=summarise_fails),
                       embedder=HashingEmbedder(), background=True) as memory:
        memory.record("hello", "hi", session_id="s1")
        memory.end_session("s1")
        failures = memory.flush()
        assert failures
        log = memory.job_log()
        failed = [r for r in log if r.status == "failed"]
        assert failed and "the model ran out of memory" in failed[0].error
        assert failed[0].job.payload["session_id"] == "s1" and failed[0].finished is not None
        assert memory.summary().failed_jobs == 1
        overview = memory.session_overview()[0]
        assert overview.summary_state == "not summarised" and overview.jobs[0].status == "failed"


def test_worker_log_is_bounded_and_ordered():
    from datetime import datetime, timezone

    from memory_agent.core.store import Job

    worker = Worker(lambda job: None)
    jobs = [Job(id=f"j{i}", user_id="u", kind="k", payload={}, created=datetime.now(timezone.utc))
            for i in range(LOG_SIZE + 5)]
    for job in jobs:
        worker.submit(job)
    worker.flush()
    log = worker.log()
    assert len(log) == LOG_SIZE
    assert [r.job.id for r in log] == [j.id for j in jobs[5:]]
    assert {r.status for r in log} == {"done"}
    worker.close()
