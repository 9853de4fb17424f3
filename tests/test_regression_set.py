"""The profile regression set (benchmarks/regression): its files parse, its checks mean what
they say, and the runner plays a conversation through MemoryManager (scripted fake model).

The set itself is run on the real model by ``python -m benchmarks.regression`` and by
tests/test_regression_real.py (real lane)."""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path

import pytest

from benchmarks import regression as rg
from benchmarks.lib.llm_cache import RecordingLLM, ReplayMissError
from benchmarks.regression.__main__ import main, run_conversation
from memory_agent import HashingEmbedder
from memory_agent.backends.llm.fake import FakeLLM
from memory_agent.core.facts import Fact

from .fakes import TaskLLM, scripted_extraction

D = date(2026, 3, 2)


def fact(text: str, slot: str = "", section: str = "About", *, sources: tuple[str, ...] = ("s1#1",),
         evidence: str = "") -> Fact:
    return Fact("f1", section, text, sources, D, inferred=bool(evidence), evidence=evidence,
                slot=slot)


def expectation(**row: object) -> rg.Expectation:
    return rg.parse_expectation({"what": "x", **row}, "test")


def test_every_conversation_file_parses_and_names_unique_ids() -> None:
    conversations = rg.load_conversations()
    ids = [c.id for c in conversations]
    assert len(ids) == len(set(ids)) >= 4
    for c in conversations:
        assert c.sessions and c.expect and c.source
        assert all(u.strip() and a.strip() for s in c.sessions for u, a in s.turns)


def test_keywords_match_at_word_starts_with_alternatives() -> None:
    assert rg.has_keyword("Diet: Vegan", "vegan")
    assert not rg.has_keyword("Diet: nonvegan", "vegan")
    assert rg.has_keyword("Schedule: running 3 times a week", "three times|3 times")
    assert rg.has_keyword("Diet: vegans", "vegan")  # a prefix of a word counts


def test_present_needs_a_selected_fact_meeting_the_conditions() -> None:
    e = expectation(slot="diet", text=["vegan"], not_text=["vegetarian"])
    assert rg.check(e, [fact("Diet: vegan", "diet")], {}).passed
    assert not rg.check(e, [fact("Diet: vegetarian", "diet")], {}).passed
    assert not rg.check(e, [fact("Likes: vegan food", "likes")], {}).passed
    assert rg.check(expectation(section="About", text=["leo"]),
                    [fact("Family: son Leo, 9", "family")], {}).passed


def test_absent_fails_on_any_selected_fact() -> None:
    e = expectation(kind="absent", section="Preferences", text=["chess"])
    assert rg.check(e, [fact("My son Leo plays chess", "said")], {}).passed
    outcome = rg.check(e, [fact("Hobbies: chess", "hobbies", "Preferences")], {})
    assert not outcome.passed and outcome.facts and "chess" in outcome.facts[0]
    assert not rg.check(expectation(kind="absent", slot="hobbies"),
                        [fact("Hobbies: reading", "hobbies", "Preferences")], {}).passed


def test_each_checks_evidence_sources_and_then_text_of_every_selected_fact() -> None:
    messages = {"s1#1": "I don't eat meat, dairy or eggs.",
                "s1#6": "Suggest one dinner for tonight."}
    not_from = expectation(kind="each", slot="diet", not_from=["suggest one dinner"])
    assert rg.check(not_from, [], messages).passed  # nothing to check
    assert rg.check(not_from, [fact("Diet: vegan", "diet")], messages).passed
    confirmed = fact("Diet: vegan", "diet", sources=("s1#1", "s1#6"))
    outcome = rg.check(not_from, [confirmed], messages)
    assert not outcome.passed and "s1#6" in outcome.why
    evidence = expectation(kind="each", slot="diet", evidence=["dairy|egg"])
    assert rg.check(evidence, [fact("Diet: vegan", "diet", evidence='from "no dairy"')], {}).passed
    assert not rg.check(evidence, [fact("Diet: vegan", "diet", evidence='from "I am trying to"')],
                        {}).passed
    assert rg.check(evidence, [fact("Diet: vegan", "diet")], {}).passed  # stated: no quote
    subject = expectation(kind="each", text=["three times"], then_text=["run|train"])
    assert not rg.check(subject, [fact("Schedule: three times a week", "schedule")], {}).passed
    assert rg.check(subject, [fact("Schedule: running three times a week", "schedule")],
                    {}).passed


