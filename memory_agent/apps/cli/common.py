"""What every subcommand shares: global options, opening a user's memory, output, and
confirmations for destructive actions."""

from __future__ import annotations

import json
import logging
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any, TypeVar

import click

from memory_agent.apps.cli.settings import CliSettings, resolve
from memory_agent.errors import UnknownUserError

if TYPE_CHECKING:
    from memory_agent.core.trace import RecallTrace
    from memory_agent.engine.manager import MemoryManager

F = TypeVar("F", bound=Callable[..., Any])

# name -> (flags, help); each is accepted before or after the subcommand
GLOBAL_OPTIONS: dict[str, tuple[tuple[str, ...], str, dict[str, Any]]] = {
    "data_dir": (("--data-dir",), "embedded Chroma directory (default: $MEMORY_AGENT_HOME or "
                 "~/.local/share/memory-agent)", {}),
    "server_url": (("--server-url",), "a Chroma server, e.g. http://127.0.0.1:8000 (default: "
                   "$MEMORY_AGENT_CHROMA_URL; embedded if unset)", {}),
    "model": (("--model",), "model key (qwen2.5-1.5b, qwen2.5-0.5b) or a .gguf path", {}),
    "threads": (("--threads",), "CPU threads for the local model (default: all cores)",
                {"type": int}),
    "n_ctx": (("--n-ctx",), "context window of the local model in tokens (default 4096)",
              {"type": int}),
    "verbose": (("-v", "--verbose"), "log more (repeat for debug)", {"count": True}),
    "quiet": (("-q", "--quiet"), "log errors only", {"is_flag": True, "default": None}),
}


def global_options(fn: F) -> F:
    """Add the global options to a group or command; a value given later wins."""
    def remember(ctx: click.Context, param: click.Parameter, value: Any) -> None:
        if value is not None and value != 0 and param.name is not None:  # 0/False: not given
            ctx.find_root().ensure_object(dict)[param.name] = value
            if param.name in ("verbose", "quiet"):
                setup_logging(ctx)

    for name, (flags, help_text, extra) in reversed(GLOBAL_OPTIONS.items()):
        fn = click.option(*flags, name, help=help_text, expose_value=False,
                          callback=remember, **extra)(fn)
    return fn


def settings(ctx: click.Context) -> CliSettings:
    flags: dict[str, Any] = ctx.find_root().ensure_object(dict)
    return resolve(flags)


def setup_logging(ctx: click.Context) -> None:
    flags: dict[str, Any] = ctx.find_root().ensure_object(dict)
    level = (logging.ERROR if flags.get("quiet") else
             logging.DEBUG if flags.get("verbose", 0) >= 2 else
             logging.INFO if flags.get("verbose") else logging.WARNING)
    logging.basicConfig(level=level, format="%(levelname)s %(name)s: %(message)s",
                        stream=sys.stderr, force=True)


def say(message: str = "") -> None:
    click.echo(message)


def progress(message: str) -> None:
    click.echo(f"  ... {message}", err=True)


def emit_json(value: Any) -> None:
    click.echo(json.dumps(value, indent=2, ensure_ascii=False, default=str))


def open_memory(ctx: click.Context, user: str, *, with_model: bool,
                background: bool = True) -> MemoryManager:
    """The user's memory on the configured store. Without ``with_model`` no model is
    loaded and no queued update work is resumed (read-only commands)."""
    from memory_agent.engine.manager import MemoryManager

    s = settings(ctx)
    llm = None
    if not with_model:
        from memory_agent.backends.llm.fake import FakeLLM

        llm = FakeLLM()  # read-only commands never call a model; nothing is resumed
    return MemoryManager.open(
        user, data_dir=s.data_dir, server_url=s.server_url, model=s.model, llm=llm,
        n_threads=s.threads, n_ctx=s.n_ctx, background=background, resume=with_model,
        progress=progress,
    )


def say_trace(trace: RecallTrace, budget: int) -> None:
    """The context, then why each candidate was chosen or cut (its score parts)."""
    say(trace.prompt or "(nothing recalled)")
    parts = ", ".join(f"{name} {n}" for name, n in trace.part_tokens.items() if n)
    say(f"({trace.context.tokens_used} of {budget} tokens: {parts or 'nothing'})")
    for item in trace.items:
        p = item.parts
        why = "in" if item.chosen else f"cut: {item.cut}"
        say(f"  {item.kind:<8} {item.id:<16} {p.total:6.3f} = dense {p.dense:.3f} + lexical "
            f"{p.lexical:.3f} + prior {p.prior:.3f} + time {p.time:.3f}  [{why}]")


def stored(memory: MemoryManager) -> str | None:
    """What is stored about the user, in words, or None if nothing is."""
    s = memory.summary()
    if not (s.sessions or s.facts or s.history):
        return None
    return (f"{s.sessions} sessions, {s.turns} turns, {s.facts} profile facts, "
            f"{s.history} history entries")


@contextmanager
def stored_user(ctx: click.Context, user: str, *, background: bool = False
                ) -> Iterator[MemoryManager]:
    """A read-only manager of a user who has memory (UnknownUserError otherwise), closed
    at the end."""
    with open_memory(ctx, user, with_model=False, background=background) as memory:
        require_user(memory)
        yield memory


def require_user(memory: MemoryManager) -> None:
    if stored(memory) is None:
        msg = (f"no memory stored for user {memory.user_id!r} (check the spelling; "
               "'memory-agent users' lists them, 'memory-agent chat --user ...' creates one)")
        raise UnknownUserError(msg)


def confirm(question: str) -> bool:
    """A yes/no question on the terminal; False when there is no terminal."""
    if not sys.stdin.isatty():
        return False
    try:
        return input(f"{question} [y/N] ").strip().lower() in ("y", "yes")
    except EOFError:
        return False


def confirm_forget(memory: MemoryManager) -> bool:
    """Forgetting a whole user: say what goes, and have the user id typed."""
    what = stored(memory) or "nothing stored yet"
    return confirm_typed(f"This erases everything stored about {memory.user_id} ({what}). "
                         "It cannot be undone.", memory.user_id)


def confirm_typed(question: str, expected: str) -> bool:
    """The person types ``expected`` to confirm what cannot be undone."""
    say(question)
    try:
        return input(f"Type {expected!r} to confirm: ").strip() == expected
    except EOFError:
        return False
