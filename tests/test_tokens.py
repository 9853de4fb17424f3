"""Offline token counting: exact tiktoken counts, no network, loaded once."""

from __future__ import annotations

import socket
import threading
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from memory_agent.backends import tokens
from memory_agent.backends.tokens import count_tokens, get_encoding, truncate_to_tokens
from memory_agent.errors import InvalidInputError, ModelUnavailableError


@pytest.fixture
def offline(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Path:
    """No loaded encodings, an empty tiktoken cache, a dead proxy and no sockets."""
    cache = tmp_path / "tiktoken-cache"
    cache.mkdir()
    monkeypatch.setenv("TIKTOKEN_CACHE_DIR", str(cache))
    for var in ("HTTP_PROXY", "HTTPS_PROXY", "http_proxy", "https_proxy"):
        monkeypatch.setenv(var, "http://127.0.0.1:9")

    def no_network(*args: Any, **kwargs: Any) -> None:
        raise AssertionError("token counting tried to open a network connection")

    monkeypatch.setattr(socket.socket, "connect", no_network)
    monkeypatch.setattr(socket, "create_connection", no_network)
    monkeypatch.setattr(tokens, "_ENCODINGS", {})
    return cache


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("hello world", [15339, 1917]),
        ("tiktoken is great!", [83, 1609, 5963, 374, 2294, 0]),
        ("", []),
    ],
)
def test_cl100k_matches_tiktoken(offline: Path, text: str, expected: list[int]) -> None:
    assert get_encoding().encode(text) == expected
    assert count_tokens(text) == len(expected)
    assert list(offline.iterdir()) == []  # nothing written to tiktoken's cache


def test_o200k_is_available_offline(offline: Path) -> None:
    encoding = get_encoding("o200k_base")
    assert encoding.encode("hello world") == [24912, 2375]
    assert encoding.n_vocab == 200019
    assert count_tokens("hello world", encoding="o200k_base") == 2


def test_special_token_text_is_counted_as_text() -> None:
    assert count_tokens("<|endoftext|>") == 7
    assert count_tokens("a <|endofprompt|> b") > 3


def test_unknown_encoding_is_refused() -> None:
    with pytest.raises(InvalidInputError, match="cl100k_base"):
        get_encoding("p50k_base")


def test_a_file_with_the_wrong_hash_is_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    from tiktoken_ext import openai_public

    def tampered() -> dict[str, Any]:
        # Runs with tokens' loader in place of tiktoken's, like the real constructor.
        load_tiktoken_bpe = globals()["load_tiktoken_bpe"]
        ranks = load_tiktoken_bpe(
            "https://openaipublic.blob.core.windows.net/encodings/cl100k_base.tiktoken",
            expected_hash="0" * 64,
        )
        return {"name": "x", "pat_str": r"\S+", "mergeable_ranks": ranks, "special_tokens": {}}

    monkeypatch.setattr(openai_public, "cl100k_base", tampered)
    monkeypatch.setattr(tokens, "_ENCODINGS", {})
    with pytest.raises(ModelUnavailableError, match="SHA-256"):
        get_encoding("cl100k_base")


def test_encoding_loads_once_across_threads(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(tokens, "_ENCODINGS", {})
    calls: list[str] = []
    real_load = tokens._load_encoding

    def counting_load(name: str) -> Any:
        calls.append(name)
        return real_load(name)

    monkeypatch.setattr(tokens, "_load_encoding", counting_load)
    seen: list[object] = []
    threads = [threading.Thread(target=lambda: seen.append(get_encoding())) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert calls == ["cl100k_base"]
    assert len(seen) == 8 and all(e is seen[0] for e in seen)


def test_truncate_examples() -> None:
    assert truncate_to_tokens("hello world", 1) == "hello"
    assert truncate_to_tokens("hello world", 2) == "hello world"
    assert truncate_to_tokens("hello world", 0) == ""
    # 語 is split over the third and fourth tokens: three tokens keep only 日本.
    assert truncate_to_tokens("日本語のテキスト", 1) == "日"
    assert truncate_to_tokens("日本語のテキスト", 3) == "日本"
    assert truncate_to_tokens("日本語のテキスト", 4) == "日本語"


@settings(max_examples=150, deadline=None, database=None)
@given(text=st.text(max_size=200), limit=st.integers(min_value=0, max_value=60))
def test_truncate_gives_a_prefix_within_the_limit(text: str, limit: int) -> None:
    cut = truncate_to_tokens(text, limit)
    assert text.startswith(cut)
    assert count_tokens(cut) <= limit
    if count_tokens(text) <= limit:
        assert cut == text
