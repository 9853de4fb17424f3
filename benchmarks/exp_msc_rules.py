"""Which extraction rules earn their place? Each rule switched off, re-scored on MSC's
tuning and check halves from a recorded run (no model calls).

The rules that act on the model's output or on the transcript (the self-statement filter,
the validators of the field extraction, the English rule pack's word lists) are replayed
over the model replies recorded by ``eval_msc`` (``<cache>/msc-<model>/llm_calls.jsonl``):
every episode is ingested again into a fresh in-memory store with the recorded replies, once
per variant, and scored as ``eval_msc`` scores it. A variant switches one rule off (a
pattern that never matches, a check that never fires, a word list emptied); a rule earns its
place when switching it off makes the check half worse.

    python -m benchmarks.exp_msc_rules                        # all variants, 30 episodes
    python -m benchmarks.exp_msc_rules --variants baseline,no_statements
    python -m benchmarks.exp_msc_rules --out benchmarks/results/msc_rules.json

The recording must hold every request the current code makes (prompts unchanged since the
run; a changed prompt is a miss and the variant fails: re-run ``eval_msc`` first).
"""

from __future__ import annotations

import argparse
import contextlib
import re
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import replace
from pathlib import Path
from typing import Any
from unittest import mock

import numpy as np

from benchmarks import eval_msc as msc
from benchmarks.lib.llm_cache import RecordingLLM
from benchmarks.lib.models import make_llm
from benchmarks.lib.paths import CACHE, DEFAULT_DATA, cache_dir
from benchmarks.lib.results import describe, write_json
from memory_agent.core import extraction, rules, statements
from memory_agent.core.text import content_words, sentences, stem

try:  # the checks added for issue #15 (absent when replaying older code)
    from memory_agent.core import value_checks
except ImportError:  # pragma: no cover
    value_checks = None  # type: ignore[assignment]
from memory_agent.core.embedder import Embedder

NEVER = re.compile(r"(?!x)x")  # a pattern that matches nothing


Patch = Callable[[], contextlib.AbstractContextManager[Any]]


def _rules(**changes: Any) -> Patch:
    """The English rule pack with some patterns or lists replaced (where it is read)."""
    def patch() -> contextlib.AbstractContextManager[Any]:
        new = replace(rules.RULES, **changes)
        stack = contextlib.ExitStack()
        for module in (extraction, statements):
            stack.enter_context(mock.patch.object(module, "RULES", new))
        return stack
    return patch


def _attr(target: object, name: str, value: Any) -> Patch:
    return lambda: mock.patch.object(target, name, value)


def _cues_off(*fields: str) -> Patch:
    """The fields' cue words emptied: their values must be stated, never inferred."""
    def patch() -> contextlib.AbstractContextManager[Any]:
        slots = dict(extraction.SLOTS)
        for name in fields:
            slots[name] = replace(slots[name], cues=frozenset())
        return mock.patch.object(extraction, "SLOTS", slots)
    return patch


def _both(first: object, second: object, name: str, value: Any) -> Patch:
    """``name`` replaced in two modules (a function one imports from the other)."""
    def patch() -> contextlib.AbstractContextManager[Any]:
        stack = contextlib.ExitStack()
        for module in (first, second):
            if hasattr(module, name):
                stack.enter_context(mock.patch.object(module, name, value))
        return stack
    return patch


def _cues_add_many(extra: dict[str, str]) -> Patch:
    """Words added to some fields' cue words (stemmed as the table stems them)."""
    def patch() -> contextlib.AbstractContextManager[Any]:
        slots = dict(extraction.SLOTS)
        for field, words in extra.items():
            slots[field] = replace(slots[field], cues=slots[field].cues
                                   | frozenset(stem(w) for w in words.split()))
        return mock.patch.object(extraction, "SLOTS", slots)
    return patch


def _cues_add(field: str, extra: str) -> Patch:
    return _cues_add_many({field: extra})


def _without(pattern: str, part: str) -> str:
    """``pattern`` with ``part`` taken out (an error when it is not there: a variant that
    silently changed nothing would score as the baseline)."""
    if part not in pattern:
        raise ValueError(f"{part!r} is not in the pattern any more")
    return pattern.replace(part, "")


