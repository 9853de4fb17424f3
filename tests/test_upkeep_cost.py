"""What the upkeep after a session costs, counted with a fake model: the calls per session
do not grow with the history (the roll-up rule in core/tree.py), and the session's two
prompts share the transcript as their common prefix (a model with a prompt cache evaluates
it once)."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

from memory_agent.core.config import MemoryConfig

from .fakes import TaskLLM

T0 = datetime(2026, 1, 1, 9, tzinfo=timezone.utc)


def test_model_calls_per_session_do_not_grow_with_the_history(make_manager):
    llm = TaskLLM()
    memory = make_manager(llm=llm, config=MemoryConfig(fanout=8, period="month"))
    calls = []
    for s in range(60):
        at = T0 + timedelta(days=4 * s)  # about seven sessions a month
        before = llm.stats.calls
        for i in range(3):
            memory.record(f"Session {s} message {i}: I walked {s + i} km.", "Well done.",
                          session_id=f"s{s}", at=at + timedelta(minutes=i))
        memory.end_session(f"s{s}")
        calls.append(llm.stats.calls - before)
    tree = memory.tree()
    assert tree.verify() == [] and not tree.stale_nodes()
    # two calls for the session (summary, profile form); a roll-up only when a node closes
    assert min(calls) == 2 and max(calls) <= 2 + tree.height - 1
    assert sum(calls[:10]) / 10 <= 2.3 and sum(calls[-10:]) / 10 <= 2.3
    closed_merges = sum(c - 2 for c in calls)
    assert closed_merges == sum(1 for n in tree.nodes if n.level > 1 and len(n.children) > 1
                                and not tree.is_newest(n))


def test_the_summary_and_the_profile_form_share_the_transcript_as_prefix(make_manager):
    llm = TaskLLM()
    memory = make_manager(llm=llm)
    for i in range(6):
        memory.record(f"I am training for the half marathon, run {i}, three times a week.",
                      "Good luck with the training.", session_id="s", at=T0)
    memory.end_session("s")
    (summary, _), (form, schema) = llm.requests[:2]
    assert schema is not None and summary[0] == form[0]  # same system message
    transcript = summary[1]["content"].split("Task:")[0]
    assert form[1]["content"].startswith(transcript) and "Assistant: Good luck" in transcript
    assert "User:" in form[1]["content"].split("Task:", 1)[1]  # the form reads the user's lines
    # counted as a model with a prompt cache counts them: the form re-reads only its task
    assert llm.stats.calls == 2
    assert llm.stats.prefill_tokens < llm.stats.prompt_tokens - len(transcript.split())
