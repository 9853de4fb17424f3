"""The ``memory-agent`` command: demo, chat, profile show|edit, recall, tree."""

from __future__ import annotations

import argparse
import os
import shlex
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from memory_agent.errors import (
    ConfirmationRequiredError,
    MemoryAgentError,
    ProfileBudgetError,
    ProfileConflictError,
    ProfileError,
    ProfileParseError,
    UnknownUserError,
)

if TYPE_CHECKING:
    from memory_agent.core.profile import Fact, ProfileDocument


def _say(message: str) -> None:
    print(message, flush=True)


def _progress(message: str) -> None:
    print(f"  ... {message}", file=sys.stderr, flush=True)


def _open(args: argparse.Namespace, *, user: str, with_model: bool, background: bool = True):  # type: ignore[no-untyped-def]
    from memory_agent.engine.manager import MemoryManager

    llm = None
    if not with_model:
        from memory_agent.backends.llm.fake import FakeLLM

        llm = FakeLLM()  # read-only commands never call a model; nothing is resumed
    return MemoryManager.open(
        user, data_dir=args.data_dir, server_url=args.server_url, model=args.model, llm=llm,
        background=background, resume=with_model, progress=_progress,
    )


def _require_user(memory) -> None:  # type: ignore[no-untyped-def]
    if _stored(memory) is None:
        msg = (f"no memory stored for user {memory.user_id!r} (check the spelling; "
               "'memory-agent chat --user ...' creates a user)")
        raise UnknownUserError(msg)


def _stored(memory) -> str | None:  # type: ignore[no-untyped-def]
    """What is stored about the user, in words ('3 sessions, 12 turns, 9 profile facts'),
    or None if nothing is."""
    sessions = memory.sessions()
    facts = len(memory.profile().facts)
    history = len(memory.profile_history())
    if not sessions and not facts and not history:
        return None
    turns = sum(s.n_turns for s in sessions)
    return (f"{len(sessions)} sessions, {turns} turns, {facts} profile facts, "
            f"{history} history entries")


def _confirm(question: str) -> bool:
    """Ask a yes/no question on the terminal; False when there is no terminal."""
    if not sys.stdin.isatty():
        return False
    try:
        return input(f"{question} [y/N] ").strip().lower() in ("y", "yes")
    except EOFError:
        return False


def _confirm_typed(question: str, expected: str) -> bool:
    """Ask the person to type ``expected`` to confirm (for what cannot be undone)."""
    _say(question)
    try:
        return input(f"Type {expected!r} to confirm: ").strip() == expected
    except EOFError:
        return False


def cmd_demo(args: argparse.Namespace) -> int:
    from memory_agent.apps import demo

    _say("memory-agent demo: a scripted user over several sessions, on the local model.")
    memory = _open(args, user=args.user, with_model=True, background=True)
    try:
        stored = _stored(memory)
        sessions = {s.session_id for s in memory.sessions()}
        own = bool(sessions) and sessions <= demo.SESSION_IDS  # what an earlier demo made
        if stored is not None and not own and not args.reset:
            msg = (f"user {memory.user_id!r} already has memory that the demo did not make "
                   f"({stored}); the demo replaces a user's memory: pick another --user, or "
                   "add --reset to erase it")
            raise ConfirmationRequiredError(msg)
        t0 = time.perf_counter()
        _progress("loading the local model (first run assembles the GGUF file)")
        memory.llm.complete([{"role": "user", "content": "Say OK."}], max_tokens=2)
        _progress(f"model ready in {time.perf_counter() - t0:.1f} s")
        # only now, with the model loaded, is the earlier memory replaced
        _say(f"Storage: {memory.store!r}   user: {memory.user_id}")
        if stored is not None:
            _say(f"(erasing the earlier memory of {memory.user_id!r}: {stored})")
            memory.forget()
        demo.run(memory, _say)
    finally:
        memory.close()
    return 0


