"""The PrefEval harness (benchmarks/eval_prefeval.py): its pure logic, and a whole run on
fakes (in-memory store, hashing embedder, scripted memory model, lexical fake reader)."""

from __future__ import annotations

import itertools
import json
from collections import Counter
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest

from benchmarks import eval_prefeval as ep
from benchmarks.lib.paths import DEFAULT_DATA
from benchmarks.lib.stats import wilson
from memory_agent.backends.embeddings import HashingEmbedder
from memory_agent.backends.llm.fake import FakeLLM
from memory_agent.backends.store.memory import InMemoryStore

from .fakes import TaskLLM

REAL_DATA = DEFAULT_DATA / "prefeval"


def record(rid: str, options: tuple[str, ...] = ("right", "w1", "w2", "w3"),
           preference: str = "I like it.") -> Any:
    topic = rid.split("/")[0]
    reveal = {f: (ep.Exchange(preference, ep.ACK),) for f in ep.FORMS}
    return ep.Record(id=rid, topic=topic, preference=preference, question=f"Q {rid}?",
                     options=options, reveal=reveal)


# -- selection and options --------------------------------------------------------------------


def test_records_are_spread_over_topics_and_seeded() -> None:
    pool = [record(f"t{t}/{i}") for t in range(5) for i in range(4)]
    picked = ep.select_records(pool, 7, seed=0)
    per_topic = Counter(r.topic for r in picked)
    assert len(picked) == 7 and len({r.id for r in picked}) == 7
    assert len(per_topic) == 5 and max(per_topic.values()) - min(per_topic.values()) == 1
    assert [r.id for r in ep.select_records(pool, 7, seed=0)] == [r.id for r in picked]
    assert [r.id for r in ep.select_records(pool, 7, seed=1)] != [r.id for r in picked]
    assert len(ep.select_records(pool, 100, seed=0)) == 20


def test_option_shuffle_is_seeded_and_tracks_the_first_option() -> None:
    letters = []
    for i in range(200):
        rec = record(f"t/{i}", options=("good", "bad1", "bad2", "bad3"))
        options, correct = ep.shuffle_options(rec, 0)
        assert sorted(options) == sorted(rec.options)
        assert options[ep.LETTERS.index(correct)] == "good"
        assert ep.shuffle_options(rec, 0) == (options, correct)
        letters.append(correct)
    counts = Counter(letters)
    assert set(counts) == set("ABCD") and min(counts.values()) >= 25  # about 50 each
    moved = sum(ep.shuffle_options(record(f"t/{i}"), 0) != ep.shuffle_options(record(f"t/{i}"), 1)
                for i in range(50))
    assert moved > 25


def test_question_lists_options_with_letters() -> None:
    text = ep.mcq_text("Where should I eat?", ["Sushi bar", "Steak house", "Diner", "Cafe"])
    assert text.startswith("Where should I eat?\n")
    assert "A. Sushi bar\nB. Steak house\nC. Diner\nD. Cafe" in text
    assert text.endswith("Answer with the letter only.")


# -- answers ----------------------------------------------------------------------------------


@pytest.mark.parametrize(("answer", "letter"), [
    ("B", "B"), (" c ", "C"), ("<choice>D</choice>", "D"), ("**B**", "B"), ("(C)", "C"),
    ("A. Enroll in a course", "A"), ("B) Take the train", "B"), ("The answer is D.", "D"),
    ("I recommend option C because", "C"), ("A good choice here is B.", "B"),
    ("My choice: A", "A"), ("I'd pick option c", "C"), ("D", "D"),
    ("Given your preference, C is best", "C"), ("", None), ("I can't choose.", None),
    ("A lovely question about a cafe", None),
])
def test_parse_choice(answer: str, letter: str | None) -> None:
    assert ep.parse_choice(answer) == letter


def test_parse_choice_by_quoted_option_text() -> None:
    options = ["Take the scenic train", "Rent a car", "Fly there", "Cycle all the way"]
    assert ep.parse_choice("You should rent a car for this trip.", options) == "B"
    assert ep.parse_choice("Rent a car or fly there", options) is None  # two quoted: no pick


def test_wilson_interval() -> None:
    lo, hi = wilson(5, 10)
    assert lo == pytest.approx(0.2366, abs=1e-4) and hi == pytest.approx(0.7634, abs=1e-4)
    assert wilson(0, 10) == (0.0, pytest.approx(0.2775, abs=1e-4))
    lo, hi = wilson(40, 40)
    assert lo == pytest.approx(0.9124, abs=1e-4) and hi == 1.0
    assert wilson(0, 0) == (0.0, 1.0)


