"""The MSC persona-extraction harness: parsing, speaker assignment, matching, calibration.

No model: the pure functions of benchmarks/eval_msc.py, and one episode ingested through the
real MemoryManager with a scripted fake model.
"""

from __future__ import annotations

import json
from datetime import timedelta
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from benchmarks import eval_msc as msc
from memory_agent import HashingEmbedder, InMemoryStore, MemoryManager

from .fakes import TaskLLM, scripted_extraction


def _record() -> dict[str, Any]:
    return {
        "metadata": {"initial_data_id": "valid_7", "session_id": 2},
        "previous_dialogs": [
            {"time_back": "6 days 3 hours ago",
             "dialog": [{"text": "Hi, I walk my dog every day."}, {"text": "I teach math."},
                        {"text": "Nice."}, {"text": "Do you like dogs?"}],
             "personas": [["I have a dog. I walk it daily."], ["I am a math teacher."]]},
            {"time_back": " 3 hours ago",
             "dialog": [{"text": "My dog is sick."}, {"text": "Oh no."}],
             "personas": [["My dog is sick.", "I have a dog."], []]},
        ],
        "dialog": [{"id": "Speaker 1", "text": "I took my dog to Dr. Smith."},
                   {"id": "Speaker 2", "text": "How is he?"},
                   {"id": "Speaker 1", "text": "Better, thanks."}],
    }


def _summary() -> dict[str, Any]:
    return {"initial_data_id": "valid_7", "dialog": [
        {"id": "bot_0", "persona_text": "Smith. I took my dog to Dr.",
         "problem_data": {"persona": "I took my dog to Dr. Smith."}},
        {"id": "bot_1"},
        {"id": "bot_0", "persona_text": "My dog is better."},
    ]}


def test_split_sentences_keeps_titles_and_drops_empty_pieces() -> None:
    assert msc.split_sentences("I like to read. I've read 20 books this year!") == [
        "I like to read.", "I've read 20 books this year!"]
    assert msc.split_sentences("I like Dr. Seuss. i live in St. Louis.") == [
        "I like Dr. Seuss.", "i live in St. Louis."]
    assert msc.split_sentences(" . ") == []


def test_gold_sentences_drop_exact_repeats_only() -> None:
    gold = msc.gold_sentences(["I have a dog. I like cats.", "i have a dog", "I have two dogs."])
    assert gold == ("I have a dog.", "I like cats.", "I have two dogs.")


def test_parse_time_back() -> None:
    assert msc.parse_time_back("6 days 3 hours ago") == timedelta(days=6, hours=3)
    assert msc.parse_time_back(" 1 hour ago") == timedelta(hours=1)
    with pytest.raises(ValueError):
        msc.parse_time_back("recently")


def test_parse_episode_sessions_dates_and_gold_per_speaker() -> None:
    episode = msc.parse_episode(_record(), _summary())
    assert [s.id for s in episode.sessions] == ["s1", "s2", "s3"]
    now = msc.CURRENT_SESSION_AT
    assert [s.at for s in episode.sessions] == [
        now - timedelta(days=6, hours=3), now - timedelta(hours=3), now]
    assert episode.sessions[2].utterances[0] == "I took my dog to Dr. Smith."
    # Speaker 1: previous personas[0] of each session + bot_0 summaries of the current dialog
    # (problem_data preferred over the scrambled persona_text), repeats removed
    assert episode.gold[0] == ("I have a dog.", "I walk it daily.", "My dog is sick.",
                               "I took my dog to Dr. Smith.", "My dog is better.")
    assert episode.gold[1] == ("I am a math teacher.",)


def test_parse_episode_refuses_a_mismatched_summary() -> None:
    other = {**_summary(), "initial_data_id": "valid_8"}
    with pytest.raises(ValueError, match="valid_8"):
        msc.parse_episode(_record(), other)
    short = {**_summary(), "dialog": _summary()["dialog"][:2]}
    with pytest.raises(ValueError, match="another dialog"):
        msc.parse_episode(_record(), short)


def test_load_episodes_reads_the_data_dir_layout(tmp_path: Path) -> None:
    for folder, row in (("msc_dialogue", _record()), ("msc_personasummary", _summary())):
        path = tmp_path / "msc" / folder / "session_3" / "test.txt"
        path.parent.mkdir(parents=True)
        path.write_text(json.dumps(row) + "\n")
    (episode,) = msc.load_episodes(tmp_path, session=3, split="test")
    assert episode.id == "valid_7"
    with pytest.raises(SystemExit, match="not found"):
        msc.load_episodes(tmp_path, session=2, split="test")