def cmd_chat(args: argparse.Namespace) -> int:
    from memory_agent.apps.chat import answer
    from memory_agent.apps.demo import print_tree

    memory = _open(args, user=args.user, with_model=True, background=True)
    session = args.session or time.strftime("chat-%Y%m%d-%H%M%S")
    _say(f"Chatting as {memory.user_id}, session {session}. Commands: /profile /tree "
         "/recall TEXT /end /forget /quit")
    try:
        while True:
            try:
                line = input("you> ").strip()
            except EOFError:
                break
            if not line:
                continue
            if line in ("/quit", "/exit"):
                break
            if line == "/profile":
                _say(memory.profile_markdown())
            elif line == "/tree":
                print_tree(memory, _say)
            elif line.startswith("/recall "):
                _say(memory.recall(line[8:]).to_prompt() or "(nothing recalled)")
            elif line == "/end":
                if any(s.session_id == session and not s.ended for s in memory.sessions()):
                    memory.end_session(session)
                session = time.strftime("chat-%Y%m%d-%H%M%S")
                _say(f"(session ended; memory updates in the background; new session {session})")
            elif line == "/forget":
                stored = _stored(memory) or "nothing stored yet"
                if _confirm_typed(f"This erases everything stored about {memory.user_id} "
                                  f"({stored}). It cannot be undone.", memory.user_id):
                    memory.forget()
                    _say("(everything about you was forgotten)")
                else:
                    _say("(not confirmed: nothing was forgotten)")
            else:
                context = memory.recall(line)
                reply = answer(memory.llm, line, context, max_tokens=400)
                _say(f"assistant> {reply}")
                memory.record(line, reply, session_id=session)
    finally:
        if any(s.session_id == session and not s.ended for s in memory.sessions()):
            memory.end_session(session)
        if memory.pending:
            _say("(updating memory before exit...)")
        memory.close()
    return 0


def cmd_profile(args: argparse.Namespace) -> int:
    memory = _open(args, user=args.user, with_model=False, background=False)
    if args.action == "show":
        _require_user(memory)
        _say(memory.profile_markdown())
        return 0
    if args.action == "history":
        _require_user(memory)
        return _show_history(memory)
    if args.action == "restore":
        _require_user(memory)
        if not args.fact:
            _say("usage: memory-agent profile restore FACT_ID --user USER "
                 "(ids are listed by 'profile history')")
            return 2
        update = memory.restore_fact(args.fact)
        _say(f"restored {args.fact}: " + "; ".join(e.text or "" for e in update.edits))
        return 0
    if not args.create:
        _require_user(memory)
    return _edit_profile(args, memory)


def _show_history(memory) -> int:  # type: ignore[no-untyped-def]
    entries = sorted(memory.profile_history(), key=lambda e: e.valid_to)
    if not entries:
        _say("(no superseded or removed facts)")
        return 0
    for e in entries:
        _say(f"{e.fact_id:>5}  {e.valid_from:%Y-%m-%d}..{e.valid_to:%Y-%m-%d}  "
             f"[{e.section}] {e.text}  ({e.reason})")
    _say("(restore one with: memory-agent profile restore FACT_ID --user "
         f"{memory.user_id})")
    return 0


def _removed_facts(before: ProfileDocument, after: ProfileDocument) -> list[Fact]:
    """The facts of ``before`` that ``after`` drops, listed for the person to confirm."""
    removed = [f for f in before.facts if after.get(f.id) is None]
    if removed:
        _say(f"this edit removes {len(removed)} of {len(before.facts)} facts:")
        for fact in removed:
            _say(f"  - {fact.id} [{fact.section}] {fact.text}")
    return removed


def _run_editor(path: Path) -> None:
    editor = os.environ.get("VISUAL") or os.environ.get("EDITOR") or "vi"
    try:
        done = subprocess.run([*shlex.split(editor), str(path)], check=False)
    except OSError as error:
        msg = f"cannot start the editor {editor!r} ({error}); set $EDITOR. Profile unchanged"
        raise ProfileError(msg) from error
    if done.returncode != 0:
        msg = f"the editor {editor!r} exited with status {done.returncode}; profile unchanged"
        raise ProfileError(msg)


