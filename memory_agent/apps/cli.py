"""The ``memory-agent`` command: demo, chat, profile show|edit, recall, tree, inspect."""

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

from memory_agent.errors import MemoryAgentError, UnknownUserError


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
    if memory.store.get_profile(memory.user_id) is None and not memory.sessions():
        msg = f"no memory stored for user {memory.user_id!r} (see 'memory-agent chat --user ...')"
        raise UnknownUserError(msg)


def cmd_demo(args: argparse.Namespace) -> int:
    from memory_agent import demo

    _say("memory-agent demo: a scripted user over several sessions, on the local model.")
    memory = _open(args, user=args.user, with_model=True, background=True)
    _say(f"Storage: {memory.store!r}   user: {memory.user_id} (reset first)")
    memory.forget()
    t0 = time.perf_counter()
    _progress("loading the local model (first run assembles the GGUF file)")
    memory.llm.complete([{"role": "user", "content": "Say OK."}], max_tokens=2)
    _progress(f"model ready in {time.perf_counter() - t0:.1f} s")
    try:
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
                memory.forget()
                _say("(everything about you was forgotten)")
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
    version = memory.profile_version()
    editor = os.environ.get("VISUAL") or os.environ.get("EDITOR") or "vi"
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / f"profile-{memory.user_id}.md"
        path.write_text(memory.profile_markdown(), encoding="utf-8")
        subprocess.run([*shlex.split(editor), str(path)], check=True)
        edited = path.read_text(encoding="utf-8")
    doc = memory.edit_profile(edited, base_version=version)
    _say(f"profile saved: {len(doc.facts)} facts")
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


def cmd_inspect(args: argparse.Namespace) -> int:
    """Serve the memory inspector (needs the ``inspect`` extra) until Ctrl-C."""
    try:
        from memory_agent.apps.inspect import InspectorServer, open_workspace
    except ImportError as error:
        _say(f"memory-agent inspect needs the 'inspect' extra: pip install "
             f"'memory-agent[inspect]' ({error})")
        return 2
    import contextlib
    import webbrowser

    if args.host not in ("127.0.0.1", "localhost", "::1"):
        _progress(f"listening on {args.host}: anyone who can reach it and has the token can "
                  "read and change this memory")
    workspace = open_workspace(data_dir=args.data_dir, server_url=args.server_url,
                               model=args.model)
    server = InspectorServer(workspace, host=args.host, port=args.port).start()
    _say(f"memory inspector: {server.url}")
    _say("(the token in the address is the key; Ctrl-C stops the server)")
    if not args.no_browser:
        with contextlib.suppress(webbrowser.Error):
            webbrowser.open(server.url)
    try:
        server.wait()
    except KeyboardInterrupt:
        pass
    finally:
        server.stop()
        workspace.close()
    return 0


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
    demo.add_argument("--user", default="demo")
    demo.set_defaults(func=cmd_demo)
    chat = sub.add_parser("chat", help="interactive chat on the local model with memory")
    chat.add_argument("--user", required=True)
    chat.add_argument("--session")
    chat.set_defaults(func=cmd_chat)
    profile = sub.add_parser("profile", help="show or edit a user's profile document")
    profile.add_argument("action", choices=["show", "edit"])
    profile.add_argument("--user", required=True)
    profile.set_defaults(func=cmd_profile)
    recall = sub.add_parser("recall", help="print what memory would give the model for a query")
    recall.add_argument("query")
    recall.add_argument("--user", required=True)
    recall.add_argument("--budget", type=int, default=1000)
    recall.set_defaults(func=cmd_recall)
    tree = sub.add_parser("tree", help="print and verify a user's summary tree")
    tree.add_argument("--user", required=True)
    tree.set_defaults(func=cmd_tree)
    inspect = sub.add_parser("inspect", help="a local web app to see, check and correct "
                             "what is remembered (needs the inspect extra)")
    inspect.add_argument("--host", default="127.0.0.1",
                         help="address to listen on (default 127.0.0.1: this machine only)")
    inspect.add_argument("--port", type=int, default=0, help="port (default: a free one)")
    inspect.add_argument("--no-browser", action="store_true", help="do not open a browser")
    inspect.set_defaults(func=cmd_inspect)
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