def test_cell_counts_accuracy_and_tokens() -> None:
    rows = [{"choice": "A", "correct": "A", "prompt_tokens": 100},
            {"choice": None, "correct": "B", "prompt_tokens": 300},
            {"choice": "C", "correct": "C", "prompt_tokens": 200, "context_tokens": 50}]
    c = ep.cell(rows)
    assert c["accuracy"] == pytest.approx(0.6667, abs=1e-4) and c["n"] == 3
    assert c["prompt_tokens"] == 200.0 and c["unparsed"] == 1 and c["context_tokens"] == 50
    assert c["ci95"] == [round(x, 4) for x in wilson(2, 3)]


# -- histories --------------------------------------------------------------------------------


def test_fit_recent_keeps_the_longest_suffix_that_fits() -> None:
    assert ep.fit_recent([5, 5, 5], 10) == 1
    assert ep.fit_recent([5, 5, 5], 100) == 0
    assert ep.fit_recent([5, 5, 5], 4) == 3
    assert ep.fit_recent([1, 1, 50], 10) == 3  # the latest turn alone does not fit
    assert ep.fit_recent([], 10) == 0


def test_distractor_sessions_are_cut_at_size_and_checkpoints() -> None:
    bounds = ep.chunk_bounds(300, [0, 10, 70, 300], 10)
    assert len(bounds) == 30 and bounds[0] == (0, 10) and bounds[-1] == (290, 300)
    assert ep.chunk_bounds(25, [0, 7, 25], 10) == [(0, 7), (7, 10), (10, 20), (20, 25)]
    assert ep.chunk_bounds(0, [0], 10) == []


def test_plan_history_orders_sessions_and_times() -> None:
    recs = [record("a/0"), record("b/1")]
    distractors = [ep.Exchange(f"u{i}", f"a{i}") for i in range(30)]
    plan = ep.plan_history(recs, "explicit", distractors, [0, 10, 25], 10)
    assert [p.id for p in plan] == ["pref-a-0", "pref-b-1", "distract-0-10", "distract-10-20",
                                    "distract-20-25"]
    assert [p.distractors for p in plan] == [0, 0, 10, 20, 25]
    times = [t for p in plan for t in p.times()]
    assert all(b - a >= timedelta(minutes=2) for a, b in itertools.pairwise(times))
    history = ep.history_at(plan, 10)
    assert [ex.user for ex in history] == ["I like it.", "I like it."] + [f"u{i}" for i in
                                                                          range(10)]
    assert len(ep.history_at(plan, 25)) == 2 + 25
    with pytest.raises(ValueError, match="only 30"):
        ep.plan_history(recs, "explicit", distractors, [0, 300], 10)


def test_ingested_prefix_accepts_only_a_prefix_of_the_plan() -> None:
    ids = ["p1", "p2", "d1", "d2"]
    assert ep.ingested_prefix(ids, {}) == 0
    assert ep.ingested_prefix(ids, {"p1": True, "p2": True}) == 2
    assert ep.ingested_prefix(ids, {"p1": True, "p2": False}) == 1  # p2 resumes mid-session
    with pytest.raises(ValueError, match="another --cache"):
        ep.ingested_prefix(ids, {"p1": True, "other": True})
    with pytest.raises(ValueError, match="not the sessions before"):
        ep.ingested_prefix(ids, {"p1": True, "d1": True})


# -- loading ----------------------------------------------------------------------------------


def _write(path: Path, data: Any) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(data))


KEYWORDS = ["zebras", "violins", "tulips", "kayaks", "lanterns", "marmalade", "origami",
            "saxophones"]
WRONG = ["Buy a blender", "Watch cartoons tonight", "Paint the fence"]