def _edit_profile(args: argparse.Namespace, memory) -> int:  # type: ignore[no-untyped-def]
    """Open the profile in $EDITOR and save it through the validated path.

    Nothing is saved when the buffer is empty or unchanged; removed facts are listed and
    need a confirmation (or --yes); a text that does not parse is kept, and the person may
    reopen it."""
    from memory_agent.core.profile import parse_profile

    version = memory.profile_version()
    original = memory.profile_markdown()
    before = memory.profile()
    keep = Path(tempfile.gettempdir()) / "memory-agent-edits"
    keep.mkdir(mode=0o700, parents=True, exist_ok=True)  # the person's text, theirs only
    path = keep / f"profile-{memory.user_id}-{time.strftime('%Y%m%d-%H%M%S')}.md"
    path.touch(mode=0o600)
    path.write_text(original, encoding="utf-8")
    while True:
        _run_editor(path)
        edited = path.read_text(encoding="utf-8")
        if not edited.strip():
            _say(f"empty profile buffer: edit aborted, profile unchanged ({path})")
            return 1
        if edited == original:
            path.unlink()
            _say("no changes")
            return 0
        try:
            removed = _removed_facts(before, parse_profile(edited))
            if removed and not (args.yes or _confirm("Save and remove them?")):
                msg = (f"the edit removes facts and was not confirmed (add --yes); "
                       f"profile unchanged; your text is kept in {path}")
                raise ConfirmationRequiredError(msg)
            doc = memory.edit_profile(edited, base_version=version)
        except (ProfileParseError, ProfileBudgetError) as error:
            print(f"memory-agent: {type(error).__name__}: {error}", file=sys.stderr)
            print(f"your edited text is kept in {path}", file=sys.stderr)
            if _confirm("Reopen the editor on it?"):
                continue
            return 2
        except ProfileConflictError as error:
            msg = f"{error}; your edited text is kept in {path}"
            raise ProfileConflictError(msg) from error
        path.unlink()
        _say(f"profile saved: {len(doc.facts)} facts")
        if removed:
            _say("removed facts are kept in the history: 'memory-agent profile history "
                 f"--user {memory.user_id}', undo with 'profile restore FACT_ID'")
        return 0


def cmd_recall(args: argparse.Namespace) -> int:
    memory = _open(args, user=args.user, with_model=False, background=False)
    _require_user(memory)
    context = memory.recall(args.query, token_budget=args.budget)
    _say(context.to_prompt() or "(nothing recalled)")
    _say(f"({context.tokens_used} of {args.budget} tokens)")
    return 0


def cmd_tree(args: argparse.Namespace) -> int:
    from memory_agent.apps.demo import print_tree

    memory = _open(args, user=args.user, with_model=False, background=False)
    _require_user(memory)
    print_tree(memory, _say)
    problems = memory.tree().verify()
    _say("tree verified" if not problems else "PROBLEMS:\n" + "\n".join(problems))
    return 0 if not problems else 1


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="memory-agent", description=__doc__)
    parser.add_argument("--data-dir", help="embedded Chroma directory (default: $MEMORY_AGENT_HOME "
                        "or ~/.local/share/memory-agent)")
    parser.add_argument("--server-url", help="a Chroma server, e.g. http://127.0.0.1:8000 "
                        "(default: $MEMORY_AGENT_CHROMA_URL; embedded if unset)")
    parser.add_argument("--model", help="model key (qwen2.5-1.5b, qwen2.5-0.5b) or a .gguf path")
    sub = parser.add_subparsers(dest="command", required=True)
    demo = sub.add_parser("demo", help="play a scripted multi-session conversation and compare "
                          "answers with and without memory")
    demo.add_argument("--user", default="demo",
                      help="the user the demo plays (default: demo); the demo replaces only "
                      "memory an earlier demo made, unless --reset")
    demo.add_argument("--reset", action="store_true",
                      help="erase this user's existing memory first (after the model loads)")
    demo.set_defaults(func=cmd_demo)
    chat = sub.add_parser("chat", help="interactive chat on the local model with memory")
    chat.add_argument("--user", required=True)
    chat.add_argument("--session")
    chat.set_defaults(func=cmd_chat)
    profile = sub.add_parser("profile", help="show, edit, list the history of, or restore "
                             "a fact of a user's profile document")
    profile.add_argument("action", choices=["show", "edit", "history", "restore"])
    profile.add_argument("fact", nargs="?", help="restore: the fact id (e.g. f3)")
    profile.add_argument("--user", required=True)
    profile.add_argument("--create", action="store_true",
                         help="edit: start a profile for a user with no memory yet")
    profile.add_argument("--yes", action="store_true",
                         help="edit: save an edit that removes facts without asking")
    profile.set_defaults(func=cmd_profile)
    recall = sub.add_parser("recall", help="print what memory would give the model for a query")
    recall.add_argument("query")
    recall.add_argument("--user", required=True)
    recall.add_argument("--budget", type=int, default=1000)
    recall.set_defaults(func=cmd_recall)
    tree = sub.add_parser("tree", help="print and verify a user's summary tree")
    tree.add_argument("--user", required=True)
    tree.set_defaults(func=cmd_tree)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return int(args.func(args))
    except MemoryAgentError as error:
        print(f"memory-agent: {type(error).__name__}: {error}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 130


if __name__ == "__main__":
    raise SystemExit(main())
