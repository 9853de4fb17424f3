"""The answer-quality harness's pure parts: LoCoMo scoring, question sampling, truncation."""

from __future__ import annotations

from datetime import datetime, timezone

from benchmarks.datasets import QA, Conversation, Message, Session
from benchmarks.eval_answers import (
    NOT_AVAILABLE,
    history_lines,
    latest_that_fit,
    normalize,
    reader_messages,
    sample_questions,
    score,
    token_f1,
)

AT = datetime(2023, 5, 8, 13, 56, tzinfo=timezone.utc)


def conversation(name: str, n_qa: int) -> Conversation:
    messages = [Message("D1:1", "Caroline", "I went to the support group.", AT),
                Message("D1:2", "Melanie", "That is wonderful!", AT)]
    qa = [QA(f"q{i}", "a", ["D1:1"], 4) for i in range(n_qa)]
    return Conversation("locomo", name, [Session("s1", AT, messages)], qa)


def test_normalize_drops_case_punctuation_and_articles() -> None:
    assert normalize("The Cat, and a DOG!") == ["cat", "dog"]


def test_token_f1_partial_and_exact() -> None:
    assert token_f1("7 May 2023", "7 May 2023") == 1.0
    assert token_f1("May 2023", "7 May 2023") == 0.8  # p=1, r=2/3
    assert token_f1("", "anything") == 0.0


def test_adversarial_scores_refusals_only() -> None:
    qa = QA("What did Caroline realize?", "self-care is important", ["D2:3"], 5)
    assert score(qa, NOT_AVAILABLE) == 1.0
    assert score(qa, "No information about that.") == 1.0
    assert score(qa, "self-care is important") == 0.0


def test_multi_hop_takes_best_part_per_gold_item() -> None:
    qa = QA("What are Kate's hobbies?", "Cooking, skiing, hiking", [], 1)
    assert score(qa, "hiking, cooking") == 2 / 3
    assert score(qa, "cooking, skiing, hiking") == 1.0


def test_open_domain_uses_first_alternative() -> None:
    qa = QA("Where?", "Paris; or maybe Lyon", [], 3)
    assert score(qa, "Paris") == 1.0


def test_sample_is_seeded_and_in_conversation_order() -> None:
    convs = [conversation("a", 30), conversation("b", 30)]
    first = sample_questions(convs, 10, seed=0)
    assert first == sample_questions(convs, 10, seed=0)
    assert first != sample_questions(convs, 10, seed=1)
    keys = [(c.id, q) for c, q in first]
    assert keys == sorted(keys) and len(set(keys)) == 10
    assert len(sample_questions(convs, 100, seed=0)) == 60


def test_latest_that_fit_keeps_the_most_recent_lines_within_budget() -> None:
    lines = [f"line {i}" for i in range(10)]
    text = latest_that_fit(lines, budget=9, count=lambda s: 2)  # 3 tokens per line
    assert text == "line 7\nline 8\nline 9"
    assert latest_that_fit(lines, budget=2, count=lambda s: 2) == ""


def test_reader_prompt_names_the_speakers_and_carries_the_context() -> None:
    conv = conversation("a", 1)
    assert history_lines(conv)[0] == "[session on 2023-05-08]"
    system, user = reader_messages(conv, "<memory>x</memory>", "When?")
    assert "between Caroline and Melanie" in system["content"]
    assert system["content"].endswith("<memory>x</memory>")
    assert user["content"].startswith("Question: When?")
