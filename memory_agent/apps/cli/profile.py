"""``memory-agent profile``: show, edit, history, restore."""

from __future__ import annotations

import dataclasses
import os
import shlex
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import TYPE_CHECKING

import click

from memory_agent.apps.cli.common import (
    confirm,
    emit_json,
    global_options,
    open_memory,
    require_user,
    say,
)
from memory_agent.core.profile import Fact, ProfileDocument, parse_profile
from memory_agent.errors import (
    ConfirmationRequiredError,
    ProfileBudgetError,
    ProfileConflictError,
    ProfileError,
    ProfileParseError,
)

if TYPE_CHECKING:
    from memory_agent.engine.manager import MemoryManager

USER = click.option("--user", required=True, help="the user whose profile this is")
JSON = click.option("--json", "as_json", is_flag=True, help="print JSON instead of text")


@click.group()
@global_options
def profile() -> None:
    """Show, edit, list the history of, or restore facts of a user's profile document."""


@profile.command()
@USER
@JSON
@global_options
@click.pass_context
def show(ctx: click.Context, user: str, as_json: bool) -> None:
    """Print the profile document (Markdown; --json: one object per fact)."""
    memory = open_memory(ctx, user, with_model=False, background=False)
    with memory:
        require_user(memory)
        if as_json:
            emit_json({"user": user, "version": memory.profile_version(),
                       "facts": [fact_json(f) for f in memory.profile().facts]})
        else:
            say(memory.profile_markdown())


def fact_json(fact: Fact) -> dict[str, object]:
    return {**dataclasses.asdict(fact), "learned": fact.learned.isoformat(),
            "marker": fact.marker()}


@profile.command()
@USER
@JSON
@global_options
@click.pass_context
def history(ctx: click.Context, user: str, as_json: bool) -> None:
    """List superseded, reworded and removed facts (restore them with 'profile restore')."""
    memory = open_memory(ctx, user, with_model=False, background=False)
    with memory:
        require_user(memory)
        entries = sorted(memory.profile_history(), key=lambda e: e.valid_to)
        if as_json:
            emit_json([dataclasses.asdict(e) for e in entries])
            return
        if not entries:
            say("(no superseded or removed facts)")
            return
        for e in entries:
            say(f"{e.fact_id:>5}  {e.valid_from:%Y-%m-%d}..{e.valid_to:%Y-%m-%d}  "
                f"[{e.section}] {e.text}  ({e.reason})")
        say(f"(restore one with: memory-agent profile restore FACT_ID --user {user})")


@profile.command()
@click.argument("fact_id")
@USER
@global_options
@click.pass_context
def restore(ctx: click.Context, fact_id: str, user: str) -> None:
    """Bring back fact FACT_ID from the history: its last wording, with its sources."""
    memory = open_memory(ctx, user, with_model=False, background=False)
    with memory:
        require_user(memory)
        update = memory.restore_fact(fact_id)
        say(f"restored {fact_id}: " + "; ".join(e.text or "" for e in update.edits))


@profile.command()
@USER
@click.option("--create", is_flag=True, help="start a profile for a user with no memory yet")
@click.option("--yes", is_flag=True, help="save an edit that removes facts without asking")
@global_options
@click.pass_context
def edit(ctx: click.Context, user: str, create: bool, yes: bool) -> None:
    """Edit the profile in $EDITOR; the edit is validated before anything is saved.

    An empty or unchanged buffer saves nothing; removed facts are listed and need a
    confirmation (or --yes); a text that does not parse is kept and can be reopened.
    """
    memory = open_memory(ctx, user, with_model=False, background=False)
    with memory:
        if not create:
            require_user(memory)
        ctx.exit(edit_loop(memory, yes=yes))


def edit_loop(memory: MemoryManager, *, yes: bool) -> int:
    version = memory.profile_version()
    original = memory.profile_markdown()
    before = memory.profile()
    keep = Path(tempfile.gettempdir()) / "memory-agent-edits"
    keep.mkdir(mode=0o700, parents=True, exist_ok=True)  # the person's text, theirs only
    path = keep / f"profile-{memory.user_id}-{time.strftime('%Y%m%d-%H%M%S')}.md"
    path.touch(mode=0o600)
    path.write_text(original, encoding="utf-8")
    while True:
        run_editor(path)
        edited = path.read_text(encoding="utf-8")
        if not edited.strip():
            say(f"empty profile buffer: edit aborted, profile unchanged ({path})")
            return 1
        if edited == original:
            path.unlink()
            say("no changes")
            return 0
        try:
            removed = removed_facts(before, parse_profile(edited))
            if removed and not (yes or confirm("Save and remove them?")):
                msg = (f"the edit removes facts and was not confirmed (add --yes); "
                       f"profile unchanged; your text is kept in {path}")
                raise ConfirmationRequiredError(msg)
            doc = memory.edit_profile(edited, base_version=version)
        except (ProfileParseError, ProfileBudgetError) as error:
            click.echo(f"memory-agent: {type(error).__name__}: {error}", err=True)
            click.echo(f"your edited text is kept in {path}", err=True)
            if confirm("Reopen the editor on it?"):
                continue
            return 2
        except ProfileConflictError as error:
            msg = f"{error}; your edited text is kept in {path}"
            raise ProfileConflictError(msg) from error
        path.unlink()
        say(f"profile saved: {len(doc.facts)} facts")
        if removed:
            say("removed facts are kept in the history: 'memory-agent profile history "
                f"--user {memory.user_id}', undo with 'profile restore FACT_ID'")
        return 0


def removed_facts(before: ProfileDocument, after: ProfileDocument) -> list[Fact]:
    """The facts of ``before`` that ``after`` drops, listed for the person to confirm."""
    removed = [f for f in before.facts if after.get(f.id) is None]
    if removed:
        say(f"this edit removes {len(removed)} of {len(before.facts)} facts:")
        for fact in removed:
            say(f"  - {fact.id} [{fact.section}] {fact.text}")
    return removed


def run_editor(path: Path) -> None:
    editor = os.environ.get("VISUAL") or os.environ.get("EDITOR") or "vi"
    try:
        done = subprocess.run([*shlex.split(editor), str(path)], check=False,
                              stdin=sys.stdin if sys.stdin.isatty() else None)
    except OSError as error:
        msg = f"cannot start the editor {editor!r} ({error}); set $EDITOR. Profile unchanged"
        raise ProfileError(msg) from error
    if done.returncode != 0:
        msg = f"the editor {editor!r} exited with status {done.returncode}; profile unchanged"
        raise ProfileError(msg)
