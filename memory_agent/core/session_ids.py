"""Session ids that do not collide across runs (pure)."""

from __future__ import annotations

import secrets
from datetime import datetime, timezone


def new_session_id(prefix: str = "session", *, now: datetime | None = None) -> str:
    """A fresh session id such as ``chat-20260302-190501-3fa2``: the time (UTC, to the
    second) and a random suffix, so two runs, or two processes, never share one. Reusing an
    ended session id is refused by ``MemoryManager.record`` (SessionStateError)."""
    stamp = (now or datetime.now(timezone.utc)).strftime("%Y%m%d-%H%M%S")
    return f"{prefix}-{stamp}-{secrets.token_hex(2)}"