# rules removed by issue #15's audit, to switch them back on
OLD_LIKE_CUES = ("love loves like likes enjoy enjoys favourite favorite fan prefer prefers "
                 "into hate hates dislike dislikes avoid avoids stand bored boring fun")
OLD_HOBBY_CUES = ("play playing weekend weekends hike hiking run running training train paint "
                  "painting read reading game games sport sports practice club guitar piano "
                  "garden gardening knit knitting swim swimming climb climbing bike cycling "
                  "photo photography dance")
OLD_DIET_CUES = ("meat meatless fish chicken beef pork steak bacon ham seafood shrimp "
                 "vegetarian vegan veggie plant dairy milk cheese egg eggs gluten lactose "
                 "allergic allergy halal kosher tofu recipe recipes dinner lunch breakfast meal "
                 "meals eat eating food cook cooking snack")
OLD_REFERS_BACK = re.compile(r"\b(?:that|this|it|those|these|them|one|same|too|either)\b",
                             re.IGNORECASE)
ORIGINAL_SELF_STATEMENTS = statements.self_statements


# name -> (what is switched off, patch); "baseline" is the code as it is
VARIANTS: dict[str, tuple[str, Patch | None]] = {
    "baseline": ("nothing: the rules as they are", None),
    "no_statements": ("statements in the user's words (statements.py) not kept at all",
                      _attr(statements, "self_statements", lambda message: [])),
    "st_no_small_talk": ("statements: the small-talk opener filter (SMALL_TALK)",
                         _rules(small_talk=NEVER)),
    "st_no_interjection": ("statements: interjections not stripped before the subject test",
                           _rules(interjection=NEVER)),
    "st_no_second_person": ("statements: sentences with 'you' kept",
                            _attr(statements, "RULES", replace(rules.RULES,
                                                               second_person=NEVER))),
    "st_min_words_1": ("statements: the 3-word minimum (MIN_WORDS = 1)",
                       _attr(statements, "MIN_WORDS", 1)),
    "ex_no_other_person": ("fields: the 'every mention is about someone else' check",
                           _attr(extraction, "about_someone_else", lambda value, text: False)),
    "ex_no_polarity": ("fields: a dislike written under likes stays a like",
                       _attr(extraction, "with_polarity", lambda slot, value: (slot, value))),
    "ex_no_list_split": ("fields: list values kept whole (one fact per field value)",
                         _attr(extraction, "split_items", lambda slot, value: [value])),
    "ex_no_cut_tail": ("fields: values cut at their cap kept as cut",
                       _attr(extraction, "drop_cut_tail", lambda slot, value, cap: value)),
    "ex_no_empty_chat": ("fields: chat words (lol, haha, ok, yes, yeah) not read as empty",
                         _attr(extraction, "EMPTY_VALUES", rules.RULES.empty_values
                               - {"lol", "haha", "ok", "yes", "yeah"})),
    "ex_no_second_person": ("fields: values addressed to someone ('your ...') kept",
                            _attr(extraction, "SECOND_PERSON", NEVER)),
    "ex_no_description_copy": ("fields: values that repeat the field's description kept",
                               _attr(extraction, "copies_field_description",
                                     lambda slot, value: False)),
    "ex_no_cues_diet": ("fields: diet never inferred from topic words", _cues_off("diet")),
    "ex_no_cues_style": ("fields: answer style never inferred from topic words",
                         _cues_off("answer_style")),
    "ex_no_max_words": ("fields: values of more than 10 words kept",
                        _attr(extraction, "MAX_VALUE_WORDS", 1000)),
    # the checks added for issue #15's regression set, each switched off
    "new_no_clause_subject": ("issue 15: who a value is about read by sentence, not clause",
                              _both(value_checks, extraction, "clauses",
                                    lambda text: sentences(text))),
    "new_no_one_off": ("issue 15: goals and routines tied to a one-off moment kept",
                       _attr(extraction, "one_off", lambda value, texts: False)),
    "new_no_bare_time": ("issue 15: a routine given as a bare time kept as it is",
                         _attr(extraction, "only_time", lambda value: False)),
    "new_no_numbers": ("issue 15: numbers the user never said kept",
                       _attr(extraction, "unsaid_numbers", lambda value, texts: [])),
    "new_no_requests": ("issue 15: requests meant to last not kept in the user's words",
                        _attr(extraction, "standing_requests", lambda message: [])),
    "new_no_statement_clauses": ("issue 15: a statement that repeats a fact dropped whole",
                                 _attr(statements, "_new_clauses", lambda *a: "")),
    "new_no_numbers_kept": ("statements: one with a number no fact holds dropped as a "
                            "repeat like any other",
                            _attr(statements, "_adds_numbers", lambda words, known: False)),
    "st_have_to_kept": ("candidate: 'I have to ...' not read as small talk",
                        _rules(small_talk=re.compile(
                            _without(rules.RULES.small_talk.pattern, r"have\s+to|"),
                            re.IGNORECASE))),
    "old_like_hobby_cues_back": ("issue 15: hobbies, likes, dislikes inferred from topic words "
                                 "again (the cue words before the audit)",
                                 _cues_add_many({
                                     "hobbies": OLD_HOBBY_CUES,
                                     "likes": OLD_LIKE_CUES + " " + OLD_HOBBY_CUES,
                                     "dislikes": OLD_LIKE_CUES + " " + OLD_DIET_CUES})),
    "old_refers_back_back": ("issue 15: the 'refers back with few words of its own' "
                             "statement filter again",
                             _attr(statements, "self_statements",
                                   lambda message: [
                                       s for s in ORIGINAL_SELF_STATEMENTS(message)
                                       if not (OLD_REFERS_BACK.search(s)
                                               and len(content_words(s)) < 3)])),
    "new_meal_cues_back": ("issue 15: meal and eating words back an inferred diet again",
                           _cues_add("diet", "recipe recipes dinner lunch breakfast meal "
                                     "meals eat eating food cook cooking snack")),
}


