"""The ``memory-agent`` command: the group, and the commands that read or move a user's
memory (demo, recall, tree, users, export, import, forget). Chat and profile have their
own modules."""

from __future__ import annotations

import dataclasses
import sys
import time
from collections.abc import Sequence
from pathlib import Path

import click

from memory_agent.apps.cli.chat import chat
from memory_agent.apps.cli.common import (
    confirm,
    confirm_forget,
    emit_json,
    global_options,
    open_memory,
    progress,
    say,
    say_trace,
    settings,
    setup_logging,
    stored,
    stored_user,
)
from memory_agent.apps.cli.inspect import inspect
from memory_agent.apps.cli.profile import profile
from memory_agent.errors import ConfirmationRequiredError, MemoryAgentError

USER = click.option("--user", required=True, help="the user whose memory this is")
JSON = click.option("--json", "as_json", is_flag=True, help="print JSON instead of text")


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@global_options
@click.pass_context
def cli(ctx: click.Context) -> None:
    """memory-agent: long-term memory of a user for local LLM apps.

    Settings come from flags, then environment variables, then a TOML config file
    ($MEMORY_AGENT_CONFIG, or config.toml in the data directory) with keys model,
    threads, n_ctx, budget and server_url. Global options may follow the subcommand.
    """
    setup_logging(ctx)


cli.add_command(chat)
cli.add_command(profile)
cli.add_command(inspect)


@cli.command()
@click.option("--user", default="demo", show_default=True,
              help="the user the demo plays; it replaces only memory an earlier demo made, "
              "unless --reset")
@click.option("--reset", is_flag=True,
              help="erase this user's existing memory first (only after the model loaded)")
@global_options
@click.pass_context
def demo(ctx: click.Context, user: str, reset: bool) -> None:
    """Play a scripted multi-session user, then answer questions with and without memory."""
    from memory_agent.apps import demo as script

    say("memory-agent demo: a scripted user over several sessions, on the local model.")
    memory = open_memory(ctx, user, with_model=True, background=True)
    with memory:
        before = stored(memory)
        sessions = {s.session_id for s in memory.sessions()}
        own = bool(sessions) and sessions <= script.SESSION_IDS  # what an earlier demo made
        if before is not None and not own and not reset:
            msg = (f"user {user!r} already has memory that the demo did not make "
                   f"({before}); the demo replaces a user's memory: pick another --user, or "
                   "add --reset to erase it")
            raise ConfirmationRequiredError(msg)
        t0 = time.perf_counter()
        progress("loading the local model (first run assembles the GGUF file)")
        memory.llm.complete([{"role": "user", "content": "Say OK."}], max_tokens=2)
        progress(f"model ready in {time.perf_counter() - t0:.1f} s")
        # only now, with the model loaded, is the earlier memory replaced
        say(f"Storage: {memory.store!r}   user: {user}")
        if before is not None:
            say(f"(erasing the earlier memory of {user!r}: {before})")
            memory.forget()
        script.run(memory, say)


@cli.command()
@click.argument("query")
@USER
@click.option("--budget", type=int, help="token budget of the context (default: config or 1000)")
@JSON
@global_options
@click.pass_context
def recall(ctx: click.Context, query: str, user: str, budget: int | None, as_json: bool) -> None:
    """Print what memory would give the model for QUERY, and why each item was chosen."""
    budget = budget or settings(ctx).budget
    with stored_user(ctx, user) as memory:
        trace = memory.recall_trace(query, token_budget=budget)
        if as_json:
            emit_json({"query": query, "token_budget": budget,
                       "tokens_used": trace.context.tokens_used, "prompt": trace.prompt,
                       "part_tokens": trace.part_tokens,
                       "items": [dataclasses.asdict(i) for i in trace.context.profile_items
                                 + trace.context.nodes + trace.context.turns],
                       "trace": [{**dataclasses.asdict(t), "score": t.parts.total}
                                 for t in trace.items]})
            return
        say_trace(trace, budget)


@cli.command()
@USER
@JSON
@global_options
@click.pass_context
def tree(ctx: click.Context, user: str, as_json: bool) -> None:
    """Print and verify a user's summary tree (content hashes)."""
    from memory_agent.apps.demo import print_tree

    with stored_user(ctx, user) as memory:
        summary = memory.tree()
        problems = summary.verify()
        if as_json:
            emit_json({"nodes": [dataclasses.asdict(n) for n in summary.nodes],
                       "problems": problems})
        else:
            print_tree(memory, say)
            say("tree verified" if not problems else "PROBLEMS:\n" + "\n".join(problems))
        ctx.exit(0 if not problems else 1)


