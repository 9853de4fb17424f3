"""Relative times resolved against when they were said; questions about time (core/timeref)."""

from __future__ import annotations

from datetime import datetime, timezone

import pytest

from memory_agent.core.retrieval import turn_item
from memory_agent.core.timeref import annotation, named_period, resolve
from memory_agent.core.types import Turn

MONDAY = datetime(2023, 5, 8, 14, 0, tzinfo=timezone.utc)


@pytest.mark.parametrize(("text", "names"), [
    ("I went to the support group yesterday.", "Sunday 7 May 2023"),
    ("Last night was fun", "Sunday 7 May 2023"),
    ("We fly tomorrow", "Tuesday 9 May 2023"),
    ("tonight I cook", "Monday 8 May 2023"),
    ("3 days ago", "Friday 5 May 2023"),
    ("two weeks ago", "the week of Monday 24 April 2023"),
    ("a couple of months ago", "March 2023"),
    ("five years ago", "2018"),
    ("last week", "the week of Monday 1 May 2023"),
    ("next week", "the week of Monday 15 May 2023"),
    ("last month", "April 2023"),
    ("next month", "June 2023"),
    ("last year", "2022"),
    ("last weekend", "the weekend of Saturday 6 May 2023"),
    ("next weekend", "the weekend of Saturday 13 May 2023"),
    ("last Friday", "Friday 5 May 2023"),
    ("last Monday", "Monday 1 May 2023"),  # said on a Monday: the one before
    ("next Monday", "Monday 15 May 2023"),
])
def test_phrases_name_the_day_or_span(text: str, names: str) -> None:
    (ref,) = resolve(text, MONDAY)
    assert ref.names == names


def test_month_arithmetic_crosses_years_and_short_months() -> None:
    at = datetime(2024, 3, 31, tzinfo=timezone.utc)
    assert resolve("a month ago", at)[0].names == "February 2024"
    assert resolve("4 months ago", at)[0].names == "November 2023"


def test_annotation_lists_each_phrase_once_in_order_and_nothing_without_one() -> None:
    text = "Yesterday was long; last week too. Yesterday!"
    assert annotation(text, MONDAY) == ("(Yesterday = Sunday 7 May 2023; "
                                        "last week = the week of Monday 1 May 2023)")
    assert annotation("I like tea", MONDAY) == ""


def test_a_turn_keeps_its_text_verbatim_and_adds_the_dates_after_it() -> None:
    turn = Turn("ann", "s1", 1, "I ran a 5k yesterday!", "Well done.", MONDAY)
    item = turn_item(turn, 1.0, max_tokens=200, count=lambda t: len(t.split()),
                     truncate=lambda t, n: " ".join(t.split()[:n]))
    assert "I ran a 5k yesterday!" in item.text
    assert item.text.endswith("(yesterday = Sunday 7 May 2023)")


def test_named_periods() -> None:
    start, end = named_period("What did she paint in May 2023?") or (None, None)
    assert (start, end) == (datetime(2023, 5, 1, tzinfo=timezone.utc),
                            datetime(2023, 5, 31, 23, 59, 59, tzinfo=timezone.utc))
    assert named_period("Where did we go in 2022?") is not None
    assert named_period("What is my name?") is None


def test_a_long_turn_is_cut_to_the_sentences_that_match_the_query() -> None:
    filler = " ".join(f"Sentence {i} is about nothing much." for i in range(30))
    turn = Turn("ann", "s1", 1, f"{filler} My sister Ana lives in Porto. {filler}", "Nice.",
                MONDAY)
    item = turn_item(turn, 1.0, max_tokens=40, count=lambda t: len(t.split()),
                     truncate=lambda t, n: " ".join(t.split()[:n]), query="Where does Ana live?")
    assert "My sister Ana lives in Porto." in item.text
    assert item.text.count("…") >= 2 and len(item.text.split()) <= 40
    assert item.text.endswith("| The assistant replied (not a fact about the user): Nice.")
    short = Turn("ann", "s1", 2, "Ana lives in Porto.", "Nice.", MONDAY)
    assert "…" not in turn_item(short, 1.0, max_tokens=40, count=lambda t: len(t.split()),
                                truncate=lambda t, n: t, query="Ana").text


def test_questions_about_time_are_recognised() -> None:
    from memory_agent.core.timeref import time_question

    first = time_question("When did Melanie first go camping?")
    assert first.asks_time and first.order == "first" and first.period is None
    assert time_question("What was her latest trip?").order == "last"
    # "last week" names a period, not the last of several times
    assert time_question("What did she do last week?").order is None
    assert time_question("How often does he run?").asks_time
    assert time_question("How long has she had her dog?").asks_time
    assert time_question("Where does she live?") == time_question("What is her job?")
    assert not time_question("Where does she live?").asks_time
    assert time_question("What did she paint in May 2023?").period is not None


def test_texts_that_say_a_time_are_recognised() -> None:
    from memory_agent.core.timeref import mentions_time

    for text in ("I ran a charity race last Sunday", "We have been friends for 4 years",
                 "I go twice a week", "That was in 2022", "yesterday was great",
                 "It opens on the 5th"):
        assert mentions_time(text), text
    for text in ("I love painting", "My sister lives in Lyon", "I have two kids"):
        assert not mentions_time(text), text


def test_the_first_or_the_last_time_ranks_candidates_by_their_place_in_time() -> None:
    from memory_agent.core.timeref import TimeQuestion
    from memory_agent.engine.search import _order_terms

    dates = {"a": datetime(2023, 5, 1, tzinfo=timezone.utc),
             "b": datetime(2023, 7, 1, tzinfo=timezone.utc),
             "c": datetime(2023, 6, 1, tzinfo=timezone.utc)}
    assert _order_terms(TimeQuestion(True, "first"), 0.01, dates) == {
        "a": 0.01, "c": 0.005, "b": 0.0}
    assert _order_terms(TimeQuestion(True, "last"), 0.01, dates)["b"] == 0.01
    assert _order_terms(TimeQuestion(True, None), 0.01, dates) == {}
    assert _order_terms(TimeQuestion(True, "first"), 0.0, dates) == {}