class MemoEmbedder(Embedder):
    """An embedder that embeds each distinct text once (scoring embeds the same gold
    sentences and most of the same facts for every variant)."""

    def __init__(self, inner: Embedder) -> None:
        self.inner = inner
        self.dim = inner.dim
        self._seen: dict[str, list[float]] = {}

    def embed_documents(self, texts: Sequence[str]) -> list[list[float]]:
        new = [t for t in dict.fromkeys(texts) if t not in self._seen]
        if new:
            self._seen.update(zip(new, self.inner.embed_documents(new), strict=True))
        return [self._seen[t] for t in texts]

    def embed_query(self, text: str) -> list[float]:
        return self.inner.embed_query(text)


@contextlib.contextmanager
def applied(patch: Patch | None) -> Iterator[None]:
    if patch is None:
        yield
        return
    with patch():
        yield


def replay(episodes: Sequence[tuple[msc.Episode, str]], llm: RecordingLLM,
           scorer: Embedder, *, seed: int, session: int, split: str) -> dict[str, Any]:
    """Every episode ingested with the recorded replies into a fresh store, then scored:
    pooled and per-half recall and precision, and per-episode counts."""
    from memory_agent import HashingEmbedder, InMemoryStore, MemoryManager

    store, ingest_embedder = InMemoryStore(), HashingEmbedder()
    per_episode: list[dict[str, Any]] = []
    total = msc.Score()
    for episode, half in episodes:
        speaker = msc.speaker_for(episode.id, seed=seed)
        user = msc.user_id_for(episode, speaker, session=session, split=split)
        memory = MemoryManager(user_id=user, store=store, llm=llm, embedder=ingest_embedder,
                               background=False)
        msc.ingest_episode(memory, episode, speaker, llm, lambda sid, cost: None)
        facts = msc.persona_facts(memory.profile())
        memory.close()
        s = msc.score(msc.similarity_matrix(scorer, facts, episode.gold[speaker]), msc.THRESHOLD)
        total += s
        per_episode.append({"episode": episode.id, "half": half, "n_gold": s.n_gold,
                            "n_facts": s.n_facts, "recalled": s.recalled, "precise": s.precise})
    return {"recall": round(total.recall, 4), "precision": round(total.precision, 4),
            "n_gold": total.n_gold, "n_facts": total.n_facts,
            "halves": msc.half_scores(per_episode), "per_episode": per_episode}


