"""Summaries the model writes: of a session's turns, of several child summaries (for a
long session and for roll-ups), and the session step that inserts one into the tree."""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Sequence
from datetime import datetime

from memory_agent.core.prompts import (
    ROLLUP_SYSTEM,
    ROLLUP_USER,
    SUMMARIZE_SESSION_TASK,
)
from memory_agent.core.render import fmt_day
from memory_agent.core.tree import TreeConfig, make_node, session_node_id
from memory_agent.core.types import Message, Node, Turn
from memory_agent.engine.transcripts import CLIP_MARK, chunks, clip, session_prompt, truncate
from memory_agent.engine.tree_index import TreeIndex
from memory_agent.engine.upkeep import Backends, session_turns, store_nodes
from memory_agent.errors import ModelOutputError

# each child summary of a roll-up gets an equal share of transcript_chunk_tokens, but at least
MIN_CHILD_TOKENS = 40
# text longer than CHARS_PER_TOKEN characters per allowed token is cut before tokenizing
# (no token is that long; it bounds the tokenizer's work on runaway output)
CHARS_PER_TOKEN = 8
ERROR_PREVIEW_CHARS = 80  # of a rejected output, in the error message
RAW_OUTPUT_CHARS = 2000  # of a rejected output, kept on the error for debugging

_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f\u2028\u2029\ufeff]")


def one_paragraph(text: object, max_tokens: int) -> str:
    """A model's summary made safe to store: one line of printable text, at most
    ``max_tokens`` tokens (cut at a word), else ModelOutputError."""
    if not isinstance(text, str):
        msg = f"model returned {type(text).__name__} instead of text"
        raise ModelOutputError(msg)
    text = text.encode("utf-8", "replace").decode("utf-8")  # lone surrogates -> '?'
    cleaned = " ".join(_CONTROL.sub(" ", unicodedata.normalize("NFC", text)).split())
    if not any(ch.isalnum() for ch in cleaned):
        msg = f"model returned an empty summary: {text[:ERROR_PREVIEW_CHARS]!r}"
        raise ModelOutputError(msg, raw_output=text[:RAW_OUTPUT_CHARS])
    clipped = truncate(cleaned[: max_tokens * CHARS_PER_TOKEN], max_tokens)
    if clipped != cleaned:
        clipped = clipped.rsplit(" ", 1)[0] if " " in clipped.strip() else clipped
        clipped = clipped.rstrip() + CLIP_MARK
    return clipped


def summarize_turns(backends: Backends, turns: Sequence[Turn], session_id: str) -> str:
    """One model call: a summary of some turns of a session."""
    cfg = backends.config
    messages = session_prompt(turns, SUMMARIZE_SESSION_TASK.format(max_words=cfg.summary_words),
                              turn_tokens=cfg.turn_prompt_tokens)
    return one_paragraph(backends.llm.complete(messages, max_tokens=cfg.summary_max_tokens),
                         cfg.summary_max_tokens)


def merge_summaries(backends: Backends, summaries: Sequence[str], start: datetime,
                    end: datetime) -> str:
    """One model call: several summaries (of the period ``start``-``end``) merged into one."""
    cfg = backends.config
    per_child = max(MIN_CHILD_TOKENS, cfg.transcript_chunk_tokens // max(1, len(summaries)))
    children = "\n".join(f"- {clip(s, per_child)}" for s in summaries)
    messages: list[Message] = [
        {"role": "system", "content": ROLLUP_SYSTEM},
        {"role": "user", "content": ROLLUP_USER.format(
            start=fmt_day(start), end=fmt_day(end),
            children=children, max_words=cfg.rollup_words)},
    ]
    return one_paragraph(backends.llm.complete(messages, max_tokens=cfg.summary_max_tokens),
                         cfg.summary_max_tokens)


def summarize_session(backends: Backends, index: TreeIndex, user_id: str,
                      session_id: str) -> list[Node]:
    """Summarise a session (in chunks if long), insert it into the tree, store the changes."""
    turns = session_turns(backends, user_id, session_id)
    backends.notify(f"summarizing session {session_id} ({len(turns)} turns)")
    parts = [summarize_turns(backends, chunk, session_id) for chunk in
             chunks(turns, backends.count_tokens, backends.config.transcript_chunk_tokens)]
    summary = (merge_summaries(backends, parts, turns[0].at, turns[-1].at) if len(parts) > 1
               else parts[0])
    node = make_node(
        id=session_node_id(session_id), user_id=user_id, level=1, summary=summary,
        children=[t.id for t in turns], start=turns[0].at, end=turns[-1].at,
        session_id=session_id,
    )
    tree = index.snapshot()
    changed = tree.insert_session(node, TreeConfig(backends.config.fanout, backends.config.period))
    store_nodes(backends, index, changed)
    return changed
