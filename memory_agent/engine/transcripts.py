"""A session's turns as prompt text: numbered, each message shortened, long sessions
read in chunks (pure text work over a token counter), and the prompt every task on a
session's turns starts with."""

from __future__ import annotations

from collections.abc import Callable, Sequence

from memory_agent.core.prompts import SESSION_SYSTEM, SESSION_TRANSCRIPT
from memory_agent.core.render import fmt_day
from memory_agent.core.timeref import annotation
from memory_agent.core.types import Message, Turn

CLIP_MARK = " …"  # ends a message or summary that was shortened
# an assistant reply gets 1/ASSISTANT_TOKEN_DIVISOR of a user message's prompt tokens
ASSISTANT_TOKEN_DIVISOR = 2


def truncate(text: str, tokens: int) -> str:
    """``text`` cut to at most ``tokens`` tokens of the default tokenizer.

    The engine imports no backend at module level: tiktoken loads on first use.
    """
    from memory_agent.backends.tokens import truncate_to_tokens

    return truncate_to_tokens(text, tokens)


def clip(text: str, tokens: int) -> str:
    """``text`` cut to at most ``tokens`` tokens, marked with :data:`CLIP_MARK` if cut."""
    clipped = truncate(text, tokens)
    return clipped if clipped == text else clipped + CLIP_MARK


def transcript(turns: Sequence[Turn], *, turn_tokens: int, assistant_tokens: int) -> str:
    """Turns numbered by their index, each message shortened for the prompt; a user
    message's relative times ("yesterday") are resolved against its date after it."""
    lines = []
    for t in turns:
        when = annotation(t.user_message, t.at)  # "(yesterday = Sunday 7 May 2023)"
        lines.append(f"[{t.index}] User: {clip(t.user_message, turn_tokens)}"
                     + (f" {when}" if when else ""))
        lines.append(f"    Assistant: {clip(t.assistant_message, assistant_tokens)}")
    return "\n".join(lines)


def session_prompt(turns: Sequence[Turn], task: str, *, turn_tokens: int) -> list[Message]:
    """The prompt of a task on some turns of a session: the shared system message and the
    transcript first, the task last, so every task on the same turns has the same prefix
    (a model with a prompt cache evaluates it once: see ``prompts.SESSION_SYSTEM``). Each
    user message is cut to ``turn_tokens``, each reply to half of it."""
    return [
        {"role": "system", "content": SESSION_SYSTEM},
        {"role": "user", "content": SESSION_TRANSCRIPT.format(
            date=f"{fmt_day(turns[0].at)}, {turns[0].at:%H:%M}",
            transcript=transcript(turns, turn_tokens=turn_tokens,
                                  assistant_tokens=turn_tokens // ASSISTANT_TOKEN_DIVISOR),
            task=task)},
    ]


def chunks(turns: Sequence[Turn], count_tokens: Callable[[str], int],
           chunk_tokens: int) -> list[list[Turn]]:
    """The turns in order, cut into runs of at most ``chunk_tokens`` tokens each (a turn
    longer than that is a run of its own)."""
    runs: list[list[Turn]] = [[]]
    used = 0
    for t in turns:
        cost = count_tokens(t.text())
        if runs[-1] and used + cost > chunk_tokens:
            runs.append([])
            used = 0
        runs[-1].append(t)
        used += cost
    return runs
