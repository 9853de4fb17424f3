"""Profile document: parse/render round-trip, person edits, supersession, budget."""

from __future__ import annotations

from datetime import date

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from memory_agent.core.profile import (
    SECTIONS,
    Fact,
    ProfileDocument,
    ProfileEdit,
    apply_edits,
    diff_documents,
    fit_budget,
    parse_profile,
)
from memory_agent.errors import ProfileError, ProfileParseError

DAY = date(2026, 5, 1)


def words_count(text: str) -> int:
    return len(text.split())


def sample() -> ProfileDocument:
    return ProfileDocument(facts=(
        Fact("f1", "About", "Lives in Lyon", ("day-1#2",), DAY, slot="location"),
        Fact("f2", "Preferences", "Diet: vegetarian", ("day-1#3", "day-1#5", "day-2#1"), DAY,
             inferred=True, evidence='from "meat-free lasagna"', confidence=2, slot="diet"),
        Fact("f3", "Standing instructions", "Always: answer in metric units", ("day-2#4",), DAY),
        Fact("f4", "Goals", "Run a marathon in October", ("edit",), DAY, supersedes=("f6",)),
    ))


def test_render_parse_round_trip_is_exact():
    doc = sample()
    text = doc.render()
    assert "## Preferences" in text and "{#f2 slot=diet src=day-1#3+5,day-2#1" in text
    assert "_(inferred: from \"meat-free lasagna\")_" in text
    again = parse_profile(text)
    assert again == doc
    assert again.render() == text


def test_sections_render_in_canonical_order():
    text = sample().render()
    positions = [text.index(f"## {s}") for s in SECTIONS if f"## {s}" in text]
    assert positions == sorted(positions)


def test_new_bullet_gets_fresh_id_and_edit_source():
    text = sample().render() + "\n## Goals\n- Learn Italian\n"
    doc = parse_profile(text, today=date(2026, 6, 1), reserved=["f9"])
    new = next(f for f in doc.facts if f.text == "Learn Italian")
    assert new.id == "f10"  # after existing ids and the reserved history id f9
    assert new.sources == ("edit",) and new.learned == date(2026, 6, 1)


@pytest.mark.parametrize(
    ("bad", "needle"),
    [
        ("## Hobbies\n- chess\n", "unknown section"),
        ("- orphan fact\n", "under a '## Section'"),
        ("## About\nsome prose here\n", "expected a '## Section'"),
        ("## About\n- Lives in Lyon {#f1 src=day-1#2}\n", "lacks learned="),
        ("## About\n- Lives in Lyon {#f1 src=day 1#2 learned=2026-05-01}\n",
         "unknown marker field"),
        ("## About\n- Lives in Lyon {#f1 src=d1#2 learned=2026-13-01}\n", "bad date"),
        ("## About\n- A {#f1 src=d1#2 learned=2026-05-01}\n- B {#f1 src=d1#3 learned=2026-05-01}\n",
         "appears twice"),
        ("## About\n- {#f1 src=d1#2 learned=2026-05-01}\n", "no text"),
        ("## About\n- Lives in {Lyon\n", "cannot contain"),
        ("## About\n- x {#f1 src=d1#0 learned=2026-05-01}\n", "bad source"),
    ],
)
def test_unparseable_edits_name_the_line(bad: str, needle: str):
    with pytest.raises(ProfileParseError) as info:
        parse_profile("# Profile\n" + bad)
    assert needle in str(info.value)
    assert info.value.line_number >= 2
    assert str(info.value).startswith(f"line {info.value.line_number}:")


def test_supersede_keeps_old_fact_in_retired_and_links_it():
    doc = sample()
    result = apply_edits(doc, [ProfileEdit(op="supersede", fact_id="f1", text="Lives in Paris",
                                           sources=["day-3#1"], slot="location")], today=DAY)
    new = result.document
    assert [f.text for f in new.section("About")] == ["Lives in Paris"]
    paris = new.section("About")[0]
    assert paris.supersedes == ("f1",) and paris.id == "f7"  # after f6, which f4 superseded
    assert [r.fact.text for r in result.retired] == ["Lives in Lyon"]
    assert "superseded by f7" in result.retired[0].reason


def test_confirm_raises_confidence_and_merges_sources():
    result = apply_edits(sample(), [ProfileEdit(op="confirm", fact_id="f2", sources=["day-4#2"])],
                         today=DAY)
    f2 = result.document.get("f2")
    assert f2 is not None and f2.confidence == 3 and f2.sources[-1] == "day-4#2"
    assert not result.retired


def test_remove_and_update_go_to_retired():
    result = apply_edits(sample(), [
        ProfileEdit(op="remove", fact_id="f4"),
        ProfileEdit(op="update", fact_id="f1", text="Lives in Lyon, France"),
    ], today=DAY)
    assert {r.fact.id for r in result.retired} == {"f4", "f1"}
    assert result.document.get("f4") is None
    assert result.document.get("f1").text == "Lives in Lyon, France"  # type: ignore[union-attr]


