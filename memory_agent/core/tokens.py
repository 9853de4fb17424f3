"""What the core needs from a tokenizer: count a text's tokens, cut a text to a token limit.

The core never tokenizes by itself; callers pass these in. The default implementations
are :func:`memory_agent.backends.tokens.count_tokens` and
:func:`memory_agent.backends.tokens.truncate_to_tokens` (tiktoken); a model's own
counter (``LLM.count_tokens``) is a ``TokenCounter`` too.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Protocol

TokenCounter = Callable[[str], int]
"""Anything that counts the tokens of a text."""


class Truncator(Protocol):
    """Cuts a text to its longest prefix of at most ``max_tokens`` tokens."""

    def __call__(self, text: str, max_tokens: int, /) -> str: ...