def test_malformed_expectations_are_refused() -> None:
    with pytest.raises(ValueError, match="unknown keys"):
        rg.parse_expectation({"what": "x", "txt": ["a"]}, "t")
    with pytest.raises(ValueError, match="kind"):
        rg.parse_expectation({"what": "x", "kind": "maybe"}, "t")
    with pytest.raises(ValueError, match="what"):
        rg.parse_expectation({"text": ["a"]}, "t")


def test_known_failures_are_counted_apart() -> None:
    tally = rg.Tally()
    known = expectation(text=["x"], known_failure="the model misses it")
    tally.add([rg.check(known, [], {}, "c"), rg.check(expectation(kind="absent"), [], {}, "c")])
    assert (tally.passed, tally.failed, tally.known, tally.total) == (1, 0, 1, 2)
    assert tally.by_conversation == {"c": (1, 2)}


CONVERSATION = {
    "id": "tiny", "source": "a test",
    "sessions": [{"id": "s1", "at": "2026-03-02T19:00:00+00:00", "turns": [
        ["I moved to Porto in January.", "Welcome!"],
        ["My son Leo is 9 and plays chess.", "Nice."],
        ["Suggest one dinner for tonight.", "Lentil curry."]]}],
    "expect": [
        {"what": "lives in Porto", "slot": "location", "text": ["porto"]},
        {"what": "family fact for Leo", "slot": "family", "text": ["leo"]},
        {"what": "chess is not a hobby", "kind": "absent", "section": "Preferences",
         "text": ["chess"]},
    ],
}


def test_runner_plays_a_conversation_and_checks_it() -> None:
    conversation = rg.parse_conversation(CONVERSATION, "tiny")
    llm = TaskLLM([scripted_extraction({"location": "Porto", "family": "son Leo, 9",
                                        "hobbies": "chess"})])
    facts, messages, markdown = run_conversation(conversation, llm, HashingEmbedder())
    assert "Porto" in markdown and messages["s1#3"] == "Suggest one dinner for tonight."
    outcomes = rg.check_all(conversation, facts, messages)
    assert [o.passed for o in outcomes[:2]] == [True, True]
    # "plays chess" is said of the son: the hobby is rejected before it reaches the profile
    assert outcomes[2].passed, outcomes[2].facts


def test_runner_main_records_replays_and_sets_the_exit_status(tmp_path: Path) -> None:
    folder = tmp_path / "conversations"
    folder.mkdir()
    (folder / "tiny.json").write_text(json.dumps(CONVERSATION))
    cache = tmp_path / "calls.jsonl"
    args = ["--fake-llm", "--conversations", str(folder), "--llm-cache", str(cache), "--quiet",
            "--json", str(tmp_path / "out.json")]
    assert main(args) == 1  # the fake model fills no field: "lives in Porto" fails
    result = json.loads((tmp_path / "out.json").read_text())
    assert result["total"] == 3 and result["failed"] == 2 and result["_run"]["replay"] is False
    recorded = cache.read_text().splitlines()
    assert recorded
    assert main([*args, "--replay"]) == 1  # the same answers, from the recording
    assert cache.read_text().splitlines() == recorded


def test_recording_llm_replays_and_refuses_new_requests_in_replay_only(tmp_path: Path) -> None:
    path = tmp_path / "r.jsonl"
    inner = FakeLLM(["first", "second"])
    llm = RecordingLLM(inner, path)
    messages = [{"role": "user", "content": "hi"}]
    assert llm.complete(messages) == "first"  # type: ignore[arg-type]
    assert llm.complete(messages) == "first"  # type: ignore[arg-type]
    assert (llm.hits, llm.misses, llm.stats.calls) == (1, 1, 1)
    again = RecordingLLM(FakeLLM([]), path, replay_only=True)
    assert again.complete(messages) == "first"  # type: ignore[arg-type]
    with pytest.raises(ReplayMissError):
        again.complete(messages, max_tokens=7)  # type: ignore[arg-type]