def test_exchanges_pair_each_user_line_with_the_next_reply() -> None:
    lines = ["a0", "b0", "a1", "b1", "a2"]
    assert msc.exchanges(lines, 0) == [("a0", "b0"), ("a1", "b1"), ("a2", msc.NO_REPLY)]
    # Speaker 2 as the user: the other speaker's opening line is not recorded
    assert msc.exchanges(lines, 1) == [("b0", "a1"), ("b1", "a2")]


def test_selection_is_seeded_and_skip_ranges_are_disjoint() -> None:
    first = msc.select(500, 30, seed=0)
    assert first == msc.select(500, 30, seed=0)
    assert first != msc.select(500, 30, seed=1)
    assert not set(first) & set(msc.select(500, 10, seed=0, skip=30))
    assert len(set(first)) == 30


def test_speaker_choice() -> None:
    assert msc.speaker_for("valid_1", seed=0, choice="1") == 0
    assert msc.speaker_for("valid_1", seed=0, choice="2") == 1
    picks = {msc.speaker_for(f"valid_{i}", seed=0) for i in range(20)}
    assert picks == {0, 1}
    assert msc.speaker_for("valid_3", seed=0) == msc.speaker_for("valid_3", seed=0)


def test_score_counts_recall_over_gold_and_precision_over_facts() -> None:
    similarity = np.array([[0.95, 0.10, 0.91],   # fact 0 matches gold 0 and gold 2
                           [0.20, 0.30, 0.10],   # fact 1 matches nothing
                           [0.90, 0.10, 0.10]])  # fact 2 matches gold 0 (at the threshold)
    s = msc.score(similarity, 0.90)
    assert (s.n_facts, s.n_gold, s.recalled, s.precise) == (3, 3, 2, 2)
    assert s.recall == pytest.approx(2 / 3)
    assert s.precision == pytest.approx(2 / 3)
    assert msc.score(similarity, 0.99).recalled == 0


def test_empty_sides_score_zero() -> None:
    none = msc.score(np.zeros((0, 4)), 0.9)
    assert (none.n_gold, none.recall, none.precision) == (4, 0.0, 0.0)
    total = msc.Score()
    total += msc.score(np.zeros((2, 0)), 0.9)
    total += msc.score(np.array([[0.95]]), 0.9)
    assert (total.n_facts, total.n_gold, total.precise, total.recalled) == (3, 1, 1, 1)


def test_similarity_matrix_is_cosine_of_document_vectors() -> None:
    embedder = HashingEmbedder()
    sim = msc.similarity_matrix(embedder, ["Pets: a dog", "Work: teacher"],
                                ["I have a dog.", "I am a math teacher.", "Pets: a dog"])
    assert sim.shape == (2, 3)
    assert sim[0, 2] == pytest.approx(1.0, abs=1e-5)
    assert sim[0, 0] > sim[0, 1]
    assert msc.similarity_matrix(embedder, [], ["x"]).shape == (0, 1)


def test_a_listed_value_is_also_compared_item_by_item() -> None:
    assert msc.fact_views("Likes: papaya, apple crumble") == [
        "Likes: papaya, apple crumble", "Likes: papaya", "Likes: apple crumble"]
    assert msc.fact_views("Work: teacher") == ["Work: teacher"]
    assert msc.fact_views("no label, two parts") == ["no label, two parts"]
    sim = msc.similarity_matrix(HashingEmbedder(), ["Likes: papaya, apple crumble, scarves"],
                                ["Likes: apple crumble"])
    assert sim[0, 0] == pytest.approx(1.0, abs=1e-5)  # the best view counts


def test_nearest_pairs_cover_both_directions_once() -> None:
    similarity = np.array([[0.9, 0.2], [0.8, 0.1]])
    pairs = msc.nearest_pairs(["f0", "f1"], ["g0", "g1"], similarity)
    assert {(p["fact"], p["gold"]) for p in pairs} == {("f0", "g0"), ("f1", "g0"), ("f0", "g1")}


def test_persona_facts_skip_standing_instructions(make_manager: Any) -> None:
    memory = make_manager(llm=TaskLLM([scripted_extraction(
        {"pets": "a dog", "standing_instruction": "answer in French"})]))
    memory.record("I have a dog. Always answer in French please.", "Sure.", session_id="s1")
    memory.end_session("s1")
    assert msc.persona_facts(memory.profile()) == ["Pets: a dog"]


def test_calibrate_finds_the_separating_threshold() -> None:
    scores = [0.95, 0.93, 0.91, 0.87, 0.85, 0.80]
    labels = [1, 1, 1, 0, 0, 0]
    best = msc.calibrate(scores, labels)
    assert 0.87 < best.threshold < 0.91
    assert (best.agreement, best.precision, best.recall) == (1.0, 1.0, 1.0)
    assert (best.n, best.n_positive) == (6, 3)


