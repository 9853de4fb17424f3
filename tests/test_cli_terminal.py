"""``memory-agent chat`` in a real pseudo-terminal: prompt_toolkit line editing, the status
line, slash commands, streaming and leaving without waiting (a person's view)."""

from __future__ import annotations

import fcntl
import os
import pty
import re
import select
import struct
import subprocess
import sys
import termios
import time
from pathlib import Path

import pytest

ANSI = re.compile(r"\x1b\[[0-9;?]*[A-Za-z]|\x1b\][^\x07]*\x07|\r")
FORWARD = re.compile(r"\x1b\[(\d*)C")


def screen_text(raw: str) -> str:
    """The text a person reads (cursor-forward moves become spaces; other codes dropped)."""
    return ANSI.sub("", FORWARD.sub(lambda m: " " * int(m[1] or 1), raw))


class Terminal:
    def __init__(self, *args: str, home: Path) -> None:
        self.master, slave = pty.openpty()
        fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", 30, 100, 0, 0))  # 30x100
        env = {**os.environ, "MEMORY_AGENT_HOME": str(home), "TERM": "xterm",
               "COLUMNS": "100", "LINES": "30"}
        self.proc = subprocess.Popen([sys.executable, "-m", "memory_agent.apps.cli", *args],
                                     stdin=slave, stdout=slave, stderr=slave, env=env,
                                     close_fds=True)
        os.close(slave)
        self.seen = ""

    def expect(self, text: str, timeout: float = 120) -> str:
        deadline = time.monotonic() + timeout
        while text not in screen_text(self.seen):
            if time.monotonic() > deadline:
                pytest.fail(f"{text!r} not seen; screen so far:\n{screen_text(self.seen)[-2000:]}")
            ready, _, _ = select.select([self.master], [], [], 0.5)
            if ready:
                try:
                    chunk = os.read(self.master, 65536).decode("utf-8", "replace")
                except OSError:
                    break
                self.seen += chunk
                if "\x1b[6n" in chunk:  # answer cursor-position requests, as a terminal does
                    os.write(self.master, b"\x1b[3;1R")
        return screen_text(self.seen)

    def type(self, line: str) -> None:
        os.write(self.master, line.encode() + b"\r")

    def close(self) -> int:
        try:
            return self.proc.wait(timeout=120)
        finally:
            os.close(self.master)


def test_chat_slash_commands_in_a_terminal(tmp_path):
    term = Terminal("chat", "--user", "tess", home=tmp_path)
    try:
        term.expect("new user 'tess'")
        term.expect("you>")
        term.expect("memory: up to date")  # the status line at the bottom
        term.type("/help")
        term.expect("/recall TEXT [--budget N]")
        term.type("/bogus")
        term.expect("unknown command /bogus")
        term.type("/quit")
        assert term.close() == 0
    finally:
        term.proc.kill()
        term.proc.wait()


@pytest.mark.real
def test_chat_streams_an_answer_and_quits_without_waiting(tmp_path):
    term = Terminal("chat", "--user", "ola", "--threads", "2", home=tmp_path)
    try:
        term.expect("you>")
        term.type("Hi! I live in Oslo and I work as a dentist. Say hello in one line.")
        term.expect("(thinking…)", timeout=60)
        term.expect("you>", timeout=600)  # the answer streamed, the next prompt is back
        term.type("/end")
        term.expect("memory: updating session")
        term.type("/quit")
        term.expect("Wait for it?")
        term.type("n")
        assert term.close() == 0  # quits at once; the update stays journaled
    finally:
        term.proc.kill()
        term.proc.wait()
    show = subprocess.run([sys.executable, "-m", "memory_agent.apps.cli", "users", "--json"],
                          capture_output=True, text=True, timeout=300,
                          env={**os.environ, "MEMORY_AGENT_HOME": str(tmp_path)})
    assert '"user": "ola"' in show.stdout
