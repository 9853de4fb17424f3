"""A local llama.cpp backend (``llama-cpp-python``), loaded lazily and kept quiet.

``llama_cpp`` is imported only when a model is first loaded, so ``import memory_agent`` works
without the ``local`` extra installed.

Structured output is grammar-constrained: the JSON schema is turned into a GBNF grammar by
:func:`memory_agent.backends.llm.grammar.json_schema_grammar`. The grammar is passed
explicitly rather than through ``response_format``, because ``create_chat_completion``
silently falls back to "any JSON" when the conversion fails, and its string rule admits raw
control characters (invalid JSON).
"""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from memory_agent.backends.llm.grammar import json_schema_grammar
from memory_agent.backends.llm.models import (
    DEFAULT_MODEL,
    INSTALL_HINT,
    MODELS,
    ProgressCallback,
    resolve_model_path,
)
from memory_agent.core.llm import LLM
from memory_agent.core.types import Message
from memory_agent.errors import InvalidInputError, ModelError, ModelUnavailableError

if TYPE_CHECKING:
    from llama_cpp import Llama

PromptFormatter = Callable[[Sequence[Message]], tuple[str, bool]]
"""Renders chat messages into (prompt text, whether special tokens were added)."""


class LlamaCppLLM(LLM):
    """A GGUF chat model run in-process by llama.cpp.

    ``model_path`` is a registry key (see :data:`memory_agent.backends.llm.models.MODELS`),
    a path to a ``.gguf`` file, or None for the default model. The model is resolved
    (assembled into the cache if needed) and loaded on first use, once; :meth:`load` does it
    eagerly.

    Prompts are never truncated: if the chat-formatted prompt plus ``max_tokens`` does not fit
    in ``n_ctx``, :class:`ModelError` is raised before any generation.
    """

    supports_json_schema = True

    def __init__(
        self,
        model_path: str | Path | None = None,
        *,
        n_ctx: int = 4096,
        n_threads: int | None = None,
        seed: int = 0,
        verbose: bool = False,
        progress: ProgressCallback | None = None,
    ) -> None:
        super().__init__()
        if n_ctx < 16:
            msg = f"n_ctx must be at least 16 tokens, got {n_ctx}"
            raise InvalidInputError(msg)
        if n_threads is not None and n_threads < 1:
            msg = f"n_threads must be at least 1, got {n_threads}"
            raise InvalidInputError(msg)
        self.model_path = model_path
        self.name = f"llama.cpp/{_display_name(model_path)}"
        self.context_window = n_ctx
        self.n_threads = n_threads if n_threads is not None else max(os.cpu_count() or 1, 1)
        self.seed = seed
        self.verbose = verbose
        self._progress = progress
        self._llama: Llama | None = None
        self._formatter: PromptFormatter | None = None
        self._load_lock = threading.Lock()
        self._checked_grammars: set[str] = set()
        self._evals: list[int] = []  # tokens of each llama.eval() of the current call

    # -- lifecycle -----------------------------------------------------------------------

    def load(self) -> None:
        """Resolve and load the model now instead of on first use (no-op if loaded)."""
        with self._load_lock:
            self._loaded()

    @property
    def is_loaded(self) -> bool:
        """True while the model is in memory."""
        return self._llama is not None

    def close(self) -> None:
        """Free the model's memory; a later call loads it again."""
        with self._lock, self._load_lock:
            if self._llama is not None:
                self._llama.close()
            self._llama = None
            self._formatter = None
            self._checked_grammars.clear()

    def __enter__(self) -> LlamaCppLLM:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def _loaded(self) -> Llama:
        """The loaded model (loading it if needed); the caller holds ``_load_lock``."""
        if self._llama is None:
            llama = self._open()
            self._formatter = _chat_formatter(llama)
            _count_evaluated(llama, self._evals)
            self._llama = llama
        return self._llama

    def _open(self) -> Llama:
        try:
            from llama_cpp import Llama
        except ImportError as exc:
            msg = f"the llama.cpp backend needs llama-cpp-python; install it with: {INSTALL_HINT}"
            raise ModelUnavailableError(msg) from exc
        path = resolve_model_path(self.model_path, progress=self._progress)
        try:
            return Llama(
                model_path=str(path),
                n_ctx=self.context_window,
                n_threads=self.n_threads,
                n_threads_batch=self.n_threads,
                seed=self.seed,
                verbose=self.verbose,
            )
        except (ValueError, RuntimeError, OSError) as exc:
            msg = f"llama.cpp could not load {path}: {exc}"
            raise ModelUnavailableError(msg) from exc

    # -- tokens --------------------------------------------------------------------------

    def count_tokens(self, text: str) -> int:
        """Tokens ``text`` takes with this model's own tokenizer (loads the model)."""
        with self._load_lock:
            llama = self._loaded()
            return len(llama.tokenize(text.encode("utf-8"), add_bos=False, special=False))

    def count_prompt_tokens(self, messages: Sequence[Message]) -> int:
        """Tokens ``messages`` take once rendered with the model's chat template."""
        with self._load_lock:
            return self._prompt_tokens(self._loaded(), messages)

    def _prompt_tokens(self, llama: Llama, messages: Sequence[Message]) -> int:
        if self._formatter is None:  # no chat template in the GGUF: estimate generously
            text = "\n".join(m["content"] for m in messages)
            return len(llama.tokenize(text.encode("utf-8"), add_bos=True)) + 8 * len(messages)
        prompt, added_special = self._formatter(messages)
        tokens = llama.tokenize(prompt.encode("utf-8"), add_bos=not added_special, special=True)
        return len(tokens)

    # -- generation ----------------------------------------------------------------------

    def _complete(
        self,
        messages: Sequence[Message],
        *,
        max_tokens: int,
        json_schema: dict[str, Any] | None,
        temperature: float,
    ) -> str:
        with self._load_lock:
            llama = self._loaded()
        messages = [defuse_special_tokens(m) for m in messages]
        self._check_fits(llama, messages, max_tokens)
        extra: dict[str, Any] = {}
        if json_schema is not None:
            extra["grammar"] = self._grammar(llama, json_schema)
        self._evals.clear()
        started = time.perf_counter()
        try:
            response = llama.create_chat_completion(
                messages=[dict(m) for m in messages],  # type: ignore[misc]
                max_tokens=max_tokens,
                temperature=temperature,
                seed=self.seed,
                **extra,
            )
        except ValueError as exc:  # e.g. "Requested tokens (...) exceed context window"
            msg = f"llama.cpp failed: {exc}"
            raise ModelError(msg) from exc
        self._record(response, time.perf_counter() - started)
        content = response["choices"][0]["message"].get("content")  # type: ignore[index]
        return content if isinstance(content, str) else ""

    def _stream(
        self, messages: Sequence[Message], *, max_tokens: int, temperature: float
    ) -> Iterator[str]:
        with self._load_lock:
            llama = self._loaded()
        messages = [defuse_special_tokens(m) for m in messages]
        prompt_tokens = self._check_fits(llama, messages, max_tokens)
        self._evals.clear()
        started = time.perf_counter()
        pieces = 0
        try:
            chunks = llama.create_chat_completion(
                messages=[dict(m) for m in messages],  # type: ignore[misc]
                max_tokens=max_tokens, temperature=temperature, seed=self.seed, stream=True,
            )
            for chunk in chunks:
                delta: Any = chunk["choices"][0]["delta"]  # type: ignore[index]
                piece = delta.get("content") if isinstance(delta, dict) else None
                if isinstance(piece, str) and piece:
                    pieces += 1
                    yield piece
        except ValueError as exc:
            msg = f"llama.cpp failed: {exc}"
            raise ModelError(msg) from exc
        finally:  # a streamed reply reports no usage: one piece is one generated token
            self._record({"usage": {"prompt_tokens": prompt_tokens,
                                    "completion_tokens": pieces}},
                         time.perf_counter() - started)

    def _grammar(self, llama: Llama, json_schema: dict[str, Any]) -> Any:
        from llama_cpp.llama_grammar import LlamaGrammar

        text = json_schema_grammar(json_schema)
        if text not in self._checked_grammars:
            _check_grammar(llama, text)
            self._checked_grammars.add(text)
        return LlamaGrammar.from_string(text, verbose=False)

    def _check_fits(self, llama: Llama, messages: Sequence[Message], max_tokens: int) -> int:
        """The prompt's tokens; ModelError if they and ``max_tokens`` overflow the context."""
        prompt_tokens = self._prompt_tokens(llama, messages)
        if prompt_tokens + max_tokens > self.context_window:
            msg = (
                f"prompt of {prompt_tokens} tokens plus max_tokens={max_tokens} exceeds the "
                f"context window of {self.context_window} tokens ({self.name}); nothing is "
                f"truncated: shorten the prompt, lower max_tokens or raise n_ctx"
            )
            raise ModelError(msg)
        return prompt_tokens

    def _record(self, response: Any, seconds: float) -> None:
        """Count one call; the prompt tokens evaluated are those of its first ``eval`` (the
        prompt after the prefix llama.cpp kept from the previous call; then one eval per
        generated token)."""
        usage = response.get("usage") or {}
        prompt_tokens = int(usage.get("prompt_tokens", 0))
        prefill = min(self._evals[0], prompt_tokens) if self._evals else None
        self.stats.record(prompt_tokens=prompt_tokens,
                          completion_tokens=int(usage.get("completion_tokens", 0)),
                          seconds=seconds, prefill_tokens=prefill)


