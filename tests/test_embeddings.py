"""Embedders: unit vectors, stable output, and similarity that means something."""

from __future__ import annotations

import math
import os
import threading
from collections.abc import Sequence

import pytest

from memory_agent.backends import embeddings
from memory_agent.backends.embeddings import E5Embedder, HashingEmbedder, default_embedder


def cosine(a: Sequence[float], b: Sequence[float]) -> float:
    return sum(x * y for x, y in zip(a, b, strict=True))


def norm(v: Sequence[float]) -> float:
    return math.sqrt(sum(x * x for x in v))


@pytest.fixture(scope="module")
def e5() -> E5Embedder:
    return E5Embedder()


# --- HashingEmbedder -----------------------------------------------------------------------
def test_hashing_vectors_are_unit_length_and_stable() -> None:
    texts = ["I moved to Lisbon in March", "", "!!!", "Ünïcödé wörds 123"]
    vectors = HashingEmbedder().embed_documents(texts)
    assert [len(v) for v in vectors] == [256] * 4
    assert [norm(v) for v in vectors] == pytest.approx([1.0] * 4, abs=1e-6)
    assert HashingEmbedder().embed_documents(texts) == vectors  # a fresh instance agrees
    assert HashingEmbedder().embed_query(texts[0]) == vectors[0]
    assert vectors[1] == vectors[2]  # texts without words share one fixed vector


def test_hashing_reflects_shared_words_and_word_order() -> None:
    emb = HashingEmbedder(dim=512)
    [base, reworded, unrelated, swapped] = emb.embed_documents(
        [
            "my sister lives in Lisbon",
            "my sister lives near Lisbon now",
            "the quarterly tax report is late",
            "Lisbon in lives sister my",
        ]
    )
    assert cosine(base, reworded) > 0.5
    assert abs(cosine(base, unrelated)) < 0.3
    assert cosine(base, base) == pytest.approx(1.0)
    # Same words, different order: unigrams match, bigrams do not.
    assert 0.3 < cosine(base, swapped) < 0.9


def test_hashing_is_case_insensitive_and_sized() -> None:
    emb = HashingEmbedder(dim=64)
    assert emb.dim == 64 and emb.name == "hashing-64"
    assert emb.embed_query("Hello World") == emb.embed_query("hello world")
    with pytest.raises(ValueError):
        HashingEmbedder(dim=1)


def test_e5_loads_lazily() -> None:
    fresh = E5Embedder()
    assert fresh._model is None
    assert fresh.dim == 384


def test_e5_loads_with_passive_openmp_waiting_and_restores_the_environment(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.delenv("OMP_WAIT_POLICY", raising=False)
    seen: list[str | None] = []

    def factory(variant: str) -> str:
        seen.append(os.environ.get("OMP_WAIT_POLICY"))
        return variant

    assert embeddings._load_e5(factory, "original", passive=True) == "original"
    assert embeddings._load_e5(factory, "original", passive=False) == "original"
    monkeypatch.setenv("OMP_WAIT_POLICY", "ACTIVE")  # a user's own choice is kept
    embeddings._load_e5(factory, "original", passive=True)
    assert seen == ["PASSIVE", None, "ACTIVE"]
    assert os.environ["OMP_WAIT_POLICY"] == "ACTIVE"
    monkeypatch.delenv("OMP_WAIT_POLICY")
    E5Embedder().embed_query("load a real model")
    assert "OMP_WAIT_POLICY" not in os.environ


def test_e5_vectors(e5: E5Embedder) -> None:
    docs = e5.embed_documents(["I stopped eating meat last year", "Ich wohne in Berlin"])
    query = e5.embed_query("vegetarian diet")
    assert [len(v) for v in [*docs, query]] == [384] * 3
    assert [norm(v) for v in [*docs, query]] == pytest.approx([1.0] * 3, abs=1e-5)
    assert e5.embed_documents([]) == []


def test_e5_ranks_by_meaning(e5: E5Embedder) -> None:
    docs = e5.embed_documents(
        [
            "User: I stopped eating meat last year\nAssistant: Noted.",
            "User: My car broke down on the highway\nAssistant: Sorry to hear.",
            "User: I moved to Lisbon in March\nAssistant: Lovely city.",
        ]
    )
    questions = [
        ("is the user vegetarian?", 0),
        ("vehicle problems", 1),
        ("which city does the user live in?", 2),
    ]
    for question, expected in questions:
        q = e5.embed_query(question)
        scores = [cosine(q, d) for d in docs]
        assert scores.index(max(scores)) == expected, scores


def test_e5_query_and_document_prefixes_differ(e5: E5Embedder) -> None:
    text = "how much protein per day"
    assert cosine(e5.embed_query(text), e5.embed_documents([text])[0]) < 0.999


def test_e5_batches_match_single_calls(e5: E5Embedder) -> None:
    texts = [f"note number {i} about gardening" for i in range(5)]
    small_batches = E5Embedder(batch_size=2).embed_documents(texts)
    singles = [e5.embed_documents([t])[0] for t in texts]
    for a, b in zip(small_batches, singles, strict=True):
        assert cosine(a, b) == pytest.approx(1.0, abs=1e-4)


def test_e5_clips_long_texts_and_survives_nul(e5: E5Embedder) -> None:
    clipped = E5Embedder(max_chars=40)
    long_text = "The user likes hiking in the mountains. " + "Filler words go here. " * 200
    a = clipped.embed_documents([long_text])[0]
    b = clipped.embed_documents([long_text[:40]])[0]
    assert cosine(a, b) == pytest.approx(1.0, abs=1e-5)
    with_nul = e5.embed_documents(["before\x00after"])[0]
    assert cosine(with_nul, e5.embed_documents(["before after"])[0]) > 0.99


def test_e5_is_safe_across_threads(e5: E5Embedder) -> None:
    texts = [f"thread text {i}" for i in range(6)]
    expected = e5.embed_documents(texts)
    results: dict[int, list[float]] = {}

    def work(i: int) -> None:
        results[i] = e5.embed_documents([texts[i]])[0]

    threads = [threading.Thread(target=work, args=(i,)) for i in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    for i, vector in results.items():
        assert cosine(vector, expected[i]) == pytest.approx(1.0, abs=1e-4)


def test_default_embedder_is_one_shared_e5() -> None:
    assert isinstance(default_embedder(), E5Embedder)
    assert default_embedder() is default_embedder()
