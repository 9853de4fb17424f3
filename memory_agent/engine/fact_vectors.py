"""Embeddings of profile facts, cached by text, for ranking facts by meaning in ``recall``.

A profile holds at most a few hundred short facts and changes only when the background
update edits it, so each fact text is embedded once (in one batch with the other new ones)
and kept; ``recall`` then costs one dot product per fact.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Sequence

import numpy as np
import numpy.typing as npt

from memory_agent.core.embedder import Embedder
from memory_agent.core.profile import Fact

FloatArray = npt.NDArray[np.float32]


def fact_text(fact: Fact) -> str:
    """What is embedded for a fact: its text, plus the evidence of an inferred one."""
    return f"{fact.text} ({fact.evidence})" if fact.inferred and fact.evidence else fact.text


class FactVectors:
    """Text -> vector cache (least recently used entries dropped past ``max_entries``)."""

    def __init__(self, embedder: Embedder, *, max_entries: int = 4096) -> None:
        if max_entries < 1:
            msg = f"max_entries must be >= 1, got {max_entries}"
            raise ValueError(msg)
        self.embedder = embedder
        self.max_entries = max_entries
        self._vectors: OrderedDict[str, FloatArray] = OrderedDict()
        self._lock = threading.Lock()

    def __len__(self) -> int:
        return len(self._vectors)

    def clear(self) -> None:
        """Drop every cached vector (after ``forget``: no forgotten text stays in memory)."""
        with self._lock:
            self._vectors.clear()

    def vectors(self, texts: Sequence[str]) -> list[FloatArray]:
        """One vector per text; texts not seen before are embedded in one batch (outside the
        lock, so a recall never waits on another caller's embedding)."""
        with self._lock:
            found = {t: self._vectors[t] for t in texts if t in self._vectors}
        missing = [t for t in dict.fromkeys(texts) if t not in found]
        if missing:
            rows = self.embedder.embed_documents(missing)
            found |= {t: np.asarray(r, dtype=np.float32)
                      for t, r in zip(missing, rows, strict=True)}
        with self._lock:
            for text in dict.fromkeys(texts):
                self._vectors[text] = found[text]
                self._vectors.move_to_end(text)
            while len(self._vectors) > self.max_entries:
                self._vectors.popitem(last=False)
        return [found[t] for t in texts]

    def similarities(self, query_vector: FloatArray, facts: Sequence[Fact]) -> dict[str, float]:
        """Cosine similarity of each fact to the query (vectors are L2-normalised)."""
        if not facts:
            return {}
        matrix = np.vstack(self.vectors([fact_text(f) for f in facts]))
        sims = matrix @ np.asarray(query_vector, dtype=np.float32)
        return {f.id: float(s) for f, s in zip(facts, sims, strict=True)}