def table(results: dict[str, dict[str, Any]]) -> str:
    base = results.get("baseline")
    lines = ["| variant (switched off) | tune recall | tune precision | check recall | "
             "check precision | facts |", "|---|---|---|---|---|---|"]
    for name, r in results.items():
        cells = []
        for half in msc.HALVES:
            for metric in ("recall", "precision"):
                value = r["halves"][half][metric]
                delta = ("" if base is None or name == "baseline"
                         else f" ({value - base['halves'][half][metric]:+.3f})")
                cells.append(f"{value:.3f}{delta}")
        lines.append(f"| {name} | {' | '.join(cells)} | {r['n_facts']} |")
    return "\n".join(lines) + "\n"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data", type=Path, default=DEFAULT_DATA)
    parser.add_argument("--session", type=int, default=3)
    parser.add_argument("--split", default="valid")
    parser.add_argument("--episodes", type=int, default=30)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--model", default=None)
    parser.add_argument("--cache", type=Path, default=CACHE)
    parser.add_argument("--llm-cache", type=Path, default=None)
    parser.add_argument("--variants", default=",".join(VARIANTS),
                        help=f"comma-separated, of: {', '.join(VARIANTS)}")
    parser.add_argument("--out", type=Path, default=None, help="results JSON (+ .md table)")
    args = parser.parse_args()
    from memory_agent import E5Embedder

    names = [n.strip() for n in args.variants.split(",") if n.strip()]
    unknown = [n for n in names if n not in VARIANTS]
    if unknown:
        raise SystemExit(f"unknown variants {unknown}; known: {', '.join(VARIANTS)}")
    model = args.model or msc.DEFAULT_MODEL_KEY
    recording = args.llm_cache or cache_dir(args.cache, "msc", model) / "llm_calls.jsonl"
    llm = RecordingLLM(make_llm(model=args.model, threads=1), recording, replay_only=True)
    all_episodes = msc.load_episodes(args.data, session=args.session, split=args.split)
    chosen = [(all_episodes[i], msc.half_of(p))
              for p, i in msc.select_half(len(all_episodes), args.episodes, seed=args.seed)]
    print(f"{len(chosen)} episodes, {len(llm)} recorded replies in {recording}", flush=True)
    scorer = MemoEmbedder(E5Embedder())
    results: dict[str, dict[str, Any]] = {}
    msc.profile_only().__enter__()  # the recording holds the profile step's replies only

    for name in names:
        t0 = time.perf_counter()
        with applied(VARIANTS[name][1]):
            results[name] = replay(chosen, llm, scorer, seed=args.seed, session=args.session,
                                   split=args.split)
        results[name]["what"] = VARIANTS[name][0]
        h = results[name]["halves"]
        print(f"{name}: tune R {h['tune']['recall']:.3f} P {h['tune']['precision']:.3f} | "
              f"check R {h['check']['recall']:.3f} P {h['check']['precision']:.3f} | "
              f"{results[name]['n_facts']} facts ({time.perf_counter() - t0:.0f} s)",
              flush=True)
    print(table(results))
    if args.out is not None:
        write_json(args.out, {"what": __doc__.split("\n\n")[0], "variants": results,
                              "selection": {"episodes": args.episodes, "seed": args.seed,
                                            "recording": str(recording)},
                              "_run": {**describe(), "model_calls": llm.misses,
                                       "memory_agent": str(Path(extraction.__file__)
                                                           .parents[2])}})
        args.out.with_suffix(".md").write_text(
            f"# MSC: extraction rules switched off one at a time\n\n{table(results)}")
        print(f"wrote {args.out}")


if __name__ == "__main__":
    np.seterr(all="ignore")
    main()
