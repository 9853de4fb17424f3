"""From a model's fixed-field extraction to profile edits: support, inference, supersession."""

from __future__ import annotations

from datetime import date, datetime, timezone

from memory_agent.core.extraction import SLOTS, SessionFacts, edits_from_extraction, supports
from memory_agent.core.profile import Fact, ProfileDocument
from memory_agent.core.types import Turn

AT = datetime(2026, 3, 2, tzinfo=timezone.utc)


def turns(*messages: str) -> list[Turn]:
    return [Turn("u", "s1", i, m, "ok", AT) for i, m in enumerate(messages, start=1)]


def test_stated_values_need_their_words():
    assert supports("Lyon", "We moved to Lyon last month.", SLOTS["location"])
    assert not supports("Paris", "We moved to Lyon last month.", SLOTS["location"])
    assert not supports("John", "Quick dinner idea? No meat for me.", SLOTS["name"])


def test_inferable_fields_accept_on_topic_messages_only():
    assert supports("vegetarian", "Quick dinner idea? No meat or fish for me.", SLOTS["diet"])
    assert not supports("vegetarian", "I moved to Lyon last month.", SLOTS["diet"])
    assert supports("short", "Keep your answers brief please.", SLOTS["answer_style"])
    # a place may not be inferred from a message about food
    assert not supports("Italy", "I love pasta and pizza.", SLOTS["location"])


def test_inferred_fact_is_marked_with_evidence_and_cites_its_turns():
    ts = turns("Hello!", "Any meat-free recipe for tonight?", "And a lunch without meat tomorrow?")
    outcome = edits_from_extraction(ProfileDocument(), SessionFacts(diet="vegetarian"), ts)
    [edit] = outcome.edits
    assert edit.op == "add" and edit.inferred and edit.slot == "diet"
    assert edit.sources == ["s1#2", "s1#3"]
    assert "meat-free recipe" in edit.evidence


def test_stated_fact_is_not_marked_inferred():
    outcome = edits_from_extraction(ProfileDocument(), SessionFacts(location="Lyon"),
                                    turns("I live in Lyon."))
    assert [(e.op, e.inferred, e.sources) for e in outcome.edits] == [("add", False, ["s1#1"])]


def test_same_value_confirms_and_new_single_value_supersedes():
    doc = ProfileDocument((
        Fact("f1", "About", "Lives in: Paris", ("s0#1",), date(2026, 1, 1), slot="location"),
        Fact("f2", "Preferences", "Hobbies: chess", ("s0#2",), date(2026, 1, 1), slot="hobbies"),
    ))
    outcome = edits_from_extraction(
        doc, SessionFacts(location="Lyon", hobbies="chess"),
        turns("I live in Lyon now.", "Played chess all weekend."))
    ops = {(e.op, e.fact_id) for e in outcome.edits}
    assert ops == {("supersede", "f1"), ("confirm", "f2")}


def test_multi_valued_field_adds_a_second_fact():
    doc = ProfileDocument((
        Fact("f1", "Preferences", "Hobbies: chess", ("s0#2",), date(2026, 1, 1), slot="hobbies"),))
    outcome = edits_from_extraction(doc, SessionFacts(hobbies="painting"),
                                    turns("I started painting on weekends."))
    assert [(e.op, e.text) for e in outcome.edits] == [("add", "Hobbies: painting")]


def test_empty_and_placeholder_values_are_ignored():
    outcome = edits_from_extraction(
        ProfileDocument(), SessionFacts(name="None", age="unknown", pets="n/a", diet=""),
        turns("hello"))
    assert outcome.edits == [] and outcome.rejected == []


def test_field_descriptions_and_session_facts_name_the_same_fields() -> None:
    from memory_agent.core.prompts import EXTRACT_PROFILE_FIELDS, PROFILE_FIELD_DESCRIPTIONS

    assert list(PROFILE_FIELD_DESCRIPTIONS) == list(SessionFacts.model_fields)
    assert set(SLOTS) == set(SessionFacts.model_fields)
    for name in SessionFacts.model_fields:
        assert f"- {name}: " in EXTRACT_PROFILE_FIELDS