def test_edit_on_unknown_fact_is_an_error():
    with pytest.raises(ProfileError, match="no fact 'f99'"):
        apply_edits(sample(), [ProfileEdit(op="remove", fact_id="f99")], today=DAY)


def test_new_ids_never_reuse_retired_ones():
    result = apply_edits(sample(), [
        ProfileEdit(op="remove", fact_id="f4"),
        ProfileEdit(op="add", section="Goals", text="Swim", sources=["day-5#1"]),
    ], today=DAY, reserved=["f7"])
    assert result.added == ["f8"]


def test_edit_schema_rejects_bad_values():
    with pytest.raises(ValueError):
        ProfileEdit(op="add", section="Hobbies", text="x")  # type: ignore[arg-type]
    with pytest.raises(ValueError):
        ProfileEdit(op="add", section="About", text="x", sources=["not a turn"])
    with pytest.raises(ValueError):
        ProfileEdit(op="explode")  # type: ignore[arg-type]
    edit = ProfileEdit(op="add", section="About", text="likes {braces}\nand lines")
    assert edit.text == "likes (braces) and lines"


def test_diff_documents_reports_deleted_and_changed_facts():
    old = sample()
    marathon = "- Run a marathon in October {#f4 src=edit learned=2026-05-01 was=f6}\n"
    edited = parse_profile(old.render().replace("Lives in Lyon", "Lives in Lyon centre")
                           .replace(marathon, ""))
    retired = diff_documents(old, edited)
    assert {(r.fact.id, r.reason) for r in retired} == {
        ("f1", "changed by a person's edit"), ("f4", "removed by a person's edit")}


def test_fit_budget_drops_least_supported_first_and_never_exceeds():
    facts = [Fact(f"f{i}", "About", f"fact number {i} " + "word " * 5, (f"s#{i}",), DAY,
                  confidence=1 + (i % 3)) for i in range(1, 30)]
    facts.append(Fact("f99", "Standing instructions", "Always: be brief", ("s#1",), DAY))
    doc = ProfileDocument(tuple(facts))
    budget = words_count(doc.render()) // 2
    fitted, dropped = fit_budget(doc, budget, words_count)
    assert words_count(fitted.render()) <= budget
    assert fitted.get("f99") is not None  # standing instructions go last
    kept_conf = min(f.confidence for f in fitted.facts if f.section == "About")
    dropped_conf = max(r.fact.confidence for r in dropped)
    assert kept_conf >= dropped_conf
    assert len(fitted.facts) + len(dropped) == len(doc.facts)


_text = st.text(alphabet=st.characters(blacklist_categories=("Cs", "Cc"),
                                       blacklist_characters="{}\n\r\u2028\u2029\x85\x1c\x1d\x1e\x0b\x0c"),
                min_size=1, max_size=60).map(lambda s: " ".join(s.split())).filter(
    lambda s: bool(s) and not s.startswith(("- ", "* ")) and "_(inferred" not in s)


@settings(max_examples=200, deadline=None)
@given(st.lists(st.tuples(st.sampled_from(SECTIONS), _text, st.booleans(), st.integers(1, 9)),
                max_size=12))
def test_round_trip_property(items):
    facts = tuple(
        Fact(f"f{i}", sec, text, (f"s-{i}#{i}",), DAY, inferred=inf, confidence=conf)
        for i, (sec, text, inf, conf) in enumerate(items, start=1)
    )
    doc = ProfileDocument(facts)
    parsed = parse_profile(doc.render())
    # rendering groups facts by section; compare as sets per section
    assert sorted(parsed.facts, key=lambda f: f.id) == sorted(doc.facts, key=lambda f: f.id)


def test_compaction_merges_that_glue_fields_or_invent_are_ignored():
    from datetime import date

    from memory_agent.backends.tokens import count_tokens
    from memory_agent.core.profile import Fact
    from memory_agent.engine.compaction import bad_merge

    def fact(i: int, section: str, slot: str, text: str) -> Fact:
        return Fact(f"f{i}", section, text, ("s#1",), date(2026, 1, 1), slot=slot)

    likes = [fact(1, "Preferences", "likes", "Likes: jazz"),
             fact(2, "Preferences", "likes", "Likes: blues records")]
    assert bad_merge(likes, "Likes: jazz, blues records", count_tokens) == ""
    about = [fact(3, "About", "location", "Lives in: Springfield"),
             fact(4, "About", "occupation", "Work: pediatric nurse")]
    assert bad_merge(about, "Lives in Springfield", count_tokens) == "facts of different fields"
    assert bad_merge(likes, "Likes: jazz and blues records, vinyl, concerts and festivals",
                     count_tokens) == "not shorter than the facts it replaces"
    assert bad_merge(likes, "Likes: opera, ballet", count_tokens).startswith("adds words")