def test_calibrate_with_noise_takes_the_middle_of_tied_thresholds() -> None:
    scores = [0.95, 0.90, 0.86, 0.84, 0.82, 0.70]
    labels = [1, 0, 1, 0, 0, 0]
    best = msc.calibrate(scores, labels)
    # 0.85 (5/6: one false match) and 0.925 (5/6: one missed match) tie; of an even number
    # of tied candidates the upper middle one is taken
    assert best.agreement == pytest.approx(5 / 6)
    assert best.threshold == 0.925
    loose = msc.rule_agreement(scores, labels, 0.0)
    assert (loose.agreement, loose.precision, loose.recall) == (pytest.approx(2 / 6),
                                                                pytest.approx(2 / 6), 1.0)
    with pytest.raises(ValueError):
        msc.calibrate([], [])


def test_committed_labels_are_well_formed_and_support_the_threshold() -> None:
    rows = msc.load_labels(msc.LABELS)
    assert len(rows) >= 80
    assert {r["label"] for r in rows} == {0, 1}
    scores = [float(r["similarity"]) for r in rows]
    labels = [int(r["label"]) for r in rows]
    best = msc.calibrate(scores, labels)
    # the constant is the calibrated threshold (similarities stored with the labels)
    assert abs(best.threshold - msc.THRESHOLD) <= 0.002


def test_load_labels_rejects_unlabelled_rows(tmp_path: Path) -> None:
    path = tmp_path / "labels.jsonl"
    path.write_text(json.dumps({"fact": "Pets: dog", "gold": "I have a dog.", "label": 2}) + "\n")
    with pytest.raises(ValueError, match="label"):
        msc.load_labels(path)


def test_cost_summary_and_merge_keep_other_models() -> None:
    sessions = [{"seconds": 10.0, "model_seconds": 9.0, "model_calls": 3, "prompt_tokens": 100,
                 "completion_tokens": 50, "turns": 6},
                {"seconds": 30.0, "model_seconds": 27.0, "model_calls": 5, "prompt_tokens": 300,
                 "completion_tokens": 70, "turns": 8}]
    cost = msc.cost_summary(sessions)
    assert cost["model_calls"] == 4.0
    assert cost["seconds"] == 20.0
    assert cost["prompt_tokens"] == 200.0
    assert msc.cost_summary([]) == {"sessions_measured": 0}

    def entry(model: str, recall: float) -> dict[str, Any]:
        return {"model": model, "recall": recall, "precision": 0.5, "n": 10, "n_episodes": 2,
                "n_gold": 10, "n_facts": 4, "threshold": 0.9, "cost": cost,
                "_run": {"command": model}}

    small = msc.merge_results({}, "qwen2.5-0.5b", entry("qwen2.5-0.5b", 0.2))
    assert small["recall"] == 0.2  # the only model so far
    both = msc.merge_results(small, "default", entry("default", 0.7))
    assert (both["recall"], both["model"]) == (0.7, "default")
    assert set(both["cost"]) == {"qwen2.5-0.5b", "default"}
    again = msc.merge_results(both, "qwen2.5-0.5b", entry("qwen2.5-0.5b", 0.3))
    assert again["recall"] == 0.7  # a 0.5B run does not replace the default model's figures
    assert again["by_model"]["qwen2.5-0.5b"]["recall"] == 0.3
    table = msc.markdown_table(again)
    assert "| default | 2 | 10 | 4 | 0.70 | 0.50 | 4.0 |" in table
    assert table.count("\n") == 4


def test_ingest_episode_records_each_session_and_resumes() -> None:
    episode = msc.parse_episode(_record(), _summary())
    llm = TaskLLM([scripted_extraction({"pets": "a dog"})])
    store = InMemoryStore()
    memory = MemoryManager(user_id="u1", store=store, llm=llm, embedder=HashingEmbedder(),
                           background=False)
    seen: list[tuple[str, int]] = []
    msc.ingest_episode(memory, episode, 0, llm, lambda sid, c: seen.append((sid, c.turns)))
    assert seen == [("s1", 2), ("s2", 1), ("s3", 2)]
    turns = store.get_turns("u1", session_id="s3")
    assert [t.user_message for t in turns] == ["I took my dog to Dr. Smith.", "Better, thanks."]
    assert turns[-1].assistant_message == msc.NO_REPLY
    assert msc.persona_facts(memory.profile()) == ["Pets: a dog"]
    seen.clear()
    msc.ingest_episode(memory, episode, 0, llm, lambda sid, c: seen.append((sid, c.turns)))
    assert seen == []  # every session ended already
    memory.close()
