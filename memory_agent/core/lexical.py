"""Okapi BM25 over a changing set of documents, updated in place (pure, stdlib only).

Recall ranks turns and summary nodes by BM25 beside their embeddings. The documents change
with every recorded turn and every new summary, so the index is incremental: ``add`` and
``remove`` touch only the document's own terms, and a query reads only the postings of its
own terms (no rebuild, no pass over all documents). Libraries such as ``rank_bm25`` and
``bm25s`` build a static index from the whole corpus at once, which would mean a rebuild per
write.

Terms are the content words of :func:`memory_agent.core.text.terms` (lower case, stop words
dropped, lightly stemmed), so "recipes" matches "recipe" as in the rest of recall.
"""

from __future__ import annotations

import heapq
import math
from collections import Counter
from collections.abc import Collection, Iterable

from memory_agent.core.text import terms

K1 = 1.5  # term-frequency saturation (Okapi's usual 1.2-2.0)
B = 0.75  # document-length normalisation
# a term in more than this share of the documents is left out of the score: its idf is below
# log 2 and it tells documents apart little (a speaker's name, "day"), while its postings are
# the longest, so scoring it would make a query's cost grow with the whole history
MAX_DF_SHARE = 0.5
MIN_DOCS_FOR_CUTOFF = 50  # below this many documents every term counts (cost is no issue)


class BM25Index:
    """BM25 scores of documents (by id) for a query; documents can be added and removed."""

    def __init__(self) -> None:
        self.clear()

    def clear(self) -> None:
        """Drop every document."""
        self._postings: dict[str, dict[str, int]] = {}  # term -> doc id -> term frequency
        self._terms: dict[str, tuple[str, ...]] = {}  # doc id -> its distinct terms
        self._lengths: dict[str, int] = {}  # doc id -> number of terms
        self._total = 0  # sum of the lengths

    def __len__(self) -> int:
        return len(self._lengths)

    def __contains__(self, doc_id: object) -> bool:
        return doc_id in self._lengths

    def add(self, doc_id: str, text: str) -> None:
        """Index ``text`` under ``doc_id`` (replacing what that id held)."""
        if doc_id in self._lengths:
            self.remove(doc_id)
        counts = Counter(terms(text))
        for term, tf in counts.items():
            self._postings.setdefault(term, {})[doc_id] = tf
        self._terms[doc_id] = tuple(counts)
        length = sum(counts.values())
        self._lengths[doc_id] = length
        self._total += length

    def add_all(self, docs: Iterable[tuple[str, str]]) -> None:
        for doc_id, text in docs:
            self.add(doc_id, text)

    def remove(self, doc_id: str) -> None:
        """Drop a document (nothing happens for an unknown id)."""
        if doc_id not in self._lengths:
            return
        for term in self._terms.pop(doc_id):
            posting = self._postings[term]
            del posting[doc_id]
            if not posting:
                del self._postings[term]
        self._total -= self._lengths.pop(doc_id)

    def scores(self, query: str, *, among: Collection[str] | None = None) -> dict[str, float]:
        """BM25 score of every document holding a query term (``among``: only these ids);
        documents with no query term are left out (their score is 0), and so are terms in
        more than ``MAX_DF_SHARE`` of at least ``MIN_DOCS_FOR_CUTOFF`` documents."""
        n = len(self._lengths)
        if not n:
            return {}
        avg = self._total / n or 1.0
        out: dict[str, float] = {}
        for term in set(terms(query)):
            posting = self._postings.get(term)
            if not posting or (n >= MIN_DOCS_FOR_CUTOFF and len(posting) > MAX_DF_SHARE * n):
                continue
            idf = math.log(1 + (n - len(posting) + 0.5) / (len(posting) + 0.5))
            for doc_id, tf in posting.items():
                if among is not None and doc_id not in among:
                    continue
                norm = K1 * (1 - B + B * self._lengths[doc_id] / avg)
                out[doc_id] = out.get(doc_id, 0.0) + idf * tf * (K1 + 1) / (tf + norm)
        return out

    def top(self, query: str, k: int, *, among: Collection[str] | None = None
            ) -> list[tuple[str, float]]:
        """The ``k`` best documents for ``query`` (score > 0), best first; ties by id."""
        if k <= 0:
            return []
        found = self.scores(query, among=among)
        return heapq.nsmallest(k, found.items(), key=lambda kv: (-kv[1], kv[0]))
