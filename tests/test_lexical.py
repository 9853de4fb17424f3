"""The incremental BM25 index (engine/lexical.py): scores, updates in place, removal."""

from __future__ import annotations

import math
import random

from memory_agent.core.text import terms
from memory_agent.engine.lexical import K1, MAX_DF_SHARE, MIN_DOCS_FOR_CUTOFF, B, BM25Index


def reference_scores(docs: dict[str, str], query: str) -> dict[str, float]:
    """Okapi BM25 computed from scratch over the whole corpus (the static definition)."""
    tokens = {d: terms(t) for d, t in docs.items()}
    n = len(tokens)
    avg = sum(len(t) for t in tokens.values()) / n
    out: dict[str, float] = {}
    for term in set(terms(query)):
        having = [d for d, t in tokens.items() if term in t]
        if n >= MIN_DOCS_FOR_CUTOFF and len(having) > MAX_DF_SHARE * n:
            continue
        idf = math.log(1 + (n - len(having) + 0.5) / (len(having) + 0.5))
        for d in having:
            tf = tokens[d].count(term)
            norm = K1 * (1 - B + B * len(tokens[d]) / avg)
            out[d] = out.get(d, 0.0) + idf * tf * (K1 + 1) / (tf + norm)
    return out


WORDS = ["marathon", "pasta", "chess", "lyon", "nurse", "shift", "garden", "piano", "recipe",
         "dentist", "wedding"]


def test_incremental_updates_score_like_a_fresh_index() -> None:
    rng = random.Random(3)
    docs: dict[str, str] = {}
    index = BM25Index()
    for step in range(300):
        doc_id = f"d{rng.randrange(60)}"
        if doc_id in docs and rng.random() < 0.3:
            index.remove(doc_id)
            del docs[doc_id]
        else:
            docs[doc_id] = " ".join(rng.choices(WORDS, k=rng.randint(1, 12)))
            index.add(doc_id, docs[doc_id])  # a new text for a known id replaces it
        if step % 25 == 0 and docs:
            query = " ".join(rng.sample(WORDS, 3))
            got, want = index.scores(query), reference_scores(docs, query)
            assert got.keys() == want.keys()
            assert all(math.isclose(got[d], want[d]) for d in want)
            # the array path of top() (no ``among``) ranks exactly as the scores do
            ranked = sorted(want.items(), key=lambda kv: (-round(kv[1], 9), kv[0]))
            for k in (1, 5, 100):
                top = index.top(query, k)
                assert [d for d, _ in top] == [d for d, _ in ranked[:k]]
                assert all(math.isclose(s, want[d]) for d, s in top)
            # ``among`` a few documents or most of them: the same scores, restricted
            for among in (set(rng.sample(sorted(docs), min(3, len(docs)))), set(docs)):
                some = index.scores(query, among=among)
                assert some.keys() == {d for d in want if d in among}
                assert all(math.isclose(some[d], want[d]) for d in some)
    assert len(index) == len(docs)


def test_top_breaks_ties_by_id_among_many_equal_documents() -> None:
    index = BM25Index()
    for i in range(300):  # 300 identical documents, the same score each
        index.add(f"t{i:03d}", "the hiking trip detail")
    index.add("z-best", "hiking hiking trip")  # higher score: first, whatever its id
    for i in range(600):
        index.add(f"other{i}", "piano lesson")  # keeps "hiking" under the document cutoff
    top = index.top("hiking trip", 5)
    assert [d for d, _ in top] == ["z-best", "t000", "t001", "t002", "t003"]
    assert top == index.top("hiking trip", 5, among=set(index.scores("hiking trip")))


def test_top_ranks_rarer_words_higher_and_filters() -> None:
    index = BM25Index()
    index.add_all([("a", "pasta pasta dinner"), ("b", "dinner with friends"),
                   ("c", "the chess club"), ("d", "dinner")])
    assert [d for d, _ in index.top("pasta dinner", 2)] == ["a", "d"]
    assert [d for d, _ in index.top("pasta dinner", 5, among={"b", "c"})] == ["b"]
    assert index.top("nothing matches", 3) == []
    assert index.top("pasta", 0) == []
    index.remove("a")
    index.remove("unknown")  # no error
    assert "a" not in index and index.top("pasta", 3) == []
    index.clear()
    assert len(index) == 0 and index.scores("dinner") == {}


def test_stemming_and_stop_words_match_the_rest_of_recall() -> None:
    index = BM25Index()
    index.add("t", "I went hiking twice")
    assert index.top("my hikes", 1)[0][0] == "t"
    assert index.scores("the and of") == {}


def test_a_term_in_most_documents_scores_nothing() -> None:
    index = BM25Index()
    index.add_all([(f"d{i}", f"caroline said something {i}") for i in range(MIN_DOCS_FOR_CUTOFF)])
    index.add("x", "caroline went hiking")
    assert index.scores("caroline") == {}
    assert [d for d, _ in index.top("caroline hiking", 3)] == ["x"]
