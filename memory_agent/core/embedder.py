"""The embedder interface: texts to L2-normalised vectors (a dot product is the cosine)."""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Sequence


class Embedder(ABC):
    """Turns texts into vectors of ``dim`` floats (L2-normalised).

    Documents and queries may be embedded differently (E5 prefixes them differently);
    compare a query vector with document vectors, or documents with documents.
    """

    name: str = "embedder"
    dim: int = 0
    @abstractmethod
    def embed_documents(self, texts: Sequence[str]) -> list[list[float]]:
        """One vector per text, in order (for stored texts: turns, summaries)."""

    @abstractmethod
    def embed_query(self, text: str) -> list[float]:
        """The vector of a search query."""
