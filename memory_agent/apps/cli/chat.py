"""``memory-agent chat``: a chat on the local model with memory on.

Answers stream as the model writes them (after a "thinking" mark); bad input is refused in
one line and the chat goes on; slash commands never reach the model or the memory; memory
upkeep runs in the background and reports what changed on its own line.
"""

from __future__ import annotations

import os
import shlex
import sys
import threading
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import click

from memory_agent.apps.cli.common import (
    confirm,
    confirm_forget,
    global_options,
    open_memory,
    say,
    say_trace,
    settings,
    stored,
)
from memory_agent.core.session_ids import new_session_id
from memory_agent.core.text import clean_message
from memory_agent.errors import InvalidInputError, MessageTooLargeError

if TYPE_CHECKING:
    from memory_agent.core.profile import ProfileDocument
    from memory_agent.engine.manager import MemoryManager

HELP = """\
/help                      this list
/profile                   the profile document
/tree                      the summary tree
/recall TEXT [--budget N]  what memory would give the model for TEXT, and why
/end                       end this session (memory updates in the background)
/forget                    erase everything stored about you (asks you to type your id)
/quit                      leave (queued memory updates resume at the next start)"""


def chat_session_id() -> str:
    return new_session_id("chat")


def profile_change(before: ProfileDocument, after: ProfileDocument) -> str:
    """'profile: +3 facts, 1 superseded' for a status line."""
    old, new = set(before.by_id()), set(after.by_id())
    added, gone = len(new - old), len(old - new)
    parts = [f"+{added} facts" if added else "no new facts"]
    if gone:
        parts.append(f"{gone} superseded or removed")
    return "profile: " + ", ".join(parts)