def test_values_that_copy_the_field_description_are_rejected() -> None:
    from memory_agent.core.extraction import copies_field_description

    assert copies_field_description("location", "your city or country")
    assert not copies_field_description("diet", "vegan")  # an example word is a real value
    assert not copies_field_description("location", "Lyon")
    outcome = edits_from_extraction(
        ProfileDocument(), SessionFacts(location="your city or country"),
        turns("I moved to a new city last year and love my country."))
    assert outcome.edits == []
    assert [r.reason for r in outcome.rejected] == ["repeats the field's description"]


def test_answer_style_is_not_inferred_from_unrelated_words() -> None:
    # "long" and "read" alone are not about how the user wants answers
    assert not supports("lengthy", "It was a long day, I read a book.", SLOTS["answer_style"])
    assert supports("brief", "Please keep your answers brief.", SLOTS["answer_style"])


def test_facts_about_other_people_do_not_become_the_users() -> None:
    hobbies, job = SLOTS["hobbies"], SLOTS["occupation"]
    assert not supports("modeling clothing", "My wife models clothing for a living.", hobbies)
    assert not supports("nurse", "My older sister is a nurse.", job)
    assert not supports("nurse", "She is a nurse at the clinic.", job)
    assert supports("hiking", "My wife and I go hiking every weekend.", hobbies)
    assert supports("nurse", "I am a nurse, my sister is a teacher.", job)
    # family and pets are about others by definition
    assert supports("wife Anna", "My wife Anna is a painter.", SLOTS["family"])


def test_a_sentence_merely_mentioning_others_still_backs_the_user() -> None:
    # chat often drops the "I": the subject here is still the user
    assert supports("hiking", "Love hiking with my friends!", SLOTS["hobbies"])
    assert not supports("hiking", "So my brother loves hiking.", SLOTS["hobbies"])


def test_a_dislike_written_as_a_like_is_filed_as_a_dislike() -> None:
    from memory_agent.core.extraction import with_polarity

    assert with_polarity("likes", "dislike VR games") == ("dislikes", "VR games")
    assert with_polarity("likes", "doesn't like crowds") == ("dislikes", "crowds")
    assert with_polarity("likes", "jazz") == ("likes", "jazz")
    assert with_polarity("hobbies", "not much") == ("hobbies", "not much")
    outcome = edits_from_extraction(ProfileDocument(), SessionFacts(likes="dislike VR games"),
                                    turns("I really dislike VR games, they make me dizzy."))
    [edit] = outcome.edits
    assert edit.slot == "dislikes" and edit.text == "Dislikes: VR games"


def test_links_are_not_facts() -> None:
    outcome = edits_from_extraction(
        ProfileDocument(), SessionFacts(other="https://example.org/page"),
        turns("See https://example.org/page for details."))
    assert outcome.edits == [] and outcome.rejected[0].reason == "a link, not a fact"


def test_list_values_become_one_fact_per_supported_item() -> None:
    from memory_agent.core.extraction import split_items

    assert split_items("likes", "tiramisu, gardening and meditation") == [
        "tiramisu", "gardening", "meditation"]
    assert split_items("likes", "mac and cheese") == ["mac and cheese"]  # no list: whole
    assert split_items("hobbies", "chess; go / poker, and darts") == [
        "chess", "go", "poker", "darts"]
    assert split_items("location", "Lyon, France") == ["Lyon, France"]  # not a list field
    assert split_items("likes", ", ,") == [", ,"]
    outcome = edits_from_extraction(
        ProfileDocument(), SessionFacts(likes="tiramisu, jazz and skydiving", hobbies="jazz"),
        turns("Tiramisu is the best dessert.", "Jazz on vinyl every evening."))
    assert [e.text for e in outcome.edits] == ["Likes: tiramisu", "Likes: jazz"]
    assert [e.sources for e in outcome.edits] == [["s1#1"], ["s1#2"]]
    # skydiving is in no message (and none is about likes in general); jazz under hobbies
    # repeats the like
    assert [(r.slot, r.value) for r in outcome.rejected] == [("likes", "skydiving")]


