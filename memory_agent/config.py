"""Settings of a MemoryManager, validated (unknown options are errors)."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

ENV_HOME = "MEMORY_AGENT_HOME"
ENV_CHROMA_URL = "MEMORY_AGENT_CHROMA_URL"


def default_data_dir() -> Path:
    """``$MEMORY_AGENT_HOME`` or ``~/.local/share/memory-agent``."""
    env = os.environ.get(ENV_HOME)
    if env:
        return Path(env).expanduser()
    return Path.home() / ".local" / "share" / "memory-agent"


class MemoryConfig(BaseModel):
    """Tunable behaviour. Defaults suit a 0.5B-1.5B local model on a laptop."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    # profile
    profile_token_budget: int = Field(2000, ge=200, le=32000)
    # recall
    default_recall_budget: int = Field(1500, ge=50)
    profile_share: float = Field(0.4, gt=0, le=1)  # most of a recall budget the profile may take
    node_share: float = Field(0.25, ge=0, le=1)  # most the summary nodes may take
    max_item_tokens: int = Field(200, ge=20)  # a turn longer than this is shortened in context
    beam_width: int = Field(3, ge=1, le=64)
    session_beam: int = Field(4, ge=1, le=256)
    turn_candidates: int = Field(24, ge=1, le=500)
    lexical_weight: float = Field(0.3, ge=0, le=5)
    # tree
    fanout: int = Field(8, ge=2, le=64)
    period: Literal["month", "week", "none"] = "month"
    # model calls
    summary_words: int = Field(80, ge=10, le=400)
    rollup_words: int = Field(120, ge=10, le=600)
    summary_max_tokens: int = Field(220, ge=16, le=2048)
    transcript_chunk_tokens: int = Field(2000, ge=200)  # longer sessions are summarised in chunks
    turn_prompt_tokens: int = Field(160, ge=20)  # each turn is shortened to this in prompts
    # input limits
    max_message_chars: int = Field(20000, ge=1)
