"""The benchmarks' shared library (benchmarks/lib): answers cache, prompt hash and tokens,
statistics, cache folder names, result files and the recorded command."""

from __future__ import annotations

import json
import sys
from datetime import datetime, timezone
from pathlib import Path

import pytest

from benchmarks.lib.answers import AnswerCache, prompt_sha, prompt_tokens
from benchmarks.lib.ingesting import Usage, record_session, session_stats
from benchmarks.lib.machine import describe, invocation
from benchmarks.lib.models import make_llm
from benchmarks.lib.paths import cache_dir
from benchmarks.lib.results import read_json, write_json
from benchmarks.lib.stats import percentile
from memory_agent.backends.llm.fake import FakeLLM
from memory_agent.core.types import Message

MESSAGES = [Message(role="system", content="Be brief."), Message(role="user", content="Hi")]


class TemplateLLM(FakeLLM):
    """A fake that counts its prompt with a chat template, as llama.cpp does."""

    name = "template-fake"

    def count_prompt_tokens(self, messages: list[Message]) -> int:
        return 1000 + len(messages)


def test_prompt_tokens_uses_the_template_count_or_estimates_with_an_overhead() -> None:
    fake = FakeLLM()
    content = sum(fake.count_tokens(m["content"]) for m in MESSAGES)
    assert prompt_tokens(fake, MESSAGES) == content
    assert prompt_tokens(fake, MESSAGES, overhead=6) == content + 12
    assert prompt_tokens(TemplateLLM(), MESSAGES, overhead=6) == 1002


def test_prompt_sha_depends_on_reader_and_every_message() -> None:
    sha = prompt_sha(FakeLLM(), MESSAGES)
    assert len(sha) == 24 and sha == prompt_sha(FakeLLM(), list(MESSAGES))
    assert sha != prompt_sha(FakeLLM(), [*MESSAGES[:1], Message(role="user", content="Ho")])
    assert sha != prompt_sha(TemplateLLM(), MESSAGES)


def test_answer_cache_appends_and_reloads(tmp_path: Path) -> None:
    path = tmp_path / "sub" / "answers.jsonl"

    def question(row: dict[str, object]) -> object:
        return row["q"]

    cache = AnswerCache(path, key=lambda row: (row["q"], row["sha"]), question=question)
    cache.put({"q": "a", "sha": "1", "answer": "x"})
    cache.put({"q": "a", "sha": "2", "answer": "y"})
    cache.put({"q": "b", "sha": "1", "answer": "z"})
    again = AnswerCache(path, key=lambda row: (row["q"], row["sha"]), question=question)
    assert again.get(("a", "1")) == {"q": "a", "sha": "1", "answer": "x"}
    assert again.get(("a", "3")) is None
    latest = again.latest("a")
    assert latest is not None and latest["answer"] == "y"
    assert len(path.read_text().splitlines()) == 3


def test_percentile_and_cache_dir() -> None:
    assert percentile([5.0, 1.0, 3.0, 2.0, 4.0], 0.5) == 3.0
    assert percentile([1.0, 2.0], 1.0) == 2.0
    assert percentile([7.0], 0.95) == 7.0
    assert cache_dir(Path("c"), "prefeval", "qwen 2.5/1.5b") == Path("c/prefeval-qwen_2.5_1.5b")


def test_result_files_round_trip(tmp_path: Path) -> None:
    out = tmp_path / "deep" / "r.json"
    assert read_json(out) == {}
    write_json(out, {"a": [1, 2]}, indent=2)
    assert out.read_text().endswith("}\n") and read_json(out) == {"a": [1, 2]}


def test_describe_records_the_command(monkeypatch: pytest.MonkeyPatch) -> None:
    assert describe(["python", "-m", "benchmarks.x", "--a b"])["command"] == (
        "python -m benchmarks.x '--a b'")
    assert {"date", "git_commit", "machine", "packages"} <= set(describe())
    monkeypatch.setattr(sys, "argv", ["/r/benchmarks/eval_msc.py", "--fake-llm"])
    assert invocation()[-1] == "--fake-llm"


def test_make_llm_fake_and_session_recording(make_manager) -> None:
    llm = make_llm(fake=True)
    assert isinstance(llm, FakeLLM)
    memory = make_manager(llm=llm)
    at = datetime(2024, 1, 1, tzinfo=timezone.utc)
    exchanges = [("I keep bees.", "Nice.", at), ("Honey is great.", "Yes.", at)]
    seconds, used = record_session(memory, llm, "s1", exchanges)
    assert seconds >= 0 and used.calls == llm.stats.calls > 0
    assert [t.index for t in memory.store.get_turns("alice", session_id="s1")] == [1, 2]
    row = session_stats(seconds, used, 2)
    assert json.loads(json.dumps(row)) == row and row["turns"] == 2
    assert row["prefill_tokens"] == used.prefill_tokens <= used.prompt_tokens  # the fake caches
    assert {"model_seconds", "model_calls", "completion_tokens"} <= set(row)
    assert Usage.of(llm).since(Usage.of(llm)) == Usage(0, 0, 0, 0.0)


def test_ingest_cost_summary_reports_model_figures_only_where_rows_have_them() -> None:
    from benchmarks.ingest import cost_summary

    old = {"seconds": 60.0, "model_calls": 4, "prompt_tokens": 2600, "completion_tokens": 500,
           "turns": 10}
    new = {**old, "seconds": 30.0, "model_seconds": 25.0, "prefill_tokens": 1800}
    summary = cost_summary({"sessions": {"u/s1": old, "u/s2": new}}, "locomo", "default")
    per = summary["per_session"]
    assert per["seconds"]["mean"] == 45.0 and per["seconds"]["sessions_with"] == 2
    assert per["model_seconds"] == {"mean": 25.0, "median": 25.0, "sessions_with": 1}
    assert per["prefill_tokens"]["mean"] == 1800