def test_a_negated_list_is_filed_whole_as_dislikes() -> None:
    outcome = edits_from_extraction(
        ProfileDocument(), SessionFacts(likes="dislikes crowds, loud bars and queues"),
        turns("I can't stand crowds, loud bars or queues."))
    assert [e.text for e in outcome.edits] == [
        "Dislikes: crowds", "Dislikes: loud bars", "Dislikes: queues"]


def test_standing_instructions_need_a_request_to_the_assistant() -> None:
    from memory_agent.core.extraction import addresses_assistant

    assert addresses_assistant("Always answer in metric units please.")
    assert addresses_assistant("I read on my phone. Keep answers short.")
    assert addresses_assistant("From now on, reply in French.")
    assert not addresses_assistant("I always follow the safety protocols with venomous snakes.")
    outcome = edits_from_extraction(
        ProfileDocument(),
        SessionFacts(standing_instruction="follow the safety protocols"),
        turns("At the clinic I always follow the safety protocols."))
    assert outcome.edits == []
    assert outcome.rejected[0].reason == "not a request to the assistant"
    outcome = edits_from_extraction(
        ProfileDocument(), SessionFacts(standing_instruction="answer in metric units"),
        turns("Always answer in metric units."))
    assert [e.text for e in outcome.edits] == ["Always: answer in metric units"]


def test_value_caps_match_the_schema_the_model_is_held_to() -> None:
    from memory_agent.core.extraction import LIST_SLOTS, value_cap

    properties = SessionFacts.model_json_schema()["properties"]
    assert {name: value_cap(name) for name in properties} == {
        name: spec["maxLength"] for name, spec in properties.items()}
    assert all(value_cap(s) > value_cap("location") for s in LIST_SLOTS)  # room for lists


def test_a_value_cut_at_its_cap_keeps_only_whole_items_and_words() -> None:
    from memory_agent.core.extraction import drop_cut_tail, value_cap

    cap = value_cap("likes")
    whole = ("learning new languages, studying music, fixing old cars, practicing the Left "
             "Hand Path, painting landscapes on weekends, baking bread with my grandmother "
             "every Sunday")
    cut = whole[:cap]  # what the grammar lets through: it ends mid-item
    assert len(cut) == cap and cut.endswith("every ")
    assert drop_cut_tail("likes", cut, cap) == (
        "learning new languages, studying music, fixing old cars, "
        "practicing the Left Hand Path, painting landscapes on weekends")
    assert drop_cut_tail("likes", "tea and jazz", cap) == "tea and jazz"  # under the cap
    job = "I worked at the bakery on Elm Street for many years and then at a small cafe downtown"
    cap_job = value_cap("occupation")
    assert drop_cut_tail("occupation", job[:cap_job], cap_job).endswith("small cafe")
    assert drop_cut_tail("occupation", "y" * cap_job, cap_job) == ""  # no whole word

    likes = ("tiramisu, gardening, slow jazz records on a Sunday morning, hiking with old "
             "friends in the hills, baking sourdough bread at home, practicing the Left Hand "
             "Path every day")
    outcome = edits_from_extraction(
        ProfileDocument(), SessionFacts.model_construct(likes=likes[:cap]),
        turns("Tiramisu and gardening keep me sane.",
              "Slow jazz records on a Sunday morning, hiking with old friends in the hills.",
              "Baking sourdough bread at home, and practicing the Left Hand Path every day."))
    assert len(likes) > cap
    assert [e.text for e in outcome.edits] == [
        "Likes: tiramisu", "Likes: gardening", "Likes: slow jazz records on a Sunday morning",
        "Likes: hiking with old friends in the hills", "Likes: baking sourdough bread at home"]


