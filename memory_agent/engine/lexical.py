"""Okapi BM25 over a changing set of documents, updated in place (no I/O; numpy arrays
score the postings, so it lives in the engine layer with the other in-memory indexes).

Recall ranks turns and summary nodes by BM25 beside their embeddings. The documents change
with every recorded turn and every new summary, so the index is incremental: ``add`` and
``remove`` touch only the document's own terms, and a query reads only the postings of its
own terms (no rebuild, no pass over all documents; a term's postings are scored as arrays,
cached until a document with that term changes). Libraries such as ``rank_bm25`` and
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

import numpy as np

from memory_agent.core.pool import best_first
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
        self._row: dict[str, int] = {}  # doc id -> its row in a query's score array
        self._ids: list[str | None] = []  # row -> doc id (None: removed)
        # term -> its postings as (rows, term frequencies, document lengths), built when the
        # term is first queried, dropped when a document with the term is added or removed
        self._arrays: dict[str, tuple[np.ndarray, np.ndarray, np.ndarray]] = {}

    def __len__(self) -> int:
        return len(self._lengths)

    def __contains__(self, doc_id: object) -> bool:
        return doc_id in self._lengths

    def add(self, doc_id: str, text: str) -> None:
        """Index ``text`` under ``doc_id`` (replacing what that id held, in the same row: a
        summary rewritten at every roll-up does not grow the score array)."""
        row = self._row.get(doc_id)
        if row is not None:
            self.remove(doc_id)
        counts = Counter(terms(text))
        for term, tf in counts.items():
            self._postings.setdefault(term, {})[doc_id] = tf
            self._arrays.pop(term, None)
        if row is None:
            row = len(self._ids)
            self._ids.append(doc_id)
        else:
            self._ids[row] = doc_id
        self._row[doc_id] = row
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
            self._arrays.pop(term, None)
            if not posting:
                del self._postings[term]
        self._total -= self._lengths.pop(doc_id)
        self._ids[self._row.pop(doc_id)] = None

    def _scored_terms(self, query: str) -> list[tuple[str, float]]:
        """The query's distinct terms that are scored, in query order, with their idf."""
        n = len(self._lengths)
        out = []
        for term in dict.fromkeys(terms(query)):
            posting = self._postings.get(term)
            if not posting or (n >= MIN_DOCS_FOR_CUTOFF and len(posting) > MAX_DF_SHARE * n):
                continue
            out.append((term, math.log(1 + (n - len(posting) + 0.5) / (len(posting) + 0.5))))
        return out

    def scores(self, query: str, *, among: Collection[str] | None = None) -> dict[str, float]:
        """BM25 score of every document holding a query term (``among``: only these ids);
        documents with no query term are left out (their score is 0), and so are terms in
        more than ``MAX_DF_SHARE`` of at least ``MIN_DOCS_FOR_CUTOFF`` documents."""
        if not self._lengths:
            return {}
        avg = self._total / len(self._lengths) or 1.0
        out: dict[str, float] = {}
        for term, idf in self._scored_terms(query):
            posting = self._postings[term]
            if among is None:
                hits: Iterable[tuple[str, int]] = posting.items()
            elif len(among) < len(posting):  # a few sessions' turns: look each one up
                hits = ((d, posting[d]) for d in among if d in posting)
            else:
                hits = ((d, tf) for d, tf in posting.items() if d in among)
            for doc_id, tf in hits:
                norm = K1 * (1 - B + B * self._lengths[doc_id] / avg)
                out[doc_id] = out.get(doc_id, 0.0) + idf * tf * (K1 + 1) / (tf + norm)
        return out

    def top(self, query: str, k: int, *, among: Collection[str] | None = None
            ) -> list[tuple[str, float]]:
        """The ``k`` best documents for ``query`` (score > 0), best first; ties by id.

        Over all documents the postings are scored as arrays (the same scores as
        :meth:`scores`, which a query over a whole history's turns needs: a common word's
        postings hold thousands of documents); ``among`` a few documents, one by one."""
        if k <= 0 or not self._lengths:
            return []
        if among is not None:
            return best_first(self.scores(query, among=among), k)
        avg = self._total / len(self._lengths) or 1.0
        acc = np.zeros(len(self._ids))
        for term, idf in self._scored_terms(query):
            rows, tf, length = self._term_arrays(term)
            acc[rows] += idf * tf * (K1 + 1) / (tf + K1 * (1 - B + B * length / avg))
        hit = np.flatnonzero(acc > 0)
        if hit.size > k:  # the k best: those above the k-th score, then the ties by id
            kth = np.partition(acc[hit], hit.size - k)[hit.size - k]
            above, tied = hit[acc[hit] > kth], hit[acc[hit] == kth]
            # rows with a score are live documents
            first = heapq.nsmallest(k - above.size, (self._ids[r] or "" for r in tied.tolist()))
            hit = np.concatenate([above, np.fromiter((self._row[d] for d in first),
                                                     dtype=np.intp, count=len(first))])
        return best_first({self._ids[r] or "": float(acc[r]) for r in hit.tolist()}, k)

    def _term_arrays(self, term: str) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        arrays = self._arrays.get(term)
        if arrays is None:
            posting = self._postings[term]
            arrays = (np.fromiter((self._row[d] for d in posting), dtype=np.intp,
                                  count=len(posting)),
                      np.fromiter(posting.values(), dtype=np.float64, count=len(posting)),
                      np.fromiter((self._lengths[d] for d in posting), dtype=np.float64,
                                  count=len(posting)))
            self._arrays[term] = arrays
        return arrays