@dataclass
class Chat:
    """One chat: the session, the slash commands, and the background status line."""

    memory: MemoryManager
    session: str = field(default_factory=chat_session_id)
    budget: int = 1000
    read: Callable[[str], str] = field(default=lambda prompt: input(prompt))
    interactive: bool = False
    status: str = "memory: up to date"  # the status line (a terminal's bottom toolbar)
    _loaded: bool = False
    _notes: list[str] = field(default_factory=list)  # said before the next prompt
    _watchers: list[threading.Thread] = field(default_factory=list)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def run(self) -> None:
        say(f"Chatting as {self.memory.user_id}, session {self.session}. /help lists the "
            "commands.")
        while True:
            self.say_notes()
            try:
                line = self.read("you> ")
            except EOFError:
                break
            except KeyboardInterrupt:
                continue
            line = line.strip()
            if not line:
                continue
            if line.startswith("/"):
                if not self.command(line):
                    break
                continue
            self.turn(line)

    # --- slash commands ---------------------------------------------------------------
    def command(self, line: str) -> bool:
        """Run one slash command; False means leave the chat."""
        name, _, rest = line.partition(" ")
        if name in ("/quit", "/exit"):
            return False
        handlers: dict[str, Callable[[str], None]] = {
            "/help": lambda _: say(HELP),
            "/profile": lambda _: say(self.memory.profile_markdown()),
            "/tree": self.show_tree,
            "/recall": self.show_recall,
            "/end": lambda _: self.end(),
            "/forget": lambda _: self.forget(),
        }
        handler = handlers.get(name)
        if handler is None:
            say(f"unknown command {name}; /help lists them (nothing was sent or stored)")
            return True
        handler(rest)
        return True

    def show_tree(self, _: str) -> None:
        from memory_agent.apps.demo import print_tree

        print_tree(self.memory, say)

    def show_recall(self, rest: str) -> None:
        try:
            words = shlex.split(rest)
        except ValueError as error:
            say(f"/recall: {error}")
            return
        budget = self.budget
        if "--budget" in words:
            at = words.index("--budget")
            try:
                budget = int(words[at + 1])
            except (IndexError, ValueError):
                say("/recall: --budget needs a number of tokens")
                return
            del words[at:at + 2]
        if not words:
            say("usage: /recall TEXT [--budget N]")
            return
        try:
            trace = self.memory.recall_trace(" ".join(words), token_budget=budget)
        except InvalidInputError as error:
            say(f"/recall refused: {error}")
            return
        say_trace(trace, budget)

    def end(self) -> None:
        if self._open_session():
            before = self.memory.profile()
            self.memory.end_session(self.session)
            self.watch(before, self.session)
            say(f"(session {self.session} ended; memory updates in the background)")
        self.session = chat_session_id()
        say(f"(new session {self.session})")

    def forget(self) -> None:
        if confirm_forget(self.memory):
            self.memory.forget()
            say("(everything about you was forgotten)")
        else:
            say("(not confirmed: nothing was forgotten)")

    # --- a chat turn ------------------------------------------------------------------
    def turn(self, line: str) -> None:
        from memory_agent.apps.chat import stream_answer

        limit = self.memory.config.max_message_chars
        try:
            message = clean_message(line, "message", max_chars=limit)
        except MessageTooLargeError:
            say(f"(message refused: it is {len(line):,} characters, over the limit of "
                f"{limit:,}; nothing was sent or stored)")
            return
        except InvalidInputError as error:
            say(f"(message refused: {error}; nothing was sent or stored)")
            return
        if not self._loaded:
            click.echo("  ... loading the local model (first answer only)", err=True)
            self._loaded = True
        context = self.memory.recall(message, token_budget=self.budget)
        reply = self.stream(stream_answer(self.memory.llm, message, context))
        self.memory.record(message, reply or "(no answer)", session_id=self.session)

    def stream(self, pieces: Iterable[str]) -> str:
        """Print the reply as it comes, after a 'thinking' mark; return it whole."""
        thinking = "assistant> (thinking…)"
        click.echo(thinking, nl=False)
        text: list[str] = []
        first = True
        for piece in pieces:
            if first:  # replace the mark by the answer on the same line
                click.echo("\r" + " " * len(thinking) + "\rassistant> ", nl=False)
                piece = piece.lstrip()
                first = False
            text.append(piece)
            click.echo(piece, nl=False)
        if first:
            click.echo("\rassistant> ", nl=False)
        click.echo()
        return "".join(text).strip()

    # --- background upkeep ------------------------------------------------------------
    def watch(self, before: ProfileDocument, session: str) -> None:
        """Keep the status line current while ``session`` is updated, then say (before
        the next prompt, never over it) what changed."""
        self.status = f"memory: updating session {session}…"

        def wait() -> None:
            failures = self.memory.flush()
            change = profile_change(before, self.memory.profile())
            note = f"; {len(failures)} failed (kept for a retry)" if failures else ""
            with self._lock:
                self.status = f"memory: up to date ({change})"
                self._notes.append(f"[memory] session {session} done: {change}{note}")

        watcher = threading.Thread(target=wait, name="chat-status", daemon=True)
        self._watchers.append(watcher)
        watcher.start()

    def say_notes(self) -> None:
        with self._lock:
            notes, self._notes = self._notes, []
        for note in notes:
            say(note)

    def _open_session(self) -> bool:
        return any(s.session_id == self.session and not s.ended for s in self.memory.sessions())

    def leave(self) -> bool:
        """End the open session; wait for memory upkeep only if the person wants to.

        Returns False when update work is still running and the person chose not to wait:
        the process must then end at once (``os._exit``), as after a crash, because the
        model and the store are still in use on the worker thread; the unfinished job stays
        journaled and the next start resumes it."""
        if self._open_session():
            self.memory.end_session(self.session)
        pending = self.memory.pending
        wait = True
        if pending and self.interactive:
            wait = confirm(f"Memory is still updating ({pending} jobs). Wait for it? "
                           "(No: it resumes at the next start)")
        if pending and wait:
            say(f"(updating memory before exit: {pending} jobs...)")
        self.memory.close(wait=wait)
        if wait:  # the status threads read the profile once the work is done
            for watcher in self._watchers:
                watcher.join(timeout=60)
        return wait or not pending


@click.command()
@click.option("--user", required=True, help="who is chatting (a new id starts a new memory)")
@click.option("--session", help="session id (default: a new one per run)")
@click.option("--budget", type=int, help="memory context budget in tokens")
@global_options
@click.pass_context
def chat(ctx: click.Context, user: str, session: str | None, budget: int | None) -> None:
    """Chat on the local model with memory on; /help lists the commands."""
    memory = open_memory(ctx, user, with_model=True, background=True)
    interactive = sys.stdin.isatty() and sys.stdout.isatty()
    if stored(memory) is None:
        say(f"(new user {user!r}: no memory yet)")
    loop = Chat(memory, budget=budget or settings(ctx).budget, interactive=interactive)
    if interactive:
        loop.read = line_reader(lambda: loop.status)
    if session:
        loop.session = session
    try:
        loop.run()
    finally:
        if not loop.leave():
            sys.stdout.flush()
            sys.stderr.flush()
            os._exit(0)


def line_reader(status: Callable[[], str]) -> Callable[[str], str]:
    """Line editing, in-memory history and a bottom status line on a terminal
    (prompt_toolkit). Nothing typed is written to disk outside the memory store."""
    from prompt_toolkit import PromptSession
    from prompt_toolkit.history import InMemoryHistory

    session: PromptSession[str] = PromptSession(history=InMemoryHistory(),
                                                bottom_toolbar=status, refresh_interval=0.5)
    return lambda prompt: session.prompt(prompt)