def test_a_value_said_of_someone_else_is_not_the_users_across_messages_either():
    # one message that says it of the son is not support; neither is the same message
    # read together with the others (the fallback for values stated across messages)
    ts = turns("I moved to Porto in January.", "My son Leo is 9 and plays chess.")
    outcome = edits_from_extraction(ProfileDocument(), SessionFacts(hobbies="chess"), ts)
    assert outcome.edits == []
    assert [r.reason for r in outcome.rejected] == ["no user message supports it"]
    both = turns("My wife and I play chess.", "We moved to Porto.")
    assert [e.text for e in edits_from_extraction(
        ProfileDocument(), SessionFacts(hobbies="chess"), both).edits] == ["Hobbies: chess"]


def test_an_inferred_values_evidence_quotes_the_words_that_show_it():
    long = ("I'm trying to plan my week around the shifts at the hospital, which is hard "
            "because I don't eat meat, dairy or eggs.")
    ts = turns("Hi there!", long)
    [edit] = edits_from_extraction(ProfileDocument(), SessionFacts(diet="vegan"), ts).edits
    assert edit.inferred and "dairy or eggs" in edit.evidence, edit.evidence
    assert edit.evidence.startswith('from "…') and len(edit.evidence) <= 90 + len('from ""')
    # short evidence is quoted whole, only the sentences that show it
    two = turns("Lovely weather today. No meat for me please, I am off it.")
    [edit] = edits_from_extraction(ProfileDocument(), SessionFacts(diet="vegetarian"), two).edits
    assert edit.evidence == 'from "No meat for me please, I am off it."'


def test_a_routine_given_as_a_bare_time_gets_what_is_done_in_the_users_words():
    ts = turns("I'm training for the Lyon half marathon in October, running three times a week.")
    [edit] = edits_from_extraction(ProfileDocument(), SessionFacts(schedule="three times a week"),
                                   ts).edits
    assert edit.text == "Schedule: running three times a week" and not edit.inferred
    whole = turns("I have to leave the house at 6:30 for my 7am shift.")
    [edit] = edits_from_extraction(ProfileDocument(), SessionFacts(schedule="at 6:30"),
                                   whole).edits
    assert edit.text == "Schedule: I have to leave the house at 6:30 for my 7am shift"
    kept = edits_from_extraction(ProfileDocument(), SessionFacts(schedule="gym on Mondays"),
                                 turns("I go to the gym on Mondays.")).edits
    assert [e.text for e in kept] == ["Schedule: gym on Mondays"]


def test_a_one_off_moment_is_no_goal_or_routine():
    ts = turns("Great, I'll cook for Leo and me tonight before my shift.")
    outcome = edits_from_extraction(ProfileDocument(), SessionFacts(
        goals="cook for Leo and me", schedule="cook tonight"), ts)
    assert outcome.edits == []
    assert {r.reason for r in outcome.rejected} == {"a one-off moment, not a lasting fact"}
    lasting = edits_from_extraction(ProfileDocument(), SessionFacts(goals="run a half marathon"),
                                    turns("I'm training to run a half marathon in October."))
    assert [e.text for e in lasting.edits] == ["Goal: run a half marathon"]


def test_a_topic_word_said_of_someone_else_does_not_back_an_inferred_value():
    assert not supports("vegetarian", "My daughter only eats pasta.", SLOTS["diet"])
    assert supports("vegetarian", "My daughter and I eat no meat.", SLOTS["diet"])
    ts = turns("No meat or fish for me, as usual.", "Also my daughter Maya only eats pasta.")
    [edit] = edits_from_extraction(ProfileDocument(), SessionFacts(diet="vegetarian"), ts).edits
    assert edit.sources == ["s1#1"]