def make_data(root: Path, topics: int = 4, per_topic: int = 2, distractor_turns: int = 30,
              mismatch: bool = False) -> Path:
    """A PrefEval-shaped folder: each record's correct option shares one rare word with its
    preference; distractors share none with any option."""
    k = 0
    for t in range(topics):
        name = f"topic_{t}.json"
        explicit, choice, persona, mcq = [], [], [], []
        for i in range(per_topic):
            word = KEYWORDS[k % len(KEYWORDS)]
            k += 1
            pref = f"I only enjoy things involving {word}."
            base = {"preference": pref, "question": f"What should I do on day {t}-{i}?",
                    "explanation": "x"}
            explicit.append(base)
            choice.append({**base, "conversation": {
                "query": f"Ideas for day {t}-{i}?", "assistant_options": "1. this 2. that",
                "user_selection": f"The one with {word}, always.",
                "assistant_acknowledgment": "Noted."}})
            persona.append({**base, "persona": "someone", "conversation": {
                str(j): {"user": f"Hello {j}" + (f", I adore {word}" if j == 10 else ""),
                         "assistant": f"Hi {j}"} for j in (10, 9, 2)}})
            mcq.append({**base, "classification_task_options": [f"Visit {word}", *WRONG]})
        if mismatch and t == 0:
            mcq[0] = {**mcq[0], "question": "A different question"}
        _write(root / "explicit_preference" / name, explicit)
        _write(root / "implicit_preference" / "choice-based" / name, choice)
        _write(root / "implicit_preference" / "persona-driven" / name, persona)
        _write(root / "mcq_options" / name, mcq)
    filler = " ".join(["quicksort merges partitions recursively"] * 12)
    conversations = [{"conversation": [m for j in range(10) for m in (
        {"role": "user", "content": f"Explain this algorithm: {filler}\x02"},
        {"role": "assistant", "content": f"This algorithm: {filler}"})]}
        for c in range(distractor_turns // 10)]
    _write(root / "filtered_inter_turns.json", conversations)
    return root


def test_load_records_aligns_forms_and_builds_reveals(tmp_path: Path) -> None:
    root = make_data(tmp_path / "prefeval", mismatch=True)
    assert ep.prefeval_dir(tmp_path) == root and ep.prefeval_dir(root) == root
    records = ep.load_records(root)
    assert len(records) == 7  # topic_0/0's question differs in mcq_options: left out
    assert "topic_0/0" not in {r.id for r in records}
    r = next(r for r in records if r.id == "topic_1/1")
    assert r.options[0] == "Visit kayaks" and r.preference.endswith("kayaks.")
    assert r.reveal["explicit"] == (ep.Exchange(r.preference, ep.ACK),)
    assert [ex.user for ex in r.reveal["choice"]] == ["Ideas for day 1-1?",
                                                      "The one with kayaks, always."]
    assert [ex.assistant for ex in r.reveal["persona"]] == ["Hi 2", "Hi 9", "Hi 10"]
    turns = ep.load_distractors(root)
    assert len(turns) == 30 and "\x02" not in turns[0].user
    assert turns[0].assistant.startswith("This algorithm: quicksort")


@pytest.mark.skipif(not REAL_DATA.is_dir(), reason="shared PrefEval dev data not present")
def test_real_dev_data_loads() -> None:
    records = ep.load_records(REAL_DATA)
    assert len(records) == 210 and len({r.topic for r in records}) == 20
    assert all(len(r.reveal["choice"]) == 2 and len(r.reveal["persona"]) >= 4 for r in records)
    assert len(ep.load_distractors(REAL_DATA)) >= 300
    picked = ep.select_records(records, 40, 0)
    assert set(Counter(r.topic for r in picked).values()) == {2}


# -- results ----------------------------------------------------------------------------------


def _cell(acc: float, n: int = 40) -> dict[str, Any]:
    return {"accuracy": acc, "n": n, "ci95": [0.0, 1.0], "prompt_tokens": 10.0}


def test_merge_keeps_other_cells_and_checks_goals() -> None:
    existing = {"memory_agent": {"choice": {"70": _cell(0.5)}},
                "raw_history": {"choice": {"70": _cell(0.1)}},
                "_run": {"command": "old", "date": "d0"}}
    new = {"ceiling": {"explicit": {"0": _cell(0.80)}},
           "memory_agent": {"explicit": {"70": _cell(0.76), "0": _cell(0.9)}},
           "raw_history": {"explicit": {"70": _cell(0.70)}},
           "_run": {"command": "new"}}
    merged = ep.merge_results(existing, new)
    assert merged["memory_agent"]["choice"]["70"]["accuracy"] == 0.5
    assert merged["memory_agent"]["explicit"]["70"]["accuracy"] == 0.76
    assert merged["_run"]["command"] == "new"
    assert merged["_run"]["earlier_runs"][0]["command"] == "old"
    g = merged["_goals"]
    assert set(g) == {"choice", "explicit"} and set(g["explicit"]) == {"70"}
    assert g["explicit"]["70"]["within_5_of_ceiling"] is True  # 76 vs 80
    assert g["explicit"]["70"]["15_above_raw"] is False  # 76 vs 70
    assert g["choice"]["70"]["within_5_of_ceiling"] is False  # 50 vs 80
    assert g["choice"]["70"]["15_above_raw"] is True  # 50 vs 10
    table = ep.render_table(merged)
    assert "| system | form | N = 0 | N = 70 |" in table
    assert "| memory_agent | explicit | 90.0 (0.0-100.0), n=40, 10 tok | 76.0" in table
    assert table.index("| ceiling |") < table.index("| memory_agent |")


def test_per_form_runs_merge_into_one_file(tmp_path: Path) -> None:
    base, a, b = (tmp_path / f for f in ("prefeval.json", "a.json", "b.json"))
    base.write_text(json.dumps({"memory_agent": {"explicit": {"0": _cell(0.4)}},
                                "_run": {"command": "first", "forms": ["explicit"]}}))
    a.write_text(json.dumps({"memory_agent": {"choice": {"70": _cell(0.3)}},
                             "_run": {"command": "second", "forms": ["choice"],
                                      "git_commit": "abc"}}))
    b.write_text(json.dumps({"memory_agent": {"persona": {"70": _cell(0.2)},
                                              "explicit": {"0": _cell(0.5)}},
                             "_run": {"command": "third", "forms": ["persona"]}}))
    ep.main(["--merge", str(a), str(b), "--out", str(base)])
    merged = json.loads(base.read_text())
    assert {f: sorted(c) for f, c in merged["memory_agent"].items()} == {
        "explicit": ["0"], "choice": ["70"], "persona": ["70"]}
    assert merged["memory_agent"]["explicit"]["0"]["accuracy"] == 0.5  # the later run wins
    assert [r["command"] for r in merged["_run"]["earlier_runs"]] == ["first", "second"]
    assert merged["_run"]["earlier_runs"][1]["git_commit"] == "abc"
    page = base.with_suffix(".md").read_text()
    assert page.index("`first`") < page.index("`second`") < page.index("`third`")
    assert "| memory_agent | choice |" in page


# -- a whole run on fakes ---------------------------------------------------------------------


def _bench(tmp_path: Path, store: InMemoryStore, memory_llm: FakeLLM,
           reader: FakeLLM) -> Any:
    root = make_data(tmp_path / "data")
    records = ep.select_records(ep.load_records(root), 8, seed=0)
    settings = ep.Settings(forms=("explicit", "persona"), distractors=(0, 10, 30), budget=300,
                           n_ctx=700, session_size=10)
    return ep.Bench(records=records, distractors=ep.load_distractors(root), settings=settings,
                    store=store, embedder=HashingEmbedder(), memory_llm=memory_llm,
                    reader=reader, workdir=tmp_path / "work", log=lambda line: None)


def test_run_on_fakes_measures_every_cell_and_resumes(tmp_path: Path) -> None:
    store, memory_llm = InMemoryStore(), TaskLLM()
    reader = FakeLLM(responder=ep.lexical_choice)
    bench = _bench(tmp_path, store, memory_llm, reader)
    results = bench.run()
    first_is_a = sum(ep.shuffle_options(r, 0)[1] == "A" for r in bench.records) / 8
    assert results["ceiling"] == {"explicit": {"0": results["ceiling"]["explicit"]["0"]}}
    assert results["ceiling"]["explicit"]["0"]["accuracy"] == 1.0
    for form in ("explicit", "persona"):
        assert set(results["no_memory"][form]) == {"0", "10", "30"}
        assert results["no_memory"][form]["30"]["accuracy"] == pytest.approx(first_is_a, abs=1e-4)
        for n in ("0", "10", "30"):
            for system in ("raw_history", "memory_agent"):
                c = results[system][form][n]
                assert c["n"] == 8 and isinstance(c["prompt_tokens"], float)
        # raw history: every reveal fits at N = 0; distractors push them all out by N = 30
        assert results["raw_history"][form]["0"]["accuracy"] == 1.0
        assert results["raw_history"][form]["30"]["accuracy"] == pytest.approx(first_is_a,
                                                                              abs=1e-4)
        assert results["memory_agent"][form]["30"]["accuracy"] == 1.0
    raw_rows = [r for (s, _, _), rows in bench.rows.items() if s == "raw_history" for r in rows]
    assert max(r["prompt_tokens"] for r in raw_rows) <= 700 - ep.ANSWER_TOKENS
    sessions = store.list_sessions("prefeval-explicit")
    assert [s.session_id for s in sessions][-3:] == ["distract-0-10", "distract-10-20",
                                                     "distract-20-30"]
    assert all(s.ended for s in sessions) and sum(s.n_turns for s in sessions) == 8 + 30
    assert results["_run"]["correct_letters"] == dict(sorted(Counter(
        ep.shuffle_options(r, 0)[1] for r in bench.records).items()))

    reader_calls, memory_calls = reader.stats.calls, memory_llm.stats.calls
    again = _bench(tmp_path, store, memory_llm, reader).run()  # same store and cache
    assert reader.stats.calls == reader_calls and memory_llm.stats.calls == memory_calls
    for system in ("ceiling", "no_memory", "raw_history", "memory_agent"):
        assert again[system] == results[system]
