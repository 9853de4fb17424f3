"""Settings of a MemoryManager, validated (unknown options are errors)."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

ENV_HOME = "MEMORY_AGENT_HOME"
ENV_CHROMA_URL = "MEMORY_AGENT_CHROMA_URL"
STATEMENTS_PER_SESSION = 6  # the default of MemoryConfig.statements_per_session


def default_data_dir() -> Path:
    """``$MEMORY_AGENT_HOME`` or ``~/.local/share/memory-agent``."""
    env = os.environ.get(ENV_HOME)
    if env:
        return Path(env).expanduser()
    return Path.home() / ".local" / "share" / "memory-agent"


def default_chroma_url() -> str | None:
    """``$MEMORY_AGENT_CHROMA_URL`` (a Chroma server, e.g. ``http://127.0.0.1:8000``), or None."""
    return os.environ.get(ENV_CHROMA_URL) or None


class MemoryConfig(BaseModel):
    """Tunable behaviour. Defaults suit a 0.5B-1.5B local model on a laptop."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    # profile
    profile_token_budget: int = Field(default=2000, ge=200, le=32000)
    # over the budget, first ask the model to merge related facts (engine/compaction.py),
    # then drop the least supported. Off by default: once a profile is full that is one
    # more call of the profile's size in every session, and the 1.5B model's merges were
    # never sound on LoCoMo (docs/profile.md, "Budget"); a larger model may do better
    compact_with_model: bool = False
    # also keep up to this many of a session's first-person statements verbatim ("I have a
    # doctor for a husband"; statements.py); 0 = only the model's field extraction
    statements_per_session: int = Field(default=STATEMENTS_PER_SESSION, ge=0, le=50)
    # recall
    default_recall_budget: int = Field(default=1500, ge=50)
    # most of a recall budget the profile may take (the split and the weights below were
    # chosen on the LoCoMo tuning half of the write path v2 store, benchmarks/tune_recall.py;
    # docs/benchmarks.md)
    profile_share: float = Field(default=0.15, gt=0, le=1)
    node_share: float = Field(default=0.1, ge=0, le=1)  # most the summary nodes may take
    # a turn longer than this is shortened in context
    max_item_tokens: int = Field(default=200, ge=20)
    # the candidate pool (core/pool.py): turns and summary nodes of every level, ranked by
    # meaning and by BM25 and fused by reciprocal rank
    turn_candidates: int = Field(default=50, ge=0, le=500)  # best turns by meaning
    lexical_candidates: int = Field(default=50, ge=0, le=500)  # best turns by BM25
    rrf_k: int = Field(default=60, ge=1, le=1000)  # 1 / (rrf_k + rank)
    node_weight: float = Field(default=0.5, ge=0, le=5)  # a node's fused score, times this
    node_candidates: int = Field(default=20, ge=0, le=500)  # best nodes put in the pool
    # nodes ranked per channel (meaning, words) before fusing: the rest get no rank term, so
    # a recall's cost does not grow with the tree (their turns' session prior is then 0)
    node_rank_depth: int = Field(default=200, ge=1, le=100_000)
    fetch_candidates: int = Field(default=40, ge=1, le=1000)  # best turns whose text is read
    # a turn's score rises by this times its session node's fused score (the tree as a prior)
    session_weight: float = Field(default=0.1, ge=0, le=5)
    expand_sessions: int = Field(default=3, ge=0, le=50)  # best sessions bring their best turns
    turns_per_session: int = Field(default=2, ge=0, le=20)  # ...this many each
    # the best turns bring the next turn of their session at this share of their score
    neighbour_weight: float = Field(default=0.0, ge=0, le=1)
    neighbours: int = Field(default=5, ge=0, le=50)  # of how many best turns
    # an item inside the month or year a question names ("in May 2023") gains this
    time_weight: float = Field(default=0.02, ge=0, le=5)
    # a question about time (when, how long, how often, before, after, first, last): a turn
    # that says a time ("last Sunday", "in 2022", "for 4 years") gains this
    time_mention_weight: float = Field(default=0.0, ge=0, le=5)
    # "the first / the last time": the earliest (latest) candidate turn gains this, the
    # others a share by their place in time
    time_order_weight: float = Field(default=0.0, ge=0, le=5)
    lexical_weight: float = Field(default=0.3, ge=0, le=5)  # profile facts: + this x overlap
    # profile facts that do not all fit the profile share are picked by meaning (embedding
    # similarity to the query + lexical_weight * word overlap); False: by word overlap only
    rank_facts_by_meaning: bool = True
    # how often (at most) recall checks the store for turns other processes wrote or deleted
    # (the in-memory turn index; see turn_index.py); 0 = before every recall
    turn_index_refresh_seconds: float = Field(default=5.0, ge=0, le=86400)
    # sessions: a conversation idle for longer than this ends its session at its next turn
    # and goes on in a new one (MemoryManager.session_for, SessionClock); None = never
    session_idle_seconds: float | None = Field(default=None, gt=0)
    # tree
    fanout: int = Field(default=8, ge=2, le=64)
    period: Literal["month", "week", "none"] = "month"
    # model calls
    summary_words: int = Field(default=80, ge=10, le=400)
    rollup_words: int = Field(default=120, ge=10, le=600)
    summary_max_tokens: int = Field(default=220, ge=16, le=2048)
    # longer sessions are summarised in chunks
    transcript_chunk_tokens: int = Field(default=2000, ge=200)
    turn_prompt_tokens: int = Field(default=160, ge=20)  # each turn is shortened to this in prompts
    # input limits
    max_message_chars: int = Field(default=20000, ge=1)