@cli.command()
@JSON
@global_options
@click.pass_context
def users(ctx: click.Context, as_json: bool) -> None:
    """List the stored users with their sessions, turns and profile facts."""
    from memory_agent.apps.workspace import open_workspace

    s = settings(ctx)
    workspace = open_workspace(data_dir=s.data_dir, server_url=s.server_url, model=s.model)
    try:
        summaries = [workspace.manager(name).summary() for name in workspace.users()]
    finally:
        workspace.close()
    rows = [{"user": u.user_id, "sessions": u.sessions, "turns": u.turns, "facts": u.facts,
             "last_activity": u.last_activity, "pending_jobs": u.pending_jobs}
            for u in summaries]
    if as_json:
        emit_json(rows)
        return
    if not rows:
        say("(no users)")
    for r in rows:
        say(f"{r['user']:<24} {r['sessions']:>4} sessions {r['turns']:>6} turns "
            f"{r['facts']:>4} facts  last {r['last_activity'] or '-'}")


@cli.command(name="export")
@click.argument("user")
@click.argument("directory", type=click.Path(file_okay=False, path_type=Path))
@global_options
@click.pass_context
def export_cmd(ctx: click.Context, user: str, directory: Path) -> None:
    """Write USER's whole memory to DIRECTORY as readable files (profile.md, turns.json...)."""
    with stored_user(ctx, user) as memory:
        written = memory.export(directory)
        say(f"exported {user} ({stored(memory)}) to {written}")


@cli.command(name="import")
@click.argument("directory", type=click.Path(exists=True, file_okay=False, path_type=Path))
@click.option("--user", help="import as this user (default: the archive's user)")
@global_options
@click.pass_context
def import_cmd(ctx: click.Context, directory: Path, user: str | None) -> None:
    """Restore an archive written by 'export' into a user with no memory yet."""
    from memory_agent.engine.archive import read_archive

    name = user or read_archive(directory).user_id
    memory = open_memory(ctx, name, with_model=False, background=False)
    with memory:
        memory.import_archive(directory)
        say(f"imported {name}: {stored(memory)}")


@cli.command()
@USER
@click.option("--fact", "fact_id", help="forget only this profile fact (e.g. f3)")
@click.option("--yes", is_flag=True, help="do not ask (the user id need not be typed)")
@global_options
@click.pass_context
def forget(ctx: click.Context, user: str, fact_id: str | None, yes: bool) -> None:
    """Erase a user's whole memory, or one profile fact (--fact), after a confirmation."""
    with stored_user(ctx, user, background=True) as memory:
        if fact_id is not None:
            fact = memory.profile().get(fact_id)
            one = f"fact {fact_id} ({fact.text})" if fact else f"history entry {fact_id}"
            if not (yes or confirm(f"Forget {one}? Its text is erased everywhere.")):
                raise ConfirmationRequiredError(f"not confirmed: {one} kept (add --yes)")
            sessions = memory.forget_fact(fact_id)
            say(f"forgot {one}" + (f"; summaries of {', '.join(sessions)} are being "
                                    "rewritten" if sessions else ""))
            return
        what = stored(memory)
        if not (yes or (sys.stdin.isatty() and confirm_forget(memory))):
            raise ConfirmationRequiredError(f"not confirmed: nothing of {user} was erased "
                                            "(type the user id, or add --yes)")
        memory.forget()
        say(f"forgot {user}: {what}")


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command; returns its exit code (2 for a memory-agent error)."""
    try:
        with cli.make_context("memory-agent", list(argv) if argv is not None else
                              sys.argv[1:]) as ctx:
            cli.invoke(ctx)
        return 0
    except click.exceptions.Exit as done:
        return int(done.exit_code)
    except click.ClickException as error:
        error.show()
        return error.exit_code
    except click.Abort:
        return 130
    except MemoryAgentError as error:
        click.echo(f"memory-agent: {type(error).__name__}: {error}", err=True)
        return 2
    except KeyboardInterrupt:
        return 130