def _count_evaluated(llama: Llama, sizes: list[int]) -> None:
    """Make ``llama`` append the number of tokens of each ``eval`` to ``sizes``.

    ``Llama.generate`` reuses the longest prefix of the previous prompt still in the KV cache
    and evaluates only the rest, in one ``eval``; llama-cpp-python reports only full prompt
    sizes, so this is how the evaluated part is known.
    """
    evaluate = llama.eval

    def counting_eval(tokens: Sequence[int]) -> None:
        sizes.append(len(tokens))
        evaluate(tokens)

    llama.eval = counting_eval  # type: ignore[method-assign]


def _display_name(model_path: str | Path | None) -> str:
    if model_path is None:
        return DEFAULT_MODEL
    if isinstance(model_path, str) and model_path in MODELS:
        return model_path
    return Path(model_path).stem


def _chat_formatter(llama: Llama) -> PromptFormatter | None:
    """Render prompts with the GGUF's own chat template and make llama use the same renderer.

    Returns None when the file has no chat template (llama-cpp-python then guesses a format).
    """
    from llama_cpp import llama_chat_format

    template = llama.metadata.get("tokenizer.chat_template")
    if not template:
        return None
    eos_id, bos_id = llama.token_eos(), llama.token_bos()
    formatter = llama_chat_format.Jinja2ChatFormatter(
        template=template,
        eos_token=_token_text(llama, eos_id),
        bos_token=_token_text(llama, bos_id),
        stop_token_ids=[eos_id],
    )
    llama.chat_handler = formatter.to_chat_handler()

    def render(messages: Sequence[Message]) -> tuple[str, bool]:
        result = formatter(messages=[dict(m) for m in messages])  # type: ignore[misc]
        return result.prompt, result.added_special

    return render


def _token_text(llama: Llama, token_id: int) -> str:
    if token_id == -1:
        return ""
    return llama.detokenize([token_id], special=True).decode("utf-8", errors="ignore")


def _check_grammar(llama: Llama, grammar: str) -> None:
    """Raise ModelError if llama.cpp rejects ``grammar`` (it would crash the process later)."""
    import llama_cpp

    vocab = llama_cpp.llama_model_get_vocab(llama.model)
    sampler = llama_cpp.llama_sampler_init_grammar(vocab, grammar.encode("utf-8"), b"root")
    if not sampler:
        msg = (
            "llama.cpp rejected the grammar built from this JSON schema (see its log above); "
            "simplify the schema or lower its maxLength / maxItems bounds"
        )
        raise ModelError(msg)
    llama_cpp.llama_sampler_free(sampler)



def defuse_special_tokens(message: Message) -> Message:
    """The message with chat-template control sequences (``<|im_start|>``...) broken up.

    llama.cpp tokenizes such text in message content as control tokens, which would let
    conversation text forge turns of the prompt; ``<|`` becomes ``< |``.
    """
    content = message["content"].replace("<|", "< |").replace("|>", "| >")
    return {"role": message["role"], "content": content}
